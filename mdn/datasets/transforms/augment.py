"""Augmentation of normalised skeletons (2D and 3D)."""
from typing import Sequence, Union

import numpy as np
from mmcv.transforms import BaseTransform
from scipy.spatial.transform import Rotation

from mdn.layouts import get_layout
from mdn.registry import TRANSFORMS

from .normalize import missing_joints


@TRANSFORMS.register_module()
class RandomAffine2D(BaseTransform):
    """Random scale, in-plane rotation and shift of the x, y coordinates (z left alone).

    Required keys: keypoint [M,T,V,C] (normalised), keypoint_score
    Modified keys: keypoint (missing joints stay at 0)
    """

    def __init__(self, scale=(0.9, 1.1), max_rotation: float = 15.0, max_shift: float = 0.1,
                 prob: float = 1.0):
        self.scale, self.max_rotation, self.max_shift, self.prob = (tuple(scale), max_rotation,
                                                                     max_shift, prob)

    def transform(self, results: dict) -> dict:
        if np.random.rand() >= self.prob:
            return results
        kp = results['keypoint'].copy()
        angle = np.deg2rad(np.random.uniform(-self.max_rotation, self.max_rotation))
        s = np.random.uniform(*self.scale)
        rot = s * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        shift = np.random.uniform(-self.max_shift, self.max_shift, size=2)
        kp[..., :2] = kp[..., :2] @ rot.T.astype(np.float32) + shift.astype(np.float32)
        kp[missing_joints(results)] = 0.0
        results['keypoint'] = kp
        return results


@TRANSFORMS.register_module()
class RandomRotate3D(BaseTransform):
    """Rotate a 3D skeleton clip by one random rotation (uniform angles about x, y and z).

    Cross-view data differ by camera yaw and elevation; :class:`AlignYaw` removes most of the
    yaw but leaves its estimation noise and the elevation, so training views are spread over
    the nearby angles a new camera may take. One rotation per clip, about the origin (the
    body centre after :class:`NormalizeSkeleton`).

    Required keys: keypoint [M,T,V,3], keypoint_score
    Modified keys: keypoint (missing joints stay at 0)

    Args:
        max_angles: largest rotation in degrees about x, y, z (one number: all three).
        prob: chance of rotating a clip at all.
    """

    def __init__(self, max_angles: Union[float, Sequence[float]] = 15.0, prob: float = 1.0):
        angles = np.broadcast_to(np.asarray(max_angles, dtype=np.float64), (3,)).copy()
        if (angles < 0).any() or (angles > 180).any():
            raise ValueError(f'RandomRotate3D max_angles must lie in [0, 180] degrees, '
                             f'got {max_angles}')
        if not 0 <= prob <= 1:
            raise ValueError(f'RandomRotate3D prob must be in [0, 1], got {prob}')
        self.max_angles, self.prob = angles, prob

    def transform(self, results: dict) -> dict:
        kp = results['keypoint']
        if kp.shape[-1] != 3:
            raise ValueError(f'RandomRotate3D needs x, y, z coordinates, got {kp.shape[-1]} '
                             f'channels (clip {results.get("frame_dir", "?")})')
        if np.random.rand() >= self.prob:
            return results
        angles = np.random.uniform(-self.max_angles, self.max_angles)
        rot = Rotation.from_euler('xyz', angles, degrees=True).as_matrix().astype(np.float32)
        kp = kp @ rot.T
        kp[missing_joints(results)] = 0.0
        results['keypoint'] = kp.astype(np.float32)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(max_angles={self.max_angles.tolist()}, '
                f'prob={self.prob})')


@TRANSFORMS.register_module()
class RandomFlip(BaseTransform):
    """Mirror left/right: negate x and swap every keypoint with its partner (so left-hand
    keypoints become right-hand ones and the entities swap with them).

    Required keys: keypoint, keypoint_score, layout
    Modified keys: keypoint, keypoint_score
    Added keys: flipped
    """

    def __init__(self, prob: float = 0.5):
        self.prob = prob

    def transform(self, results: dict) -> dict:
        flip = np.random.rand() < self.prob
        results['flipped'] = bool(flip)
        return mirror(results) if flip else results


def mirror(results: dict) -> dict:
    """Mirror the clip in ``results`` in place of the original: negate x, swap left/right
    partners (``keypoint``, ``keypoint_score`` and ``missing`` where present)."""
    index = get_layout(results['layout']).flip_index
    kp = results['keypoint'][:, :, index].copy()
    kp[..., 0] *= -1
    results['keypoint'] = kp
    results['keypoint_score'] = results['keypoint_score'][:, :, index]
    if 'missing' in results:
        results['missing'] = results['missing'][:, :, index]
    return results


@TRANSFORMS.register_module()
class FlipTestClips(BaseTransform):
    """Test-time mirroring: append the mirrored copy of every sampled clip, so the model
    scores each clip and its mirror image and the clip scores are averaged (as PYSKL's and
    CTR-GCN's test-time flip). For models trained with :class:`RandomFlip`, whose training
    data holds both sides, the mirror is an equally valid view of the same action.

    Goes after :class:`UniformSampleFrames`, before :class:`GenSkeletonFeatures`.

    Required keys: keypoint [M, N*L, V, C], keypoint_score, layout, clip_len, num_clips
    Modified keys: keypoint [M, 2*N*L, V, C], keypoint_score, missing, frame_inds, num_clips
    """

    def transform(self, results: dict) -> dict:
        if 'clip_len' not in results:
            raise KeyError('FlipTestClips needs sampled clips: put it after UniformSampleFrames '
                           f'(clip {results.get("frame_dir", "?")})')
        keys = [k for k in ('keypoint', 'keypoint_score', 'missing') if k in results]
        original = {k: results[k] for k in keys}
        mirrored = mirror(dict(original, layout=results['layout']))
        for k in keys:
            results[k] = np.concatenate([original[k], mirrored[k]], axis=1)
        if 'frame_inds' in results:
            inds = np.asarray(results['frame_inds'])
            results['frame_inds'] = np.concatenate([inds, inds])
        results['num_clips'] = 2 * results.get('num_clips', 1)
        return results


@TRANSFORMS.register_module()
class JointDropout(BaseTransform):
    """Drop each joint in each frame with probability ``prob`` (coordinates and score -> 0),
    mimicking detector misses so the model does not rely on any single keypoint.

    Required keys: keypoint, keypoint_score
    Modified keys: keypoint, keypoint_score
    """

    def __init__(self, prob: float = 0.05):
        if not 0 <= prob < 1:
            raise ValueError(f'JointDropout prob must be in [0, 1), got {prob}')
        self.prob = prob

    def transform(self, results: dict) -> dict:
        drop = np.random.rand(*results['keypoint_score'].shape) < self.prob
        kp, score = results['keypoint'].copy(), results['keypoint_score'].copy()
        kp[drop], score[drop] = 0.0, 0.0
        results['keypoint'], results['keypoint_score'] = kp, score
        results['missing'] = missing_joints(results) | drop
        return results
