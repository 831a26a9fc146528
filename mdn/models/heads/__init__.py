from .cls_head import MicroActionHead
from .gcn_head import GCNClsHead

__all__ = ['MicroActionHead', 'GCNClsHead']
