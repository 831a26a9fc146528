"""The two factorisations of Micro-DualNet (paper Sec. 3, METHOD.md Sec. 2):

    ST path: X_ST = TemporalT( SpatialT(X) + MLP_s(X) )
    TS path: X_TS = SpatialT( TemporalT(X) + MLP_t(X) )

SpatialT attends across the K entities of one frame; TemporalT across the T frames of one
entity. Each path owns its transformers (no weight sharing between paths).
"""
from torch import Tensor, nn

from mdn.registry import MODELS

from ..layers import Mlp, TransformerEncoder


class SpatialTransformer(nn.Module):
    """Attention across entities within each frame: ``[B, T, K, D] -> [B, T, K, D]``."""

    def __init__(self, dim: int, depth: int, num_heads: int, mlp_ratio: float = 2.0,
                 dropout: float = 0.0, drop_path: float = 0.0):
        super().__init__()
        self.encoder = TransformerEncoder(dim, depth, num_heads, mlp_ratio, dropout, drop_path)

    def forward(self, x: Tensor) -> Tensor:
        B, T, K, D = x.shape
        return self.encoder(x.reshape(B * T, K, D)).view(B, T, K, D)


class TemporalTransformer(nn.Module):
    """Attention across frames within each entity: ``[B, T, K, D] -> [B, T, K, D]``."""

    def __init__(self, dim: int, depth: int, num_heads: int, mlp_ratio: float = 2.0,
                 dropout: float = 0.0, drop_path: float = 0.0):
        super().__init__()
        self.encoder = TransformerEncoder(dim, depth, num_heads, mlp_ratio, dropout, drop_path)

    def forward(self, x: Tensor) -> Tensor:
        B, T, K, D = x.shape
        out = self.encoder(x.transpose(1, 2).reshape(B * K, T, D))
        return out.view(B, K, T, D).transpose(1, 2)


@MODELS.register_module()
class FactorisedPath(nn.Module):
    """One path of the dual network; ``order='st'`` or ``'ts'`` picks the factorisation.

    Args:
        order: 'st' (spatial first) or 'ts' (temporal first).
        dim / depth / num_heads: transformer width, layers and heads (paper: 256 / 3 / 8).
        drop_path: stochastic-depth rate of each transformer's last block (0: none).
    """

    def __init__(self, order: str, dim: int, depth: int = 3, num_heads: int = 8,
                 mlp_ratio: float = 2.0, dropout: float = 0.0, drop_path: float = 0.0):
        super().__init__()
        if order not in ('st', 'ts'):
            raise ValueError(f"path order must be 'st' or 'ts', got {order!r}")
        self.order = order
        spatial = SpatialTransformer(dim, depth, num_heads, mlp_ratio, dropout, drop_path)
        temporal = TemporalTransformer(dim, depth, num_heads, mlp_ratio, dropout, drop_path)
        self.first, self.second = (spatial, temporal) if order == 'st' else (temporal, spatial)
        self.residual_mlp = Mlp(dim, int(dim * mlp_ratio), dropout=dropout)

    def forward(self, x: Tensor) -> Tensor:
        """Shape: ``[B, T, K, D] -> [B, T, K, D]``."""
        return self.second(self.first(x) + self.residual_mlp(x))
