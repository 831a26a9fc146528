"""tools/demo.py end to end: a real MA-52 clip through the offline MediaPipe pose backend and a
tiny synthetic checkpoint trained here; skeleton-file inputs; clear errors for bad inputs."""
import csv
import json
import pickle
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from mdn.apis.inference import LayoutMismatchError
from mdn.datasets import SyntheticMicroActionDataset

from .conftest import require_shared
from .pose.video_fixtures import MA52_DEMO, moving_box_frames, write_video
from .test_tools import SYNTHETIC, TINY

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / 'tools'))
import demo as demo_tool  # noqa: E402
import train as train_tool  # noqa: E402

SEGMENT_HEADER = ['start', 'end', 'label', 'score', 'start_frame', 'end_frame']


pytestmark = pytest.mark.usefixtures('one_torch_thread')


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory) -> str:
    """One epoch of the tiny synthetic model (tools/train.py), as a real MMEngine checkpoint."""
    work = tmp_path_factory.mktemp('demo_train')
    torch.set_num_threads(1)
    train_tool.main([SYNTHETIC, '--work-dir', str(work), '--cfg-options',
                     'train_cfg.max_epochs=1', *TINY])
    return str(work / 'epoch_1.pth')


def run_demo(source, checkpoint, out, *extra):
    return demo_tool.main([str(source), SYNTHETIC, checkpoint, '--out', str(out),
                           '--no-progress', '--cfg-options', *TINY, *extra])


def read_csv(path):
    with open(path, newline='') as f:
        return list(csv.reader(f))


def check_png(path):
    image = cv2.imread(str(path))
    assert image is not None and image.ndim == 3 and min(image.shape[:2]) > 50, path
    return image


def test_demo_on_a_real_ma52_clip_with_mediapipe(checkpoint, tmp_path):
    video = sorted(require_shared(MA52_DEMO).glob('B1_nodding_*.mp4'))[0]
    out = tmp_path / 'out'
    report = run_demo(video, checkpoint, out, '--window', '1.0', '--stride', '0.25',
                      '--threshold', '0.0', '--min-duration', '0.25', '--pose-stride', '2',
                      '--topk', '3')
    frames = report['num_frames']
    # pose on every 2nd frame, filled back: the video's 50 frames at 30 fps
    assert report['fps'] == pytest.approx(30.0) and frames == 50
    assert report['pose']['stride'] == 2 and report['pose']['frames'] == 25
    saved = json.loads((out / 'segments.json').read_text())
    assert saved['segments'] and saved['num_frames'] == frames
    assert saved['run']['peak_rss_mb'] > 0 and saved['run']['windows'] >= 3
    rows = read_csv(out / 'segments.csv')
    assert rows[0] == SEGMENT_HEADER and len(rows) == len(saved['segments']) + 1
    starts, ends = [float(r[0]) for r in rows[1:]], [float(r[1]) for r in rows[1:]]
    assert all(0 <= s < e <= saved['duration_s'] + 1e-6 for s, e in zip(starts, ends))
    assert starts == sorted(starts)
    summary = read_csv(out / 'summary.csv')
    assert summary[0] == ['label', 'count', 'total_s', 'mean_s', 'per_minute', 'mean_score']
    assert sum(int(r[1]) for r in summary[1:]) == len(saved['segments'])
    windows = read_csv(out / 'windows.csv')
    assert windows[0][:7] == ['start', 'end', 'start_frame', 'end_frame', 'person',
                              'top1_label', 'top1_score']
    assert windows[0][-6:] == ['st_face', 'st_head', 'st_torso', 'st_left_hand',
                               'st_right_hand', 'st_lower_body']
    assert len(windows) - 1 == saved['run']['windows']
    check_png(out / 'timeline.png')
    overlay = check_png(out / 'overlay.png')
    assert max(overlay.shape[:2]) == 640
    capture = cv2.VideoCapture(str(out / 'overlay.mp4'))
    assert capture.isOpened()
    count = 0
    while capture.read()[0]:
        count += 1
    capture.release()
    assert count == report['pose']['frames']  # the posed frames; clip < --overlay-seconds
    assert not list(out.glob('.*.tmp')) and not list(out.glob('.*mp4'))  # no leftovers


def test_demo_on_a_skeleton_file(checkpoint, tmp_path):
    """A .pkl annotation file with one clip: the pose stage is skipped; a background class
    never becomes a segment; the overlay is a PNG on a blank canvas."""
    data = SyntheticMicroActionDataset(num_per_class=1, split='test')
    clips = [data.get_data_info(i) for i in range(8)]
    clip = dict(frame_dir='eight_actions', label=-1, fps=30.0,
                keypoint=np.concatenate([c['keypoint'] for c in clips], 1),
                keypoint_score=np.concatenate([c['keypoint_score'] for c in clips], 1))
    path = tmp_path / 'eight.pkl'
    path.write_bytes(pickle.dumps(dict(split={}, annotations=[clip])))
    out = tmp_path / 'out'
    report = run_demo(path, checkpoint, out, '--threshold', '0.0', '--overlay', 'png',
                      '--background', 'cover_face', 'shake_leg')
    assert report['background'] == ['cover_face', 'shake_leg']
    assert all(s['label_name'] not in ('cover_face', 'shake_leg') for s in report['segments'])
    summary_labels = [r[0] for r in read_csv(out / 'summary.csv')[1:]]
    assert 'cover_face' not in summary_labels and len(summary_labels) == 6
    check_png(out / 'overlay.png')
    assert not (out / 'overlay.mp4').exists()


def test_demo_rejects_bad_inputs(checkpoint, tmp_path):
    no_person = write_video(tmp_path / 'no_person.mp4', moving_box_frames(6))
    with pytest.raises(ValueError, match='no person found'):
        run_demo(no_person, checkpoint, tmp_path / 'a')
    openpose = tmp_path / 'openpose.npz'
    np.savez_compressed(openpose, keypoints=np.ones((40, 137, 3), np.float32))
    with pytest.raises(LayoutMismatchError, match='137 keypoints per frame'):
        run_demo(openpose, checkpoint, tmp_path / 'b', '--fps', '25')
    with pytest.raises(ValueError, match='not a class of the checkpoint'):
        run_demo(openpose, checkpoint, tmp_path / 'c', '--background', 'sneeze')
    assert demo_tool.run_cli(lambda: run_demo(tmp_path / 'missing.npz', checkpoint,
                                              tmp_path / 'd')) == 2


def test_recognize_video_classifies_a_real_clip(checkpoint):
    from mdn.apis import init_recognizer, recognize_video
    tiny = {'model.embed_dim': 16, 'model.path.depth': 1, 'model.path.num_heads': 2,
            'model.global_stream.embed_dim': 16, 'model.head.hidden': 16}  # as in TINY
    model = init_recognizer(SYNTHETIC, checkpoint, cfg_options=tiny)
    video = sorted(require_shared(MA52_DEMO).glob('B2_shaking_head_*.mp4'))[0]
    result, skeleton = recognize_video(model, str(video), dict(type='mediapipe'), stride=4)
    assert skeleton.keypoint.shape[2] == 133 and skeleton.fps == pytest.approx(7.5, abs=0.3)
    assert result.scores.shape == (8,) and result.entity_weights.shape == (6, 2)
    assert result.label_name in model.dataset_meta['classes']


def test_demo_starts_the_pose_stage_before_torch_is_imported():
    """The demo parses its arguments and runs the whole pose stage (decoding, MediaPipe,
    coverage) without torch or MMEngine's runner: those load on the main thread meanwhile, so
    Python's start does not hold the pose stage back (docs/benchmarks.md, real-time factor)."""
    import subprocess
    probe = ("import sys; sys.path.insert(0, 'tools'); import demo; "
             "args = demo.parse_args(['v.mp4', 'c.py', 'k.pth', '--out', 'o', "
             "'--cfg-options', 'a=1']); "
             "import mdn.pose.strided, mdn.pose.extract, mdn.pose.resample, mdn.pose.coverage; "
             "import mdn.pose.backends.mediapipe_backend, mdn.apis.recording; "
             "assert args.cfg_options == {'a': 1}, args.cfg_options; "
             "print(sorted(m for m in ('torch', 'mmengine.runner', 'mmengine.dataset') "
             "if m in sys.modules))")
    out = subprocess.run([sys.executable, '-c', probe], capture_output=True, text=True,
                         cwd=str(Path(__file__).resolve().parents[1]), timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == '[]', f'imported before the pose stage: {out.stdout}'


def test_demo_cpu_budget_times_every_stage_and_bounds_the_factor(tmp_path):
    """tools/analysis/demo_cpu_budget.py on a real MA-52 clip: one row per stage with wall and
    CPU seconds, and the real-time bounds those CPU seconds set (docs/benchmarks.md)."""
    sys.path.insert(0, str(REPO / 'tools' / 'analysis'))
    import demo_cpu_budget
    video = sorted(require_shared(MA52_DEMO).glob('B1_nodding_*.mp4'))[0]
    result = demo_cpu_budget.main(['--video', str(video), '--config', SYNTHETIC,
                                   '--pose-stride', '3', '--out', str(tmp_path)])
    names = [s['stage'] for s in result['stages']]
    assert len(names) == 6 and names[2].startswith('MediaPipe Holistic on ')
    assert all(s['wall_s'] >= 0 and s['cpu_s'] >= 0 for s in result['stages'])
    frames = cv2.VideoCapture(str(video)).get(cv2.CAP_PROP_FRAME_COUNT)
    assert result['pose_frames'] == -(-int(frames) // 3)
    holistic = result['stages'][2]['cpu_s']
    assert holistic > 0.01 * result['pose_frames']  # a real pose model ran on every frame
    cpu = sum(s['cpu_s'] for s in result['stages'])
    assert result['bound_rtf_one_core'] == pytest.approx(result['duration_s'] / cpu, rel=0.02)
    assert result['bound_rtf_two_idle_cores'] == pytest.approx(
        2 * result['bound_rtf_one_core'], rel=0.02)
    assert (tmp_path / 'outputs' / 'timeline.png').is_file()
    saved = json.loads((tmp_path / 'demo_cpu_budget.json').read_text())
    assert saved['stages'] == result['stages']
