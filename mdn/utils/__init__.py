"""Helpers. Names are imported on first use (PEP 562): ``mdn.utils.io`` and friends stay
free of torch and MMEngine for the command lines that start work before loading a model."""
from .lazy import lazy_exports

_WHERE = {
    'register_checkpoint_safe_globals': 'checkpoint_compat',
    'UnsafePickleError': 'safe_pickle',
    'safe_pickle_load': 'safe_pickle',
    'atomic_write': 'io',
    'register_all_modules': 'setup_env',
}
__all__ = list(_WHERE)
__getattr__, __dir__ = lazy_exports(__name__, _WHERE)
