"""RTMDet person boxes for the MMPose backend, a batch of frames per call.

Needs mmdet and full mmcv (compiled ops: NMS); :func:`mdn.pose.mmpose_compat.detector_available`
says whether they are installed. Without them the MMPose backend tracks a box from keypoints.
"""
from typing import List, Optional, Sequence

import numpy as np
import torch

from ..mmpose_compat import detector_available
from .mmpose_models import DETECTOR_HINT, fetch_weights, resolve_detector


class MMDetPersonDetector:
    """Callable: BGR frames -> per frame ``[N, 5]`` person boxes (x0, y0, x1, y1, score)."""

    def __init__(self, model: str = 'rtmdet-m', checkpoint: Optional[str] = 'default',
                 device: str = 'cpu', score_thr: float = 0.5, batch_size: int = 8,
                 person_class: int = 0):
        if not detector_available():
            raise ValueError('the mmdet person detector needs mmdet and full mmcv (compiled '
                             'ops); install them, or run without a detector (--detector none)')
        from mmdet.apis import init_detector
        from mmdet.utils import get_test_pipeline_cfg
        from mmengine.dataset import Compose
        from mmengine.registry import DefaultScope
        config, weights = resolve_detector(model, checkpoint)
        weights = fetch_weights(weights, 'person detector', DETECTOR_HINT)
        with DefaultScope.overwrite_default_scope('mmdet'):
            self.model = init_detector(config, weights, device=device)
            pipeline = get_test_pipeline_cfg(self.model.cfg.copy())
            pipeline[0].type = 'mmdet.LoadImageFromNDArray'
            self.pipeline = Compose(pipeline)
        self.score_thr, self.batch_size, self.person_class = score_thr, batch_size, person_class

    def __call__(self, frames: Sequence[np.ndarray]) -> List[np.ndarray]:
        from mmengine.dataset import pseudo_collate
        data = [self.pipeline(dict(img=frame, img_id=0)) for frame in frames]
        boxes = []
        for start in range(0, len(data), self.batch_size):
            with torch.inference_mode():
                results = self.model.test_step(pseudo_collate(data[start:start + self.batch_size]))
            for result in results:
                inst = result.pred_instances
                keep = (inst.labels == self.person_class) & (inst.scores >= self.score_thr)
                boxes.append(torch.cat([inst.bboxes[keep], inst.scores[keep, None]], 1)
                             .float().cpu().numpy())
        return boxes
