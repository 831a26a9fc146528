"""Pose backends: each turns a video's frames into COCO-WholeBody 133 keypoints.

Backends import their heavy packages (mmpose, mediapipe) only when built, so a missing one
fails with a clear message only for the user who asked for it.
"""
from typing import Any, Dict, Optional, Union

from .base import LAYOUT, NUM_KEYPOINTS, PoseBackend, VideoPose

BACKENDS = ('mediapipe', 'mmpose')


def build_backend(spec: Dict[str, Any]) -> PoseBackend:
    """``dict(type='mediapipe' | 'mmpose', **kwargs)`` -> a backend (a plain dict pickles, so
    worker processes can build their own)."""
    spec = dict(spec)
    kind = spec.pop('type', None)
    if kind == 'mediapipe':
        from .mediapipe_backend import MediaPipeBackend
        return MediaPipeBackend(**spec)
    if kind == 'mmpose':
        from .mmpose_backend import MMPoseBackend
        return MMPoseBackend(**spec)
    raise ValueError(f'unknown pose backend "{kind}"; choose one of {list(BACKENDS)}')


def max_people_problem(backend: Union[PoseBackend, Dict[str, Any]], max_people: int
                       ) -> Optional[str]:
    """Why ``backend`` (built, or a spec, checked without building it) cannot keep
    ``max_people`` people per video; None if it can."""
    if not isinstance(backend, dict):
        check = getattr(backend, 'max_people_problem', None)
        return check(max_people) if check else None
    if max_people <= 1:
        return None
    kind = backend.get('type')
    if kind == 'mmpose':
        from .mmpose_backend import no_detector_problem
        return no_detector_problem(backend.get('detector', 'auto'), max_people)
    return (f'--max-people {max_people}: the {kind} backend tracks one person per video; use '
            '--max-people 1, or --backend mmpose with a person detector (needs mmdet and full '
            'mmcv)')


def fetch_spec_weights(spec: Dict[str, Any]) -> None:
    """Download the weights a spec needs once, here, so that worker processes find them cached
    (and an offline machine gets one clear error instead of one per worker)."""
    if spec.get('type') == 'mmpose':
        from .mmpose_models import fetch_weights, resolve_pose_model
        fetch_weights(resolve_pose_model(spec.get('model', 'rtmpose-m'),
                                         spec.get('checkpoint', 'default'))[1])


__all__ = ['LAYOUT', 'NUM_KEYPOINTS', 'PoseBackend', 'VideoPose', 'BACKENDS', 'build_backend',
           'max_people_problem', 'fetch_spec_weights']
