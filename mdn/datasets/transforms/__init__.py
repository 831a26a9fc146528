"""Skeleton transforms: each one's docstring lists its Required / Added / Modified keys."""
from .augment import FlipTestClips, JointDropout, RandomAffine2D, RandomFlip, RandomRotate3D
from .features import GenSkeletonFeatures
from .formatting import PackMicroActionInputs
from .normalize import AlignYaw, NormalizeSkeleton
from .rgb import (DecodeVideoFrames, EntityBoxes, FramesFlip, FramesResizeCrop,
                  PackRGBPoseInputs)
from .sampling import UniformSampleFrames

__all__ = ['NormalizeSkeleton', 'AlignYaw', 'UniformSampleFrames', 'RandomAffine2D', 'RandomFlip',
           'FlipTestClips', 'RandomRotate3D', 'JointDropout', 'GenSkeletonFeatures', 'PackMicroActionInputs']
__all__ += ['EntityBoxes', 'DecodeVideoFrames', 'FramesResizeCrop', 'FramesFlip',
            'PackRGBPoseInputs']
