"""Every shipped config loads, passes the checks, builds, and trains one step."""
from pathlib import Path

import pytest
import torch
from mmengine.optim import OptimWrapper

from mdn.apis.config import check_config, load_config
from mdn.datasets.transforms.features import GenSkeletonFeatures
from mdn.layouts import get_layout
from mdn.registry import MODELS

from .helpers import samples

CONFIGS = sorted(str(p) for p in (Path(__file__).resolve().parents[1] / 'configs').glob(
    '*/*.py') if not p.parent.name.startswith('_'))


def input_shape(cfg):
    dataset = cfg.train_dataloader.dataset
    layout = get_layout(dataset.get('layout', cfg.model.get('layout', 'coco_wholebody_133')))
    pipeline = {t['type']: t for t in dataset.pipeline}
    coord_dims = 3 if dataset.get('score_channel', True) is False else 2
    channels = GenSkeletonFeatures.num_channels(pipeline['GenSkeletonFeatures']['feats'],
                                                coord_dims)
    return pipeline['UniformSampleFrames']['clip_len'], layout.num_keypoints, channels


def test_every_config_is_found():
    names = {Path(c).name for c in CONFIGS}
    for expected in ('mdn_synthetic.py', 'mdn_penn_action.py', 'mdn_nw_ucla.py', 'mdn_ma52.py',
                     'mdn_imigue.py', 'mdn_penn_action_st_only.py', 'mdn_nw_ucla_no_mac.py'):
        assert expected in names


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: Path(p).stem)
def test_config_builds_and_trains_one_step(path):
    cfg = load_config(path)
    check_config(cfg)
    T, V, C = input_shape(cfg)
    model_cfg = cfg.model
    if 'in_channels' in model_cfg:
        assert model_cfg.in_channels == C, 'model in_channels must match the pipeline features'
    model = MODELS.build(model_cfg)
    num_classes = model_cfg.num_classes
    batch = dict(inputs=[torch.randn(1, min(T, 16), V, C) for _ in range(2)],
                 data_samples=samples([0, num_classes - 1]))
    if getattr(model, 'needs_frames', False):  # RGB stream: small frames and boxes too
        batch['inputs'] = [rgb_clip(x, model_cfg.rgb_encoder.num_frames) for x in batch['inputs']]
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01))
    log_vars = model.train_step(batch, optim)
    assert torch.isfinite(log_vars['loss'])
    model.eval()
    preds = model.val_step(batch)
    assert preds[0].pred_score.shape == (num_classes,)


def rgb_clip(keypoint, num_frames, size=32):
    """``PackRGBPoseInputs``-style inputs: random uint8 frames, one box per entity."""
    boxes = torch.tensor([4.0, 4.0, 20.0, 24.0]).expand(1, num_frames, 6, 4).clone()
    return dict(keypoint=keypoint,
                imgs=torch.randint(0, 255, (1, num_frames, 3, size, size), dtype=torch.uint8),
                boxes=boxes, box_valid=torch.ones(1, num_frames, 6, dtype=torch.bool))
