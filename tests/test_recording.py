"""The fast recording pipeline: strided pose filled back to every frame, parallel chunks in
order, pose coverage per entity, rates only for recordings of a minute, and frame numbers in
the video's frames (synthetic skeletons and videos, one real MA-52 clip)."""
import json
import pickle
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from mdn.pose.backends import PoseBackend, VideoPose
from mdn.pose.coverage import (coverage_warnings, entity_coverage, entity_found,
                               format_coverage_table)
from mdn.pose.resample import fill_strided, pose_frame_indices, stride_for_rate
from mdn.pose.strided import extract_strided

from .conftest import require_shared
from .pose.video_fixtures import MA52_DEMO, write_video

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / 'tools'))


# --------------------------------------------------------------------------- resample
def test_fill_strided_interpolates_seen_keypoints_and_holds_missing_ones():
    # 3 pose frames (video frames 0, 3, 6) of one person, 2 keypoints; 8 video frames
    kp = np.zeros((1, 3, 2, 2), np.float32)
    kp[0, :, 0] = [[0, 0], [30, 3], [60, 6]]   # keypoint 0 seen everywhere: moves linearly
    kp[0, :, 1] = [[5, 5], [0, 0], [9, 9]]     # keypoint 1 missing on pose frame 1
    score = np.array([[[1, 1], [1, 0], [1, 1]]], np.float32)
    out_kp, out_sc = fill_strided(kp, score, 3, 8)
    assert out_kp.shape == (1, 8, 2, 2) and out_sc.shape == (1, 8, 2)
    np.testing.assert_allclose(out_kp[0, :7, 0, 0], [0, 10, 20, 30, 40, 50, 60], atol=1e-4)
    np.testing.assert_allclose(out_kp[0, 7, 0], [60, 6])  # after the last pose frame: held
    np.testing.assert_allclose(out_sc[0, :, 0], 1.0)
    # keypoint 1: nearest pose frame where a side is missing, never dragged towards (0, 0)
    np.testing.assert_allclose(out_sc[0, :, 1], [1, 1, 0, 0, 0, 1, 1, 1])
    np.testing.assert_allclose(out_kp[0, 1, 1], [5, 5])
    np.testing.assert_allclose(out_kp[0, 5, 1], [9, 9])
    # stride 1 over every frame is the identity
    same = fill_strided(kp, score, 1, 3)
    assert same[0] is kp and same[1] is score


def test_fill_strided_and_rate_reject_bad_input():
    kp, sc = np.zeros((1, 4, 2, 2)), np.ones((1, 4, 2))
    with pytest.raises(ValueError, match='need at least 10 video frames'):
        fill_strided(kp, sc, 3, 9)
    with pytest.raises(ValueError, match=r'expected \[M,T,V,C\]'):
        fill_strided(kp[0], sc[0], 3, 10)
    with pytest.raises(ValueError, match='pose stride must be >= 1'):
        pose_frame_indices(10, 0)
    assert pose_frame_indices(10, 3).tolist() == [0, 3, 6, 9]
    assert stride_for_rate(30, 10) == 3 and stride_for_rate(25, 10) == 2
    assert stride_for_rate(30, 60) == 1 and stride_for_rate(0, 10) == 1
    with pytest.raises(ValueError, match='pose frame rate must be > 0'):
        stride_for_rate(30, 0)


# --------------------------------------------------------------------------- coverage
def wholebody_scores(frames: int = 10) -> np.ndarray:
    """[1, T, 133] scores: body and right hand everywhere, the face in the first 3 frames,
    no left hand."""
    from mdn.layouts.coco_wholebody import FACE_OFFSET, LEFT_HAND_OFFSET
    score = np.ones((1, frames, 133), np.float32)
    score[0, 3:, FACE_OFFSET:FACE_OFFSET + 68] = 0
    score[0, :, LEFT_HAND_OFFSET:LEFT_HAND_OFFSET + 21] = 0
    return score


def test_entity_coverage_counts_frames_where_an_entity_was_found():
    score = wholebody_scores()
    found = entity_found(score, 'coco_wholebody_133')
    assert found['face'].tolist() == [True] * 3 + [False] * 7
    coverage = entity_coverage(score, 'coco_wholebody_133')
    assert coverage == dict(face=0.3, head=1.0, torso=1.0, left_hand=0.0, right_hand=1.0,
                            lower_body=1.0)
    # the model's own entities only
    assert entity_coverage(score[0], 'coco_wholebody_133', ['face', 'torso']) == \
        dict(face=0.3, torso=1.0)
    # a weak score is not "found"
    assert entity_coverage(score * 0.2, 'coco_wholebody_133')['torso'] == 0.0


def test_coverage_warnings_and_table_say_what_is_missing():
    coverage = entity_coverage(wholebody_scores(), 'coco_wholebody_133')
    lines = coverage_warnings(coverage, ['face', 'left_hand', 'torso'], where='clip7')
    assert len(lines) == 2
    assert lines[0].startswith('clip7: face keypoints were found in only 30% of the frames')
    assert 'under-detected' in lines[0] and 'too low' in lines[0]
    assert lines[1].startswith('clip7: left hand keypoints were found in only 0%')
    assert coverage_warnings(coverage, ['torso', 'right_hand']) == []
    table = format_coverage_table({'clip7': coverage, 'other': dict(face=0.9)}).splitlines()
    assert table[1].split() == ['video', 'face', 'head', 'torso', 'left_hand', 'right_hand',
                                'lower_body']
    assert table[2].split() == ['clip7', '0.30*', '1.00', '1.00', '0.00*', '1.00', '1.00']
    assert table[3].split() == ['other', '0.90', '-', '-', '-', '-', '-']


# --------------------------------------------------------------------------- strided pose
def numbered_frame(t: int) -> np.ndarray:
    """A 48x64 frame showing ``t`` in binary: 8 black/white 16x12 blocks, bit 0 first."""
    frame = np.zeros((48, 64, 3), np.uint8)
    for bit in range(8):
        if t >> bit & 1:
            y, x = divmod(bit, 4)
            frame[y * 24:(y + 1) * 24, x * 16:(x + 1) * 16] = 255
    return frame


def read_number(frame: np.ndarray) -> int:
    return sum(1 << bit for bit in range(8) if frame[(bit // 4) * 24 + 12,
                                                      (bit % 4) * 16 + 8].mean() > 128)


class FrameIndexBackend(PoseBackend):
    """Reads the frame number written into each frame (``numbered_frame``)."""
    name = 'frame-index'
    thread_safe = True

    def __init__(self):
        self.calls = 0

    def process_video(self, frames, width, height, max_people=1):
        self.calls += 1
        index = [read_number(f) for f in frames]
        kp = np.zeros((1, len(index), 133, 2), np.float32)
        kp[0, :, :, 0] = np.asarray(index, np.float32)[:, None]
        return VideoPose(kp, np.ones(kp.shape[:3], np.float32))


@pytest.fixture(scope='module')
def numbered_video(tmp_path_factory) -> Path:
    """A 61-frame video whose frame t shows t (``numbered_frame``)."""
    frames = [numbered_frame(t) for t in range(61)]
    return write_video(tmp_path_factory.mktemp('numbered') / 'numbered.mp4', frames, fps=30)


@pytest.mark.parametrize('stride,workers', [(1, 1), (2, 2), (3, 1)])
def test_extract_strided_keeps_video_order_in_parallel_chunks(numbered_video, stride,
                                                              workers, monkeypatch):
    import mdn.pose.strided as strided
    monkeypatch.setattr(strided, 'MIN_CHUNK_POSE_FRAMES', 10)
    backend, seen = FrameIndexBackend(), []
    result = extract_strided(str(numbered_video), backend, stride, workers,
                             on_frame=lambda t, frame: seen.append(t))
    expected = list(range(0, 61, stride))
    assert result.pose.keypoint[0, :, 0, 0].astype(int).tolist() == expected
    assert result.num_frames == 61 and result.stride == stride and result.fps == 30
    assert result.workers == workers == backend.calls  # one pose graph per chunk
    assert sorted(seen) == expected


def test_extract_strided_uses_one_chunk_for_a_backend_that_is_not_thread_safe(
        numbered_video, monkeypatch):
    import mdn.pose.strided as strided
    monkeypatch.setattr(strided, 'MIN_CHUNK_POSE_FRAMES', 10)
    backend = FrameIndexBackend()
    backend.thread_safe = False
    result = extract_strided(str(numbered_video), backend, 2, workers=4)
    assert result.workers == backend.calls == 1 and result.pose.num_frames == 31


def test_extract_strided_names_a_missing_video(tmp_path):
    from mdn.pose.video import VideoError
    with pytest.raises(VideoError, match='missing.mp4: no such file'):
        extract_strided(str(tmp_path / 'missing.mp4'), FrameIndexBackend(), 2)


# --------------------------------------------------------------------------- real clip
def test_extract_pose_batch_stores_and_prints_coverage(tmp_path):
    from mdn.pose.extract import extract_videos
    from mdn.pose.inputs import VideoItem
    video = sorted(require_shared(MA52_DEMO).glob('B1_nodding_*.mp4'))[0]
    out = tmp_path / 'b1.pkl'
    summary = extract_videos([VideoItem(str(video))], dict(type='mediapipe'), str(out),
                             stride=5, progress=False)
    with open(out, 'rb') as f:
        clip = pickle.load(f)['annotations'][0]
    # MediaPipe finds nobody's left hand in this clip (it rests under the right one)
    assert clip['coverage']['left_hand'] < 0.5 and clip['coverage']['torso'] == 1.0
    assert set(clip['coverage']) == {'face', 'head', 'torso', 'left_hand', 'right_hand',
                                     'lower_body'}
    text = summary.format()
    assert 'pose coverage' in text and 'B1_nodding' in text
    assert 'left_hand found in fewer than half of the frames' in text.replace(
        'face, ', '').replace('right_hand, ', '')


def test_demo_pkl_with_a_frame_stride_counts_in_video_frames(tmp_path):
    """A skeleton extracted on every 3rd frame is filled back: frame numbers, fps, the rate
    rule and coverage all in the video's terms."""
    from mdn.apis.recording import TimelineOptions, load_recording
    score = np.repeat(wholebody_scores(12), 1, 0)
    kp = np.random.default_rng(0).uniform(100, 500, (1, 12, 133, 2)).astype(np.float32)
    clip = dict(frame_dir='strided', label=-1, fps=10.0, frame_stride=3, keypoint=kp,
                keypoint_score=score, img_shape=(720, 960))
    path = tmp_path / 'strided.pkl'
    path.write_bytes(pickle.dumps(dict(split={}, annotations=[clip],
                                       meta=dict(keypoint_layout='coco_wholebody_133'))))
    recording = load_recording(str(path), TimelineOptions())
    skeleton = recording.skeleton
    assert skeleton.num_frames == 34 and skeleton.fps == 30.0 and skeleton.frame_stride == 1
    assert recording.pose_stride == 3 and recording.pose_frames == 12
    assert recording.coverage['face'] == 0.25 and recording.coverage['left_hand'] == 0.0
    np.testing.assert_allclose(skeleton.keypoint[0, 3], kp[0, 1])  # video frame 3 = pose 1


@pytest.mark.usefixtures('one_torch_thread')
def test_demo_on_a_real_clip_reports_coverage_rates_and_video_frames(tmp_path):
    """B1 (50 frames at 30 fps) with pose on every 2nd frame: 50 video frames, frame numbers
    up to 50, no per-minute rate for 1.7 s, and the missing left hand reported."""
    import demo as demo_tool

    from .test_tools import SYNTHETIC
    from mdn.apis.recording import run_recording
    video = sorted(require_shared(MA52_DEMO).glob('B1_nodding_*.mp4'))[0]
    checkpoint = tmp_path / 'random.pth'
    import torch

    from mdn.apis.config import load_config
    from mdn.registry import MODELS
    tiny = {'model.embed_dim': 16, 'model.path.depth': 1, 'model.path.num_heads': 2,
            'model.global_stream.embed_dim': 16, 'model.head.hidden': 16}
    torch.manual_seed(0)
    model = MODELS.build(load_config(SYNTHETIC, tiny).model)
    torch.save(dict(state_dict=model.state_dict(), meta={}), checkpoint)
    out = tmp_path / 'out'
    options = demo_tool.timeline_options(demo_tool.parse_args(
        [str(video), SYNTHETIC, str(checkpoint), '--out', str(out), '--window', '1.0',
         '--stride', '0.25', '--threshold', '0.0', '--min-duration', '0.25',
         '--pose-stride', '2', '--overlay', 'mp4']))
    report = run_recording(str(video), str(out), config=SYNTHETIC, checkpoint=str(checkpoint),
                           options=options, cfg_options=tiny, progress=False, verbose=False)
    assert report['num_frames'] == 50 and report['fps'] == 30.0
    assert report['pose'] == dict(stride=2, frames=25, fps=15.0, filled=True,
                                  backend=dict(type='mediapipe'))
    assert report['segments'] and report['segments'][-1]['end_frame'] == 50
    assert all(s['end_frame'] == pytest.approx(s['end'] * 30, abs=1) for s in report['segments'])
    assert report['coverage']['left_hand'] < 0.5 and report['coverage']['torso'] == 1.0
    assert any('left hand keypoints were found in only' in w
               for w in report['coverage_warnings'])
    assert all(row['per_minute'] is None for row in report['summary'])
    assert '1.7 s long, shorter than 60 s' in report['per_minute_note']
    saved = json.loads((out / 'segments.json').read_text())
    assert saved['coverage'] == report['coverage'] and saved['run']['realtime_factor'] > 0
    summary = (out / 'summary.csv').read_text().splitlines()
    assert summary[0] == 'label,count,total_s,mean_s,per_minute,mean_score'
    assert all(line.split(',')[4] == '' for line in summary[1:])
    windows = (out / 'windows.csv').read_text().splitlines()
    assert windows[0].startswith('start,end,start_frame,end_frame,person,top1_label')
    last = windows[-1].split(',')
    assert int(last[3]) == 50 and float(last[1]) == pytest.approx(50 / 30, abs=1e-3)
    capture = cv2.VideoCapture(str(out / 'overlay.mp4'))  # the 25 posed frames, 15 fps
    count = 0
    while capture.read()[0]:
        count += 1
    assert count == 25 and capture.get(cv2.CAP_PROP_FPS) == pytest.approx(15.0)
    capture.release()


def test_extract_strided_survives_a_header_that_lists_too_many_frames(numbered_video,
                                                                      monkeypatch):
    """A truncated video lists more frames than it has: the chunk that starts past the real
    end is dropped (or seeking fails and one chunk is used); the poses are the same."""
    import dataclasses

    import mdn.pose.strided as strided
    monkeypatch.setattr(strided, 'MIN_CHUNK_POSE_FRAMES', 10)
    real = strided.probe_video
    monkeypatch.setattr(strided, 'probe_video',
                        lambda path: dataclasses.replace(real(path), frame_count=200))
    result = extract_strided(str(numbered_video), FrameIndexBackend(), 2, workers=2)
    assert result.pose.keypoint[0, :, 0, 0].astype(int).tolist() == list(range(0, 61, 2))
    assert result.num_frames == 61 and result.frame_count == 200


def test_a_model_that_cannot_load_stops_the_pose_stage(tmp_path):
    """The pose stage starts first; when the checkpoint is missing, the error names it and no
    pose thread is left running."""
    import threading

    from mdn.apis.recording import TimelineOptions, run_recording

    from .test_tools import SYNTHETIC
    video = sorted(require_shared(MA52_DEMO).glob('B1_nodding_*.mp4'))[0]
    with pytest.raises(FileNotFoundError, match='checkpoint not found: .*missing.pth'):
        run_recording(str(video), str(tmp_path / 'out'), config=SYNTHETIC,
                      checkpoint=str(tmp_path / 'missing.pth'),
                      options=TimelineOptions(pose_stride=1), progress=False)
    assert not [t for t in threading.enumerate() if t.name.startswith('mdn-pose')]
    assert not (tmp_path / 'out' / 'segments.json').exists()


def test_background_returns_the_value_and_reraises_the_error_on_the_caller():
    import threading

    from mdn.apis.recording import Background
    names = []
    ok = Background(lambda a, b: names.append(threading.current_thread().name) or a + b, 2, 3,
                    name='mdn-test')
    assert ok.result() == 5 and names == ['mdn-test']

    def fail():
        raise FileNotFoundError('clip.mp4: no such file')
    with pytest.raises(FileNotFoundError, match='clip.mp4'):
        Background(fail).result()
