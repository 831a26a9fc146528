"""Pre-norm transformer blocks over a token axis (the paths reshape so the axis is entities
or time)."""
from typing import Optional

import torch.nn.functional as F
from torch import Tensor, nn


class Mlp(nn.Module):
    """Linear -> GELU -> Dropout -> Linear."""

    def __init__(self, dim: int, hidden: int, out_dim: int = None, dropout: float = 0.0):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(dim, hidden), nn.Linear(hidden, out_dim or dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(self.drop(F.gelu(self.fc1(x))))


class Attention(nn.Module):
    """Multi-head self-attention (PyTorch's fused SDPA kernel)."""

    def __init__(self, dim: int, num_heads: int, dropout: float = 0.0):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f'embed dim {dim} is not divisible by num_heads {num_heads}')
        self.num_heads, self.dropout = num_heads, dropout
        self.qkv, self.proj = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)

    def forward(self, x: Tensor, attn_mask: Optional[Tensor] = None) -> Tensor:
        """Shape: ``[N, L, D] -> [N, L, D]``; ``attn_mask`` bool ``[N, 1, L, L]`` (True: may
        attend), e.g. to keep joint tokens inside their entities."""
        N, L, D = x.shape
        q, k, v = self.qkv(x).view(N, L, 3, self.num_heads, D // self.num_heads).permute(
            2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask,
                                             dropout_p=self.dropout if self.training else 0.0)
        return self.proj(out.transpose(1, 2).reshape(N, L, D))


def drop_path_layer(rate: float) -> nn.Module:
    """Stochastic depth (MMCV's ``DropPath``) at ``rate``; identity at 0. MMCV is imported only
    when a rate is set, so inference-only processes do not pay for it."""
    if not 0 <= rate < 1:
        raise ValueError(f'drop_path rate must be in [0, 1), got {rate}')
    if rate == 0:
        return nn.Identity()
    from mmcv.cnn.bricks import DropPath
    return DropPath(rate)


class TransformerBlock(nn.Module):
    """``x + Attn(LN(x))`` then ``x + MLP(LN(x))``; with ``drop_path`` each residual branch is
    dropped for a whole token sequence (one row of ``[N, L, D]``) at that rate in training."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float = 2.0, dropout: float = 0.0,
                 drop_path: float = 0.0):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = Attention(dim, num_heads, dropout)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), dropout=dropout)
        self.drop_path = drop_path_layer(drop_path)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.drop_path(self.attn(self.norm1(x)))
        return x + self.drop_path(self.mlp(self.norm2(x)))


class TransformerEncoder(nn.Module):
    """``depth`` blocks and a final LayerNorm; attends over axis 1 of ``[N, L, D]``.
    ``drop_path`` is the stochastic-depth rate of the last block; earlier blocks get linearly
    less (as in ViT/Swin training recipes), so the first layers are almost always kept."""

    def __init__(self, dim: int, depth: int, num_heads: int, mlp_ratio: float = 2.0,
                 dropout: float = 0.0, drop_path: float = 0.0):
        super().__init__()
        if depth < 1:
            raise ValueError(f'transformer depth must be >= 1, got {depth}')
        self.blocks = nn.Sequential(*[
            TransformerBlock(dim, num_heads, mlp_ratio, dropout, drop_path * (i + 1) / depth)
            for i in range(depth)])
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.norm(self.blocks(x))
