"""Backbones of the baselines Micro-DualNet is compared with."""
from .stgcn import STGCN

__all__ = ['STGCN']
