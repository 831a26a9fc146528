"""Multi-stream ensembles: bone motion, per-stream configs, score fusion, the tool end to end."""
import json
import pickle
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.dataset import Compose, pseudo_collate

from mdn.apis.config import check_config, load_config
from mdn.apis.streams import (StreamMismatchError, config_features, derive_stream_config,
                              fuse_dumps, read_dump, stream_features)
from mdn.datasets.transforms.features import GenSkeletonFeatures
from mdn.layouts import get_layout
from mdn.registry import DATASETS, MODELS
from mdn.utils.setup_env import register_all_modules

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / 'tools' / 'analysis'))
import ensemble  # noqa: E402

from .test_tools import TINY  # noqa: E402

MDN_SYNTHETIC = str(REPO / 'configs/micro_dualnet/mdn_synthetic.py')
MDN_UCLA = str(REPO / 'configs/micro_dualnet/mdn_nw_ucla.py')
STGCN_UCLA = str(REPO / 'configs/stgcn/stgcn_nw_ucla.py')
STGCN_PENN = str(REPO / 'configs/stgcn/stgcn_penn_action.py')


def _feats_everywhere(cfg):
    loaders = [cfg[k].dataset.pipeline for k in ('train_dataloader', 'val_dataloader',
                                                   'test_dataloader')]
    return {tuple(t['feats']) for p in loaders for t in p if t['type'] == 'GenSkeletonFeatures'}


# ------------------------------------------------------------------------ bone motion


def test_bone_motion_is_bone_velocity_per_second_masked_like_motion():
    parents = get_layout('coco_17').parents
    j, p = 9, parents[9]  # left wrist and its parent
    assert p != j
    kp = np.zeros((1, 4, 17, 2), np.float32)
    kp[0, :, j, 0] = np.arange(4) * 1.0  # the wrist moves 1 per sampled frame
    kp[0, :, p, 0] = np.arange(4) * 0.25  # its parent 0.25: the bone grows 0.75 per frame
    score = np.ones((1, 4, 17), np.float32)
    results = dict(keypoint=kp, keypoint_score=score, layout='coco_17',
                   frame_inds=np.array([0, 2, 4, 6]), fps=10.0)  # 0.2 s between samples
    out = GenSkeletonFeatures(feats=('bone', 'bone_motion'))(dict(results))['keypoint']
    assert out.shape == (1, 4, 17, 4)
    np.testing.assert_allclose(out[0, :3, j, 2], 0.75 / 0.2, rtol=1e-6)  # = 3.75 per second
    np.testing.assert_allclose(out[0, :3, j, 3], 0.0, atol=1e-6)
    assert (out[0, 3, :, 2:] == 0).all()  # the clip's last frame
    # the parent missing at frame 2: the bone is missing there -> no velocity into or out of it
    score[0, 2, p] = 0
    out = GenSkeletonFeatures(feats=('bone_motion',))(dict(results))['keypoint']
    np.testing.assert_allclose(out[0, 0, j, 0], 3.75, rtol=1e-6)
    assert (out[0, 1:3, j] == 0).all() and (out[0, 1:3, p] == 0).all()
    assert GenSkeletonFeatures.num_channels(('bone_motion', 'score'), 3) == 4


# ----------------------------------------------------------------- stream configs


@pytest.mark.parametrize('path,dims,extra', [(MDN_UCLA, 3, ()), (STGCN_UCLA, 3, ()),
                                             (STGCN_PENN, 2, ('score',))])
def test_stream_configs_get_the_stream_features_and_in_channels(path, dims, extra):
    cfg = load_config(path)
    base_feats, base_channels = _feats_everywhere(cfg), cfg.model.in_channels
    assert config_features(cfg)[1] == dims
    for stream, feats in (('j', ('joint',)), ('b', ('bone',)), ('jm', ('motion',)),
                          ('bm', ('bone_motion',))):
        derived = derive_stream_config(cfg, stream)
        assert _feats_everywhere(derived) == {feats + extra}
        assert derived.model.in_channels == dims + len(extra)
        check_config(derived)
    # j+jm is the shipped config itself
    shipped = derive_stream_config(cfg, 'j+jm')
    assert _feats_everywhere(shipped) == base_feats
    assert shipped.model.in_channels == base_channels
    assert _feats_everywhere(cfg) == base_feats  # the source config is not modified
    with pytest.raises(ValueError, match='unknown or repeated stream'):
        stream_features('angle')


def test_mdn_stream_config_builds_and_runs_on_its_pipeline():
    register_all_modules(init_default_scope=True)
    cfg = load_config(MDN_SYNTHETIC, {'model.embed_dim': 16, 'model.path.depth': 1,
                                      'model.path.num_heads': 2, 'model.head.hidden': 16,
                                      'model.global_stream.embed_dim': 16})
    derived = derive_stream_config(cfg, 'bm')
    assert derived.model.in_channels == 3
    data = dict(derived.test_dataloader.dataset)
    data.update(num_per_class=1)
    dataset = DATASETS.build(data)
    batch = pseudo_collate([dataset[0], dataset[1]])
    assert batch['inputs'][0].shape[-1] == 3
    model = MODELS.build(derived.model).eval()
    with torch.no_grad():
        out = model.test_step(batch)
    assert out[0].pred_score.shape == (8,)


def test_stgcn_stream_config_builds_and_runs_on_generated_3d_clips():
    register_all_modules(init_default_scope=True)
    derived = derive_stream_config(load_config(STGCN_UCLA), 'b')
    assert derived.model.in_channels == 3
    pipeline = Compose(derived.test_dataloader.dataset.pipeline)
    rng = np.random.default_rng(0)
    items = []
    for i in range(2):
        kp = rng.normal(size=(1, 40, 20, 3)).astype(np.float32)
        items.append(pipeline(dict(frame_dir=f'clip{i}', label=i, total_frames=40,
                                   keypoint=kp, keypoint_score=np.ones((1, 40, 20), np.float32),
                                   layout='kinect_20')))
    batch = pseudo_collate(items)
    assert batch['inputs'][0].shape[-2:] == (20, 3)
    model = MODELS.build(derived.model).eval()
    with torch.no_grad():
        out = model.test_step(batch)
    assert out[0].pred_score.shape == (10,)


# ------------------------------------------------------------------------- fusion

# 3 clips, 3 classes, labels 2, 1, 0. Stream A predicts 0, 1, 0; stream B 1, 2, 1.
LABELS = [2, 1, 0]
A = [[0.6, 0.0, 0.4], [0.1, 0.8, 0.1], [0.5, 0.3, 0.2]]
B = [[0.0, 0.6, 0.4], [0.3, 0.3, 0.4], [0.2, 0.7, 0.1]]
# A + B = [0.6, 0.6, 0.8] -> 2 (neither stream's answer, right), [0.4, 1.1, 0.5] -> 1 (right),
# [0.7, 1.0, 0.3] -> 1 (wrong): fused top-1 2/3; A alone 2/3 (clips 1, 2), B alone 0/3.


def _write_dump(path, scores, labels=LABELS, names=('c0', 'c1', 'c2')):
    path.parent.mkdir(parents=True, exist_ok=True)
    preds = [dict(frame_dir=n, gt_label=y, pred_score=np.array(s, np.float32),
                  entity_weights=None) for n, y, s in zip(names, labels, scores)]
    path.write_bytes(pickle.dumps(dict(entity_names=(), predictions=preds)))
    return str(path)


def test_fusion_by_hand(tmp_path):
    a, b = _write_dump(tmp_path / 'a.pkl', A), _write_dump(tmp_path / 'b.pkl', B)
    result = fuse_dumps([a, b])
    assert result['scores'].argmax(1).tolist() == [2, 1, 1]
    assert [s['top1'] for s in result['streams']] == pytest.approx([2 / 3, 0.0])
    assert result['fused']['top1'] == pytest.approx(2 / 3)
    assert result['fused']['top5'] == 1.0
    # per-class recall: class 0 -> 0, class 1 -> 1, class 2 -> 1
    assert result['fused']['mean_class_accuracy'] == pytest.approx(2 / 3)
    # weights: 2 A + 1 B = [1.2, 0.6, 1.2] (tie -> 0, wrong), [0.5, 1.9, 0.6] -> 1,
    # [1.2, 1.3, 0.5] -> 1: top-1 1/3
    weighted = fuse_dumps([a, b], [2.0, 1.0])
    np.testing.assert_allclose(weighted['scores'][2], [1.2, 1.3, 0.5], rtol=1e-6)
    assert weighted['fused']['top1'] == pytest.approx(1 / 3)


def test_mismatched_clip_lists_are_refused(tmp_path):
    a = _write_dump(tmp_path / 'a.pkl', A)
    reordered = _write_dump(tmp_path / 'r.pkl', B, names=('c1', 'c0', 'c2'))
    with pytest.raises(StreamMismatchError, match="first at #0: 'c0' vs 'c1'"):
        fuse_dumps([a, reordered])
    shorter = _write_dump(tmp_path / 's.pkl', B[:2], labels=LABELS[:2], names=('c0', 'c1'))
    with pytest.raises(StreamMismatchError, match='hold 3 and 2 clips'):
        fuse_dumps([a, shorter])
    relabelled = _write_dump(tmp_path / 'l.pkl', B, labels=[2, 1, 1])
    with pytest.raises(StreamMismatchError, match='label of 1 clips'):
        fuse_dumps([a, relabelled])
    assert read_dump(a)['names'] == ['c0', 'c1', 'c2']


def test_fuse_only_table_and_json(tmp_path, capsys):
    _write_dump(tmp_path / 'my_cfg_j' / 'test_dump.pkl', A)
    _write_dump(tmp_path / 'my_cfg_b' / 'test_dump.pkl', B)
    out = tmp_path / 'ens.json'
    ensemble.main(['configs/my_cfg.py', '--streams', 'j', 'b', '--work-root', str(tmp_path),
                   '--fuse-only', '--out-json', str(out)])
    text = capsys.readouterr().out
    assert '| my_cfg.py | 1 | 0.6667 | 0.0000 | 0.6667 | 1.0000 | 0.6667 |' in text
    assert 'stream b (2/2)' in text
    saved = json.loads(out.read_text())
    assert saved['fused'][0]['metrics']['top1'] == pytest.approx(2 / 3)
    with pytest.raises(SystemExit, match='no score dump'):
        ensemble.main(['configs/my_cfg.py', '--streams', 'j', 'jm', '--work-root',
                       str(tmp_path), '--fuse-only'])


def test_tta_without_a_tta_pipeline_is_refused_before_training(tmp_path, capsys):
    with pytest.raises(SystemExit):
        ensemble.main([STGCN_PENN, '--streams', 'j', '--work-root', str(tmp_path), '--tta',
                       '--cfg-options', 'tta_pipeline=None'])
    assert 'stgcn_penn_action.py: --tta needs a "tta_pipeline"' in capsys.readouterr().err
    assert not (tmp_path / 'configs').exists()


# ------------------------------------------------------------------ end to end


@pytest.mark.slow
def test_tool_trains_two_streams_fuses_and_reuses_them(tmp_path, capsys):
    work = tmp_path / 'ens'
    args = [MDN_SYNTHETIC, '--streams', 'j', 'bm', '--work-root', str(work),
            '--cfg-options', *TINY, 'train_cfg.max_epochs=1']
    rows = ensemble.main(args)
    text = capsys.readouterr().out
    assert 'stream j (1/2): training' in text and 'stream bm (2/2): training' in text
    assert len(rows) == 1 and set(rows[0]['streams']) == {'j', 'bm'}
    derived = load_config(str(work / 'configs' / 'mdn_synthetic_bm.py'))
    assert derived.model.in_channels == 3 and derived.train_cfg.max_epochs == 1
    assert _feats_everywhere(derived) == {('bone_motion', 'score')}
    for stream in ('j', 'bm'):
        assert (work / f'mdn_synthetic_{stream}' / 'test_dump.pkl').is_file()
    # the second call reuses both finished streams and gives the same numbers
    again = ensemble.main(args)
    assert 'finished run reused' in capsys.readouterr().out
    assert again[0]['top1'] == rows[0]['top1']
    # --tta tests each finished stream once more with the tta_pipeline and fuses those scores
    tta = ensemble.main([*args[:1], '--tta', *args[1:]])
    text = capsys.readouterr().out
    for stream in ('j', 'bm'):
        run_dir = work / f'mdn_synthetic_{stream}'
        assert (run_dir / 'test_dump_tta.pkl').is_file()
        one_clip = read_dump(str(run_dir / 'test_dump.pkl'))
        clips_and_mirrors = read_dump(str(run_dir / 'test_dump_tta.pkl'))
        assert clips_and_mirrors['names'] == one_clip['names']
        assert not np.allclose(clips_and_mirrors['scores'], one_clip['scores'])
    assert 'finished run, testing for the score dump' in text
    assert 0.0 <= tta[0]['top1'] <= 1.0
    # other options would mix differently-configured runs: refused
    with pytest.raises(SystemExit, match='differs from what'):
        ensemble.main(args[:-1] + ['train_cfg.max_epochs=2'])
