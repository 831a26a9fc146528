"""Models: entity encoder, ST/TS paths, router, MAC, head, the recogniser (and baselines)."""
from .data_preprocessors import MicroActionDataPreprocessor
from .encoders import EntityEncoder, GlobalPoseStream
from .heads import MicroActionHead
from .losses import MACLoss, MicroActionCELoss, class_balanced_weights
from .paths import FactorisedPath
from .recognizers import MicroDualNet
from .routers import EntityRouter
from .backbones import STGCN  # baselines
from .heads import GCNClsHead
from .recognizers import SkeletonGCN

__all__ = ['MicroActionDataPreprocessor', 'EntityEncoder', 'GlobalPoseStream',
           'MicroActionHead', 'MACLoss', 'MicroActionCELoss', 'class_balanced_weights',
           'FactorisedPath', 'MicroDualNet', 'EntityRouter']
__all__ += ['STGCN', 'GCNClsHead', 'SkeletonGCN']
from .rgb_preprocessor import RGBPoseDataPreprocessor  # RGB entity stream  # noqa: E402
from .backbones import ResNetTSM  # noqa: E402
from .encoders import EntityTokenFusion, RGBEntityEncoder  # noqa: E402
from .recognizers import RGBPoseMicroDualNet  # noqa: E402

__all__ += ['RGBPoseDataPreprocessor', 'ResNetTSM', 'RGBEntityEncoder', 'EntityTokenFusion',
            'RGBPoseMicroDualNet']
