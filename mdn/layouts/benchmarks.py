"""The small benchmark layouts of ../shared/data: Penn Action 13 and Kinect v1 20 (NW-UCLA).

They have no face or hand keypoints, so those entities map to the nearest joints they have.
"""
from mdn.registry import LAYOUTS

from .base import KeypointLayout

PENN_NAMES = ('head', 'l_shoulder', 'r_shoulder', 'l_elbow', 'r_elbow', 'l_wrist', 'r_wrist',
              'l_hip', 'r_hip', 'l_knee', 'r_knee', 'l_ankle', 'r_ankle')
KINECT_NAMES = ('hip_center', 'spine', 'shoulder_center', 'head', 'left_shoulder', 'left_elbow',
                'left_wrist', 'left_hand', 'right_shoulder', 'right_elbow', 'right_wrist',
                'right_hand', 'left_hip', 'left_knee', 'left_ankle', 'left_foot', 'right_hip',
                'right_knee', 'right_ankle', 'right_foot')


@LAYOUTS.register_module(name='penn_action_13')
def penn_action_13() -> KeypointLayout:
    edges = ((0, 1), (0, 2), (1, 2), (1, 3), (3, 5), (2, 4), (4, 6), (1, 7), (2, 8), (7, 8),
             (7, 9), (9, 11), (8, 10), (10, 12))
    flip = ((1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12))
    entities = dict(face=(0,), head=(0, 1, 2), torso=(1, 2, 7, 8), left_hand=(3, 5),
                    right_hand=(4, 6), lower_body=(7, 8, 9, 10, 11, 12),
                    left_leg=(7, 9, 11), right_leg=(8, 10, 12))
    return KeypointLayout('penn_action_13', PENN_NAMES, flip, center_joints=(1, 2),
                          shoulder_pair=(1, 2), hip_pair=(7, 8), edges=edges, entities=entities)


@LAYOUTS.register_module(name='kinect_20')
def kinect_20() -> KeypointLayout:
    edges = ((0, 1), (1, 2), (2, 3), (2, 4), (4, 5), (5, 6), (6, 7), (2, 8), (8, 9), (9, 10),
             (10, 11), (0, 12), (12, 13), (13, 14), (14, 15), (0, 16), (16, 17), (17, 18),
             (18, 19))
    flip = ((4, 8), (5, 9), (6, 10), (7, 11), (12, 16), (13, 17), (14, 18), (15, 19))
    entities = dict(face=(3,), head=(2, 3), torso=(0, 1, 2, 4, 8, 12, 16),
                    left_hand=(5, 6, 7), right_hand=(9, 10, 11),
                    lower_body=(0, 12, 13, 14, 15, 16, 17, 18, 19),
                    left_leg=(12, 13, 14, 15), right_leg=(16, 17, 18, 19))
    return KeypointLayout('kinect_20', KINECT_NAMES, flip, center_joints=(2,),
                          shoulder_pair=(4, 8), hip_pair=(12, 16), edges=edges,
                          entities=entities)
