"""A restricted unpickler for skeleton annotation files.

mmaction2/PYSKL annotation files are pickles, and ``pickle.load`` runs whatever code the file
names. We only admit what those files legitimately hold: plain containers and numpy arrays.
"""
import io
import pickle
from typing import Any

# (module, name) pairs a numpy array / scalar / dtype needs to be rebuilt, plus plain containers.
_ALLOWED = {
    ('numpy.core.multiarray', '_reconstruct'), ('numpy._core.multiarray', '_reconstruct'),
    ('numpy.core.multiarray', 'scalar'), ('numpy._core.multiarray', 'scalar'),
    ('numpy', 'ndarray'), ('numpy', 'dtype'), ('numpy.core.numeric', '_frombuffer'),
    ('numpy._core.numeric', '_frombuffer'),
    ('collections', 'OrderedDict'), ('collections', 'defaultdict'),
    ('builtins', 'set'), ('builtins', 'frozenset'), ('builtins', 'slice'),
    ('builtins', 'complex'), ('builtins', 'bytearray'),
}


class UnsafePickleError(pickle.UnpicklingError):
    """Raised when an annotation file asks to import something other than numpy/containers."""


class _RestrictedUnpickler(pickle.Unpickler):

    def __init__(self, file, source: str):
        super().__init__(file)
        self.source = source

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED or (module == 'numpy.dtypes' and name.endswith('DType')):
            return super().find_class(module, name)
        raise UnsafePickleError(
            f'{self.source}: refused to unpickle global "{module}.{name}". Annotation files may '
            'only contain numpy arrays and plain containers (dict, list, str, numbers); this '
            'file tries to import other code and may be malicious.')


def safe_pickle_load(path_or_bytes: 'str | bytes', source: str = None) -> Any:
    """Load a pickle admitting only numpy arrays and plain containers.

    Raises:
        UnsafePickleError: the pickle references any other global (e.g. ``os.system``).
        ValueError: the file is truncated or not a pickle (message names the file).
    """
    if isinstance(path_or_bytes, (bytes, bytearray)):
        source = source or '<bytes>'
        stream = io.BytesIO(path_or_bytes)
        return _load(stream, source)
    source = source or str(path_or_bytes)
    with open(path_or_bytes, 'rb') as stream:
        return _load(stream, source)


def _load(stream, source: str) -> Any:
    try:
        return _RestrictedUnpickler(stream, source).load()
    except UnsafePickleError:
        raise
    except (EOFError, pickle.UnpicklingError, ValueError, TypeError, IndexError,
            AttributeError) as err:
        raise ValueError(f'{source}: not a readable pickle annotation file (truncated or '
                         f'corrupt): {type(err).__name__}: {err}') from None
