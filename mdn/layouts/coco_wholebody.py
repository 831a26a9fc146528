"""COCO-WholeBody 133 (MMPose whole-body models) and its COCO-17 body subset."""
from mdn.registry import LAYOUTS

from .base import KeypointLayout, names_to_indices

COCO17_NAMES = ('nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear', 'left_shoulder',
                'right_shoulder', 'left_elbow', 'right_elbow', 'left_wrist', 'right_wrist',
                'left_hip', 'right_hip', 'left_knee', 'right_knee', 'left_ankle', 'right_ankle')
COCO17_EDGES = ((0, 1), (0, 2), (1, 3), (2, 4), (0, 5), (0, 6), (5, 6), (5, 7), (7, 9), (6, 8),
                (8, 10), (5, 11), (6, 12), (11, 12), (11, 13), (13, 15), (12, 14), (14, 16))
FEET_NAMES = ('left_big_toe', 'left_small_toe', 'left_heel', 'right_big_toe',
              'right_small_toe', 'right_heel')
FINGERS = ('thumb', 'forefinger', 'middle_finger', 'ring_finger', 'pinky_finger')
HAND_NAMES = ('hand_root',) + tuple(f'{f}{i}' for f in FINGERS for i in range(1, 5))
FACE_OFFSET, LEFT_HAND_OFFSET, RIGHT_HAND_OFFSET = 23, 91, 112


def _face68_flip_pairs():
    """Mirror partners of the 68-point (iBUG) face annotation."""
    pairs = [(i, 16 - i) for i in range(8)]                        # jaw
    pairs += [(17 + i, 26 - i) for i in range(5)]                  # brows
    pairs += [(31, 35), (32, 34)]                                  # nose base
    pairs += [(36, 45), (37, 44), (38, 43), (39, 42), (40, 47), (41, 46)]  # eyes
    pairs += [(48, 54), (49, 53), (50, 52), (55, 59), (56, 58)]    # outer lips
    pairs += [(60, 64), (61, 63), (65, 67)]                        # inner lips
    return pairs


def _face68_edges():
    """Contours of the 68-point face: jaw, brows, nose, eyes (closed), lips (closed)."""
    chains = [range(0, 17), range(17, 22), range(22, 27), range(27, 31), range(31, 36)]
    closed = [range(36, 42), range(42, 48), range(48, 60), range(60, 68)]
    edges = [(a, a + 1) for c in chains for a in list(c)[:-1]]
    for c in closed:
        c = list(c)
        edges += list(zip(c, c[1:] + c[:1]))
    # tie the contours into one tree: brows-nose, jaw-brows, eyes-nose, lips-nose, inner lips
    edges += [(27, 21), (27, 22), (30, 33), (0, 17), (16, 26), (39, 27), (42, 27), (33, 51),
              (48, 60)]
    return edges


def _hand_edges():
    edges = []
    for f in range(5):
        base = 1 + 4 * f
        edges += [(0, base), (base, base + 1), (base + 1, base + 2), (base + 2, base + 3)]
    return edges


def _entities_coco17(face, left_hand, right_hand):
    # torso: shoulders, elbows and hips (the upper arms belong to the torso, METHOD.md)
    return dict(face=face, head=(0, 1, 2, 3, 4), torso=(5, 6, 7, 8, 11, 12),
                left_hand=left_hand, right_hand=right_hand,
                lower_body=tuple(range(11, 17)), left_leg=(11, 13, 15), right_leg=(12, 14, 16))


@LAYOUTS.register_module(name='coco_wholebody_133')
def coco_wholebody_133() -> KeypointLayout:
    names = (COCO17_NAMES + FEET_NAMES + tuple(f'face-{i}' for i in range(68)) +
             tuple(f'left_{n}' for n in HAND_NAMES) + tuple(f'right_{n}' for n in HAND_NAMES))
    flip_pairs = [(1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16),
                  (17, 20), (18, 21), (19, 22)]
    flip_pairs += [(FACE_OFFSET + a, FACE_OFFSET + b) for a, b in _face68_flip_pairs()]
    flip_pairs += [(LEFT_HAND_OFFSET + i, RIGHT_HAND_OFFSET + i) for i in range(21)]
    edges = list(COCO17_EDGES)
    edges += [(15, 17), (15, 18), (15, 19), (16, 20), (16, 21), (16, 22)]  # feet
    edges += [(FACE_OFFSET + a, FACE_OFFSET + b) for a, b in _face68_edges()]
    edges += [(0, FACE_OFFSET + 30)]  # nose -> face nose tip
    for off, wrist in ((LEFT_HAND_OFFSET, 9), (RIGHT_HAND_OFFSET, 10)):
        edges += [(off + a, off + b) for a, b in _hand_edges()] + [(wrist, off)]
    left_hand = names_to_indices(['left_wrist'] + [f'left_{n}' for n in HAND_NAMES], names)
    right_hand = names_to_indices(['right_wrist'] + [f'right_{n}' for n in HAND_NAMES], names)
    entities = _entities_coco17(tuple(range(23, 91)), left_hand, right_hand)
    entities['lower_body'] = tuple(range(11, 23))  # hips, legs and feet
    entities['left_leg'] = (11, 13, 15, 17, 18, 19)
    entities['right_leg'] = (12, 14, 16, 20, 21, 22)
    return KeypointLayout('coco_wholebody_133', names, tuple(flip_pairs), center_joints=(5, 6),
                          shoulder_pair=(5, 6), hip_pair=(11, 12), edges=tuple(edges),
                          entities=entities)


@LAYOUTS.register_module(name='coco_17')
def coco_17() -> KeypointLayout:
    flip_pairs = ((1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16))
    # No face or hand keypoints: face -> nose/eyes/ears, hands -> elbow + wrist.
    entities = _entities_coco17((0, 1, 2, 3, 4), (7, 9), (8, 10))
    return KeypointLayout('coco_17', COCO17_NAMES, flip_pairs, center_joints=(5, 6),
                          shoulder_pair=(5, 6), hip_pair=(11, 12), edges=COCO17_EDGES,
                          entities=entities)
