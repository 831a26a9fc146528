from .hooks import ClassBalancedLossHook

__all__ = ['ClassBalancedLossHook']
