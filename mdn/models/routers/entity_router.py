"""Entity-level adaptive routing: each entity learns how much to trust the ST vs TS path."""
import torch
from torch import Tensor, nn

from mdn.registry import MODELS


@MODELS.register_module()
class EntityRouter(nn.Module):
    """``[a_ST, a_TS] = softmax(R_i([X_ST; X_TS]) / tau)``, ``X = a_ST X_ST + a_TS X_TS``.

    ``R_i`` is a two-layer MLP of entity ``i`` (own weights per entity), applied to the
    time-pooled features (default) or to every frame (``per_frame=True``).

    Args:
        num_entities / dim: K and D.
        hidden: width of each R_i.
        temperature: tau; lower values make routing decisions sharper.
        per_frame: route each frame separately (weights ``[B, T, K, 2]``).
    """

    def __init__(self, num_entities: int, dim: int, hidden: int = 64, temperature: float = 1.0,
                 per_frame: bool = False):
        super().__init__()
        if temperature <= 0:
            raise ValueError(f'router temperature must be > 0, got {temperature}')
        self.temperature, self.per_frame = temperature, per_frame
        self.w1 = nn.Parameter(torch.randn(num_entities, 2 * dim, hidden) / (2 * dim) ** 0.5)
        self.b1 = nn.Parameter(torch.zeros(num_entities, hidden))
        self.w2 = nn.Parameter(torch.zeros(num_entities, hidden, 2))  # start at 50/50
        self.b2 = nn.Parameter(torch.zeros(num_entities, 2))
        self.norm = nn.LayerNorm(2 * dim)

    def forward(self, x_st: Tensor, x_ts: Tensor) -> 'tuple[Tensor, Tensor]':
        """Shape: ``[B, T, K, D]`` x2 -> fused ``[B, T, K, D]``, weights ``[B, K, 2]``
        (``[B, T, K, 2]`` when per frame); weights[..., 0] is ST, [..., 1] is TS."""
        both = torch.cat([x_st, x_ts], dim=-1)
        if not self.per_frame:
            both = both.mean(1)  # [B, K, 2D]
        h = torch.nn.functional.gelu(
            torch.einsum('...kc,kch->...kh', self.norm(both), self.w1) + self.b1)
        logits = torch.einsum('...kh,kho->...ko', h, self.w2) + self.b2
        weights = (logits / self.temperature).softmax(-1)
        w = weights if self.per_frame else weights[:, None]
        return w[..., :1] * x_st + w[..., 1:] * x_ts, weights
