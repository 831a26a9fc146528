"""The optional RGB entity stream (issue 15): ResNet-TSM, plain-PyTorch ROIAlign, entity boxes
from keypoints, frame reading and transforms, weight loading, training and the demo with the
RGB + pose config. Tiny clips and random weights, CPU."""
import json
import math
import pickle
import re
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from mdn.datasets.transforms.rgb import (DecodeVideoFrames, EntityBoxes, FrameReadError,
                                         FramesFlip, FramesResizeCrop, entity_boxes,
                                         read_frames)
from mdn.layouts import ENTITY_ORDER, get_layout
from mdn.models.backbones.resnet_tsm import (ResNetTSM, convert_state_dict,
                                             load_resnet_checkpoint, temporal_shift)
from mdn.models.layers.roi_align import RoIAlign, roi_align, torchvision_available

from .conftest import require_shared
from .pose.video_fixtures import MA52_DEMO, write_video

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / 'tools'))
import demo as demo_tool  # noqa: E402
import train as train_tool  # noqa: E402

RGBPOSE = str(REPO / 'configs/micro_dualnet/mdn_ma52_rgbpose.py')
pytestmark = pytest.mark.usefixtures('one_torch_thread')


# ----------------------------------------------------------------------------- ResNet-TSM
@pytest.mark.parametrize('depth,channels', [(18, (256, 512)), (50, (1024, 2048))])
def test_resnet_tsm_shapes(depth, channels):
    model = ResNetTSM(depth=depth, num_segments=2, out_indices=(2, 3)).eval()
    with torch.no_grad():
        s16, s32 = model(torch.randn(4, 3, 64, 96))
    assert s16.shape == (4, channels[0], 4, 6) and s32.shape == (4, channels[1], 2, 3)
    assert model.strides[2:] == [16, 32]
    only16 = ResNetTSM(depth=depth, num_segments=2, out_indices=(2,))
    assert not hasattr(only16, 'layer4')  # stages past the last output are not built


def test_resnet_tsm_freezing_options():
    model = ResNetTSM(depth=18, out_indices=(1,), frozen_stages=0, norm_eval=True).train()
    assert not model.conv1.weight.requires_grad and model.layer1[0].conv1.weight.requires_grad
    assert not model.bn1.training and not model.layer2[0].bn1.training  # statistics frozen
    model = ResNetTSM(depth=18, out_indices=(1,), frozen_stages=1).train()
    assert not model.layer1[1].conv2.weight.requires_grad
    assert model.layer2[0].conv1.weight.requires_grad and model.layer2[0].bn1.training
    assert not model.bn1.training and not model.layer1[0].bn1.training
    with pytest.raises(ValueError, match='depth must be one of'):
        ResNetTSM(depth=42)


def test_shifted_channels_come_from_neighbouring_frames():
    T, C = 4, 16
    x = torch.arange(2 * T, dtype=torch.float32).view(2 * T, 1, 1, 1).expand(2 * T, C, 2, 2)
    out = temporal_shift(x.contiguous(), T, shift_div=8).view(2, T, C, 2, 2)[..., 0, 0]
    frame = torch.arange(2 * T, dtype=torch.float32).view(2, T)
    fold = C // 8
    for t in range(T):
        nxt = frame[:, t + 1] if t + 1 < T else torch.zeros(2)
        prv = frame[:, t - 1] if t > 0 else torch.zeros(2)
        assert torch.equal(out[:, t, :fold], nxt[:, None].expand(2, fold))
        assert torch.equal(out[:, t, fold:2 * fold], prv[:, None].expand(2, fold))
        assert torch.equal(out[:, t, 2 * fold:], frame[:, t, None].expand(2, C - 2 * fold))


def test_tsm_mixes_frames_within_a_clip_only():
    model = ResNetTSM(depth=18, num_segments=4, out_indices=(0,)).eval()
    x = torch.randn(8, 3, 32, 32)
    y = x.clone()
    y[3] += 1.0  # clip 0, frame 3
    with torch.no_grad():
        a, b = model(x)[0], model(y)[0]
    changed = (a - b).abs().flatten(1).amax(1) > 1e-6
    # layer1 has 2 blocks, one shift each: frame 3 reaches frames 2 and 1, not 0
    assert changed[[1, 2, 3]].all() and not changed[0]
    assert not changed[4:].any()  # nor the next clip (its frame 0 follows in the batch)


# ----------------------------------------------------------------------------- ROIAlign
def _bilinear(img, y, x):
    H, W = img.shape
    if y < -1.0 or y > H or x < -1.0 or x > W:
        return 0.0
    y, x = max(y, 0.0), max(x, 0.0)
    yl, xl = int(y), int(x)
    if yl >= H - 1:
        yh = yl = H - 1
        y = float(yl)
    else:
        yh = yl + 1
    if xl >= W - 1:
        xh = xl = W - 1
        x = float(xl)
    else:
        xh = xl + 1
    ly, lx = y - yl, x - xl
    return ((1 - ly) * (1 - lx) * img[yl, xl] + (1 - ly) * lx * img[yl, xh]
            + ly * (1 - lx) * img[yh, xl] + ly * lx * img[yh, xh])


def reference_roi_align(feat, boxes, out, scale, ratio, aligned):
    """Loop-by-loop ROIAlign (Mask R-CNN's definition, torchvision's rules): the slow truth."""
    N, C = feat.shape[:2]
    K = boxes.shape[1]
    result = np.zeros((N, K, C, out, out))
    off = 0.5 if aligned else 0.0
    for n in range(N):
        for k in range(K):
            x1, y1, x2, y2 = (boxes[n, k] * scale - off).tolist()
            rw, rh = x2 - x1, y2 - y1
            if not aligned:
                rw, rh = max(rw, 1.0), max(rh, 1.0)
            bw, bh = rw / out, rh / out
            gh = ratio if ratio > 0 else math.ceil(rh / out)
            gw = ratio if ratio > 0 else math.ceil(rw / out)
            count = max(gh * gw, 1)
            for c in range(C):
                for p in range(out):
                    for q in range(out):
                        acc = 0.0
                        for iy in range(gh):
                            y = y1 + p * bh + (iy + 0.5) * bh / gh
                            for ix in range(gw):
                                x = x1 + q * bw + (ix + 0.5) * bw / gw
                                acc += _bilinear(feat[n, c], y, x)
                        result[n, k, c, p, q] = acc / count
    return result


EDGE_BOXES = torch.tensor([[[0., 0., 44., 36.],      # the whole image
                            [-6., -3., 10., 8.],      # over the top-left edge
                            [30., 25., 47.5, 39.],    # over the bottom-right edge
                            [13.3, 7.7, 21.9, 30.1]],  # inside, fractional
                           [[40., 30., 44., 36.],     # at the corner, small
                            [50., 40., 60., 50.],     # entirely outside: zeros
                            [2., 2., 2.5, 30.],       # thin
                            [5., 5., 40., 33.]]], dtype=torch.float64)


@pytest.mark.parametrize('aligned', [True, False])
@pytest.mark.parametrize('ratio', [2, 0])
def test_roi_align_matches_the_slow_reference(aligned, ratio):
    feat = torch.randn(2, 3, 9, 11, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    out = roi_align(feat, EDGE_BOXES, 3, spatial_scale=0.25, sampling_ratio=ratio,
                    aligned=aligned)
    ref = reference_roi_align(feat.numpy(), EDGE_BOXES.numpy(), 3, 0.25, ratio, aligned)
    assert out.shape == (2, 4, 3, 3, 3)
    np.testing.assert_allclose(out.numpy(), ref, rtol=0, atol=1e-12)
    assert ref[1, 1].max() == 0 and out[1, 1].abs().max() == 0  # outside the map


def test_roi_align_gradcheck_float64():
    feat = torch.randn(2, 2, 5, 6, dtype=torch.float64, requires_grad=True)
    boxes = EDGE_BOXES[:, :3] / 4
    assert torch.autograd.gradcheck(
        lambda f: roi_align(f, boxes, 2, spatial_scale=0.5, sampling_ratio=2), (feat,))


@pytest.mark.skipif(not torchvision_available(),
                    reason='torchvision.ops does not import here (no CPU build for this torch)')
def test_roi_align_matches_torchvision():
    feat = torch.randn(2, 3, 9, 11, dtype=torch.float64)
    ours = RoIAlign(3, 0.25, 2, backend='matmul')(feat, EDGE_BOXES)
    theirs = RoIAlign(3, 0.25, 2, backend='torchvision')(feat, EDGE_BOXES)
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-10)


# ----------------------------------------------------------------------------- boxes
LAYOUT = get_layout('coco_wholebody_133')
PARTS = LAYOUT.partition(list(ENTITY_ORDER))


def _person(T=2):
    """Keypoints with only the right hand (in frame 0 and 1) and face (frame 0) present."""
    kp = np.zeros((1, T, 133, 2), np.float32)
    score = np.zeros((1, T, 133), np.float32)
    rng = np.random.default_rng(0)
    rh = list(PARTS.indices[ENTITY_ORDER.index('right_hand')])
    face = list(PARTS.indices[ENTITY_ORDER.index('face')])
    kp[0, :, rh] = rng.uniform([200, 100], [260, 180], (len(rh), T, 2)).astype(np.float32)
    score[0, :, rh] = 0.9
    kp[0, 0, face] = rng.uniform([100, 40], [140, 90], (len(face), 2))
    score[0, 0, face] = 0.8
    return kp, score, rh, face


def test_entity_boxes_cover_present_keypoints_and_mark_missing_entities():
    kp, score, rh, face = _person()
    boxes, valid = entity_boxes(kp, score, PARTS.indices, padding=0.1, min_size=0)
    k_rh, k_face = ENTITY_ORDER.index('right_hand'), ENTITY_ORDER.index('face')
    pts = kp[0, 0, rh]
    lo, hi = pts.min(0), pts.max(0)
    pad = 0.1 * (hi - lo).max()
    np.testing.assert_allclose(boxes[0, 0, k_rh], [*(lo - pad), *(hi + pad)], rtol=1e-5)
    assert valid[0, :, k_rh].all() and valid[0, 0, k_face] and not valid[0, 1, k_face]
    assert (boxes[0, 1, k_face] == 0).all()  # missing: no invented box
    assert not valid[0, :, ENTITY_ORDER.index('lower_body')].any()
    # the left wrist (body keypoint 9) alone: a min_size box about it
    kp[0, 0, 9], score[0, 0, 9] = (300, 300), 0.5
    boxes, valid = entity_boxes(kp, score, PARTS.indices, padding=0.1, min_size=40)
    k_lh = ENTITY_ORDER.index('left_hand')
    np.testing.assert_allclose(boxes[0, 0, k_lh], [280, 280, 320, 320])
    # clipped to the image; a box fully outside it is missing
    boxes, valid = entity_boxes(kp, score, PARTS.indices, 0.1, 40, img_shape=(310, 305))
    np.testing.assert_allclose(boxes[0, 0, k_lh], [280, 280, 305, 310])
    boxes, valid = entity_boxes(kp, score, PARTS.indices, 0.1, 40, img_shape=(200, 200))
    assert not valid[0, 0, k_lh] and (boxes[0, 0, k_lh] == 0).all()


def test_flip_mirrors_frames_and_boxes_and_swaps_hands():
    kp, score, rh, _ = _person(T=1)
    results = dict(keypoint=kp, keypoint_score=score, layout=LAYOUT.name, img_shape=(240, 320))
    results = EntityBoxes(padding=0.0, min_size=0)(results)
    imgs = np.zeros((1, 240, 320, 3), np.uint8)
    x1, y1, x2, y2 = results['entity_boxes'][0, 0, ENTITY_ORDER.index('right_hand')].astype(int)
    imgs[0, y1:y2, x1:x2] = 255
    before = results['entity_boxes'].copy()
    results.update(imgs=imgs, flipped=True)
    results = FramesFlip()(results)
    k_lh, k_rh = ENTITY_ORDER.index('left_hand'), ENTITY_ORDER.index('right_hand')
    assert results['entity_box_valid'][0, 0, k_lh] and not results['entity_box_valid'][0, 0, k_rh]
    a, b, c, d = before[0, 0, k_rh]
    np.testing.assert_allclose(results['entity_boxes'][0, 0, k_lh], [320 - c, b, 320 - a, d])
    fx1, fy1, fx2, fy2 = results['entity_boxes'][0, 0, k_lh].astype(int)
    inside = results['imgs'][0, fy1 + 1:fy2 - 1, fx1 + 1:fx2 - 1]
    assert inside.size and (inside == 255).all()  # the bright hand moved with its box


def test_resize_crop_moves_boxes_with_the_pixels():
    imgs = np.zeros((2, 100, 200, 3), np.uint8)
    imgs[:, 40:60, 90:110] = 255  # centre square
    boxes = np.array([[[[90, 40, 110, 60], [0, 0, 10, 10]]] * 2], np.float32)  # [1,2,2,4]
    results = dict(imgs=imgs, entity_boxes=boxes, entity_box_valid=np.ones((1, 2, 2), bool))
    out = FramesResizeCrop(scale=50, crop_size=40)(results)
    assert out['imgs'].shape == (2, 40, 40, 3)
    np.testing.assert_allclose(out['entity_boxes'][0, 0, 0], [15, 15, 25, 25])  # x0.5, -(30, 5)
    x1, y1, x2, y2 = out['entity_boxes'][0, 0, 0].astype(int)
    assert out['imgs'][0, y1 + 1:y2 - 1, x1 + 1:x2 - 1].min() > 200
    assert not out['entity_box_valid'][0, :, 1].any()  # the corner box fell out of the crop


# ----------------------------------------------------------------------------- frames
def _index_video(path, num_frames=30, size=(48, 64)):
    """Frame t is filled with grey 8 * t: a read frame says which frame it is."""
    frames = [np.full((*size, 3), 8 * t, np.uint8) for t in range(num_frames)]
    return write_video(path, frames, fps=10.0)


def _frame_number(img):
    return int(round(float(img.mean()) / 8))


def test_frames_are_read_on_the_pose_time_base(tmp_path):
    video = _index_video(tmp_path / 'v.mp4')
    got = read_frames(str(video), [3, 3, 0, 17, 29])
    assert [_frame_number(f) for f in got] == [3, 3, 0, 17, 29]
    boxes = np.arange(12 * 6 * 4, dtype=np.float32).reshape(1, 12, 6, 4)
    results = dict(video='v.mp4', video_root=str(tmp_path), frame_inds=np.arange(8) + 2,
                   clip_len=8, num_clips=1, video_frame_offset=1, frame_stride=3,
                   entity_boxes=boxes, entity_box_valid=np.ones((1, 12, 6), bool))
    out = DecodeVideoFrames(num_frames=4)(results)
    # centres of 4 stretches of 8 -> positions 1, 3, 5, 7 -> pose frames 3, 5, 7, 9
    assert [_frame_number(f) for f in out['imgs']] == [1 + 3 * f for f in (3, 5, 7, 9)]
    np.testing.assert_array_equal(out['entity_boxes'][0], boxes[0, [3, 5, 7, 9]])


def test_bad_videos_fail_naming_the_file(tmp_path):
    with pytest.raises(FrameReadError, match='nowhere.mp4: video not found'):
        read_frames(str(tmp_path / 'nowhere.mp4'), [0])
    video = _index_video(tmp_path / 'short.mp4', num_frames=5)
    with pytest.raises(FrameReadError, match=r'short\.mp4: the video ends after 5 frames'):
        read_frames(str(video), [2, 9])
    (tmp_path / 'junk.mp4').write_bytes(b'not a video' * 100)
    with pytest.raises(FrameReadError, match='junk.mp4'):
        read_frames(str(tmp_path / 'junk.mp4'), [0])
    with pytest.raises(KeyError, match='no "video" field'):
        DecodeVideoFrames().video_path(dict(frame_dir='clip_1'))


# ----------------------------------------------------------------------------- weights
def _to_mmaction(key):
    key = re.sub(r'^conv1\.', 'conv1.conv.', key)
    key = re.sub(r'^bn1\.', 'conv1.bn.', key)
    key = re.sub(r'^(layer\d+\.\d+)\.bn(\d)\.', r'\1.conv\2.bn.', key)
    key = re.sub(r'^(layer\d+\.\d+)\.conv(\d)\.', r'\1.conv\2.conv.', key)
    key = re.sub(r'^(layer\d+\.\d+)\.conv1\.', r'\1.conv1.net.', key)  # TemporalShift wrapper
    key = key.replace('downsample.0.', 'downsample.conv.').replace('downsample.1.',
                                                                   'downsample.bn.')
    return 'backbone.' + key


def test_weights_load_from_torchvision_and_mmaction2_names(tmp_path):
    source = ResNetTSM(depth=18, out_indices=(3,))
    state = source.state_dict()
    tv = dict(state, **{'fc.weight': torch.zeros(1000, 512), 'fc.bias': torch.zeros(1000)})
    tv = {k: v for k, v in tv.items() if 'num_batches_tracked' not in k}  # old torchvision files
    torch.save(tv, tmp_path / 'tv.pth')
    mm = {_to_mmaction(k): v for k, v in state.items()}
    mm['cls_head.fc_cls.weight'] = torch.zeros(400, 512)
    assert 'backbone.layer2.0.conv1.net.conv.weight' in mm
    torch.save(dict(state_dict=mm, meta={}), tmp_path / 'mm.pth')
    assert convert_state_dict(dict(state_dict=mm))[1] == 'mmaction2'
    for name in ('tv.pth', 'mm.pth'):
        target = ResNetTSM(depth=18, out_indices=(2,))  # layer4 not built: skipped
        load_resnet_checkpoint(target, str(tmp_path / name))
        for key, value in target.state_dict().items():
            assert torch.equal(value, state[key]), (name, key)
    r50 = ResNetTSM(depth=50, out_indices=(3,))
    with pytest.raises(ValueError, match=r'tv\.pth does not fit ResNetTSM\(depth=50\).*'
                                         r'expected key\(s\) missing.*layer1\.0\.conv3'):
        load_resnet_checkpoint(r50, str(tmp_path / 'tv.pth'))
    backbone = ResNetTSM(depth=18, pretrained=str(tmp_path / 'mm.pth'))
    backbone.init_weights()  # what the Runner calls
    assert torch.equal(backbone.conv1.weight, state['conv1.weight'])


# ----------------------------------------------------------------------------- model
def _tiny_rgb_model(modality, layout='coco_wholebody_133', entity_set='body6'):
    from mdn.registry import MODELS
    return MODELS.build(dict(
        type='RGBPoseMicroDualNet', modality=modality, layout=layout, entity_set=entity_set,
        num_classes=4, in_channels=3, embed_dim=16,
        path=dict(type='FactorisedPath', depth=1, num_heads=2),
        router=dict(type='EntityRouter', hidden=8), mac_loss=dict(type='MACLoss', proj_dim=8),
        global_stream=dict(type='GlobalPoseStream', embed_dim=8, depth=1),
        head=dict(type='MicroActionHead', hidden=8, dropout=0.0, temporal_segments=2),
        rgb_encoder=dict(type='RGBEntityEncoder', num_frames=2, roi_size=2, global_dim=8,
                         backbone=dict(type='ResNetTSM', depth=18))))


def _rgb_batch(V=133, T=4, Tr=2, clips=1, people=2, B=2):
    g = torch.Generator().manual_seed(0)
    boxes = torch.tensor([2.0, 3.0, 20.0, 28.0]).expand(B, clips * people, Tr, 6, 4).clone()
    valid = torch.ones(B, clips * people, Tr, 6, dtype=torch.bool)
    valid[0, 1, :, 3] = False  # one person's left hand unseen: the "no box" token is used
    inputs = [dict(keypoint=torch.randn(clips * people, T, V, 3, generator=g),
                   imgs=torch.randint(0, 255, (clips, Tr, 3, 32, 32), dtype=torch.uint8,
                                      generator=g),
                   boxes=boxes[b], box_valid=valid[b]) for b in range(B)]
    from .helpers import samples
    return dict(inputs=inputs, data_samples=samples(range(B)))


@pytest.mark.parametrize('modality', ['both', 'rgb'])
def test_every_parameter_gets_a_gradient(modality):
    from mmengine.optim import OptimWrapper
    model = _tiny_rgb_model(modality)
    data = model.data_preprocessor(_rgb_batch(), training=True)
    losses = model(**data, mode='loss')
    sum(v for k, v in losses.items() if k.startswith('loss')).backward()
    missing = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert not missing
    # the image side learns: backbone stem, ROI head and the unseen hand's "no box" token
    rgb = model.rgb_encoder
    for param in (rgb.backbone.conv1.weight, rgb.roi_head[0].weight, rgb.missing_token):
        assert param.grad.abs().sum() > 0
    assert (model.encoder is None) == (modality == 'rgb')
    model.zero_grad()
    log = model.train_step(_rgb_batch(), OptimWrapper(torch.optim.SGD(model.parameters(), 0.01)))
    assert torch.isfinite(log['loss'])
    model.eval()
    pred = model.val_step(_rgb_batch())
    assert pred[0].entity_weights.shape == (6, 2) and pred[0].pred_score.shape == (4,)


def test_rgb_tokens_follow_their_entity_boxes():
    """Moving one entity's box changes that entity's token only (iMiGUE: 5 of 6 boxes)."""
    from mdn.models.encoders import RGBEntityEncoder
    enc = RGBEntityEncoder('openpose_137', 'body5', embed_dim=8, num_frames=2, roi_size=2,
                           backbone=dict(type='ResNetTSM', depth=18)).eval()
    imgs = torch.randn(1, 2, 3, 64, 64)
    boxes = torch.tensor([4.0, 4.0, 40.0, 40.0]).expand(1, 2, 6, 4).clone()
    valid = torch.ones(1, 2, 6, dtype=torch.bool)
    with torch.no_grad():
        a, va, _ = enc(imgs, boxes, valid)
        boxes[0, :, 4] = torch.tensor([20.0, 20.0, 60.0, 60.0])  # right hand
        boxes[0, :, 5] = 0  # lower body: not an entity of body5, ignored
        b, _, _ = enc(imgs, boxes, valid)
        valid[0, 1, 0] = False  # face unseen in frame 1
        c, vc, _ = enc(imgs, boxes, valid)
    assert a.shape == (1, 2, 5, 8) and va.all()
    changed = (a - b).abs().amax((0, 1, 3)) > 1e-6
    assert changed.tolist() == [False, False, False, False, True]
    torch.testing.assert_close(c[0, 1, 0], enc.missing_token[0] + enc.entity_embed[0]
                               + enc.time_embed[1])
    assert not vc[0, 1, 0] and torch.equal(c[0, 0], b[0, 0])


def test_fusion_pairs_pose_steps_with_the_frames_read_for_them():
    from mdn.models.encoders import EntityTokenFusion
    fusion = EntityTokenFusion(dim=1)
    with torch.no_grad():
        fusion.proj.weight.fill_(1.0)
        fusion.proj.bias.zero_()
    L, n = 48, 8
    rgb = torch.arange(n, dtype=torch.float32).view(1, n, 1, 1)
    fused = fusion(torch.zeros(1, L, 1, 1), rgb).view(L)
    # DecodeVideoFrames reads position floor((i + 0.5) * L / n) for RGB step i
    for i in range(n):
        pos = int((i + 0.5) * L / n)
        assert fused[pos] == i
    # pose step t takes the RGB step of its stretch
    assert fused.tolist() == [float(t * n // L) for t in range(L)]
    concat = EntityTokenFusion(dim=4, mode='concat')
    assert concat(torch.randn(2, 6, 3, 4), torch.randn(2, 2, 3, 4)).shape == (2, 6, 3, 4)


def test_pack_keeps_clip_and_person_order():
    from mdn.datasets.transforms.rgb import PackRGBPoseInputs
    M, clips, L, n = 2, 2, 4, 2
    kp = np.zeros((M, clips * L, 133, 3), np.float32)
    boxes = np.zeros((M, clips * n, 6, 4), np.float32)
    for m in range(M):
        for c in range(clips):
            kp[m, c * L:(c + 1) * L] = 10 * c + m
            boxes[m, c * n:(c + 1) * n] = 10 * c + m
    results = dict(keypoint=kp, keypoint_score=np.ones(kp.shape[:3], np.float32), label=0,
                   clip_len=L, num_clips=clips, rgb_clip_len=n, entity_boxes=boxes,
                   entity_box_valid=np.ones(boxes.shape[:3], bool),
                   imgs=np.zeros((clips * n, 8, 8, 3), np.uint8))
    packed = PackRGBPoseInputs(num_people=3)(results)['inputs']
    assert packed['imgs'].shape == (clips, n, 3, 8, 8)
    assert packed['keypoint'].shape[0] == packed['boxes'].shape[0] == clips * 3
    for row in range(clips * 3):
        c, m = divmod(row, 3)
        if m < M:
            assert (packed['keypoint'][row] == 10 * c + m).all()
            assert (packed['boxes'][row] == 10 * c + m).all() and packed['box_valid'][row].all()
        else:  # padded person: no boxes
            assert not packed['box_valid'][row].any()


# ----------------------------------------------------------------------------- end to end
TINY_RGB = [
    'model.embed_dim=16', 'model.path.depth=1', 'model.path.num_heads=2',
    'model.global_stream.embed_dim=8', 'model.head.hidden=16', 'model.mac_loss.proj_dim=8',
    'model.rgb_encoder.backbone.depth=18', 'model.rgb_encoder.backbone.pretrained=None',
    'model.rgb_encoder.num_frames=4', 'model.rgb_encoder.roi_size=3',
    'model.rgb_encoder.global_dim=8',
    'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False', 'val_dataloader.num_workers=0',
    'val_dataloader.persistent_workers=False', 'test_dataloader.num_workers=0',
    'test_dataloader.persistent_workers=False', 'default_hooks.logger.interval=1',
    'custom_hooks=[]', 'optim_wrapper.optimizer.lr=1e-3']
for _loader, (_sample, _decode, _crop) in (('train', (2, 7, 8)), ('val', (2, 4, 5)),
                                          ('test', (2, 4, 5))):
    TINY_RGB += [f'{_loader}_dataloader.dataset.pipeline.{_sample}.clip_len=8',
                 f'{_loader}_dataloader.dataset.pipeline.{_decode}.num_frames=4',
                 f'{_loader}_dataloader.dataset.pipeline.{_crop}.scale=64',
                 f'{_loader}_dataloader.dataset.pipeline.{_crop}.crop_size=56']


def test_tiny_options_address_the_right_steps():
    from mdn.apis.config import load_config
    cfg = load_config(RGBPOSE)
    for loader, steps in (('train', (2, 7, 8)), ('val', (2, 4, 5)), ('test', (2, 4, 5))):
        pipeline = cfg[f'{loader}_dataloader'].dataset.pipeline
        assert [pipeline[i].type for i in steps] == ['UniformSampleFrames',
                                                     'DecodeVideoFrames', 'FramesResizeCrop']


@pytest.fixture(scope='module')
def rgb_checkpoint(tmp_path_factory):
    """2 iterations of the RGB + pose MA-52 config on a generated video (tools/train.py)."""
    root = tmp_path_factory.mktemp('rgb_train')
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, (72, 96, 3), dtype=np.uint8) for _ in range(24)]
    write_video(root / 'clip.mp4', frames, fps=12.0)
    clips = []
    for i in range(4):
        kp = rng.uniform([10, 8], [86, 64], (1, 24, 133, 2)).astype(np.float32)
        score = rng.uniform(0.5, 1.0, (1, 24, 133)).astype(np.float32)
        score[0, :, 11:23] = 0  # lower body never seen: its box is missing
        clips.append(dict(frame_dir=f'clip_{i}', label=i, total_frames=24, fps=12.0,
                          img_shape=(72, 96), keypoint=kp, keypoint_score=score,
                          video='clip.mp4'))
    ann = root / 'ann.pkl'
    ann.write_bytes(pickle.dumps(dict(split=dict(train=[c['frame_dir'] for c in clips],
                                                 val=['clip_0'], test=['clip_1']),
                                      annotations=clips)))
    work = root / 'work'
    data = [f'{k}_dataloader.dataset.{field}' for k in ('train', 'val', 'test')
            for field in ('ann_file', 'data_prefix.video')]
    options = [f'{d}={ann if d.endswith("ann_file") else root}' for d in data]
    torch.set_num_threads(1)
    train_tool.main([RGBPOSE, '--work-dir', str(work), '--cfg-options', *TINY_RGB, *options,
                     'train_cfg.max_epochs=1', 'train_cfg.val_interval=5'])
    return work / 'epoch_1.pth'


def test_rgbpose_config_trains_two_iterations(rgb_checkpoint):
    ckpt = torch.load(rgb_checkpoint, map_location='cpu', weights_only=False)
    assert ckpt['meta']['iter'] == 2  # 4 clips, batch 2
    state = ckpt['state_dict']
    assert any(k.startswith('rgb_encoder.backbone.layer4.') for k in state)
    assert any(k.startswith('token_fusion.') for k in state) and any(
        k.startswith('encoder.') for k in state)
    log = sorted(rgb_checkpoint.parent.glob('*/vis_data/scalars.json'))[-1].read_text()
    losses = [json.loads(line)['loss'] for line in log.splitlines() if 'loss' in line]
    assert len(losses) == 2 and all(np.isfinite(losses))


def test_demo_runs_with_the_rgbpose_config(rgb_checkpoint, tmp_path):
    video = sorted(require_shared(MA52_DEMO).glob('B1_nodding_*.mp4'))[0]
    out = tmp_path / 'out'
    report = demo_tool.main([str(video), RGBPOSE, str(rgb_checkpoint), '--out', str(out),
                             '--no-progress', '--window', '1.0', '--stride', '0.5',
                             '--threshold', '0.0', '--min-duration', '0.25',
                             '--pose-stride', '2', '--overlay', 'none',
                             '--cfg-options', *TINY_RGB])
    assert report['run']['windows'] >= 2 and report['segments']
    windows = (out / 'windows.csv').read_text().splitlines()
    assert windows[0].endswith('st_right_hand,st_lower_body')
    assert len(windows) - 1 == report['run']['windows']


def test_rgb_model_refuses_a_skeleton_file(rgb_checkpoint, tmp_path):
    from mdn.apis.inference import as_skeleton, init_recognizer, recognize_clip
    options = demo_tool.parse_args(['in.mp4', RGBPOSE, 'x.pth', '--out', str(tmp_path),
                                    '--cfg-options', *TINY_RGB]).cfg_options
    model = init_recognizer(RGBPOSE, str(rgb_checkpoint), cfg_options=options)
    skeleton = as_skeleton(np.random.rand(8, 133, 2).astype(np.float32) * 50 + 10)
    with pytest.raises(ValueError, match='reads RGB frames, so its input must be a video'):
        recognize_clip(model, skeleton)


def test_rgb_cost_tool_reports_every_phase(tmp_path):
    sys.path.insert(0, str(REPO / 'tools' / 'analysis'))
    import rgb_cost
    out = tmp_path / 'cost.json'
    report = rgb_cost.main(['--depths', '18', '--frames', '2', '--size', '32', '--repeats', '1',
                            '--warmup', '0', '--out-json', str(out)])
    row = report['results'][0]
    assert json.loads(out.read_text())['results'] == [row]
    assert row['depth'] == 18 and row['roi_map'] == [256, 2, 2]
    assert all(row[k] > 0 for k in ('forward_ms', 'train_ms', 'backbone_ms', 'roi_ms'))


def test_rgb_stream_refuses_entities_without_boxes():
    from mdn.models.encoders import RGBEntityEncoder
    with pytest.raises(ValueError, match=r"'limbs6' asks for \['left_leg', 'right_leg'\]"):
        RGBEntityEncoder('coco_wholebody_133', 'limbs6', embed_dim=8, num_frames=2,
                         backbone=dict(type='ResNetTSM', depth=18))
