from .entity_encoder import EntityEncoder
from .global_stream import GlobalPoseStream

__all__ = ['EntityEncoder', 'GlobalPoseStream']
from .rgb_entity_encoder import EntityTokenFusion, RGBEntityEncoder  # noqa: E402

__all__ += ['RGBEntityEncoder', 'EntityTokenFusion']
