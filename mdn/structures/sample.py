"""The data sample that travels with each clip: ground truth in, predictions out."""
import numpy as np
import torch
from mmengine.structures import BaseDataElement


class MicroActionDataSample(BaseDataElement):
    """Fields: ``gt_label`` (LongTensor [1]); after ``predict``: ``pred_score`` ([num_classes]
    probabilities), ``pred_label`` ([1]) and ``entity_weights`` ([K, 2]: per-entity ST/TS
    routing weights, rows sum to 1). Metainfo: ``frame_dir``, ``entity_names``, ...
    """

    def set_gt_label(self, label) -> 'MicroActionDataSample':
        if isinstance(label, (int, np.integer)):
            label = torch.tensor([int(label)], dtype=torch.long)
        elif isinstance(label, np.ndarray):
            label = torch.from_numpy(label).long().reshape(-1)
        self.gt_label = label
        return self
