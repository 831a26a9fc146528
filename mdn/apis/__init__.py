"""The Python API. Names are imported on first use (PEP 562), so ``import mdn.apis.recording``
or a command line's argument parsing does not pay for torch and MMEngine up front."""
import importlib

_EXPORTS = {
    'config': ('load_config', 'check_config', 'enable_amp', 'init_cpu_distributed'),
    'inference': ('init_recognizer', 'recognize_clip', 'recognize_video', 'recognize_timeline',
                  'extract_skeleton', 'load_skeleton', 'Skeleton', 'ClipResult',
                  'LayoutMismatchError'),
    'timeline': ('Segment', 'WindowScores', 'merge_windows', 'summarize'),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = list(_WHERE)


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(importlib.import_module(f'.{_WHERE[name]}', __name__), name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


def __dir__():
    return sorted(set(globals()) | set(__all__))
