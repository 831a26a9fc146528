"""Let MMEngine checkpoints load under torch>=2.6's ``weights_only=True`` default.

torch 2.6 made ``torch.load`` refuse every global that is not allow-listed, and MMEngine
checkpoints carry a ``MessageHub`` state made of ``HistoryBuffer`` objects and numpy arrays,
so resume / ``load_from`` fail with "Unsupported global: ...HistoryBuffer". Instead of turning
``weights_only`` off (which would run arbitrary pickled code from a downloaded checkpoint) we
allow-list exactly the harmless types those checkpoints contain.
"""
import pickle

import numpy as np
import torch


def _numpy_globals() -> list:
    names = []
    for module_name in ('numpy.core.multiarray', 'numpy._core.multiarray'):
        try:
            module = __import__(module_name, fromlist=['_reconstruct'])
        except ImportError:
            continue
        names += [module._reconstruct, module.scalar]
    names += [np.ndarray, np.dtype]
    # numpy>=1.25 pickles dtypes through their concrete classes (np.dtypes.Float64DType, ...)
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        names += [getattr(dtypes, n) for n in dir(dtypes) if n.endswith('DType')]
    return names


def history_buffer_getattr(obj, name: str):
    """Stand-in for ``getattr`` while unpickling checkpoints.

    ``HistoryBuffer.__getstate__`` stores its statistics methods, which pickle writes as
    ``getattr(HistoryBuffer, 'mean')``. Allowing the real ``getattr`` would let a crafted
    checkpoint walk to arbitrary attributes; this one only returns HistoryBuffer's own
    statistics methods.
    """
    from mmengine.logging.history_buffer import HistoryBuffer
    if obj is HistoryBuffer and name in HistoryBuffer._statistics_methods:
        return getattr(obj, name)
    raise pickle.UnpicklingError(
        f'checkpoint asks for getattr({obj!r}, {name!r}); only HistoryBuffer statistics '
        'methods are allowed')


_registered = False


def register_checkpoint_safe_globals() -> None:
    """Allow-list MMEngine's ``HistoryBuffer`` and numpy containers for ``torch.load``
    (once per process; later calls return at once)."""
    global _registered
    if _registered:
        return
    _registered = True
    add_safe_globals = getattr(torch.serialization, 'add_safe_globals', None)
    if add_safe_globals is None:  # torch<2.4 loads everything anyway
        return
    from mmengine.config.config import ConfigDict
    from mmengine.logging.history_buffer import HistoryBuffer
    HistoryBuffer()  # fills HistoryBuffer._statistics_methods with the defaults
    add_safe_globals([HistoryBuffer, ConfigDict, *_numpy_globals(),
                      (history_buffer_getattr, 'builtins.getattr'),
                      (history_buffer_getattr, '__builtin__.getattr')])
