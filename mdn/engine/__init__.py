from .hooks import ClassBalancedLossHook, ValRngIsolationHook
from .model_wrappers import CPUDistributedDataParallel
from .nonfinite import NonFiniteGuardHook  # noqa: F401  (registers the hook)

__all__ = ['ClassBalancedLossHook', 'ValRngIsolationHook', 'CPUDistributedDataParallel']
