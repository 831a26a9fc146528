from .transformer import Mlp, TransformerBlock, TransformerEncoder

__all__ = ['Mlp', 'TransformerBlock', 'TransformerEncoder']
