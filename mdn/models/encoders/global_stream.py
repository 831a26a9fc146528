"""A light global stream over all joints, standing in for the paper's CNN feature f_CNN."""
from torch import Tensor, nn

from mdn.registry import MODELS


@MODELS.register_module()
class GlobalPoseStream(nn.Module):
    """``[B, T, V, C] -> [B, D]``: per-frame embedding of the whole skeleton, a few residual
    temporal convolutions, then mean over time.

    Normalisation is per sample (GroupNorm), not BatchNorm: results do not depend on the batch
    split, so multi-process training equals single-process training without SyncBN.

    Args:
        num_keypoints / in_channels: V and C of the input.
        embed_dim: D.
        depth: number of residual temporal conv blocks.
        kernel_size: temporal kernel.
    """

    def __init__(self, num_keypoints: int, in_channels: int = 3, embed_dim: int = 128,
                 depth: int = 2, kernel_size: int = 5, dropout: float = 0.0):
        super().__init__()
        self.frame_embed = nn.Sequential(nn.Linear(num_keypoints * in_channels, embed_dim),
                                         nn.LayerNorm(embed_dim), nn.GELU())
        self.blocks = nn.ModuleList([
            nn.Sequential(nn.Conv1d(embed_dim, embed_dim, kernel_size, padding=kernel_size // 2),
                          nn.GroupNorm(1, embed_dim), nn.GELU(), nn.Dropout(dropout))
            for _ in range(depth)])
        self.out_dim = embed_dim

    def forward(self, x: Tensor) -> Tensor:
        """Shape: ``[B, T, V, C] -> [B, D]``."""
        B, T, V, C = x.shape
        h = self.frame_embed(x.reshape(B, T, V * C)).transpose(1, 2)  # [B, D, T]
        for block in self.blocks:
            h = h + block(h)
        return h.mean(-1)
