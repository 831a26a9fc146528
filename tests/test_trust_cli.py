"""Trust in the train/test tools: no lost work (one training per work dir, output files with
the user's permissions, checkpoints that load for inference) and one clear line instead of a
traceback for a user's mistake."""
import argparse
import os
import pickle
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import DictAction

from mdn.apis.config import ConfigError, load_config
from mdn.utils.io import atomic_write
from mdn.utils.safe_pickle import UnsafePickleError, safe_pickle_load
from mdn.utils.work_dir_lock import WorkDirLock, WorkDirLockedError, work_dir_lock

from .test_tools import SYNTHETIC, TINY

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / 'tools'))
import demo as demo_tool  # noqa: E402
import test as test_tool  # noqa: E402
import train as train_tool  # noqa: E402
from mdn.apis.cli import run_cli  # noqa: E402

pytestmark = pytest.mark.usefixtures('one_torch_thread')


def cli(tool, args, capsys):
    """Run a tool's main the way its ``__main__`` does; (exit status, stderr)."""
    capsys.readouterr()
    status = run_cli(lambda: tool.main(args))
    return status, capsys.readouterr().err


def options(*items):
    parser = argparse.ArgumentParser()
    parser.add_argument('--o', nargs='+', action=DictAction)
    return parser.parse_args(['--o', *items]).o


# ------------------------------------------------------------------ one training per work dir
def test_second_training_into_same_work_dir_is_refused(tmp_path):
    work = tmp_path / 'work'
    with WorkDirLock(str(work)):  # a training holding the work dir
        result = subprocess.run(
            [sys.executable, str(REPO / 'tools/train.py'), SYNTHETIC, '--work-dir', str(work),
             '--cfg-options', 'train_cfg.max_epochs=1', *TINY],
            capture_output=True, text=True, timeout=300, env={**os.environ, 'OMP_NUM_THREADS': '1'})
    assert result.returncode == 2, result.stderr[-2000:]
    assert 'Traceback' not in result.stderr
    assert f'work dir {work} is in use by another training' in result.stderr
    assert f'pid {os.getpid()} on host {socket.gethostname()}' in result.stderr
    assert not list(work.glob('*.pth')) and not list(work.glob('2*'))  # nothing written


def test_work_dir_lock_is_freed_when_holder_dies_and_only_rank0_takes_it(tmp_path):
    work = str(tmp_path / 'work')
    holder = subprocess.Popen(
        [sys.executable, '-c', 'import sys, time; from mdn.utils.work_dir_lock import '
         'WorkDirLock; lock = WorkDirLock(sys.argv[1]).acquire(); print("held", flush=True); '
         'time.sleep(120)', work], stdout=subprocess.PIPE, text=True, cwd=str(REPO))
    try:
        assert holder.stdout.readline().strip() == 'held'
        with pytest.raises(WorkDirLockedError, match=f'pid {holder.pid} on host'):
            WorkDirLock(work).acquire()
        with work_dir_lock(work, rank=1) as lock:  # other ranks of a distributed run
            assert lock is None
    finally:
        holder.kill()  # SIGKILL: no clean-up runs
        holder.wait()
    with WorkDirLock(work):  # the OS released it: a --resume of the dead run can start
        pass
    with WorkDirLock(work):  # and again after a clean release
        pass


# ------------------------------------------------------------------ permissions of outputs
@pytest.mark.parametrize('umask,expected', [(0o022, 0o644), (0o077, 0o600)])
def test_atomic_outputs_get_umask_permissions(tmp_path, umask, expected):
    old = os.umask(umask)
    try:
        with atomic_write(str(tmp_path / 'metrics.json'), 'w') as f:
            f.write('{}')
        from mdn.visualization.skeleton import SkeletonPainter, write_skeleton_video
        from tests.helpers import random_clip
        clip = random_clip(num_frames=3)
        painter = SkeletonPainter(clip['keypoint'], clip['keypoint_score'], 'coco_17',
                                  (), max_side=64)
        video = write_skeleton_video(str(tmp_path / 'overlay.mp4'), painter, [0, 1, 2], 10.0,
                                     ['a', 'b', 'c'])
    finally:
        os.umask(old)
    assert (tmp_path / 'metrics.json').stat().st_mode & 0o777 == expected
    assert Path(video).stat().st_mode & 0o777 == expected
    assert not list(tmp_path.glob('.*'))  # no temporary files left


# ------------------------------------------------------------------ MA-52 checkpoints
@pytest.fixture(scope='module')
def balanced_run(tmp_path_factory):
    """Two epochs of the tiny synthetic model with ClassBalancedLossHook on (as mdn_ma52.py)."""
    root = tmp_path_factory.mktemp('balanced')
    config = root / 'balanced.py'
    config.write_text(f'_base_ = [{SYNTHETIC!r}]\n'
                      "custom_hooks = [dict(type='ClassBalancedLossHook', beta=0.99)]\n")
    work = root / 'work'
    torch.set_num_threads(1)
    train_tool.main([str(config), '--work-dir', str(work), '--cfg-options',
                     'train_cfg.max_epochs=2', *TINY])
    return config, work


def test_class_balanced_checkpoint_loads_for_inference_and_demo(balanced_run, tmp_path):
    from mdn.apis.inference import init_recognizer
    from mdn.datasets import SyntheticMicroActionDataset
    config, work = balanced_run
    checkpoint = str(work / 'epoch_1.pth')
    state = torch.load(checkpoint, map_location='cpu')['state_dict']
    assert not any(k.endswith('loss.class_weight') for k in state)  # training-only state
    model = init_recognizer(str(config), checkpoint, cfg_options=options(*TINY))
    assert model.head.num_classes == 8
    # a checkpoint written before the fix (class weights inside) loads too
    old = tmp_path / 'old.pth'
    content = torch.load(checkpoint, map_location='cpu')
    content['state_dict']['head.loss.class_weight'] = torch.ones(8)
    torch.save(content, old)
    init_recognizer(str(config), str(old), cfg_options=options(*TINY))
    data = SyntheticMicroActionDataset(num_per_class=1, split='test')
    clip = dict(data.get_data_info(0), frame_dir='one', label=-1, fps=30.0)
    skeleton = tmp_path / 'one.pkl'
    skeleton.write_bytes(pickle.dumps(dict(split={}, annotations=[clip])))
    report = demo_tool.main([str(skeleton), str(config), str(old), '--out',
                             str(tmp_path / 'out'), '--no-progress', '--threshold', '0.0',
                             '--overlay', 'png', '--cfg-options', *TINY])
    assert report['num_frames'] > 0 and (tmp_path / 'out' / 'segments.json').exists()


# ------------------------------------------------------------------ --resume
def _copy_run(work, tmp_path):
    copy = tmp_path / 'work'
    shutil.copytree(work, copy, ignore=shutil.ignore_patterns('2*'))
    return copy


@pytest.mark.parametrize('case', ['empty', 'garbage', 'truncated'])
def test_damaged_last_checkpoint_names_intact_checkpoints(balanced_run, tmp_path, capsys, case):
    config, work = balanced_run
    work = _copy_run(work, tmp_path)
    record = work / 'last_checkpoint'
    if case == 'empty':
        record.write_text('')
        problem = 'is empty'
    elif case == 'garbage':
        record.write_bytes(b'\x00\xff\x13garbage\n\x01')
        problem = 'does not hold a checkpoint path'
    else:
        data = (work / 'epoch_2.pth').read_bytes()
        (work / 'epoch_2.pth').write_bytes(data[:len(data) // 2])
        record.write_text(str(work / 'epoch_2.pth'))
        problem = f'names {work / "epoch_2.pth"}, which is truncated or damaged'
    status, err = cli(train_tool, [str(config), '--work-dir', str(work), '--resume',
                                   '--cfg-options', 'train_cfg.max_epochs=3', *TINY], capsys)
    assert status == 2 and 'Traceback' not in err
    assert f'--resume: {record} {problem}' in err
    intact = 'epoch_1.pth' if case == 'truncated' else 'epoch_2.pth, epoch_1.pth'
    assert f'intact checkpoints there: {intact}' in err
    assert f'--resume {work / intact.split(",")[0]}' in err
    assert err.count('\n') == 1  # one line


def test_resume_into_empty_work_dir_starts_from_scratch(tmp_path, capsys):
    assert train_tool.resolve_auto_resume(str(tmp_path)) is None
    assert f'no checkpoint in {tmp_path}; starting from scratch' in capsys.readouterr().out


def test_load_from_another_architecture_is_refused_by_train(tmp_path, capsys):
    from tests.helpers import tiny_model
    other = str(tmp_path / 'penn.pth')
    torch.save(dict(state_dict=tiny_model(layout='penn_action_13', num_classes=15
                                          ).state_dict(), meta={}), other)
    status, err = cli(train_tool, [SYNTHETIC, '--work-dir', str(tmp_path / 'w'),
                                   '--cfg-options', f'load_from={other}', *TINY], capsys)
    assert status == 2 and 'Traceback' not in err
    assert f'error: {other} does not fit the model built from the config' in err
    assert not list((tmp_path / 'w').glob('*.pth'))


# ------------------------------------------------------------------ one-line errors
def test_misspelt_cfg_options_are_refused_with_suggestion(tmp_path, capsys):
    for key, parent, close in [('train_cfg.max_epoch', 'train_cfg', 'train_cfg.max_epochs'),
                               ('model.embed_dimm', 'model', 'model.embed_dim'),
                               ('model.heads.hidden', 'model', 'model.head')]:
        with pytest.raises(ConfigError, match=f'--cfg-options {key}: "{parent}" has no key '
                           f'.*did you mean "{close}"'):
            load_config(SYNTHETIC, options(f'{key}=2'))
    # legitimately new keys: constructor arguments, loop arguments, runner keys
    load_config(SYNTHETIC, options('model.input_norm=center', 'train_cfg.val_begin=1',
                                   'randomness.seed=0', 'model.head.loss.class_weight=[1,2]',
                                   *TINY))
    status, err = cli(train_tool, [SYNTHETIC, '--work-dir', str(tmp_path / 'w'),
                                   '--cfg-options', 'train_cfg.max_epoch=1'], capsys)
    assert status == 2 and 'Traceback' not in err
    assert 'has no key "max_epoch"' in err and 'did you mean "train_cfg.max_epochs"' in err


def test_cfg_options_without_equals_is_a_usage_error(capsys):
    for tool in (train_tool, test_tool):
        args = [SYNTHETIC] + (['x.pth'] if tool is test_tool else [])
        with pytest.raises(SystemExit) as exit_info:
            tool.parse_args(args + ['--cfg-options', 'train_cfg.max_epochs'])
        assert exit_info.value.code == 2
        err = capsys.readouterr().err
        assert '"train_cfg.max_epochs" is not KEY=VALUE' in err and 'Traceback' not in err


def test_work_dir_under_a_regular_file_is_refused(tmp_path, capsys):
    somefile = tmp_path / 'somefile'
    somefile.write_text('x')
    status, err = cli(train_tool, [SYNTHETIC, '--work-dir', str(somefile / 'x')], capsys)
    assert status == 2 and 'Traceback' not in err
    assert f'error: --work-dir {somefile / "x"}: {somefile} is a file, not a directory' in err


def test_unwritable_test_outputs_fail_before_evaluation(tmp_path, capsys, monkeypatch):
    def no_evaluation(*args, **kwargs):
        raise AssertionError('the evaluation started before the output paths were checked')
    monkeypatch.setattr(test_tool.Runner, 'from_cfg', no_evaluation)
    checkpoint = tmp_path / 'model.pth'
    checkpoint.write_bytes(b'x')
    somefile = tmp_path / 'somefile'
    somefile.write_text('x')
    for flag, path, problem in [
            ('--out-json', somefile / 'm.json', f'{somefile} is a file, not a directory'),
            ('--dump', somefile / 'sub' / 'd.pkl', f'{somefile} is a file, not a directory'),
            ('--out-json', tmp_path, 'is a directory; give a file name')]:
        status, err = cli(test_tool, [SYNTHETIC, str(checkpoint), '--work-dir',
                                      str(tmp_path / 'w'), flag, str(path)], capsys)
        assert status == 2 and 'Traceback' not in err, err
        assert f'error: {flag} {path}: {problem}' in err


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}', )


def test_malicious_checkpoint_is_refused_as_unsafe(tmp_path, capsys):
    marker = tmp_path / 'pwned'
    evil = tmp_path / 'evil.pth'
    torch.save(dict(state_dict={}, meta=_Evil(marker)), evil)
    status, err = cli(test_tool, [SYNTHETIC, str(evil), '--work-dir', str(tmp_path / 'w'),
                                  '--cfg-options', *TINY], capsys)
    assert status == 2 and 'Traceback' not in err
    assert f'error: {evil}: refused to load an unsafe checkpoint' in err
    assert '"posix.system"' in err or '"os.system"' in err
    assert 'weights_only' not in err and 'will likely succeed' not in err
    from mdn.apis.inference import init_recognizer
    from mdn.apis.checkpoint import CheckpointMismatchError
    with pytest.raises(CheckpointMismatchError, match='refused to load an unsafe checkpoint'):
        init_recognizer(SYNTHETIC, str(evil))
    assert not marker.exists()  # its code never ran


# ------------------------------------------------------------------ restricted unpickler
class _HugeArray:
    def __reduce__(self):
        return np.ndarray, ((10**6, 10**6), )


class _HugeReconstruct:
    def __reduce__(self):
        from numpy.core.multiarray import _reconstruct
        return _reconstruct, (np.ndarray, (10**6, 10**6), b'b')


class _HugeObjectState:
    def __reduce__(self):
        from numpy.core.multiarray import _reconstruct
        return (_reconstruct, (np.ndarray, (0, ), b'b'),
                (1, (10**6, 10**4), np.dtype(object), False, [1]))


class _HugeBytearray:
    def __reduce__(self):
        return bytearray, (10**12, )


@pytest.mark.parametrize('bomb', [_HugeArray, _HugeReconstruct, _HugeObjectState,
                                  _HugeBytearray])
def test_pickle_allocation_bomb_is_refused(tmp_path, bomb):
    path = tmp_path / 'bomb.pkl'
    path.write_bytes(pickle.dumps(bomb(), protocol=4))
    assert path.stat().st_size < 300
    start = time.perf_counter()
    with pytest.raises(UnsafePickleError, match=f'{path}: refused to unpickle: the file asks '
                       r'to allocate .* more than a \d+-byte file can hold'):
        safe_pickle_load(str(path))
    assert time.perf_counter() - start < 5


def test_restricted_unpickler_still_loads_real_arrays(tmp_path):
    content = dict(keypoint=np.random.rand(2, 30, 17, 2).astype(np.float32),
                   parts=[np.arange(5), (np.ones(3), )],
                   names=np.array(['a', 'bc']), mixed=np.array([np.zeros(2), 'x'], object),
                   big=np.zeros(20 << 20, np.uint8))  # 20 MiB: within the file's own size
    for protocol in (3, 4, 5):
        path = tmp_path / f'p{protocol}.pkl'
        path.write_bytes(pickle.dumps(content, protocol=protocol))
        loaded = safe_pickle_load(str(path))
        assert type(loaded['keypoint']) is np.ndarray
        assert type(loaded['parts'][0]) is np.ndarray and type(loaded['parts'][1][0]) is np.ndarray
        assert type(loaded['mixed'][0]) is np.ndarray
        np.testing.assert_array_equal(loaded['keypoint'], content['keypoint'])
        assert loaded['big'].nbytes == 20 << 20


@pytest.mark.parametrize('config', ['configs/micro_dualnet/mdn_nw_ucla_flip.py',
                                    'configs/stgcn/stgcn_penn_action.py'])
def test_tta_swaps_in_ten_clips_and_their_mirror_images(config):
    from mdn.apis.config import apply_test_time_augmentation
    cfg = load_config(config)
    single = [t['type'] for t in cfg.test_dataloader.dataset.pipeline]
    apply_test_time_augmentation(cfg)
    pipeline = cfg.test_dataloader.dataset.pipeline
    types = [t['type'] for t in pipeline]
    assert types == single[:types.index('FlipTestClips')] + ['FlipTestClips'] + \
        single[types.index('FlipTestClips'):]
    sampler = next(t for t in pipeline if t['type'] == 'UniformSampleFrames')
    assert sampler['num_clips'] == 10 and sampler['test_mode']
    assert cfg.val_dataloader.dataset.pipeline != pipeline  # validation stays one clip


def test_tta_without_a_tta_pipeline_names_the_config():
    from mdn.apis.config import apply_test_time_augmentation
    cfg = load_config(SYNTHETIC)
    cfg.pop('tta_pipeline')
    with pytest.raises(ConfigError, match='mdn_synthetic.py.*tta_pipeline'):
        apply_test_time_augmentation(cfg)
