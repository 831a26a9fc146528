"""Classification loss with the options long-tailed MA-52 needs."""
from typing import Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mdn.registry import MODELS


def class_balanced_weights(counts: Sequence[int], beta: float = 0.999) -> np.ndarray:
    """Class-balanced weights (Cui et al., CVPR 2019): ``(1 - beta) / (1 - beta^n_c)``,
    normalised to mean 1. Classes with no clips get weight 0."""
    counts = np.asarray(counts, dtype=np.float64)
    weights = np.where(counts > 0, (1 - beta) / (1 - np.power(beta, np.maximum(counts, 1))), 0)
    return (weights * (counts > 0).sum() / max(weights.sum(), 1e-12)).astype(np.float32)


@MODELS.register_module()
class MicroActionCELoss(nn.Module):
    """Cross entropy with label smoothing and optional per-class weights.

    ``class_weight`` may be given here or filled in from the training set's label counts by
    ``ClassBalancedLossHook`` before training starts.
    """

    def __init__(self, label_smoothing: float = 0.0,
                 class_weight: Optional[Sequence[float]] = None, loss_weight: float = 1.0):
        super().__init__()
        if not 0 <= label_smoothing < 1:
            raise ValueError(f'label_smoothing must be in [0, 1), got {label_smoothing}')
        self.label_smoothing, self.loss_weight = label_smoothing, loss_weight
        self.register_buffer('class_weight', None if class_weight is None else
                             torch.as_tensor(class_weight, dtype=torch.float32))

    def set_class_weight(self, weight: Sequence[float]) -> None:
        self.class_weight = torch.as_tensor(weight, dtype=torch.float32,
                                            device=self.class_weight.device
                                            if self.class_weight is not None else None)

    def forward(self, logits: Tensor, labels: Tensor) -> Tensor:
        weight = None if self.class_weight is None else self.class_weight.to(logits.device)
        return self.loss_weight * F.cross_entropy(logits, labels, weight=weight,
                                                  label_smoothing=self.label_smoothing)
