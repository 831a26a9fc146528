"""Small file helpers shared by the tools: atomic writes so a killed job loses no finished work."""
import contextlib
import os
import os.path as osp
import tempfile
from typing import Iterator


@contextlib.contextmanager
def atomic_write(path: str, mode: str = 'wb') -> Iterator:
    """Open a temporary file next to ``path`` and rename it over ``path`` on success."""
    directory = osp.dirname(osp.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix='.' + osp.basename(path) + '.',
                               suffix='.tmp')
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise
