"""The Python API. Names are imported on first use (PEP 562), so ``import mdn.apis.recording``
or a command line's argument parsing does not pay for torch and MMEngine up front."""
from mdn.utils.lazy import lazy_exports

_EXPORTS = {
    'config': ('load_config', 'check_config', 'enable_amp', 'init_cpu_distributed'),
    'inference': ('init_recognizer', 'recognize_clip', 'recognize_video', 'recognize_timeline',
                  'extract_skeleton', 'load_skeleton', 'Skeleton', 'ClipResult',
                  'LayoutMismatchError'),
    'timeline': ('Segment', 'WindowScores', 'merge_windows', 'summarize'),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = list(_WHERE)
__getattr__, __dir__ = lazy_exports(__name__, _WHERE)
