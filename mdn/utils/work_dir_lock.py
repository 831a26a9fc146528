"""One training per work dir: a lock file that the OS releases when its process ends.

Two trainings writing into one work dir overwrite each other's ``epoch_N.pth`` and
``last_checkpoint``. ``tools/train.py`` holds ``fcntl.flock`` on ``WORK_DIR/.train.lock``
while it runs; a second training into the same dir is refused at once with the holder's
PID and host. The kernel drops the lock when the holder exits for any reason (crash,
SIGKILL, power loss of a local disk), so nothing is ever left stuck and ``--resume`` of a
dead run just works. The file itself stays (removing it would race with a newcomer).
"""
import contextlib
import os
import os.path as osp
import socket
import sys
import time
from typing import Iterator, Optional

LOCK_NAME = '.train.lock'


class WorkDirLockedError(RuntimeError):
    """Another live process is training into this work dir."""


def training_rank() -> int:
    """This process's global rank from the launcher's environment (0 when not distributed)."""
    for name in ('RANK', 'SLURM_PROCID', 'OMPI_COMM_WORLD_RANK', 'PMI_RANK'):
        value = os.environ.get(name)
        if value is not None and value.strip().lstrip('-').isdigit():
            return int(value)
    return 0


class WorkDirLock:
    """``with WorkDirLock(work_dir):`` holds the lock or raises ``WorkDirLockedError``."""

    def __init__(self, work_dir: str):
        self.work_dir = work_dir
        self.path = osp.join(work_dir, LOCK_NAME)
        self._file = None

    def acquire(self) -> 'WorkDirLock':
        import fcntl
        os.makedirs(self.work_dir, exist_ok=True)
        handle = open(self.path, 'a+')  # never truncate before holding the lock
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or 'another process'
            handle.close()
            raise WorkDirLockedError(
                f'work dir {self.work_dir} is in use by another training ({holder}); two '
                'runs in one work dir overwrite each other\'s checkpoints. Wait for it to '
                'finish, stop it, or pass another --work-dir.') from None
        except OSError as err:  # e.g. a file system without locks: train unprotected
            handle.close()
            print(f'warning: cannot lock {self.path} ({err}); not protected against a '
                  'second training into the same work dir', file=sys.stderr)
            return self
        handle.seek(0)
        handle.truncate()
        handle.write(f'pid {os.getpid()} on host {socket.gethostname()}, started '
                     f'{time.strftime("%Y-%m-%d %H:%M:%S")}\n')
        handle.flush()
        self._file = handle
        return self

    def release(self) -> None:
        if self._file is not None:
            self._file.close()  # closing the file drops the flock
            self._file = None

    def __enter__(self) -> 'WorkDirLock':
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


@contextlib.contextmanager
def work_dir_lock(work_dir: str, rank: Optional[int] = None) -> Iterator[Optional[WorkDirLock]]:
    """Hold the work-dir lock on rank 0 only (the other ranks of one distributed run share the
    dir with it by design)."""
    rank = training_rank() if rank is None else rank
    if rank != 0:
        yield None
        return
    with WorkDirLock(work_dir) as lock:
        yield lock
