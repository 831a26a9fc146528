"""A restricted unpickler for skeleton annotation files.

mmaction2/PYSKL annotation files are pickles, and ``pickle.load`` runs whatever code the file
names. We only admit what those files legitimately hold: plain containers and numpy arrays.

Admitting numpy is not enough on its own: ``numpy.ndarray((10**6, 10**6))`` (or
``_reconstruct`` / ``__setstate__`` with a huge shape, or ``bytearray(10**12)``) lets a
200-byte file allocate any amount of memory. So every allocation a file asks for is counted
against a budget tied to the file's own size: ``max(64 MiB, 100 x file size)``. A plain
(uncompressed) pickle stores each array's bytes verbatim, so a real annotation file's arrays
add up to less than its size (object arrays cost 8 bytes per element and at least one opcode
byte each); 100x is far above anything legitimate. mdn never reads compressed pickles, and
``.npz`` files are read by numpy, not by this unpickler.
"""
import io
import math
import os
import pickle
from typing import Any

import numpy as np

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

MIN_ALLOCATION_BUDGET = 64 << 20  # bytes
ALLOCATION_PER_FILE_BYTE = 100


class UnsafePickleError(pickle.UnpicklingError):
    """Raised when an annotation file asks to import something other than numpy/containers,
    or to allocate far more memory than its size can justify."""


def allocation_budget(file_size: int) -> int:
    """How many bytes of arrays a pickle of ``file_size`` bytes may allocate."""
    return max(MIN_ALLOCATION_BUDGET, ALLOCATION_PER_FILE_BYTE * int(file_size))


def _nbytes(shape, dtype) -> int:
    if isinstance(shape, (int, np.integer)):
        shape = (shape, )
    try:
        dims = [max(int(d), 0) for d in shape]
        itemsize = np.dtype(dtype).itemsize if dtype is not None else 8
    except (TypeError, ValueError):
        return 0  # numpy itself will refuse this shape/dtype without allocating
    return math.prod(dims) * itemsize


class _GuardedArray(np.ndarray):
    """What ``_reconstruct`` returns while loading, so that the ``__setstate__`` that follows
    (which sets the real shape; object arrays allocate before checking the data) is checked.
    Turned back into plain ``np.ndarray`` before the result is returned."""
    _unpickler = None

    def __setstate__(self, state):
        if isinstance(state, tuple) and len(state) >= 3 and self._unpickler is not None:
            shape, dtype = (state[1], state[2]) if len(state) == 5 else (state[0], state[1])
            self._unpickler.charge(_nbytes(shape, dtype), f'an array of shape {shape}')
        super().__setstate__(state)


class _RestrictedUnpickler(pickle.Unpickler):

    def __init__(self, file, source: str, size: int):
        super().__init__(file)
        self.source = source
        self.budget = allocation_budget(size)
        self.size = size
        self.allocated = 0
        guarded = type('_GuardedArray', (_GuardedArray, ), {'_unpickler': self})
        self._guarded = guarded

    def charge(self, nbytes: int, what: str) -> None:
        self.allocated += nbytes
        if self.allocated > self.budget:
            raise UnsafePickleError(
                f'{self.source}: refused to unpickle: the file asks to allocate {what} '
                f'({self.allocated / 2**20:.1f} MiB of arrays in all), more than a '
                f'{self.size}-byte file can hold (limit {self.budget / 2**20:.0f} MiB); '
                'it is corrupt or crafted to exhaust memory.')

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED or (module == 'numpy.dtypes' and name.endswith('DType')):
            found = super().find_class(module, name)
            return self._guard(name, found)
        raise UnsafePickleError(
            f'{self.source}: refused to unpickle global "{module}.{name}". Annotation files may '
            'only contain numpy arrays and plain containers (dict, list, str, numbers); this '
            'file tries to import other code and may be malicious.')

    def _guard(self, name: str, found: Any) -> Any:
        """Allocation-checked stand-ins for the admitted callables that can allocate."""
        if name == '_reconstruct':
            def reconstruct(subtype, shape, dtype):
                if subtype is not np.ndarray and not isinstance(subtype, _NdarrayStandIn):
                    raise UnsafePickleError(f'{self.source}: _reconstruct of {subtype!r}')
                self.charge(_nbytes(shape, dtype), f'an array of shape {shape}')
                return found(self._guarded, shape, dtype)
            return reconstruct
        if name == 'ndarray':
            return _NdarrayStandIn(self)
        if name == 'scalar':
            def scalar(dtype, *args):
                self.charge(_nbytes((), dtype), f'a scalar of dtype {dtype}')
                return found(dtype, *args)
            return scalar
        if name == 'bytearray':
            def make_bytearray(*args):
                if args and isinstance(args[0], int):
                    self.charge(args[0], f'a bytearray of {args[0]} bytes')
                return bytearray(*args)
            return make_bytearray
        return found


class _NdarrayStandIn:
    """``numpy.ndarray`` as seen by a file: callable with a checked size, and accepted as the
    subtype argument of ``_reconstruct``. Not a type, so ``NEWOBJ`` on it fails."""

    def __init__(self, unpickler: '_RestrictedUnpickler'):
        self.unpickler = unpickler

    def __call__(self, shape, dtype=float, buffer=None, *args, **kwargs):
        if buffer is None:
            self.unpickler.charge(_nbytes(shape, dtype), f'an array of shape {shape}')
        return np.ndarray(shape, dtype, buffer, *args, **kwargs)


def _plain(obj: Any, seen: set) -> Any:
    """``obj`` with every ``_GuardedArray`` turned back into a plain ``np.ndarray``."""
    if isinstance(obj, _GuardedArray):
        array = obj.view(np.ndarray)
        if array.dtype == object:
            for index, item in np.ndenumerate(array):
                array[index] = _plain(item, seen)
        return array
    if id(obj) in seen or not isinstance(obj, (dict, list, tuple)):
        return obj
    seen.add(id(obj))
    if isinstance(obj, dict):
        for key, value in obj.items():
            new = _plain(value, seen)
            if new is not value:
                obj[key] = new
        return obj
    if isinstance(obj, list):
        for i, value in enumerate(obj):
            new = _plain(value, seen)
            if new is not value:
                obj[i] = new
        return obj
    items = [_plain(v, seen) for v in obj]
    if any(a is not b for a, b in zip(items, obj)):
        return type(obj)(items) if type(obj) is tuple else type(obj)(*items)
    return obj


def safe_pickle_load(path_or_bytes: 'str | bytes', source: str = None) -> Any:
    """Load a pickle admitting only numpy arrays and plain containers.

    Raises:
        UnsafePickleError: the pickle references any other global (e.g. ``os.system``), or
            asks to allocate more than ``allocation_budget(file size)`` bytes of arrays.
        ValueError: the file is truncated or not a pickle (message names the file).
    """
    if isinstance(path_or_bytes, (bytes, bytearray)):
        source = source or '<bytes>'
        stream = io.BytesIO(path_or_bytes)
        return _load(stream, source, len(path_or_bytes))
    source = source or str(path_or_bytes)
    with open(path_or_bytes, 'rb') as stream:
        return _load(stream, source, os.fstat(stream.fileno()).st_size)


def _load(stream, source: str, size: int) -> Any:
    try:
        return _plain(_RestrictedUnpickler(stream, source, size).load(), set())
    except UnsafePickleError:
        raise
    except MemoryError:
        raise UnsafePickleError(f'{source}: refused to unpickle: the file asks for more memory '
                                'than is available; it is corrupt or crafted') from None
    except RecursionError:
        raise ValueError(f'{source}: not a readable pickle annotation file (nested too '
                         'deeply)') from None
    except (EOFError, pickle.UnpicklingError, ValueError, TypeError, IndexError,
            AttributeError) as err:
        raise ValueError(f'{source}: not a readable pickle annotation file (truncated or '
                         f'corrupt): {type(err).__name__}: {err}') from None
