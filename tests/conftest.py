"""Shared fixtures. Tests that read ../shared/data skip where it is absent (a user's clone),
but fail when MDN_REQUIRE_SHARED=1 (CI sets it), so CI cannot go green by skipping."""
import os
from pathlib import Path

import pytest

from mdn.utils import register_all_modules

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / 'shared' / 'data'


def require_shared(relative: str = '') -> Path:
    path = SHARED_DATA / relative
    if not path.exists():
        if os.environ.get('MDN_REQUIRE_SHARED') == '1':
            pytest.fail(f'MDN_REQUIRE_SHARED=1 but {path} is missing')
        pytest.skip(f'{path} not found (real third-party data, only in the team checkout)')
    return path


@pytest.fixture
def shared_data() -> Path:
    return require_shared()


@pytest.fixture(autouse=True, scope='session')
def _mdn_scope():
    register_all_modules(init_default_scope=True)


@pytest.fixture
def one_torch_thread():
    """Run a test on one torch thread: the small-op models are 2-3x faster so on 2 cores."""
    import torch
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def _no_closed_log_streams():
    """MMEngine keeps every MMLogger for the process; one made inside an earlier test writes to
    that test's captured stdout, closed by now, and logging prints a traceback for it. Point
    such handlers at the current stdout before each test."""
    import sys

    from mmengine.logging import MMLogger
    for logger in list(MMLogger._instance_dict.values()):
        for handler in logger.handlers:
            stream = getattr(handler, 'stream', None)
            if stream is not None and getattr(stream, 'closed', False):
                handler.stream = sys.stdout  # setStream would flush the closed one
    yield
