"""Backbones: the baselines Micro-DualNet is compared with, and the RGB stream's ResNet-TSM."""
from .resnet_tsm import ResNetTSM
from .stgcn import STGCN

__all__ = ['STGCN', 'ResNetTSM']
