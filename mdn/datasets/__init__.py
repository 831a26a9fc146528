"""Datasets: the skeleton dataset (PYSKL pickle / stacked npz), the synthetic default, transforms."""
from .annotation_io import load_annotations, save_pickle_annotations
from .skeleton_dataset import SkeletonDataset
from .synthetic import SYNTHETIC_CLASSES, SyntheticMicroActionDataset
from .transforms import *  # noqa: F401,F403

__all__ = ['SkeletonDataset', 'SyntheticMicroActionDataset', 'SYNTHETIC_CLASSES',
           'load_annotations', 'save_pickle_annotations']
