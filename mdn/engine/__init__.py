from .hooks import ClassBalancedLossHook
from .model_wrappers import CPUDistributedDataParallel

__all__ = ['ClassBalancedLossHook', 'CPUDistributedDataParallel']
