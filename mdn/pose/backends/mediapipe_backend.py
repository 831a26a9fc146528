"""MediaPipe Holistic backend: whole-body pose fully offline (the models ship in the wheel).

Holistic tracks one person through a video, so each video gets a fresh graph and frames are
fed in order. Its landmarks are mapped onto COCO-WholeBody 133 (see
``mdn/pose/mediapipe_to_coco_wholebody.py``); M is always 1.
"""
import os
from typing import Iterable

import cv2
import numpy as np

from ..mediapipe_to_coco_wholebody import (NUM_KEYPOINTS, holistic_to_coco_wholebody,
                                           landmarks_to_array)
from .base import PoseBackend, VideoPose


def _import_holistic():
    os.environ.setdefault('GLOG_minloglevel', '2')  # MediaPipe's C++ logging is chatty
    try:
        from mediapipe.python.solutions import holistic
    except ImportError as err:
        raise ImportError('the mediapipe backend needs mediapipe==0.10.21 (see '
                          f'tools/install.sh): {err}') from err
    return holistic


class MediaPipeBackend(PoseBackend):
    """MediaPipe Holistic in video (tracking) mode.

    Args:
        model_complexity: 0, 1 or 2 (BlazePose lite / full / heavy); only 1's model ships in
            the mediapipe wheel, 0 and 2 are downloaded on first use (not possible offline).
        min_detection_confidence / min_tracking_confidence: Holistic's own thresholds.
        refine_face_landmarks: iris refinement (does not change the 68 mapped points).
    """

    name = 'mediapipe'
    thread_safe = True  # each process_video call builds its own graph

    def __init__(self, model_complexity: int = 1, min_detection_confidence: float = 0.5,
                 min_tracking_confidence: float = 0.5, refine_face_landmarks: bool = False):
        self.holistic = _import_holistic()
        self.options = dict(static_image_mode=False, model_complexity=model_complexity,
                            smooth_landmarks=True, refine_face_landmarks=refine_face_landmarks,
                            min_detection_confidence=min_detection_confidence,
                            min_tracking_confidence=min_tracking_confidence)

    def describe(self) -> dict:
        return dict(backend=self.name, **self.options)

    def process_video(self, frames: Iterable[np.ndarray], width: int, height: int,
                      max_people: int = 1) -> VideoPose:
        self.check_max_people(max_people)
        keypoints, scores = [], []
        with self.holistic.Holistic(**self.options) as graph:
            for frame in frames:
                h, w = frame.shape[:2]
                result = graph.process(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
                kpt, score = holistic_to_coco_wholebody(
                    landmarks_to_array(result.pose_landmarks, with_visibility=True),
                    landmarks_to_array(result.face_landmarks),
                    landmarks_to_array(result.left_hand_landmarks),
                    landmarks_to_array(result.right_hand_landmarks), w, h)
                keypoints.append(kpt)
                scores.append(score)
        if not keypoints:
            return VideoPose(np.zeros((1, 0, NUM_KEYPOINTS, 2)), np.zeros((1, 0, NUM_KEYPOINTS)))
        return VideoPose(np.stack(keypoints)[None], np.stack(scores)[None])
