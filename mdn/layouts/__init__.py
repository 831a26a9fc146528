"""Keypoint layouts as data (see base.py); importing registers the built-in ones."""
from .base import ENTITY_ORDER, ENTITY_SETS, EntityPartition, KeypointLayout, get_layout
from .benchmarks import kinect_20, penn_action_13
from .coco_wholebody import coco_17, coco_wholebody_133
from .openpose import openpose_137

__all__ = ['ENTITY_ORDER', 'ENTITY_SETS', 'EntityPartition', 'KeypointLayout', 'get_layout',
           'coco_wholebody_133', 'coco_17', 'openpose_137', 'penn_action_13', 'kinect_20']
