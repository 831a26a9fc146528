"""Pose backends: each turns a video's frames into COCO-WholeBody 133 keypoints.

Backends import their heavy packages (mmpose, mediapipe) only when built, so a missing one
fails with a clear message only for the user who asked for it.
"""
from typing import Any, Dict

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


__all__ = ['LAYOUT', 'NUM_KEYPOINTS', 'PoseBackend', 'VideoPose', 'BACKENDS', 'build_backend']
