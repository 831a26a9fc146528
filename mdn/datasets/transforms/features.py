"""Turn keypoints into per-joint input channels."""
import numpy as np
from mmcv.transforms import BaseTransform

from mdn.layouts import get_layout
from mdn.registry import TRANSFORMS

FEATURES = ('joint', 'score', 'motion', 'bone')


@TRANSFORMS.register_module()
class GenSkeletonFeatures(BaseTransform):
    """Stack the requested features along the channel axis, in the order given.

    ``joint``: coordinates; ``score``: keypoint confidence (1 channel); ``motion``: frame
    difference of coordinates (0 where
    the joint is missing in either frame); ``bone``: joint minus its parent in the layout's skeleton tree.

    Required keys: keypoint [M,T,V,C], keypoint_score [M,T,V], layout
    Modified keys: keypoint [M,T,V,C_out]
    """

    def __init__(self, feats=('joint', 'score')):
        unknown = [f for f in feats if f not in FEATURES]
        if unknown or not feats:
            raise ValueError(f'unknown skeleton features {unknown}; choose from {FEATURES}')
        self.feats = tuple(feats)

    @staticmethod
    def num_channels(feats, coord_dims: int = 2) -> int:
        return sum(1 if f == 'score' else coord_dims for f in feats)

    def transform(self, results: dict) -> dict:
        kp, score = results['keypoint'], results['keypoint_score']
        parts = []
        for f in self.feats:
            if f == 'joint':
                parts.append(kp)
            elif f == 'score':
                parts.append(score[..., None])
            elif f == 'motion':
                # zero where either frame misses the joint: a jump to/from the (0, 0) of a
                # missing joint is a detector miss, not a movement
                seen = score > 0
                motion = np.zeros_like(kp)
                motion[:, :-1] = kp[:, 1:] - kp[:, :-1]
                motion[:, :-1][~(seen[:, 1:] & seen[:, :-1])] = 0.0
                parts.append(motion)
            else:
                parents = get_layout(results['layout']).parents
                parts.append(kp - kp[:, :, parents])
        results['keypoint'] = np.concatenate(parts, axis=-1).astype(np.float32)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(feats={self.feats})'
