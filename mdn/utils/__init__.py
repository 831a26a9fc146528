"""Helpers. Names are imported on first use (PEP 562): ``mdn.utils.io`` and friends stay
free of torch and MMEngine for the command lines that start work before loading a model."""
import importlib

_WHERE = {
    'register_checkpoint_safe_globals': 'checkpoint_compat',
    'UnsafePickleError': 'safe_pickle',
    'safe_pickle_load': 'safe_pickle',
    'atomic_write': 'io',
    'register_all_modules': 'setup_env',
}
__all__ = list(_WHERE)


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(importlib.import_module(f'.{_WHERE[name]}', __name__), name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


def __dir__():
    return sorted(set(globals()) | set(__all__))
