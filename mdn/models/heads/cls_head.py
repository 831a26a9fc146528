"""Classifier: ``[f_global ; concat_i fused_i] -> MLP -> classes``."""
from typing import Optional

import torch
from torch import Tensor, nn

from mdn.registry import MODELS


@MODELS.register_module()
class MicroActionHead(nn.Module):
    """Time-pooled fused entity tokens (flattened over entities) and the global feature,
    through a two-layer MLP.

    Args:
        num_classes: output classes.
        num_entities / dim: K and D of the fused tokens.
        global_dim: width of the global feature (0 when the global stream is off).
        hidden: MLP width; dropout: before each linear layer.
        loss: classification loss config.
    """

    def __init__(self, num_classes: int, num_entities: int, dim: int, global_dim: int = 0,
                 hidden: int = 256, dropout: float = 0.3,
                 loss: Optional[dict] = None):
        super().__init__()
        if num_classes < 2:
            raise ValueError(f'num_classes must be >= 2, got {num_classes}')
        self.num_classes = num_classes
        self.norm = nn.LayerNorm(dim)
        in_dim = num_entities * dim + global_dim
        self.mlp = nn.Sequential(nn.Dropout(dropout), nn.Linear(in_dim, hidden), nn.GELU(),
                                 nn.Dropout(dropout), nn.Linear(hidden, num_classes))
        self.loss = MODELS.build(loss or dict(type='MicroActionCELoss'))

    def forward(self, fused: Tensor, global_feat: Optional[Tensor] = None) -> Tensor:
        """Shape: fused ``[B, T, K, D]``, global ``[B, G]`` -> logits ``[B, num_classes]``."""
        B = fused.shape[0]
        feats = [self.norm(fused.mean(1)).reshape(B, -1)]
        if global_feat is not None:
            feats.append(global_feat)
        return self.mlp(torch.cat(feats, dim=-1))
