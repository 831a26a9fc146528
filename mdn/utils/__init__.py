from .checkpoint_compat import register_checkpoint_safe_globals
from .safe_pickle import UnsafePickleError, safe_pickle_load
from .io import atomic_write

__all__ = ['register_checkpoint_safe_globals', 'UnsafePickleError', 'safe_pickle_load',
           'atomic_write']
from .setup_env import register_all_modules  # noqa: E402

__all__ += ['register_all_modules']
