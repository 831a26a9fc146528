"""Per-clip normalisation: centre on the mid-shoulder, divide by body size."""
import numpy as np
from mmcv.transforms import BaseTransform

from mdn.layouts import get_layout
from mdn.registry import TRANSFORMS


@TRANSFORMS.register_module()
class NormalizeSkeleton(BaseTransform):
    """Centre on the clip's mean mid-shoulder and scale by shoulder width / torso length.

    One centre and one scale per clip (not per frame), so whole-body motion such as leaning
    or shaking survives normalisation.

    Required keys: keypoint [M,T,V,C], keypoint_score [M,T,V], layout
    Modified keys: keypoint (zeros where the joint is missing when ``zero_missing``)
    Added keys: missing [M,T,V] bool, the joints whose coordinates are zeroed; every later
        transform (augmentation, features) uses it, so training and test pipelines agree on
        which joints are missing (see :func:`missing_joints`).

    Args:
        scale_by: 'shoulder' (width), 'torso' (mid-shoulder to mid-hip) or 'max' of both, so
            side views (narrow shoulders) and seated views (hidden hips) both get a scale.
        missing_thr: a joint with score <= this is missing (not used for centre or scale).
        zero_missing: set missing joints' coordinates to 0 after normalising.
    """

    def __init__(self, scale_by: str = 'max', missing_thr: float = 0.0,
                 zero_missing: bool = True):
        if scale_by not in ('shoulder', 'torso', 'max'):
            raise ValueError(f'scale_by must be shoulder, torso or max, got {scale_by!r}')
        self.scale_by, self.missing_thr, self.zero_missing = scale_by, missing_thr, zero_missing

    def transform(self, results: dict) -> dict:
        layout = get_layout(results['layout'])
        kp = results['keypoint'].astype(np.float32)
        valid = results['keypoint_score'] > self.missing_thr  # [M,T,V]
        center = _masked_mean(kp[:, :, list(layout.center_joints)],
                              valid[:, :, list(layout.center_joints)])
        if center is None:  # no shoulder anywhere: centre on all valid joints
            center = _masked_mean(kp, valid)
        if center is None:
            center = np.zeros(kp.shape[-1], np.float32)
        kp = kp - center
        scale = self._scale(kp, valid, layout)
        kp = kp / scale
        missing = ~valid if self.zero_missing else np.zeros_like(valid)
        kp[missing] = 0.0
        results['keypoint'], results['missing'] = kp, missing
        return results

    def _scale(self, kp, valid, layout) -> float:
        sizes = []
        if self.scale_by in ('shoulder', 'max'):
            sizes.append(_pair_distance(kp, valid, layout.shoulder_pair))
        if self.scale_by in ('torso', 'max'):
            sizes.append(_torso_length(kp, valid, layout))
        sizes = [s for s in sizes if s is not None and s > 1e-6]
        if sizes:
            return float(max(sizes))
        spread = np.abs(kp[valid]).max() if valid.any() else 0.0  # fallback: overall extent
        return float(spread) if spread > 1e-6 else 1.0

    def __repr__(self) -> str:
        return f'{type(self).__name__}(scale_by={self.scale_by!r})'


def missing_joints(results: dict) -> np.ndarray:
    """``[M,T,V]`` bool: the joints the pipeline treats as missing (coordinates kept at 0).

    :class:`NormalizeSkeleton` decides once (``results['missing']``); without it, a joint
    with score <= 0 is missing. One rule for every transform, in training and at test.
    """
    if 'missing' in results:
        return results['missing']
    return results['keypoint_score'] <= 0


def _masked_mean(points, valid):
    """Mean of ``points [..., J, C]`` over the frames where all J joints are valid."""
    ok = valid.all(-1)
    if not ok.any():
        return None
    return points[ok].mean(axis=(0, 1))


def _pair_distance(kp, valid, pair):
    a, b = pair
    ok = valid[..., a] & valid[..., b]
    if not ok.any():
        return None
    return float(np.median(np.linalg.norm(kp[..., a, :][ok] - kp[..., b, :][ok], axis=-1)))


def _torso_length(kp, valid, layout):
    s, h = list(layout.shoulder_pair), list(layout.hip_pair)
    ok = valid[..., s].all(-1) & valid[..., h].all(-1)
    if not ok.any():
        return None
    mid_s, mid_h = kp[..., s, :].mean(-2)[ok], kp[..., h, :].mean(-2)[ok]
    return float(np.median(np.linalg.norm(mid_s - mid_h, axis=-1)))


@TRANSFORMS.register_module()
class AlignYaw(BaseTransform):
    """Rotate 3D skeletons about the vertical axis so the body faces one canonical direction.

    The clip-mean shoulder line (the layout's shoulder pair, first minus second; the hip pair
    as fallback), projected on the ground plane, is turned onto +x. Cross-view data (NW-UCLA: train on two camera views, test
    on a third) then looks the same from every camera. Needs 3 coordinates; run it after
    :class:`NormalizeSkeleton`.

    Required keys: keypoint [M,T,V,3], keypoint_score, layout
    Modified keys: keypoint

    Args:
        vertical_axis: index of the up axis (Kinect: 1, y up).
    """

    def __init__(self, vertical_axis: int = 1):
        if vertical_axis not in (0, 1, 2):
            raise ValueError(f'vertical_axis must be 0, 1 or 2, got {vertical_axis}')
        self.vertical_axis = vertical_axis

    def transform(self, results: dict) -> dict:
        kp = results['keypoint']
        if kp.shape[-1] != 3:
            raise ValueError(f'AlignYaw needs x, y, z coordinates, got {kp.shape[-1]} channels '
                             f'(clip {results.get("frame_dir", "?")})')
        layout = get_layout(results['layout'])
        valid = results['keypoint_score'] > 0
        plane = [a for a in range(3) if a != self.vertical_axis]
        direction = None
        for first, second in (layout.shoulder_pair, layout.hip_pair):
            ok = valid[..., first] & valid[..., second]
            if ok.any():
                direction = (kp[..., first, :][ok] - kp[..., second, :][ok]).mean(0)[plane]
                break
        if direction is None or np.linalg.norm(direction) < 1e-6:
            return results
        angle = -np.arctan2(direction[1], direction[0])
        cos, sin = np.cos(angle), np.sin(angle)
        a, b = kp[..., plane[0]].copy(), kp[..., plane[1]].copy()
        kp = kp.copy()
        kp[..., plane[0]] = cos * a - sin * b
        kp[..., plane[1]] = sin * a + cos * b
        kp[missing_joints(results)] = 0.0
        results['keypoint'] = kp.astype(np.float32)
        return results
