"""Small file helpers shared by the tools: atomic writes so a killed job loses no finished work."""
import contextlib
import os
import os.path as osp
import tempfile
from typing import Iterator


def current_umask() -> int:
    """The process umask, read without changing it where the OS allows (Linux >= 4.7)."""
    with contextlib.suppress(OSError, ValueError):
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith('Umask:'):
                    return int(line.split()[1], 8)
    mask = os.umask(0o022)  # elsewhere: read it by setting it, then put it back
    os.umask(mask)
    return mask


def default_file_mode() -> int:
    """The permissions ``open(path, 'w')`` gives a new file: 0666 minus the umask.
    (``tempfile.mkstemp`` makes 0600 files, which a rename would otherwise keep.)"""
    return 0o666 & ~current_umask()


@contextlib.contextmanager
def atomic_write(path: str, mode: str = 'wb') -> Iterator:
    """Open a temporary file next to ``path`` and rename it over ``path`` on success.
    The file ends up with the permissions a plain ``open()`` would give it (umask)."""
    directory = osp.dirname(osp.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix='.' + osp.basename(path) + '.',
                               suffix='.tmp')
    try:
        os.fchmod(fd, default_file_mode())
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise
