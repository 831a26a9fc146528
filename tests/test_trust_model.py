"""Trust fixes that change what the model sees: every keypoint in an entity, one rule for
missing joints in training and test, a seed that fixes the run, missing joints masked."""
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import Compose

from mdn.layouts import get_layout
from mdn.layouts.base import ENTITY_SET_OMISSIONS, ENTITY_SETS
from mdn.models.encoders import EntityEncoder
from mdn.registry import LAYOUTS

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize('layout_name', sorted(LAYOUTS.module_dict))
@pytest.mark.parametrize('entity_set', sorted(ENTITY_SETS))
def test_every_keypoint_belongs_to_an_entity_or_is_left_out_on_purpose(layout_name, entity_set):
    layout = get_layout(layout_name)
    assert layout.uncovered_keypoints(entity_set) == []
    # what is unused is exactly what the set omits with a reason
    used = set().union(*layout.partition(entity_set).indices)
    unused = set(range(layout.num_keypoints)) - used
    omitted = set().union(*(layout.entities[e] for e in ENTITY_SET_OMISSIONS.get(entity_set, {})),
                          set(layout.left_out))
    assert unused <= omitted


def test_a_layout_with_an_orphan_keypoint_is_refused():
    layout = get_layout('coco_wholebody_133')
    entities = dict(layout.entities, torso=(5, 6, 11, 12))  # the old torso: elbows orphaned
    with pytest.raises(ValueError, match=r'7 \(left_elbow\).*8 \(right_elbow\).*left_out'):
        replace(layout, entities=entities)
    reasons = {7: 'test: not used', 8: 'test: not used'}
    assert replace(layout, entities=entities, left_out=reasons).uncovered_keypoints('body6') == []


@pytest.mark.parametrize('layout_name,entity_set', [('coco_wholebody_133', 'body6'),
                                                    ('openpose_137', 'body5')])
def test_every_used_joint_embedding_gets_a_gradient_on_whole_body_layouts(layout_name, entity_set):
    torch.manual_seed(0)
    layout = get_layout(layout_name)
    enc = EntityEncoder(layout_name, entity_set=entity_set, in_channels=3, embed_dim=16)
    x = torch.randn(2, 4, layout.num_keypoints, 3)
    enc(x).square().sum().backward()
    has_grad = enc.joint_embed.grad.abs().sum(-1) > 0
    used = sorted(set().union(*enc.partition.indices))
    assert has_grad[used].all(), [layout.keypoint_names[v] for v in used if not has_grad[v]]
    assert not has_grad[[v for v in range(layout.num_keypoints) if v not in used]].any()
    # moving an elbow changes the torso token
    elbow = layout.keypoint_names.index('left_elbow')
    moved = x.clone()
    moved[:, :, elbow, :2] += 1.0
    torso = enc.partition.names.index('torso')
    with torch.no_grad():
        assert not torch.allclose(enc(x)[:, :, torso], enc(moved)[:, :, torso])


def _penn_clip(seed=0):
    rng = np.random.default_rng(seed)
    kp = rng.uniform(50, 400, (1, 40, 13, 2)).astype(np.float32)
    score = np.ones((1, 40, 13), np.float32)
    score[rng.random(score.shape) < 0.25] = 0.0  # Penn's invisible joints: positions annotated
    return dict(frame_dir='penn_0001', label=0, total_frames=40, img_shape=(480, 640),
                keypoint=kp, keypoint_score=score, layout='penn_action_13')


def test_penn_training_and_test_pipelines_agree_on_missing_joints():
    cfg = Config.fromfile(str(REPO / 'configs/micro_dualnet/mdn_penn_action.py'))
    train = Compose(cfg.train_dataloader.dataset.pipeline[:-2])  # up to the augmentation
    test = Compose(cfg.test_dataloader.dataset.pipeline[:-2])
    np.random.seed(0)
    for seed in range(5):
        out_train, out_test = train(_penn_clip(seed)), test(_penn_clip(seed))
        zero_train = (out_train['keypoint'] == 0).all(-1)
        zero_test = (out_test['keypoint'] == 0).all(-1)
        # the config keeps invisible joints: neither pipeline zeroes any
        assert not zero_train.any() and not zero_test.any()
        assert not out_train['missing'].any() and not out_test['missing'].any()


def test_zeroed_missing_joints_stay_zero_through_every_augmentation():
    clip = _penn_clip(1)
    pipeline = Compose([dict(type='NormalizeSkeleton'),  # default: score 0 -> missing
                        dict(type='UniformSampleFrames', clip_len=16),
                        dict(type='RandomAffine2D'), dict(type='RandomFlip', prob=1.0),
                        dict(type='JointDropout', prob=0.1),
                        dict(type='GenSkeletonFeatures', feats=('joint', 'score', 'motion'))])
    np.random.seed(3)
    out = pipeline(clip)
    missing = out['missing']
    assert missing.any() and (out['keypoint'][missing] == 0).all()
    assert (out['keypoint'][~missing][:, :2] != 0).any(-1).all()


def test_training_frame_sampling_follows_the_seed():
    sampler = Compose([dict(type='UniformSampleFrames', clip_len=8)])

    def draw(seed):
        np.random.seed(seed)
        return sampler(_penn_clip())['frame_inds']

    assert np.array_equal(draw(5), draw(5))
    assert not np.array_equal(draw(5), draw(6))


def _seeded_training(work, *extra):
    """Train the tiny synthetic config for 2 epochs with a fixed seed; the epoch-2 weights."""
    sys.path.insert(0, str(REPO / 'tools'))
    import train as train_tool
    from tests.test_tools import SYNTHETIC, TINY
    tiny = [o for o in TINY if 'num_workers' not in o and 'persistent' not in o]
    opts = tiny + ['train_cfg.max_epochs=2', 'randomness.seed=7', 'randomness.deterministic=True',
                   'train_dataloader.num_workers=1', 'val_dataloader.num_workers=0',
                   'train_dataloader.persistent_workers=False',
                   'val_dataloader.persistent_workers=False', 'test_dataloader.num_workers=0',
                   'test_dataloader.persistent_workers=False', *extra]
    train_tool.main([SYNTHETIC, '--work-dir', str(work), '--cfg-options', *opts])
    return torch.load(work / 'epoch_2.pth', map_location='cpu')['state_dict']


def _assert_same_weights(a, b):
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_same_seed_gives_identical_weights_and_metrics(tmp_path):
    """``randomness=dict(seed=S, deterministic=True)``: two runs, one dataloader worker each
    (the worker's numpy generator is seeded by MMEngine), identical weights and metrics."""
    weights = [_seeded_training(tmp_path / run) for run in ('a', 'b')]
    _assert_same_weights(*weights)
    from tests.test_distributed_resume import last_val_metrics
    metrics = [{k: v for k, v in last_val_metrics(tmp_path / run).items()
                if 'time' not in k} for run in 'ab']
    assert 'acc/top1' in metrics[0] and metrics[0] == metrics[1]


def test_attention_pooling_ignores_missing_joints():
    torch.manual_seed(0)
    enc = EntityEncoder('coco_17', in_channels=3, embed_dim=16)
    x = torch.randn(1, 3, 17, 3)
    x[:, :, 9] = 0.0  # left wrist missing (all features 0)
    with torch.no_grad():
        before = enc(x)
        enc.joint_embed[9] += 5.0  # what a missing joint would inject through attention
        after = enc(x)
    assert torch.allclose(before, after, atol=1e-6)
    # an entity with no present joint falls back to its learned embedding, finite
    x[:, :, [7, 9]] = 0.0
    with torch.no_grad():
        assert torch.isfinite(enc(x)).all()


def test_validation_schedule_does_not_change_training(tmp_path):
    """Building the validation iterator draws from torch's global generator; without
    ValRngIsolationHook the weights after epoch 2 differed between val_interval 1 and 2."""
    every_epoch = _seeded_training(tmp_path / 'v1', 'train_cfg.val_interval=1')
    no_val_before_2 = _seeded_training(tmp_path / 'v2', 'train_cfg.val_interval=2')
    _assert_same_weights(every_epoch, no_val_before_2)
