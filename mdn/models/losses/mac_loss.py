"""Mutual Action Consistency (MAC): a contrastive tie between the ST and TS paths.

Our reading of the paper (METHOD.md Sec. 4.7): per entity, the time-pooled ST and TS
features are projected and L2-normalised; the positive of (sample b, entity i, ST) is
(b, i, TS), the negatives are the other samples' same entity in the batch; a symmetric
InfoNCE (ST->TS and TS->ST) with temperature 0.1, averaged over entities, weighted by lambda.
"""
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mdn.registry import MODELS


def mac_infonce(z_st: Tensor, z_ts: Tensor, temperature: float) -> Tensor:
    """Symmetric InfoNCE on ``[B, K, P]`` L2-normalised embeddings, mean over entities."""
    B, K, _ = z_st.shape
    logits = torch.einsum('ikp,jkp->kij', z_st, z_ts) / temperature  # [K, B, B]
    target = torch.arange(B, device=z_st.device).expand(K, B)
    st_to_ts = F.cross_entropy(logits.reshape(K * B, B), target.reshape(-1))
    ts_to_st = F.cross_entropy(logits.transpose(1, 2).reshape(K * B, B), target.reshape(-1))
    return 0.5 * (st_to_ts + ts_to_st)


@MODELS.register_module()
class MACLoss(nn.Module):
    """MAC loss with its own projection heads (one per path, shared by entities).

    Args:
        dim: D of the path features; proj_dim: P.
        temperature: InfoNCE temperature (0.1).
        loss_weight: lambda (0.1); 0 disables the loss (ablation "no MAC").
    """

    def __init__(self, dim: int, proj_dim: int = 64, temperature: float = 0.1,
                 loss_weight: float = 0.1):
        super().__init__()
        if temperature <= 0:
            raise ValueError(f'MAC temperature must be > 0, got {temperature}')
        if loss_weight < 0:
            raise ValueError(f'MAC loss_weight must be >= 0, got {loss_weight}')
        self.temperature, self.loss_weight = temperature, loss_weight
        self.proj_st = nn.Sequential(nn.Linear(dim, dim), nn.GELU(), nn.Linear(dim, proj_dim))
        self.proj_ts = nn.Sequential(nn.Linear(dim, dim), nn.GELU(), nn.Linear(dim, proj_dim))

    def forward(self, x_st: Tensor, x_ts: Tensor) -> Tensor:
        """``[B, T, K, D]`` x2 (before routing) -> weighted scalar loss."""
        z_st = F.normalize(self.proj_st(x_st.mean(1)), dim=-1)
        z_ts = F.normalize(self.proj_ts(x_ts.mean(1)), dim=-1)
        return self.loss_weight * mac_infonce(z_st, z_ts, self.temperature)
