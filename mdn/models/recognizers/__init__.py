from .micro_dualnet import MicroDualNet
from .skeleton_gcn import SkeletonGCN

__all__ = ['MicroDualNet', 'SkeletonGCN']
from .rgbpose import RGBPoseMicroDualNet  # noqa: E402

__all__ += ['RGBPoseMicroDualNet']
