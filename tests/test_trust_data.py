"""No silent wrong result from bad data: NaN/inf in training, implausible or missing keypoints,
malformed annotations, non-finite evaluation scores and empty clips at inference."""
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.utils.data import DataLoader

import mdn.datasets.skeleton_dataset as skeleton_module
import mdn.engine.nonfinite as nonfinite_module
from mdn.apis.config import load_config
from mdn.datasets import SkeletonDataset, save_pickle_annotations
from mdn.engine.nonfinite import NonFiniteError, NonFiniteGuardHook
from mdn.evaluation import AccMetric, DumpPredictions, MA52Metric, top_k_accuracy
from mdn.structures import MicroActionDataSample

from .helpers import random_clip

REPO = Path(__file__).resolve().parents[1]
PIPELINE = [dict(type='NormalizeSkeleton'), dict(type='UniformSampleFrames', clip_len=8),
            dict(type='GenSkeletonFeatures', feats=('joint', 'score')),
            dict(type='PackMicroActionInputs')]
TINY = dict(type='MicroDualNet', layout='coco_17', num_classes=3, in_channels=3, embed_dim=16,
            path=dict(type='FactorisedPath', depth=1, num_heads=2),
            router=dict(type='EntityRouter', hidden=8), mac_loss=dict(type='MACLoss', proj_dim=8),
            global_stream=dict(type='GlobalPoseStream', embed_dim=16, depth=1),
            head=dict(type='MicroActionHead', hidden=16, dropout=0.0))

pytestmark = pytest.mark.usefixtures('one_torch_thread')


@pytest.fixture
def logged(monkeypatch):
    """Messages sent through ``print_log`` by the dataset and the guard hook."""
    lines = []

    def record(msg, logger=None, level=20):
        lines.append(str(msg))
    monkeypatch.setattr(skeleton_module, 'print_log', record)
    monkeypatch.setattr(nonfinite_module, 'print_log', record)
    return lines


def write_clips(tmp_path, clips, name='ann.pkl', **kw):
    path = str(tmp_path / name)
    save_pickle_annotations(path, clips, **kw)
    return path


def four_clips(huge=None):
    clips = [random_clip(num_frames=10, name=f'c{i}', label=i % 3, seed=i) for i in range(4)]
    if huge is not None:
        clips[1]['keypoint'][0, 3, 5, 0] = huge
    return clips


def train_runner(tmp_path, ann_file, policy='raise', max_abs_coord=1e6):
    return Runner(
        model=dict(TINY), work_dir=str(tmp_path / 'work'), default_scope='mdn',
        train_dataloader=dict(
            batch_size=2, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
            dataset=dict(type='SkeletonDataset', ann_file=ann_file, layout='coco_17',
                         pipeline=PIPELINE, max_abs_coord=max_abs_coord)),
        optim_wrapper=dict(optimizer=dict(type='AdamW', lr=1e-3)),
        train_cfg=dict(by_epoch=True, max_epochs=1),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1),
                           nonfinite=dict(type='NonFiniteGuardHook', policy=policy)))


def all_finite(module):
    return all(bool(torch.isfinite(t).all()) for t in module.state_dict().values()
               if t.is_floating_point())


# --------------------------------------------------------------------------- 1. NaN in training
def test_nan_loss_stops_training_naming_epoch_iteration_and_clips(tmp_path):
    # The bound is switched off, so the 1e38 keypoint of clip c1 reaches the model: NaN loss.
    runner = train_runner(tmp_path, write_clips(tmp_path, four_clips(huge=1e38)),
                          max_abs_coord=None)
    with pytest.raises(NonFiniteError, match=r"epoch 1, iteration 1 .*clips \['c0', 'c1'\]: "
                       r'loss is nan'):
        runner.train()
    assert all_finite(runner.model)  # the optimiser never saw the NaN gradients
    assert not list((tmp_path / 'work').glob('*.pth'))  # no NaN checkpoint


def test_nan_loss_skip_policy_skips_the_step_with_a_count(tmp_path, logged):
    runner = train_runner(tmp_path, write_clips(tmp_path, four_clips(huge=1e38)),
                          policy='skip', max_abs_coord=None)
    runner.train()
    skips = [m for m in logged if 'NonFiniteGuardHook: skipped' in m]
    assert len(skips) == 1 and "clips ['c0', 'c1']" in skips[0]
    assert '(1 step(s) skipped so far)' in skips[0]
    assert any('1 training step(s) were skipped' in m for m in logged)
    assert all_finite(runner.model)  # weights and normalisation buffers
    saved = torch.load(tmp_path / 'work' / 'epoch_1.pth', map_location='cpu')['state_dict']
    assert all(torch.isfinite(v).all() for v in saved.values() if v.is_floating_point())


class _GradNaNModel(BaseModel):
    """Finite loss (sqrt(0) = 0) whose gradient is NaN (0 * d sqrt(x)/dx at 0 = 0 * inf)."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.ones(3))

    def forward(self, inputs, data_samples=None, mode='loss'):
        x = torch.stack(inputs)
        return dict(loss=(x @ self.w).pow(2).mean() + torch.sqrt(self.w.sum() * 0))


def test_nan_gradient_with_finite_loss_is_caught_before_the_step(tmp_path):
    def item(i):
        return dict(inputs=torch.ones(3), data_samples=MicroActionDataSample(
            metainfo=dict(frame_dir=f'g{i}')))
    loader = DataLoader([item(i) for i in range(4)], batch_size=2, collate_fn=pseudo_collate)
    runner = Runner(model=_GradNaNModel(), work_dir=str(tmp_path / 'w'),
                    train_dataloader=loader, default_scope='mdn',
                    optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1),
                                       clip_grad=dict(max_norm=1.0)),
                    train_cfg=dict(by_epoch=True, max_epochs=1),
                    default_hooks=dict(nonfinite=dict(type='NonFiniteGuardHook')))
    with pytest.raises(NonFiniteError, match=r"iteration 1 .*\['g0', 'g1'\]: 1 parameter "
                       r"gradient\(s\) are NaN/inf, e.g. \['w'\]"):
        runner.train()
    assert torch.equal(runner.model.w.detach(), torch.ones(3))


def test_nan_weights_or_metrics_never_saved_as_checkpoint_or_best():
    hook = NonFiniteGuardHook()
    runner = type('R', (), dict(epoch=2, iter=10))()
    state = dict(a=torch.ones(2), b=torch.tensor([1.0, float('nan')]), n=torch.tensor(3))
    with pytest.raises(NonFiniteError, match=r"refusing to save a checkpoint at epoch 2.*"
                       r"1 weight tensor\(s\) hold NaN/inf, e.g. \['b'\]"):
        hook.before_save_checkpoint(runner, dict(state_dict=state, meta=dict(epoch=2, iter=10)))
    hook.before_save_checkpoint(runner, dict(state_dict=dict(a=torch.ones(2))))  # fine
    with pytest.raises(NonFiniteError, match=r"non-finite metrics \['acc/top1'\]"):
        hook.after_val_epoch(runner, {'acc/top1': float('nan'), 'acc/top5': 1.0})
    # The guard runs before CheckpointHook (priority VERY_LOW) in after_val_epoch.
    assert NonFiniteGuardHook.priority == 'HIGHEST'


def test_every_config_has_the_guard_and_policy_is_checked():
    for name in ('micro_dualnet/mdn_synthetic.py', 'micro_dualnet/mdn_ma52.py',
                 'stgcn/stgcn_synthetic.py'):
        cfg = load_config(str(REPO / 'configs' / name))
        assert cfg.default_hooks.nonfinite == dict(type='NonFiniteGuardHook', policy='raise')
    assert issubclass(NonFiniteError, ValueError)  # CLI: "error: ...", exit 2
    with pytest.raises(ValueError, match="policy must be one of"):
        NonFiniteGuardHook(policy='ignore')


# --------------------------------------------------------------------------- 2. huge coordinates
def test_huge_keypoint_is_zeroed_with_warning_and_training_stays_finite(tmp_path, logged):
    path = write_clips(tmp_path, four_clips(huge=1e38))
    ds = SkeletonDataset(path, layout='coco_17')
    info = ds.get_data_info(1)
    assert info['keypoint'][0, 3, 5].tolist() == [0, 0] and info['keypoint_score'][0, 3, 5] == 0
    assert any(path in m and 'c1 (0 NaN/inf, 1 with |value| > 1e+06)' in m for m in logged)
    runner = train_runner(tmp_path, path)  # default bound 1e6, guard policy 'raise'
    runner.train()
    assert runner.iter == 2 and all_finite(runner.model)


def test_huge_keypoint_rejected_under_raise_policy_and_bound_configurable(tmp_path):
    clips = four_clips(huge=1e25)
    path = write_clips(tmp_path, clips)
    with pytest.raises(ValueError, match=r'ann.pkl: clip c1: 1 keypoint\(s\) have a '
                       r'\|coordinate\| or score above 1e\+06'):
        SkeletonDataset(path, layout='coco_17', nan_policy='raise')
    wide = write_clips(tmp_path, four_clips(huge=5000.0), name='wide.pkl')  # pixels <= 400
    assert len(SkeletonDataset(wide, layout='coco_17', nan_policy='raise')) == 4
    assert len(SkeletonDataset(path, layout='coco_17', max_abs_coord=None)) == 4
    with pytest.raises(ValueError, match=r'wide.pkl: clip c1: 1 keypoint.*above 1000'):
        SkeletonDataset(wide, layout='coco_17', nan_policy='raise', max_abs_coord=1000)


# --------------------------------------------------------------------------- 3. no valid keypoint
def test_clip_without_any_valid_keypoint_is_skipped_and_named(tmp_path, logged):
    clips = four_clips()
    clips[2]['keypoint'][:] = np.nan
    clips[3]['keypoint'][:] = 0.0
    path = write_clips(tmp_path, clips)
    ds = SkeletonDataset(path, layout='coco_17')
    assert [ds.get_data_info(i)['frame_dir'] for i in range(len(ds))] == ['c0', 'c1']
    skipped = [m for m in logged if 'skipped 2 clip(s)' in m]
    assert skipped and path in skipped[0]
    assert 'c2: no valid keypoint' in skipped[0] and 'c3: no valid keypoint' in skipped[0]


def test_dataset_whose_keypoints_are_all_nan_is_an_error(tmp_path):
    clips = four_clips()
    for c in clips:
        c['keypoint'][:] = np.nan
    path = write_clips(tmp_path, clips)
    with pytest.raises(ValueError, match=r"ann.pkl: no usable clips in split None: all 4 "
                       r"clip\(s\) were skipped, e.g. \['c0: no valid keypoint"):
        SkeletonDataset(path, layout='coco_17')
    for c in clips:
        c['keypoint'][:] = 0.0
    with pytest.raises(ValueError, match='no usable clips'):
        SkeletonDataset(write_clips(tmp_path, clips, name='zeros.pkl'), layout='coco_17')


# --------------------------------------------------------------------------- 4. evaluation
def _results(num=5, nan_at=(1, 3)):
    out = []
    for i in range(num):
        score = np.full(52, 1 / 52, np.float32)
        if i in nan_at:
            score[0] = np.nan
        out.append(dict(pred_score=score, gt_label=i, entity_weights=None, frame_dir=f'v{i}'))
    return out


def test_metrics_refuse_non_finite_scores(tmp_path):
    for metric in (AccMetric(), MA52Metric(), DumpPredictions(str(tmp_path / 'd.pkl'))):
        name = type(metric).__name__
        with pytest.raises(ValueError, match=rf'{name}: 2 of 5 clips have non-finite scores, '
                           'e.g. v1, v3'):
            metric.compute_metrics(_results())
    assert not (tmp_path / 'd.pkl').exists()
    assert 'top1' in AccMetric().compute_metrics(_results(nan_at=()))
    with pytest.raises(ValueError, match='1 of 2 clips have non-finite scores'):
        top_k_accuracy(np.array([[0.5, np.inf], [0.2, 0.8]]), np.array([0, 1]))


# --------------------------------------------------------------------------- 5. inference
@pytest.fixture(scope='module')
def recognizer():
    from mdn.apis.inference import init_recognizer
    cfg = load_config(str(REPO / 'configs/micro_dualnet/mdn_synthetic.py'), {
        'model.embed_dim': 16, 'model.path.depth': 1, 'model.path.num_heads': 2,
        'model.global_stream.embed_dim': 16, 'model.global_stream.depth': 1,
        'model.head.hidden': 16, 'model.router.hidden': 16, 'model.mac_loss.proj_dim': 16,
        'test_dataloader.dataset.pipeline.1.clip_len': 8})
    torch.manual_seed(0)
    return init_recognizer(cfg)


def test_recognize_clip_refuses_a_clip_without_valid_keypoint(recognizer):
    from mdn.apis.inference import recognize_clip
    rng = np.random.default_rng(0)
    good = rng.uniform(100, 400, (12, 133, 2)).astype(np.float32)
    assert recognize_clip(recognizer, good).scores.shape == (8,)
    for keypoints, scores in ((np.zeros_like(good), None),
                              (np.full_like(good, np.nan), None),
                              (good, np.zeros(good.shape[:2], np.float32))):
        with pytest.raises(ValueError, match='no valid keypoint in the clip .*refusing to '
                           'recognise it'):
            recognize_clip(recognizer, keypoints, scores)
    broken = pickle.loads(pickle.dumps(recognizer))
    with torch.no_grad():
        next(broken.parameters()).fill_(float('nan'))
    with pytest.raises(ValueError, match='the model gave non-finite scores'):
        recognize_clip(broken, good)


# --------------------------------------------------------------------------- 6. annotations
def test_annotations_as_dict_or_clip_without_frame_dir_are_named(tmp_path):
    path = tmp_path / 'dict.pkl'
    path.write_bytes(pickle.dumps(dict(split={}, annotations=dict(c0=random_clip(name='c0')))))
    with pytest.raises(ValueError, match=r'dict.pkl: "annotations" is a dict .*needs a list '
                       'of clip dicts'):
        SkeletonDataset(str(path), layout='coco_17')
    clip = random_clip(name='x')
    del clip['frame_dir']
    path = write_clips(tmp_path, [random_clip(name='a'), clip], name='nodir.pkl')
    with pytest.raises(ValueError, match=r'nodir.pkl: annotation #1 has no "frame_dir"'):
        SkeletonDataset(path, layout='coco_17')


def test_missing_float_or_string_labels_are_refused(tmp_path):
    for label, problem in ((None, 'no "label"'), (1.5, 'label 1.5 is not an integer'),
                           ('walk', "label 'walk' is a str"),
                           (float('nan'), 'label nan is not an integer')):
        clip = random_clip(name='bad_clip')
        if label is None:
            del clip['label']
        else:
            clip['label'] = label
        path = write_clips(tmp_path, [random_clip(name='ok'), clip], name='labels.pkl')
        with pytest.raises(ValueError, match=f'labels.pkl: clip bad_clip: {problem}'):
            SkeletonDataset(path, layout='coco_17')
    clip = random_clip(name='two', label=2.0)  # an integral float is a fine label
    ds = SkeletonDataset(write_clips(tmp_path, [clip], name='f.pkl'), layout='coco_17')
    assert ds.get_data_info(0)['label'] == 2 and type(ds.get_data_info(0)['label']) is int
    npz = str(tmp_path / 'stack.npz')
    np.savez(npz, data=np.ones((6, 13, 3), np.float32), offsets=np.array([0, 3, 6]),
             labels=np.array([0.0, 0.5]))
    with pytest.raises(ValueError, match=r'stack.npz: clip 000001: label 0.5 is not an '
                       'integer class index'):
        SkeletonDataset(npz, layout='penn_action_13')


def test_unlabelled_clip_in_a_training_split_is_refused(tmp_path):
    clips = [random_clip(name='a', label=0), random_clip(name='u7', label=-1)]
    path = write_clips(tmp_path, clips)
    with pytest.raises(ValueError, match=r'clip u7 has label -1 \(unlabelled\); training '
                       'needs labels'):
        SkeletonDataset(path, layout='coco_17')
    assert len(SkeletonDataset(path, layout='coco_17', test_mode=True)) == 2
    clips[1]['label'] = -3
    with pytest.raises(ValueError, match=r'clip u7: label -3 outside \[0, '):
        SkeletonDataset(write_clips(tmp_path, clips, name='neg.pkl'), layout='coco_17',
                        test_mode=True)


def test_list_keypoints_converted_object_dtype_refused(tmp_path):
    listed = random_clip(name='listed')
    expected = listed['keypoint'].copy()
    listed['keypoint'] = listed['keypoint'].tolist()
    listed['keypoint_score'] = listed['keypoint_score'].tolist()
    ds = SkeletonDataset(write_clips(tmp_path, [listed], name='list.pkl'), layout='coco_17')
    np.testing.assert_allclose(ds.get_data_info(0)['keypoint'], expected)
    assert ds.get_data_info(0)['keypoint'].dtype == np.float32
    obj = random_clip(name='objclip')
    obj['keypoint'] = obj['keypoint'].astype(object)
    with pytest.raises(ValueError, match='obj.pkl: clip objclip: keypoint has dtype object'):
        SkeletonDataset(write_clips(tmp_path, [obj], name='obj.pkl'), layout='coco_17')
    ragged = random_clip(name='ragged')
    ragged['keypoint'] = [ragged['keypoint'][0].tolist(), ragged['keypoint'][0, :3].tolist()]
    with pytest.raises(ValueError, match='clip ragged: keypoint is a ragged list'):
        SkeletonDataset(write_clips(tmp_path, [ragged], name='ragged.pkl'), layout='coco_17')


def test_wrong_score_shape_and_one_channel_keypoints_are_named(tmp_path):
    clip = random_clip(num_frames=20, name='shapes')
    clip['keypoint_score'] = clip['keypoint_score'][:, :10]
    with pytest.raises(ValueError, match=r'score.pkl: clip shapes: keypoint_score has shape '
                       r'\(1, 10, 17\); it must be \[M,T,V\] = \(1, 20, 17\)'):
        SkeletonDataset(write_clips(tmp_path, [clip], name='score.pkl'), layout='coco_17')
    clip = random_clip(name='flat')
    clip['keypoint'] = clip['keypoint'][..., :1]
    with pytest.raises(ValueError, match=r'one.pkl: clip flat: keypoint has 1 channel\(s\) '
                       r'per joint; need 2 \(x, y\) or 3'):
        SkeletonDataset(write_clips(tmp_path, [clip], name='one.pkl'), layout='coco_17')
