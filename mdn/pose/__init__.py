"""Pose stage: videos -> COCO-WholeBody 133 keypoints (MMPose or MediaPipe), batch and resumable.

Heavy packages (mmpose, mediapipe) are imported only when a backend is built.
"""
from .backends import BACKENDS, PoseBackend, VideoPose, build_backend
from .extract import Summary, extract_video, extract_videos
from .inputs import VideoItem, collect_videos
from .video import VideoError

__all__ = ['BACKENDS', 'PoseBackend', 'VideoPose', 'build_backend', 'Summary', 'extract_video',
           'extract_videos', 'VideoItem', 'collect_videos', 'VideoError']
