"""Command-line entry: known input problems print one clear line instead of a traceback."""
import argparse
import os
import os.path as osp
import pickle
import sys
import tempfile
from typing import Callable

from mdn.utils.work_dir_lock import WorkDirLockedError

from .cli_base import (AMP_DTYPES, COMPILE_MODES, CheckpointMismatchError, ConfigError,
                       unsafe_load_message)


class UsageError(ValueError):
    """A command-line argument that cannot work (an output path that cannot be written, ...)."""


INPUT_ERRORS = (ConfigError, CheckpointMismatchError, pickle.UnpicklingError,
                FileNotFoundError, KeyError, ValueError, WorkDirLockedError)


def run_cli(main: Callable[[], object]) -> int:
    """Run ``main``; on a bad-input error print ``error: <message>`` and return 2.
    Returns ``main``'s own status when it returns an int, else 0.
    Set ``MDN_DEBUG=1`` to get the full traceback instead."""
    try:
        status = main()
    except INPUT_ERRORS as err:
        if os.environ.get('MDN_DEBUG') == '1':
            raise
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        if isinstance(err, pickle.UnpicklingError):  # torch.load's weights_only refusal
            message = unsafe_load_message('checkpoint', err) or message
        print(f'error: {message}', file=sys.stderr)
        return 2
    return status if isinstance(status, int) and not isinstance(status, bool) else 0


class CfgOptionsAction(argparse.Action):
    """``--cfg-options KEY=VALUE ...`` parsed by MMEngine's ``DictAction`` (imported only when
    the flag is given, so a command's start does not wait for MMEngine), refusing an item
    without ``=`` with a usage error instead of a ``ValueError: not enough values to unpack``
    traceback."""

    def __call__(self, parser, namespace, values, option_string=None):
        from mmengine.config import DictAction
        for item in values or ():
            if '=' not in item or item.startswith('='):
                raise argparse.ArgumentError(
                    self, f'"{item}" is not KEY=VALUE (e.g. train_cfg.max_epochs=2)')
        DictAction(self.option_strings, self.dest, nargs=self.nargs)(
            parser, namespace, values, option_string)


def _nearest_existing(path: str) -> str:
    path = osp.abspath(path)
    while not osp.exists(path) and osp.dirname(path) != path:
        path = osp.dirname(path)
    return path


def _directory_problem(directory: str):
    """Why ``directory`` cannot be created/written, or None (it exists afterwards)."""
    existing = _nearest_existing(directory)
    if not osp.isdir(existing):
        return f'{existing} is a file, not a directory'
    try:
        os.makedirs(directory, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as err:
        return f'cannot write in {directory}: {err.strerror or err}'
    return None


def check_work_dir(work_dir: str) -> None:
    """Refuse a work dir that cannot be a directory (a file on its path) or be written."""
    problem = _directory_problem(work_dir)
    if problem:
        raise UsageError(f'--work-dir {work_dir}: {problem}')


def check_output_file(path: str, flag: str) -> None:
    """Refuse an output file path that cannot be written, before any work is done for it."""
    if osp.isdir(path):
        raise UsageError(f'{flag} {path}: is a directory; give a file name')
    problem = _directory_problem(osp.dirname(osp.abspath(path)))
    if problem is None and osp.exists(path) and not os.access(path, os.W_OK):
        problem = 'the file exists and is not writable'
    if problem:
        raise UsageError(f'{flag} {path}: {problem}')


def add_window_arguments(p: argparse.ArgumentParser) -> None:
    """The sliding-window and segment flags, one definition for tools/demo.py and tools/live.py
    (and through the demo's, tools/cohort.py): the same words mean the same settings."""
    p.add_argument('--window', type=float, default=2.0, help='window length, seconds')
    p.add_argument('--stride', type=float, default=0.5, help='window step, seconds')
    p.add_argument('--threshold', type=float, default=0.5,
                   help='top score a window needs to count as a micro-action')
    p.add_argument('--min-duration', type=float, default=0.5, help='shortest segment, s')
    p.add_argument('--max-gap', type=float, default=0.5,
                   help='join same-label segments separated by at most this many seconds')
    p.add_argument('--background', nargs='+', default=[],
                   help='class names (or ids) that mean "no micro-action"')


CONFIG_COMPILE_HELP = 'default: the config\'s "compile" key, False'


def add_compile_argument(p: argparse.ArgumentParser, default_help: str = CONFIG_COMPILE_HELP
                         ) -> None:
    """``--compile [MODE]``, one definition for train, test, benchmark and demo."""
    p.add_argument('--compile', nargs='?', const='default', choices=COMPILE_MODES,
                   metavar='MODE', help=f'torch.compile the model (MODE: '
                   f'{", ".join(COMPILE_MODES)}; {default_help})')


def add_amp_arguments(p: argparse.ArgumentParser) -> None:
    """``--amp [--amp-dtype D]``, one definition for train and benchmark."""
    p.add_argument('--amp', action='store_true',
                   help='mixed precision (CUDA only): bf16 where the GPU supports it, '
                   'else fp16 with a dynamic loss scale')
    p.add_argument('--amp-dtype', choices=AMP_DTYPES, default='auto',
                   help='autocast dtype for --amp (default: auto)')
