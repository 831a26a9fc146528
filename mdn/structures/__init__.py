from .sample import MicroActionDataSample

__all__ = ['MicroActionDataSample']
