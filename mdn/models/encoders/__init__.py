from .entity_encoder import EntityEncoder
from .global_stream import GlobalPoseStream

__all__ = ['EntityEncoder', 'GlobalPoseStream']
