"""Command-line entry: known input problems print one clear line instead of a traceback."""
import os
import pickle
import sys
from typing import Callable

from .checkpoint import CheckpointMismatchError
from .config import ConfigError

INPUT_ERRORS = (ConfigError, CheckpointMismatchError, pickle.UnpicklingError,
                FileNotFoundError, KeyError, ValueError)


def run_cli(main: Callable[[], object]) -> int:
    """Run ``main``; on a bad-input error print ``error: <message>`` and return 2.
    Set ``MDN_DEBUG=1`` to get the full traceback instead."""
    try:
        main()
    except INPUT_ERRORS as err:
        if os.environ.get('MDN_DEBUG') == '1':
            raise
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f'error: {message}', file=sys.stderr)
        return 2
    return 0
