"""The inference API: building from config + checkpoint, clips, long-recording timelines, and
the timeline of the real iMiGUE video 298 checked against its annotated segments."""
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config

from mdn.apis.checkpoint import CheckpointMismatchError
from mdn.apis.config import load_config
from mdn.apis.inference import (LayoutMismatchError, as_skeleton, init_recognizer,
                                load_skeleton, prepare_windows, recognize_clip,
                                recognize_timeline)
from mdn.datasets import SYNTHETIC_CLASSES, SyntheticMicroActionDataset
from mdn.structures import MicroActionDataSample

from .conftest import require_shared

REPO = Path(__file__).resolve().parents[1]
SYNTHETIC = str(REPO / 'configs/micro_dualnet/mdn_synthetic.py')
IMIGUE = str(REPO / 'configs/micro_dualnet/mdn_imigue.py')
TINY_MODEL = {'model.embed_dim': 16, 'model.path.depth': 1, 'model.path.num_heads': 2,
              'model.global_stream.embed_dim': 16, 'model.global_stream.depth': 1,
              'model.head.hidden': 16, 'model.head.dropout': 0.0, 'model.router.hidden': 16,
              'model.mac_loss.proj_dim': 16}
FEATS = ('joint', 'score', 'motion')


def tiny_test_pipeline(clip_len=16):
    return [dict(type='NormalizeSkeleton'),
            dict(type='UniformSampleFrames', clip_len=clip_len, test_mode=True),
            dict(type='GenSkeletonFeatures', feats=FEATS), dict(type='PackMicroActionInputs')]


pytestmark = pytest.mark.usefixtures('one_torch_thread')


@pytest.fixture(scope='module')
def synthetic_checkpoint(tmp_path_factory):
    """Random tiny synthetic model saved like an MMEngine checkpoint: (config, path)."""
    cfg = load_config(SYNTHETIC, dict(TINY_MODEL, **{
        'test_dataloader.dataset.pipeline': tiny_test_pipeline(8)}))
    torch.manual_seed(0)
    model = init_recognizer(cfg)
    path = tmp_path_factory.mktemp('ckpt') / 'tiny.pth'
    torch.save(dict(state_dict=model.state_dict(),
                    meta=dict(dataset_meta=dict(classes=SYNTHETIC_CLASSES))), path)
    return cfg, str(path), model.state_dict()


def synthetic_clip(label=0, seed=0):
    data = SyntheticMicroActionDataset(num_per_class=1, split='test', seed=seed)
    info = data.get_data_info(label)
    return info['keypoint'], info['keypoint_score'], info['fps']


def test_init_recognizer_loads_weights_classes_and_pipeline(synthetic_checkpoint):
    cfg, path, state = synthetic_checkpoint
    model = init_recognizer(cfg, path)
    assert model.dataset_meta['classes'] == SYNTHETIC_CLASSES
    assert not model.training
    for key, value in model.state_dict().items():
        assert torch.equal(value, state[key]), key
    assert [type(t).__name__ for t in model.test_pipeline.transforms][1] == 'UniformSampleFrames'


def test_checkpoint_of_another_model_is_refused(synthetic_checkpoint, tmp_path):
    cfg, path, _ = synthetic_checkpoint
    other = cfg.copy()
    other.merge_from_dict({'model.num_classes': 5})
    with pytest.raises(CheckpointMismatchError, match='shape mismatch'):
        init_recognizer(other, path)
    with pytest.raises(FileNotFoundError, match='checkpoint not found'):
        init_recognizer(cfg, str(tmp_path / 'missing.pth'))


def test_recognize_clip_accepts_both_shapes(synthetic_checkpoint):
    cfg, path, _ = synthetic_checkpoint
    model = init_recognizer(cfg, path)
    kp, score, fps = synthetic_clip()
    result = recognize_clip(model, kp, score, fps=fps)
    assert result.scores.shape == (8,) and result.scores.sum() == pytest.approx(1, abs=1e-5)
    assert result.label == int(result.scores.argmax())
    assert result.label_name == SYNTHETIC_CLASSES[result.label]
    assert result.entity_weights.shape == (6, 2)
    assert np.allclose(result.entity_weights.sum(-1), 1, atol=1e-5)
    assert result.entity_names[0] == 'face'
    single = recognize_clip(model, kp[0], score[0], fps=fps)  # [T, V, 2]
    assert np.allclose(single.scores, result.scores, atol=1e-6)
    stacked = np.concatenate([kp[0], score[0][..., None]], -1)  # [T, V, 3] with the score
    assert np.allclose(recognize_clip(model, stacked, fps=fps).scores, result.scores, atol=1e-6)


def test_wrong_layout_for_the_checkpoint(synthetic_checkpoint):
    cfg, path, _ = synthetic_checkpoint
    model = init_recognizer(cfg, path)
    with pytest.raises(LayoutMismatchError, match='137 keypoints per frame.*coco_wholebody_133'):
        recognize_clip(model, np.ones((20, 137, 2), np.float32))
    kp, score, fps = synthetic_clip()
    with pytest.raises(LayoutMismatchError, match='layout "openpose_137"'):
        recognize_clip(model, kp, score, fps, layout='openpose_137')
    with pytest.raises(ValueError, match=r'\[M,T,V,2\]'):
        recognize_clip(model, np.ones((133, 2), np.float32))


def test_timeline_scores_windows_in_bounded_batches(synthetic_checkpoint):
    """Windows go through the model ``batch_size`` at a time; a window without a person is
    not scored; a window's scores equal those of the same frames as a clip."""
    cfg, path, _ = synthetic_checkpoint
    model = init_recognizer(cfg, path)
    clips = [synthetic_clip(label) for label in range(8)]
    kp = np.concatenate([c[0] for c in clips], 1)
    score = np.concatenate([c[1] for c in clips], 1)
    score[:, 60:120] = 0  # two seconds without anybody
    batches = []
    original = model.test_step
    model.test_step = lambda data: batches.append(len(data['inputs'])) or original(data)
    windows = recognize_timeline(model, kp, score, fps=30.0, window_s=1.0, stride_s=0.5,
                                 batch_size=4, progress=False)
    assert max(batches) == 4 and sum(batches) == windows.valid.sum()
    assert windows.scores.shape == (len(windows.bounds), 8)
    assert windows.entity_weights.shape == (len(windows.bounds), 6, 2)
    dark = (windows.bounds[:, 0] >= 60) & (windows.bounds[:, 1] <= 120)
    assert dark.any() and not windows.valid[dark].any()
    assert windows.valid[~dark].mean() > 0.8
    w = int(np.flatnonzero(windows.valid)[3])
    s, e = windows.bounds[w]
    clip = recognize_clip(model, kp[:, s:e], score[:, s:e], fps=30.0)
    assert np.allclose(windows.scores[w], clip.scores, atol=1e-5)
    segments = windows.segments(threshold=0.0, min_duration_s=0.0)
    assert all(not (60 <= seg.start_frame and seg.end_frame <= 120) for seg in segments)


def test_load_skeleton_files(tmp_path):
    kp = np.random.default_rng(0).uniform(0, 100, (30, 137, 3)).astype(np.float32)
    np.savez_compressed(tmp_path / 'video.npz', keypoints=kp)
    with pytest.raises(ValueError, match='does not store its frame rate'):
        load_skeleton(str(tmp_path / 'video.npz'))
    skeleton = load_skeleton(str(tmp_path / 'video.npz'), fps=25)
    assert skeleton.keypoint.shape == (1, 30, 137, 2) and skeleton.fps == 25
    assert np.array_equal(skeleton.keypoint_score[0], kp[..., 2])
    np.savez(tmp_path / 'stacked.npz', data=kp, offsets=np.array([0, 30]))
    with pytest.raises(KeyError, match='stacked file of many clips'):
        load_skeleton(str(tmp_path / 'stacked.npz'))
    clip = dict(frame_dir='c1', label=-1, total_frames=30, fps=30.0,
                keypoint=kp[None, ..., :2], keypoint_score=kp[None, ..., 2])
    (tmp_path / 'one.pkl').write_bytes(pickle.dumps(dict(split={}, annotations=[clip])))
    assert load_skeleton(str(tmp_path / 'one.pkl')).name == 'c1'
    (tmp_path / 'two.pkl').write_bytes(pickle.dumps(dict(split={}, annotations=[clip, clip])))
    with pytest.raises(ValueError, match='holds 2 clips'):
        load_skeleton(str(tmp_path / 'two.pkl'))
    with pytest.raises(FileNotFoundError, match='skeleton file not found'):
        load_skeleton(str(tmp_path / 'nope.npz'))


# ----------------------------------------------------------------- iMiGUE video 298
VIDEO298_FPS = 25.0
DETECTOR_CLASSES = ('no_gesture', 'micro_gesture')


def video298():
    """(keypoints (T,137,3), labelled-frame mask (T,), inclusive segment bounds (56, 2))."""
    with np.load(require_shared('skeleton/imigue_video298_full.npz')) as npz:
        keypoints = npz['keypoints']  # read once: each access decompresses the array again
    with np.load(require_shared('skeleton/imigue_video298_segments.npz')) as npz:
        bounds = npz['start_end_frame']
    labelled = np.zeros(len(keypoints), bool)
    for start, end in bounds:
        labelled[start:end + 1] = True
    return keypoints, labelled, bounds


def train_video298_detector(out_dir: Path, keypoints, labelled, bounds, train: np.ndarray,
                            steps: int = 150, seed: int = 0):
    """A tiny Micro-DualNet (openpose_137, body5, D=16, depth 1) trained to tell 2 s windows
    centred in an annotated micro-gesture from windows with no annotated frame, using only
    windows inside the ``train`` frames (a ``[T]`` mask). Returns (config, checkpoint) paths."""
    cfg = load_config(IMIGUE, dict(TINY_MODEL, **{
        'model.num_classes': 2, 'test_dataloader.dataset.pipeline': tiny_test_pipeline(16)}))
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = init_recognizer(cfg)
    win = int(2.0 * VIDEO298_FPS)
    starts = np.arange(len(keypoints) - win)
    inside = np.concatenate([[0], np.cumsum(train)])
    starts = starts[inside[starts + win] - inside[starts] == win]  # windows of train frames
    seen = np.concatenate([[0], np.cumsum(labelled)])
    negatives = starts[seen[starts + win] == seen[starts]]
    centres = np.concatenate([np.arange(s, e + 1, 3) for s, e in bounds])
    positives = np.intersect1d(centres - win // 2, starts)
    starts = np.concatenate([rng.choice(positives, 300), rng.choice(negatives, 300, False)])
    labels = np.repeat([1, 0], 300)
    skeleton = as_skeleton(keypoints, fps=VIDEO298_FPS, name='video298')
    data = prepare_windows(model, skeleton, np.stack([starts, starts + win], 1))
    inputs = torch.stack(data['inputs']).float()
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    model.train()
    for _ in range(steps):
        batch = rng.choice(len(inputs), 32, replace=False)
        samples = [MicroActionDataSample().set_gt_label(int(y)) for y in labels[batch]]
        losses = model(inputs[batch], samples, mode='loss')
        loss = sum(v for k, v in losses.items() if k.startswith('loss'))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    config_path, checkpoint = out_dir / 'video298_detector.py', out_dir / 'video298_detector.pth'
    Config(cfg.to_dict()).dump(str(config_path))
    torch.save(dict(state_dict=model.state_dict(),
                    meta=dict(dataset_meta=dict(classes=DETECTOR_CLASSES))), checkpoint)
    return str(config_path), str(checkpoint)


def frame_mask(segments, num_frames, offset=0):
    mask = np.zeros(num_frames, bool)
    for seg in segments:
        mask[max(seg.start_frame - offset, 0):max(seg.end_frame - offset, 0)] = True
    return mask


def overlap_scores(found: np.ndarray, truth: np.ndarray) -> dict:
    """Frame-level agreement of two ``[T]`` masks, and what chance would give."""
    flagged, base = found.mean(), truth.mean()
    chance_iou = flagged * base / (flagged + base - flagged * base)
    return dict(flagged=flagged, recall=(found & truth).sum() / truth.sum(),
                iou=(found & truth).sum() / (found | truth).sum(), chance_iou=chance_iou)


def test_video298_timeline_finds_the_annotated_micro_gestures(tmp_path):
    """Train a detector on alternate minutes of the video, run the timeline over all 21,068
    frames, and compare the detected segments with the annotation: tightly on the minutes
    trained on (are segments where the windows put them?) and well above chance on the
    minutes the detector never saw."""
    keypoints, labelled, bounds = video298()
    train = (np.arange(len(keypoints)) // 1500) % 2 == 0  # even minutes (1500 frames)
    config, checkpoint = train_video298_detector(tmp_path, keypoints, labelled, bounds, train)
    model = init_recognizer(config, checkpoint)
    windows = recognize_timeline(model, keypoints, fps=VIDEO298_FPS, window_s=2.0,
                                 stride_s=0.5, batch_size=64, progress=False)
    assert len(windows.bounds) > 1700 and windows.valid.mean() > 0.95
    segments = windows.segments(threshold=0.8, min_duration_s=0.5, max_gap_s=0.5,
                                background=[0])
    assert segments and all(s.label_name == 'micro_gesture' for s in segments)
    detected = frame_mask(segments, len(keypoints))
    seen = overlap_scores(detected[train], labelled[train])
    assert seen['recall'] > 0.6 and seen['iou'] > 0.5, seen
    unseen = overlap_scores(detected[~train], labelled[~train])
    assert 0.03 < unseen['flagged'] < 0.4, unseen  # neither silent nor flagging everything
    assert unseen['recall'] > max(0.35, 2 * unseen['flagged']), unseen  # chance = flagged
    assert unseen['iou'] > max(0.15, 2 * unseen['chance_iou']), unseen
    held_out = [(s, e) for s, e in bounds if not train[s:e + 1].any()]
    hit = np.mean([detected[s:e + 1].any() for s, e in held_out])
    assert len(held_out) >= 15 and hit > 0.45, (len(held_out), hit)
