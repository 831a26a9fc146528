"""OpenPose 137 whole body (iMiGUE): BODY_25 + face 70 + left hand 21 + right hand 21."""
from mdn.registry import LAYOUTS

from .base import KeypointLayout
from .coco_wholebody import FINGERS, _face68_edges, _face68_flip_pairs, _hand_edges

BODY25_NAMES = ('nose', 'neck', 'right_shoulder', 'right_elbow', 'right_wrist', 'left_shoulder',
                'left_elbow', 'left_wrist', 'mid_hip', 'right_hip', 'right_knee', 'right_ankle',
                'left_hip', 'left_knee', 'left_ankle', 'right_eye', 'left_eye', 'right_ear',
                'left_ear', 'left_big_toe', 'left_small_toe', 'left_heel', 'right_big_toe',
                'right_small_toe', 'right_heel')
BODY25_EDGES = ((0, 1), (1, 2), (2, 3), (3, 4), (1, 5), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10),
                (10, 11), (8, 12), (12, 13), (13, 14), (0, 15), (0, 16), (15, 17), (16, 18),
                (14, 19), (14, 21), (19, 20), (11, 22), (11, 24), (22, 23))
BODY25_FLIP = ((2, 5), (3, 6), (4, 7), (9, 12), (10, 13), (11, 14), (15, 16), (17, 18),
               (19, 22), (20, 23), (21, 24))
FACE, LEFT_HAND, RIGHT_HAND = 25, 95, 116
HAND_NAMES = ('wrist',) + tuple(f'{f}{i}' for f in FINGERS for i in range(1, 5))


@LAYOUTS.register_module(name='openpose_137')
def openpose_137() -> KeypointLayout:
    names = (BODY25_NAMES + tuple(f'face-{i}' for i in range(70)) +
             tuple(f'left_hand_{n}' for n in HAND_NAMES) +
             tuple(f'right_hand_{n}' for n in HAND_NAMES))
    flip = list(BODY25_FLIP) + [(FACE + a, FACE + b) for a, b in _face68_flip_pairs()]
    flip += [(FACE + 68, FACE + 69)]  # pupils
    flip += [(LEFT_HAND + i, RIGHT_HAND + i) for i in range(21)]
    edges = list(BODY25_EDGES) + [(FACE + a, FACE + b) for a, b in _face68_edges()]
    edges += [(0, FACE + 30), (FACE + 36, FACE + 68), (FACE + 42, FACE + 69)]
    for off, wrist in ((LEFT_HAND, 7), (RIGHT_HAND, 4)):
        edges += [(off + a, off + b) for a, b in _hand_edges()] + [(wrist, off)]
    entities = dict(
        face=tuple(range(FACE, FACE + 70)),
        head=(0, 15, 16, 17, 18),
        torso=(1, 2, 3, 5, 6, 8, 9, 12),  # neck, shoulders, elbows, hips
        left_hand=(7,) + tuple(range(LEFT_HAND, LEFT_HAND + 21)),
        right_hand=(4,) + tuple(range(RIGHT_HAND, RIGHT_HAND + 21)),
        lower_body=(8, 9, 10, 11, 12, 13, 14) + tuple(range(19, 25)),
        left_leg=(12, 13, 14, 19, 20, 21), right_leg=(9, 10, 11, 22, 23, 24))
    return KeypointLayout('openpose_137', names, tuple(flip), center_joints=(2, 5),
                          shoulder_pair=(2, 5), hip_pair=(9, 12), edges=tuple(edges),
                          entities=entities, root=1)
