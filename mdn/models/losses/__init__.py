from .cls_loss import MicroActionCELoss, class_balanced_weights
from .mac_loss import MACLoss

__all__ = ['MACLoss', 'MicroActionCELoss', 'class_balanced_weights']
