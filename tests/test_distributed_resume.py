"""Scale and hold up: 2-process gloo training equals 1-process training; a run killed with
SIGKILL mid-epoch and resumed ends with the same weights and metrics as an uninterrupted one.

Both use a deterministic variant of the synthetic default (no random augmentation, no dropout)
so equality can be asserted, not just "close enough".
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable


def write_config(tmp_path: Path, batch_size: int, max_epochs: int, per_class: int = 4,
                 sgd: bool = False) -> str:
    base = REPO / 'configs/micro_dualnet/mdn_synthetic.py'
    text = f'''
_base_ = [{str(base)!r}]
pipeline = [
    dict(type='NormalizeSkeleton'),
    dict(type='UniformSampleFrames', clip_len=8, test_mode=True),
    dict(type='GenSkeletonFeatures', feats=('joint', 'score', 'motion')),
    dict(type='PackMicroActionInputs')]
model = dict(embed_dim=16, path=dict(depth=1, num_heads=2, dropout=0.0),
             global_stream=dict(embed_dim=16), head=dict(hidden=16, dropout=0.0))
train_dataloader = dict(batch_size={batch_size}, num_workers=0, persistent_workers=False,
                        dataset=dict(num_per_class={per_class}, pipeline=pipeline))
val_dataloader = dict(batch_size=8, num_workers=0, persistent_workers=False,
                      dataset=dict(num_per_class=2, pipeline=pipeline))
test_dataloader = val_dataloader
train_cfg = dict(max_epochs={max_epochs})
randomness = dict(seed=0)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(max_keep_ckpts=5))
'''
    if sgd:  # Adam turns float-rounding differences of near-zero gradients into lr-sized steps
        text += "optim_wrapper = dict(optimizer=dict(_delete_=True, type='SGD', lr=0.05))\n"
    path = tmp_path / f'cfg_b{batch_size}_e{max_epochs}.py'
    path.write_text(text)
    return str(path)


def last_val_metrics(work_dir: Path) -> dict:
    scalars = sorted(work_dir.glob('*/vis_data/scalars.json'))[-1]
    rows = [json.loads(line) for line in scalars.read_text().splitlines()]
    return [r for r in rows if 'acc/top1' in r][-1]


def state_dict(path: Path) -> dict:
    return torch.load(path, map_location='cpu')['state_dict']


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def run(cmd, **kw):
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=str(REPO))
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900, **kw)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


@pytest.mark.slow
def test_two_process_gloo_equals_single_process(tmp_path):
    single, dist = tmp_path / 'single', tmp_path / 'dist'
    run([PYTHON, str(REPO / 'tools/train.py'), write_config(tmp_path, 16, 1, sgd=True),
         '--work-dir', str(single)])
    env_port = dict(PORT=str(free_port()))
    os.environ.update(env_port)
    try:
        run(['bash', str(REPO / 'tools/dist_train.sh'), write_config(tmp_path, 8, 1, sgd=True), '2',
             '--work-dir', str(dist), '--cfg-options', 'env_cfg.dist_cfg.backend=gloo'])
    finally:
        os.environ.pop('PORT', None)
    a, b = last_val_metrics(single), last_val_metrics(dist)
    for key in ('acc/top1', 'acc/top5', 'acc/mean_class_accuracy'):
        assert a[key] == pytest.approx(b[key], abs=1e-6), key
    sa, sb = state_dict(single / 'epoch_1.pth'), state_dict(dist / 'epoch_1.pth')
    for name in sa:
        torch.testing.assert_close(sa[name], sb[name], atol=2e-5, rtol=1e-4, msg=name)


@pytest.mark.slow
def test_sigkill_mid_epoch_then_resume_equals_uninterrupted(tmp_path):
    epochs = 3
    full, killed = tmp_path / 'full', tmp_path / 'killed'
    cfg = write_config(tmp_path, 4, epochs, per_class=4)  # 8 iterations per epoch
    train = [PYTHON, str(REPO / 'tools/train.py'), cfg]
    run(train + ['--work-dir', str(full)])

    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=str(REPO))
    log = open(tmp_path / 'killed.log', 'w')
    proc = subprocess.Popen(train + ['--work-dir', str(killed)], stdout=log, stderr=log,
                            env=env)
    deadline = time.time() + 600
    try:
        while time.time() < deadline:  # wait until epoch 2 is under way, then kill -9
            logs = list(killed.glob('*/*.log'))
            if logs and 'Epoch(train) [2][2/8]' in logs[0].read_text():
                break
            assert proc.poll() is None, 'training ended before it could be killed'
            time.sleep(0.2)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        log.close()
    assert proc.returncode == -signal.SIGKILL
    # on a loaded machine epoch 2 may finish before the signal lands: resume from whichever
    # epoch was saved last, as long as the run was cut short
    saved = sorted(int(p.stem.split('_')[1]) for p in killed.glob('epoch_*.pth'))
    assert saved and 1 <= saved[-1] < epochs, saved

    run(train + ['--work-dir', str(killed), '--resume'])
    resumed_log = sorted(killed.glob('*/*.log'))[-1].read_text()
    assert f'resumed epoch: {saved[-1]}' in resumed_log
    a, b = last_val_metrics(full), last_val_metrics(killed)
    for key in ('acc/top1', 'acc/top5', 'acc/mean_class_accuracy'):
        assert a[key] == b[key], key
    sa, sb = state_dict(full / f'epoch_{epochs}.pth'), state_dict(killed / f'epoch_{epochs}.pth')
    for name in sa:
        torch.testing.assert_close(sa[name], sb[name], atol=1e-6, rtol=1e-5, msg=name)
