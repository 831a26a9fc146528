"""mdn: pose-based Micro-DualNet for micro-action recognition, built on MMEngine."""
from .utils.checkpoint_compat import register_checkpoint_safe_globals
from .version import __version__

# torch>=2.6 loads checkpoints with weights_only=True; allow MMEngine's own state objects.
register_checkpoint_safe_globals()

__all__ = ['__version__']
