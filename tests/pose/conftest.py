"""Pose tests run torch on one thread: on a busy 2-core machine that is 2-3x faster than two."""
import os.path as osp

import pytest


@pytest.fixture(autouse=True)
def _one_torch_thread(one_torch_thread):
    """Every pose test on one torch thread (the shared fixture of tests/conftest.py)."""
    yield


@pytest.fixture(scope='session')
def tiny_pose_config() -> str:
    """RTMPose-t whole-body (UBody) config shipped with mmpose: the cheapest random model."""
    import mmpose
    return osp.join(osp.dirname(mmpose.__file__), '.mim', 'configs', 'wholebody_2d_keypoint',
                    'rtmpose', 'ubody', 'rtmpose-t_8xb64-270e_coco-ubody-wholebody-256x192.py')
