"""Live mode (mdn/apis/live.py, tools/live.py): segments closed window by window are exactly
the offline ones; headless on a real MA-52 clip with --every-frame it agrees with tools/demo.py;
real-time pacing drops frames; Ctrl-C and the end of the stream flush everything."""
import csv
import json
import os
import sys
import time
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
import torch

from mdn.apis.live import LiveOptions, RollingRecognizer, SegmentCloser, run_live
from mdn.apis.timeline import merge_windows, window_bounds

from .conftest import require_shared
from .pose.video_fixtures import MA52_DEMO, moving_box_frames, write_video
from .test_tools import SYNTHETIC

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / 'tools'))
import demo as demo_tool  # noqa: E402
import live as live_tool  # noqa: E402

# The tiny architecture of tests/test_tools.py's TINY (model keys only: no data set needed).
TINY_MODEL = ['model.embed_dim=16', 'model.path.depth=1', 'model.path.num_heads=2',
              'model.global_stream.embed_dim=16', 'model.head.hidden=16']

pytestmark = pytest.mark.usefixtures('one_torch_thread')


def tiny_checkpoint(path: Path, seed: int = 0) -> str:
    """Random weights of the tiny synthetic model, saved like a trained checkpoint (with its
    class names): enough for pipelines whose answers are compared, not judged."""
    from mdn.apis.inference import init_recognizer
    torch.manual_seed(seed)
    model = init_recognizer(SYNTHETIC, None, cfg_options=_tiny_dict())
    torch.save(dict(state_dict=model.state_dict(),
                    meta=dict(dataset_meta=dict(classes=list(model.dataset_meta['classes'])))),
               path)
    return str(path)


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory) -> str:
    return tiny_checkpoint(tmp_path_factory.mktemp('live_ckpt') / 'tiny.pth')


@pytest.fixture(scope='module')
def model(checkpoint):
    from mdn.apis.inference import init_recognizer
    return init_recognizer(SYNTHETIC, checkpoint, cfg_options=_tiny_dict())


def _tiny_dict() -> dict:
    out = {}
    for item in TINY_MODEL:
        key, value = item.split('=')
        out[key] = int(value)
    return out


def read_rows(path):
    with open(path, newline='') as f:
        return list(csv.reader(f))


# --------------------------------------------------------------------------- closing rule
def _random_scores(rng, num_windows: int, num_classes: int = 4) -> np.ndarray:
    """Windows in runs of one dominant class (as real recordings give), some below any
    threshold, some without a person (NaN)."""
    scores = np.full((num_windows, num_classes), 0.05, np.float32)
    w = 0
    while w < num_windows:
        run = int(rng.integers(1, 7))
        kind = rng.random()
        for i in range(w, min(w + run, num_windows)):
            if kind < 0.15:
                scores[i] = np.nan
            elif kind < 0.35:
                scores[i] = 1.0 / num_classes
            else:
                scores[i, int(rng.integers(num_classes)) if kind < 0.45 else w % num_classes] \
                    = rng.uniform(0.5, 0.95)
        w += run
    return scores


@pytest.mark.parametrize('seed', range(12))
def test_closed_segments_are_exactly_the_offline_segments(seed):
    """Windows fed one by one: what closes early plus what ``finish`` adds equals
    ``merge_windows`` on the whole recording, and most segments close before the end."""
    rng = np.random.default_rng(seed)
    fps, num_frames = 10.0, int(rng.integers(200, 700))
    options = LiveOptions(window_s=2.0, stride_s=float(rng.choice([0.5, 0.3])),
                          threshold=0.4, min_duration_s=float(rng.choice([0.0, 0.5, 1.2])),
                          max_gap_s=float(rng.choice([0.0, 0.5, 1.5])),
                          background=[3] if seed % 3 == 0 else [])
    bounds = window_bounds(num_frames, fps, options.window_s, options.stride_s)
    scores = _random_scores(rng, len(bounds))
    closer = SegmentCloser(fps, options, ['a', 'b', 'c', 'd'])
    early = []
    for (start, end), row in zip(bounds, scores):
        early += closer.add(start, end, row)
    late = closer.finish(num_frames)
    expected = merge_windows(bounds, scores, num_frames, fps, options.threshold,
                             options.min_duration_s, options.max_gap_s, options.background,
                             ['a', 'b', 'c', 'd'])
    assert early + late == expected
    assert len(expected) >= 3 and len(late) <= 2  # live: they close as the stream goes
    assert len(closer.bounds) < len(bounds)  # settled windows were forgotten


def test_closer_hand_made_case_and_order_check():
    """fps 1, windows of 1 frame: labels a a - - - b; max_gap 1 s. 'a' [0, 2) closes once the
    newest cell starts more than 1 frame after it ends (window 4, cell [4, 5))."""
    options = LiveOptions(window_s=1.0, stride_s=1.0, threshold=0.5, min_duration_s=0.0,
                          max_gap_s=1.0)
    closer = SegmentCloser(1.0, options, ['a', 'b'])
    hi_a, hi_b, low = [0.9, 0.1], [0.1, 0.9], [0.5 - 1e-3, 0.5 - 1e-3]
    closed = [closer.add(t, t + 1, row) for t, row in enumerate([hi_a, hi_a, low, low, low])]
    assert [len(c) for c in closed] == [0, 0, 0, 0, 1]
    assert (closed[4][0].label_name, closed[4][0].start_frame, closed[4][0].end_frame) == \
        ('a', 0, 2)
    assert closer.add(5, 6, hi_b) == []
    last = closer.finish(7)
    assert [(s.label_name, s.start_frame, s.end_frame) for s in last] == [('b', 5, 7)]
    with pytest.raises(ValueError, match='arrives after a later one'):
        closer.add(0, 1, hi_a)


def test_rolling_recognizer_matches_recognize_timeline(model):
    """Frames pushed one at a time give the segments of the offline timeline of the same
    skeleton (synthetic clips of several classes, 10.4 s)."""
    from mdn.apis.inference import as_skeleton, recognize_timeline
    from mdn.datasets import SyntheticMicroActionDataset
    data = SyntheticMicroActionDataset(num_per_class=1, split='test')
    clips = [data.get_data_info(i) for i in range(5)]
    kp = np.concatenate([c['keypoint'] for c in clips], 1)
    sc = np.concatenate([c['keypoint_score'] for c in clips], 1)
    sc[:, 40:70] = 0  # a stretch without a person: windows there are not scored
    options = LiveOptions(window_s=1.0, stride_s=0.5, threshold=0.0, min_duration_s=0.2)
    skeleton = as_skeleton(kp, sc, 30.0, layout='coco_wholebody_133')
    offline = recognize_timeline(model, skeleton, window_s=1.0, stride_s=0.5,
                                 progress=False).segments(0.0, 0.2, 0.5)
    rolling = RollingRecognizer(model, 30.0, options)
    live = []
    for t in range(kp.shape[1]):
        live += rolling.push(kp[0, t], sc[0, t])
    live += rolling.finish()
    assert [(s.label_name, s.start_frame, s.end_frame) for s in live] == \
        [(s.label_name, s.start_frame, s.end_frame) for s in offline]
    assert [s.score for s in live] == pytest.approx([s.score for s in offline], abs=1e-4)
    assert len(offline) >= 2


# --------------------------------------------------------------------------- real clip
def test_headless_every_frame_agrees_with_demo_on_a_real_clip(checkpoint, tmp_path):
    video = sorted(require_shared(MA52_DEMO).glob('B1_nodding_*.mp4'))[0]
    flags = ['--window', '0.5', '--stride', '0.25', '--threshold', '0.0',
             '--min-duration', '0.1', '--max-gap', '0.25', '--pose-stride', '2']
    live = live_tool.main([str(video), SYNTHETIC, checkpoint, '--out', str(tmp_path / 'live'),
                           '--headless', '--every-frame', '--threads', '1',
                           '--snapshot', str(tmp_path / 'live' / 'view.png'),
                           '--cfg-options', *TINY_MODEL, *flags])
    report = demo_tool.main([str(video), SYNTHETIC, checkpoint, '--out', str(tmp_path / 'demo'),
                             '--no-progress', '--overlay', 'none', '--pose-workers', '1',
                             '--cfg-options', *TINY_MODEL, *flags])
    live_rows = read_rows(tmp_path / 'live' / 'segments.csv')
    demo_rows = read_rows(tmp_path / 'demo' / 'segments.csv')
    assert live_rows[0] == demo_rows[0] == ['start', 'end', 'label', 'score', 'start_frame',
                                            'end_frame']
    key = [(r[2], r[4], r[5]) for r in live_rows[1:]]  # label and frame range
    assert key == [(r[2], r[4], r[5]) for r in demo_rows[1:]] and len(key) >= 1
    assert [float(r[3]) for r in live_rows[1:]] == \
        pytest.approx([float(r[3]) for r in demo_rows[1:]], abs=1e-3)
    summary = json.loads((tmp_path / 'live' / 'live_summary.json').read_text())
    assert summary['frames_processed'] == summary['frames'] == report['num_frames']
    assert summary['frames_dropped'] == 0 and summary['fps'] > 0
    assert summary['pose_stride'] == report['pose']['stride'] == 2
    assert summary['pose_frames'] == report['pose']['frames'] == (report['num_frames'] + 1) // 2
    assert summary['stopped'] == 'end of stream' and summary['every_frame'] is True
    import cv2
    view = cv2.imread(str(tmp_path / 'live' / 'view.png'))
    assert view is not None and view.shape[0] > 300  # the frame plus the timeline strip


# --------------------------------------------------------------------------- pacing, stopping
class SlowPoser:
    """A stand-in pose model: ``delay`` seconds a frame, a fixed synthetic person; raises
    KeyboardInterrupt at frame ``interrupt_at`` (a user's Ctrl-C)."""

    def __init__(self, delay: float = 0.0, interrupt_at: int = -1):
        from mdn.datasets import SyntheticMicroActionDataset
        clip = SyntheticMicroActionDataset(num_per_class=1, split='test').get_data_info(0)
        self.kp, self.sc = clip['keypoint'][0, 0], clip['keypoint_score'][0, 0]
        self.delay, self.interrupt_at, self.calls = delay, interrupt_at, 0

    def __call__(self, frame):
        if self.calls == self.interrupt_at:
            raise KeyboardInterrupt
        self.calls += 1
        time.sleep(self.delay)
        return self.kp, self.sc


def test_real_time_pacing_drops_frames_when_processing_is_slow(model, tmp_path):
    """A 3 s file at 20 fps with a 0.1 s/frame pose model: played in real time, about half
    the frames or more are dropped, yet the time axis is the file's (60 frames)."""
    video = write_video(tmp_path / 'box.mp4', moving_box_frames(60, 64, 48), fps=20.0)
    start = time.perf_counter()
    summary = run_live(str(video), model, str(tmp_path / 'out'),
                       LiveOptions(window_s=1.0, stride_s=0.5, threshold=0.0),
                       poser=SlowPoser(0.1), pose_stride=1)
    wall = time.perf_counter() - start
    assert summary.frames == 60 and summary.frames_processed + summary.frames_dropped == 60
    assert summary.frames_dropped >= 20 and summary.frames_processed >= 10
    assert 2.5 < wall < 8  # real-time pacing: about the 3 s of the file
    assert summary.fps == pytest.approx(summary.frames_processed / summary.wall_s, rel=0.05)
    saved = json.loads((tmp_path / 'out' / 'live_summary.json').read_text())
    assert saved['frames_dropped'] == summary.frames_dropped and saved['fps'] == summary.fps
    rows = read_rows(tmp_path / 'out' / 'segments.csv')
    assert len(rows) - 1 == summary.segments >= 1 and int(rows[-1][5]) == 60


def test_ctrl_c_stops_cleanly_and_flushes(model, tmp_path):
    video = write_video(tmp_path / 'box.mp4', moving_box_frames(90, 64, 48), fps=30.0)
    seen = []
    summary = run_live(str(video), model, str(tmp_path / 'out'),
                       LiveOptions(window_s=0.5, stride_s=0.25, threshold=0.0,
                                   min_duration_s=0.0, max_gap_s=0.0),
                       every_frame=True, poser=SlowPoser(interrupt_at=50), on_segment=seen.append,
                       pose_stride=1)
    assert summary.stopped == 'interrupted'
    assert summary.frames_processed == summary.frames == 50
    rows = read_rows(tmp_path / 'out' / 'segments.csv')
    assert len(rows) - 1 == len(seen) == summary.segments >= 1
    assert int(rows[-1][5]) == 50  # the open segment was closed at the stop
    saved = json.loads((tmp_path / 'out' / 'live_summary.json').read_text())
    assert saved['stopped'] == 'interrupted' and saved['frames_processed'] == 50


def test_bad_sources_fail_clearly(checkpoint, tmp_path, model):
    with pytest.raises(FileNotFoundError, match='missing.mp4: no such video file'):
        run_live(str(tmp_path / 'missing.mp4'), model, str(tmp_path / 'a'))
    with pytest.raises(ValueError, match='--every-frame is for video files; a camera'):
        run_live('0', model, str(tmp_path / 'b'), every_frame=True)
    broken = tmp_path / 'broken.mp4'
    broken.write_bytes(b'not a video' * 100)
    with pytest.raises(ValueError, match='broken.mp4: OpenCV cannot open this file'):
        run_live(str(broken), model, str(tmp_path / 'c'), poser=SlowPoser())
    assert live_tool.run_cli(lambda: live_tool.main(
        [str(tmp_path / 'missing.mp4'), SYNTHETIC, checkpoint, '--out', str(tmp_path / 'd'),
         '--headless', '--cfg-options', *TINY_MODEL])) == 2
    with pytest.raises(SystemExit):
        live_tool.parse_args(['0', SYNTHETIC, checkpoint, '--out', 'x', '--stride', '0'])
    env = {k: v for k, v in os.environ.items() if k not in ('DISPLAY', 'WAYLAND_DISPLAY')}
    with mock.patch.dict(os.environ, env, clear=True), \
            pytest.raises(ValueError, match='no display .* use --headless'):
        run_live(str(broken), model, str(tmp_path / 'e'), display=True)


def test_pose_stride_fills_the_frames_between_like_the_demo(model, tmp_path):
    """Pose on every 3rd frame of a 20-frame file: 7 pose frames (0, 3, ..., 18); frame 1 is
    2/3 of pose 0 plus 1/3 of pose 3 (both seen), frames 19 repeats pose 18; all 20 frames
    processed, none dropped."""
    from mdn.apis.live import fill_between
    a = (np.zeros((133, 2), np.float32), np.ones(133, np.float32))
    b = (np.full((133, 2), 3.0, np.float32), np.ones(133, np.float32))
    b[1][5] = 0  # keypoint 5 missing after: nearer side wins
    filled = fill_between(a, b, 3)
    assert len(filled) == 2 and filled[0][0][0, 0] == pytest.approx(1.0)
    assert filled[1][0][0, 0] == pytest.approx(2.0)
    assert (filled[0][0][5, 0], filled[1][0][5, 0], filled[1][1][5]) == (0.0, 3.0, 0.0)
    video = write_video(tmp_path / 'box.mp4', moving_box_frames(20, 64, 48), fps=30.0)
    poser = SlowPoser()
    summary = run_live(str(video), model, str(tmp_path / 'out'),
                       LiveOptions(window_s=0.5, stride_s=0.25, threshold=0.0),
                       every_frame=True, poser=poser, pose_stride=3)
    assert (poser.calls, summary.pose_frames, summary.pose_stride) == (7, 7, 3)
    assert (summary.frames, summary.frames_processed, summary.frames_dropped) == (20, 20, 0)
