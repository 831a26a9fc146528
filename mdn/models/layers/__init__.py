from .transformer import Mlp, TransformerBlock, TransformerEncoder

__all__ = ['Mlp', 'TransformerBlock', 'TransformerEncoder']
from .roi_align import RoIAlign, roi_align  # noqa: E402

__all__ += ['RoIAlign', 'roi_align']
