"""The command-line tools end to end on the synthetic default, kept tiny."""
import json
import os.path as osp
import pickle
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from mdn.apis.config import ConfigError, check_config, enable_amp, load_config

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / 'tools'))
sys.path.insert(0, str(REPO / 'tools' / 'analysis'))
import ma52_submission  # noqa: E402
import test as test_tool  # noqa: E402
import train as train_tool  # noqa: E402

SYNTHETIC = str(REPO / 'configs/micro_dualnet/mdn_synthetic.py')
TINY = ['model.embed_dim=16', 'model.path.depth=1', 'model.path.num_heads=2',
        'model.global_stream.embed_dim=16', 'model.head.hidden=16',
        'train_dataloader.dataset.num_per_class=3', 'val_dataloader.dataset.num_per_class=2',
        'test_dataloader.dataset.num_per_class=2', 'train_dataloader.batch_size=8',
        'train_dataloader.num_workers=0', 'val_dataloader.num_workers=0',
        'test_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
        'val_dataloader.persistent_workers=False', 'test_dataloader.persistent_workers=False',
        'train_dataloader.dataset.pipeline.1.clip_len=8',
        'val_dataloader.dataset.pipeline.1.clip_len=8',
        'test_dataloader.dataset.pipeline.1.clip_len=8', 'default_hooks.logger.interval=1']


def _checkpoint_epoch(path):
    return torch.load(path, map_location='cpu')['meta']['epoch']


def test_train_then_resume_continues_from_saved_epoch(tmp_path):
    work = str(tmp_path / 'work')
    train_tool.main([SYNTHETIC, '--work-dir', work, '--cfg-options', 'train_cfg.max_epochs=2',
                     *TINY])
    assert _checkpoint_epoch(osp.join(work, 'epoch_2.pth')) == 2  # weights_only load works
    train_tool.main([SYNTHETIC, '--work-dir', work, '--resume', '--cfg-options',
                     'train_cfg.max_epochs=3', *TINY])
    assert _checkpoint_epoch(osp.join(work, 'epoch_3.pth')) == 3
    logs = sorted(Path(work).glob('*/*.log'))
    assert 'resumed epoch: 2' in logs[-1].read_text()
    assert 'Epoch(train) [3]' in logs[-1].read_text()
    assert 'Epoch(train) [1]' not in logs[-1].read_text()

    out_json, dump = str(tmp_path / 'metrics.json'), str(tmp_path / 'dump.pkl')
    metrics = test_tool.main([SYNTHETIC, osp.join(work, 'epoch_3.pth'), '--work-dir', work,
                              '--out-json', out_json, '--dump', dump, '--cfg-options', *TINY])
    saved = json.loads(Path(out_json).read_text())
    assert saved['acc/top1'] == pytest.approx(metrics['acc/top1'])
    from mdn.utils import safe_pickle_load
    content = safe_pickle_load(dump)
    assert len(content['predictions']) == 16 and content['entity_names'][0] == 'face'
    first = content['predictions'][0]
    assert first['pred_score'].shape == (8,) and first['entity_weights'].shape == (6, 2)


def test_ma52_submission_csv(tmp_path):
    rng = np.random.default_rng(0)
    preds = []
    for i in range(3):
        s = rng.random(52).astype(np.float32)
        s[[7, 3, 40]] = [10, 9, 8]  # top actions 7 (head), 3 (body), 40 (head-hand)
        preds.append(dict(frame_dir=f'0003_01_000{i}', pred_score=s / s.sum(), gt_label=-1))
    dump = tmp_path / 'dump.pkl'
    dump.write_bytes(pickle.dumps(dict(entity_names=(), predictions=preds)))
    out = tmp_path / 'prediction.csv'
    ma52_submission.main([str(dump), '--out', str(out), '--zip', '--body-from', 'actions'])
    lines = out.read_text().splitlines()
    assert lines[0].startswith('vid,action_pred_1,') and lines[0].endswith(',body_pred_5')
    row = lines[1].split(',')
    assert row[0] == '0003_01_0000.mp4' and row[1:4] == ['7', '3', '40']
    assert row[6:9] == ['1', '0', '5']  # body of each top action
    assert (tmp_path / 'prediction.zip').exists()
    with pytest.raises(ValueError, match='52 action scores'):
        ma52_submission.submission_rows([dict(pred_score=np.ones(8), frame_dir='x')])


def test_config_errors_are_clear(tmp_path):
    with pytest.raises(ConfigError, match='config file not found: .*missing.py'):
        load_config(str(tmp_path / 'missing.py'))
    broken = tmp_path / 'broken.py'
    broken.write_text('model = dict(type="MicroDualNet",\n')
    with pytest.raises(ConfigError, match='broken.py'):
        load_config(str(broken))
    cfg = load_config(SYNTHETIC)
    for key, value, message in [
            ('model.type', 'MicroTripleNet', 'unknown model type "MicroTripleNet"'),
            ('model.layout', 'coco_18', 'unknown keypoint layout "coco_18"'),
            ('model.entity_set', 'body9', 'unknown entity set "body9"'),
            ('model.paths', 'both', "model.paths must be one of"),
            ('model.num_classes', 1, 'num_classes must be an int >= 2'),
            ('train_cfg.max_epochs', 0, 'max_epochs must be >= 1')]:
        bad = load_config(SYNTHETIC, {key: value})
        with pytest.raises(ConfigError, match=message):
            check_config(bad)
    check_config(cfg)


@pytest.mark.skipif(torch.cuda.is_available(), reason='checks the CPU fallback')
def test_amp_on_cpu_falls_back_with_message(caplog):
    cfg = load_config(SYNTHETIC)
    assert enable_amp(cfg) is False
    assert cfg.optim_wrapper.type == 'OptimWrapper'


def test_amp_optim_wrapper_switch_keeps_the_rest():
    """What ``--amp`` (train.py and benchmark.py) does to the optimiser wrapper config."""
    from mdn.apis.config import use_amp_optim_wrapper
    cfg = load_config(SYNTHETIC)
    wrapper = use_amp_optim_wrapper(cfg.optim_wrapper)
    assert wrapper is cfg.optim_wrapper and wrapper.type == 'AmpOptimWrapper'
    assert wrapper.loss_scale == 'dynamic' and wrapper.clip_grad == dict(max_norm=1.0)
    fixed = use_amp_optim_wrapper(dict(type='OptimWrapper', loss_scale=512.0))
    assert fixed == dict(type='AmpOptimWrapper', loss_scale=512.0)


def test_mim_train_entry_point(tmp_path):
    """`mim train mdn CONFIG` finds tools/train.py inside the installed package."""
    import shutil
    import subprocess
    mim = shutil.which('mim') or str(Path(sys.executable).parent / 'mim')
    if not Path(mim).exists():
        pytest.skip('openmim is not installed')
    import mdn
    if not (Path(mdn.__file__).parent / '.mim' / 'tools' / 'train.py').exists():
        installed = subprocess.run([sys.executable, '-c', 'import importlib.metadata as m; '
                                    'print(m.distribution("mdn").locate_file("mdn"))'],
                                   capture_output=True, text=True, cwd=str(tmp_path))
        if not (Path(installed.stdout.strip()) / '.mim' / 'tools' / 'train.py').exists():
            pytest.fail('mdn is not installed with its .mim folder: run tools/install.sh')
    work = tmp_path / 'mim_work'
    result = subprocess.run(
        [mim, 'train', 'mdn', SYNTHETIC, '--work-dir', str(work), '--cfg-options',
         'train_cfg.max_epochs=1', *TINY], capture_output=True, text=True, cwd=str(tmp_path),
        timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert (work / 'epoch_1.pth').exists()


def test_checkpoint_from_another_architecture_is_refused(tmp_path):
    from mdn.apis.checkpoint import CheckpointMismatchError, check_checkpoint_matches
    from tests.helpers import tiny_model
    other = tiny_model(layout='penn_action_13', num_classes=15)
    path = str(tmp_path / 'penn.pth')
    torch.save(dict(state_dict=other.state_dict(), meta={}), path)
    with pytest.raises(CheckpointMismatchError, match=r'penn.pth does not fit the model.*'
                       r'shape mismatch'):
        check_checkpoint_matches(tiny_model(layout='coco_17', num_classes=4), path)
    check_checkpoint_matches(other, path)  # its own model: fine
    garbage = tmp_path / 'garbage.pth'
    garbage.write_bytes(b'not a checkpoint')
    with pytest.raises(CheckpointMismatchError, match='garbage.pth: not a readable checkpoint'):
        check_checkpoint_matches(other, str(garbage))


def test_cli_reports_bad_input_without_traceback(tmp_path):
    import subprocess
    missing = str(tmp_path / 'nope.py')
    result = subprocess.run([sys.executable, str(REPO / 'tools/train.py'), missing],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert f'error: config file not found: {missing}' in result.stderr
    assert 'Traceback' not in result.stderr
    cfg = tmp_path / 'penn_missing.py'
    cfg.write_text(f"_base_ = [{str(REPO / 'configs/micro_dualnet/mdn_penn_action.py')!r}]\n"
                   f"train_dataloader = dict(dataset=dict(ann_file={str(tmp_path / 'x.npz')!r}))\n")
    result = subprocess.run([sys.executable, str(REPO / 'tools/train.py'), str(cfg),
                             '--work-dir', str(tmp_path / 'w')],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 2, result.stderr[-2000:]
    assert 'annotation file not found' in result.stderr and 'x.npz' in result.stderr
    assert 'Traceback' not in result.stderr


def test_random_checkpoint_fits_its_config(tmp_path):
    import random_checkpoint
    from mdn.apis.checkpoint import check_checkpoint_matches
    from mdn.registry import MODELS
    out = str(tmp_path / 'random.pth')
    random_checkpoint.main([str(REPO / 'configs/micro_dualnet/mdn_penn_action.py'), out])
    model = MODELS.build(load_config(str(REPO / 'configs/micro_dualnet/mdn_penn_action.py')
                                     ).model)
    check_checkpoint_matches(model, out)
