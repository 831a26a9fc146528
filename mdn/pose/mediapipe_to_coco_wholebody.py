"""Map MediaPipe Holistic landmarks onto the COCO-WholeBody 133 layout.

Holistic gives BlazePose (33 body points, with a visibility), a 468-point face mesh and two
21-point hands. COCO-WholeBody is 17 body + 6 feet + 68 face (iBUG order) + 2 x 21 hands. The
body points map by name, the hands one to one (both use wrist, then thumb/index/middle/ring/
pinky from base to tip), and the 68 face points to the face-mesh vertices at the same places.
What Holistic lacks (the small toes; the face or a hand it did not find) gets score 0.
Holistic's ``left_hand`` is the person's left hand, like COCO's ``left_*`` names.
"""
from typing import Optional, Tuple

import numpy as np

from mdn.layouts.coco_wholebody import FACE_OFFSET, LEFT_HAND_OFFSET, RIGHT_HAND_OFFSET

NUM_KEYPOINTS = 133

# COCO-WholeBody index -> BlazePose index, body (0-16) and feet (17-22); -1 = not available.
BODY_FROM_BLAZEPOSE = (
    0,            # nose
    2, 5,         # left / right eye (BlazePose eye centres)
    7, 8,         # left / right ear
    11, 12,       # shoulders
    13, 14,       # elbows
    15, 16,       # wrists
    23, 24,       # hips
    25, 26,       # knees
    27, 28,       # ankles
    31, -1, 29,   # left big toe (foot index), left small toe (none), left heel
    32, -1, 30,   # right big toe, right small toe, right heel
)

# iBUG-68 face point -> MediaPipe face-mesh vertex (the person's right side comes first).
FACE68_FROM_FACEMESH = (
    # jaw 0-16, from the right ear along the chin to the left ear
    127, 234, 93, 132, 58, 136, 150, 176, 152, 400, 379, 365, 288, 361, 323, 454, 356,
    70, 63, 105, 66, 107,            # right brow 17-21
    336, 296, 334, 293, 300,         # left brow 22-26
    168, 197, 5, 4,                  # nose bridge 27-30
    75, 97, 2, 326, 305,             # nose base 31-35
    33, 160, 158, 133, 153, 144,     # right eye 36-41
    362, 385, 387, 263, 373, 380,    # left eye 42-47
    61, 39, 37, 0, 267, 269, 291, 405, 314, 17, 84, 181,  # outer lips 48-59
    78, 82, 13, 312, 308, 317, 14, 87,                    # inner lips 60-67
)


def holistic_to_coco_wholebody(pose: Optional[np.ndarray], face: Optional[np.ndarray],
                               left_hand: Optional[np.ndarray],
                               right_hand: Optional[np.ndarray], width: int, height: int
                               ) -> Tuple[np.ndarray, np.ndarray]:
    """``keypoint [133, 2]`` (pixels) and ``keypoint_score [133]`` from Holistic's landmarks.

    Args:
        pose: ``[33, 4]`` normalised (x, y, z, visibility), or None when no person was found.
        face: ``[468+, 3]`` normalised (x, y, z), or None.
        left_hand / right_hand: ``[21, 3]`` normalised (x, y, z), or None.
    """
    keypoint = np.zeros((NUM_KEYPOINTS, 2), np.float32)
    score = np.zeros(NUM_KEYPOINTS, np.float32)
    scale = np.array([width, height], np.float32)
    if pose is not None:
        src = np.array(BODY_FROM_BLAZEPOSE)
        ok = src >= 0
        keypoint[:23][ok] = pose[src[ok], :2] * scale
        score[:23][ok] = np.clip(pose[src[ok], 3], 0, 1)
    if face is not None:
        index = np.array(FACE68_FROM_FACEMESH)
        keypoint[FACE_OFFSET:FACE_OFFSET + 68] = face[index, :2] * scale
        score[FACE_OFFSET:FACE_OFFSET + 68] = 1.0
    for hand, offset in ((left_hand, LEFT_HAND_OFFSET), (right_hand, RIGHT_HAND_OFFSET)):
        if hand is not None:
            keypoint[offset:offset + 21] = hand[:21, :2] * scale
            score[offset:offset + 21] = 1.0
    return keypoint, score


def landmarks_to_array(landmark_list, with_visibility: bool = False) -> Optional[np.ndarray]:
    """A MediaPipe ``NormalizedLandmarkList`` (or None) as ``[N, 3 or 4]`` floats."""
    if landmark_list is None:
        return None
    if with_visibility:
        rows = [(p.x, p.y, p.z, p.visibility) for p in landmark_list.landmark]
    else:
        rows = [(p.x, p.y, p.z) for p in landmark_list.landmark]
    return np.asarray(rows, np.float32)
