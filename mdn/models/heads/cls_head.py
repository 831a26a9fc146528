"""Classifier: ``[f_global ; concat_i fused_i] -> MLP -> classes``."""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mdn.registry import MODELS


@MODELS.register_module()
class MicroActionHead(nn.Module):
    """Time-pooled fused entity tokens (flattened over entities) and the global feature,
    through a two-layer MLP.

    ``temporal_segments=S`` pools each of S consecutive stretches of the clip separately
    (adaptive average pooling) instead of the whole clip at once, so the head still sees the
    order of phases: putting a jacket on and taking it off pass through the same poses.

    Args:
        num_classes: output classes.
        num_entities / dim: K and D of the fused tokens.
        global_dim: width of the global feature (0 when the global stream is off).
        hidden: MLP width; dropout: before each linear layer.
        temporal_segments: S, stretches of the clip pooled separately (1: one mean).
        loss: classification loss config.
    """

    def __init__(self, num_classes: int, num_entities: int, dim: int, global_dim: int = 0,
                 hidden: int = 256, dropout: float = 0.3, temporal_segments: int = 1,
                 loss: Optional[dict] = None):
        super().__init__()
        if num_classes < 2:
            raise ValueError(f'num_classes must be >= 2, got {num_classes}')
        if temporal_segments < 1:
            raise ValueError(f'temporal_segments must be >= 1, got {temporal_segments}')
        self.num_classes, self.temporal_segments = num_classes, temporal_segments
        self.norm = nn.LayerNorm(dim)
        in_dim = temporal_segments * num_entities * dim + global_dim
        self.mlp = nn.Sequential(nn.Dropout(dropout), nn.Linear(in_dim, hidden), nn.GELU(),
                                 nn.Dropout(dropout), nn.Linear(hidden, num_classes))
        self.loss = MODELS.build(loss or dict(type='MicroActionCELoss'))

    def forward(self, fused: Tensor, global_feat: Optional[Tensor] = None) -> Tensor:
        """Shape: fused ``[B, T, K, D]``, global ``[B, G]`` -> logits ``[B, num_classes]``."""
        B, T, K, D = fused.shape
        if self.temporal_segments == 1:
            pooled = fused.mean(1)  # [B, K, D]
        else:  # [B, T, K*D] -> [B, K*D, S] -> [B, S, K, D]
            pooled = F.adaptive_avg_pool1d(fused.reshape(B, T, K * D).transpose(1, 2),
                                           self.temporal_segments).transpose(1, 2)
            pooled = pooled.reshape(B, self.temporal_segments, K, D)
        feats = [self.norm(pooled).reshape(B, -1)]
        if global_feat is not None:
            feats.append(global_feat)
        return self.mlp(torch.cat(feats, dim=-1))
