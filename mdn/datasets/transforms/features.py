"""Turn keypoints into per-joint input channels."""
import numpy as np
from mmcv.transforms import BaseTransform

from mdn.layouts import get_layout
from mdn.registry import TRANSFORMS

from .normalize import missing_joints

FEATURES = ('joint', 'score', 'motion', 'bone', 'bone_motion')


@TRANSFORMS.register_module()
class GenSkeletonFeatures(BaseTransform):
    """Stack the requested features along the channel axis, in the order given.

    * ``joint``: normalised coordinates;
    * ``score``: keypoint confidence (1 channel);
    * ``motion``: velocity in normalised body units per second, i.e. the difference of
      consecutive *sampled* frames divided by the time between them (from ``frame_inds`` and
      ``fps``). Raw frame differences of a subtle movement are ~100x smaller than the
      coordinates and a network barely sees them; velocities are O(1) like the coordinates
      and do not depend on the sampling rate. 0 where the joint is missing in either frame
      (a jump to the (0, 0) of a missed joint is not a movement) and at each clip's last frame;
    * ``bone``: joint minus its parent in the layout's skeleton tree;
    * ``bone_motion``: velocity of the bone vectors, with the rules of ``motion`` (per
      second, inside each clip, 0 at each clip's last frame); a bone is missing where its
      joint or its parent is, and its velocity is 0 where it is missing in either frame.

    With several clips (``num_clips``) motion is computed inside each clip.

    Required keys: keypoint [M,T,V,C], keypoint_score [M,T,V], layout
    Optional keys: frame_inds, fps, num_clips, clip_len
    Modified keys: keypoint [M,T,V,C_out]

    Args:
        feats: the features, in channel order.
        default_fps: frame rate used when a clip does not state its ``fps``.
    """

    def __init__(self, feats=('joint', 'score'), default_fps: float = 30.0):
        unknown = [f for f in feats if f not in FEATURES]
        if unknown or not feats:
            raise ValueError(f'unknown skeleton features {unknown}; choose from {FEATURES}')
        self.feats, self.default_fps = tuple(feats), default_fps

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
                parts.append(self._velocity(kp, results))
            elif f == 'bone':
                parents = get_layout(results['layout']).parents
                parts.append(kp - kp[:, :, parents])
            else:  # bone_motion
                parents = get_layout(results['layout']).parents
                seen = ~missing_joints(results)
                parts.append(self._velocity(kp - kp[:, :, parents], results,
                                            seen & seen[:, :, parents]))
        results['keypoint'] = np.concatenate(parts, axis=-1).astype(np.float32)
        return results

    def _velocity(self, kp: np.ndarray, results: dict, seen=None) -> np.ndarray:
        """Velocity of ``kp [M,T,V,C]``; 0 where ``seen [M,T,V]`` (default: the joints
        :func:`missing_joints` does not mark) is False in either frame."""
        M, T = kp.shape[:2]
        num_clips = results.get('num_clips', 1)
        clip_len = results.get('clip_len', T // num_clips)
        inds = np.asarray(results.get('frame_inds', np.arange(T)), dtype=np.float64)
        fps = float(results.get('fps') or self.default_fps)
        shape = (M, num_clips, clip_len) + kp.shape[2:]
        if seen is None:
            seen = ~missing_joints(results)
        x, seen = kp.reshape(shape), seen.reshape(shape[:4])
        inds = inds.reshape(num_clips, clip_len)
        gap = np.maximum(np.diff(inds, axis=1), 1.0) / fps  # seconds; repeated frame -> 1
        velocity = np.zeros_like(x)
        velocity[:, :, :-1] = (x[:, :, 1:] - x[:, :, :-1]) / gap[None, :, :, None, None]
        velocity[:, :, :-1][~(seen[:, :, 1:] & seen[:, :, :-1])] = 0.0
        return velocity.reshape(kp.shape).astype(np.float32)

    def __repr__(self) -> str:
        return f'{type(self).__name__}(feats={self.feats})'
