"""Classifier of the GCN baselines: global average pooling, dropout, one linear layer."""
from typing import Optional

from torch import Tensor, nn

from mdn.registry import MODELS


@MODELS.register_module()
class GCNClsHead(nn.Module):
    """``[B, T, V, C]`` backbone features -> mean over time and joints -> logits.

    Args:
        num_classes: output classes; in_channels: C of the features.
        dropout: before the linear layer.
        loss: classification loss config (default ``MicroActionCELoss``).
    """

    def __init__(self, num_classes: int, in_channels: int, dropout: float = 0.0,
                 loss: Optional[dict] = None):
        super().__init__()
        if num_classes < 2:
            raise ValueError(f'num_classes must be >= 2, got {num_classes}')
        self.num_classes = num_classes
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(in_channels, num_classes)
        self.loss = MODELS.build(loss or dict(type='MicroActionCELoss'))

    def forward(self, feats: Tensor) -> Tensor:
        """Shape: ``[B, T, V, C] -> [B, num_classes]``."""
        return self.fc(self.dropout(feats.mean((1, 2))))
