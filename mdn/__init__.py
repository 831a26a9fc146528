"""mdn: pose-based Micro-DualNet for micro-action recognition, built on MMEngine.

``import mdn`` is light (no torch, no MMEngine): the entry points that read checkpoints
(``register_all_modules``, ``mdn.apis.checkpoint``) allow-list MMEngine's checkpoint types for
``torch.load(weights_only=True)`` themselves (``mdn.utils.checkpoint_compat``).
"""
from .version import __version__

__all__ = ['__version__']
