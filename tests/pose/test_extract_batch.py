"""Batch extraction through tools/extract_pose.py: failures reported, kill + --resume exact.

Videos are generated with cv2.VideoWriter; the pose model is RTMPose-t with seeded random
weights, so separate processes compute identical keypoints.
"""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from mdn.datasets.annotation_io import load_annotations
from mdn.pose.extract import extract_videos
from mdn.pose.inputs import collect_videos
from mdn.pose.parts import parts_dir_for

from .video_fixtures import moving_box_frames, write_corrupt, write_video

REPO = Path(__file__).resolve().parents[2]
TOOL = REPO / 'tools' / 'extract_pose.py'
GOOD = ['clip_a', 'clip_b', 'clip_c', 'clip_d']


@pytest.fixture
def video_list(tmp_path):
    """Four small videos, a corrupt one and one with zero frames, as a labelled list file."""
    for i, name in enumerate(GOOD):
        write_video(tmp_path / f'{name}.mp4', moving_box_frames(6, 96, 72, seed=i))
    write_corrupt(tmp_path / 'corrupt.mp4')
    write_video(tmp_path / 'empty.avi', [])
    lines = ['clip_a.mp4 0', 'corrupt.mp4 1', 'clip_b.mp4 2', 'empty.avi 3', 'clip_c.mp4 4',
             'clip_d.mp4 5']
    path = tmp_path / 'videos.txt'
    path.write_text('\n'.join(lines) + '\n')
    return path


def spec(config):
    return dict(type='mmpose', model=config, checkpoint=None, detector=None, batch_size=4)


def cli(list_file, out, config, *extra):
    return [sys.executable, str(TOOL), str(list_file), '--out', str(out), '--backend', 'mmpose',
            '--model', config, '--checkpoint', 'none', '--detector', 'none', '--batch-size', '4',
            '--threads', '1', '--no-progress', *extra]


def assert_same_file(a, b):
    clips_a, meta_a = load_annotations(str(a))
    clips_b, meta_b = load_annotations(str(b))
    assert meta_a == meta_b
    assert [c['frame_dir'] for c in clips_a] == [c['frame_dir'] for c in clips_b] == GOOD
    for x, y in zip(clips_a, clips_b):
        assert x.keys() == y.keys()
        for key in x:
            if isinstance(x[key], np.ndarray):
                assert np.array_equal(x[key], y[key]), (x['frame_dir'], key)
            else:
                assert x[key] == y[key], (x['frame_dir'], key)


def test_uninterrupted_batch_reports_failures(video_list, tmp_path, tiny_pose_config):
    out = tmp_path / 'full.pkl'
    summary = extract_videos(collect_videos(str(video_list)), spec(tiny_pose_config), str(out),
                             progress=False)
    assert summary.done == GOOD and summary.output == str(out)
    reasons = {f.name: f.reason for f in summary.failed}
    assert sorted(reasons) == ['corrupt', 'empty']
    assert 'corrupt.mp4: OpenCV cannot open' in reasons['corrupt']
    assert 'empty.avi: no frame could be decoded' in reasons['empty']
    clips, meta = load_annotations(str(out))
    assert meta == dict(keypoint_layout='coco_wholebody_133', pose_backend='mmpose')
    for clip, label in zip(clips, (0, 2, 4, 5)):
        assert clip['label'] == label and clip['total_frames'] == 6
        assert clip['img_shape'] == clip['original_shape'] == (72, 96)
        assert clip['fps'] == pytest.approx(10.0)
        assert clip['keypoint'].shape == (1, 6, 133, 2) and clip['keypoint'].dtype == np.float32
        assert clip['keypoint_score'].shape == (1, 6, 133)


def test_killed_run_resumes_to_the_same_file(video_list, tmp_path, tiny_pose_config):
    reference = tmp_path / 'reference.pkl'
    extract_videos(collect_videos(str(video_list)), spec(tiny_pose_config), str(reference),
                   progress=False)
    out = tmp_path / 'resumed.pkl'
    parts = Path(parts_dir_for(str(out)))
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = subprocess.Popen(cli(video_list, out, tiny_pose_config), env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.time() + 240
    while not list(parts.glob('*.pkl')) and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)  # halfway: after the first finished video
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    assert not out.exists()  # the merged file only appears at the end
    finished = sorted(p.stem for p in parts.glob('*.pkl'))
    assert 1 <= len(finished) < len(GOOD), finished
    assert not list(parts.glob('.*.tmp'))  # no half-written part survives a kill

    done = subprocess.run(cli(video_list, out, tiny_pose_config, '--resume'), env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stdout + done.stderr  # 1: some videos failed
    assert f'{len(finished)} already done (resume), 2 failed' in done.stdout, done.stdout
    assert 'FAILED corrupt' in done.stdout and 'FAILED empty' in done.stdout
    assert_same_file(out, reference)


def test_cli_backend_spec_from_config_and_flags(tmp_path):
    import importlib.util
    spec_ = importlib.util.spec_from_file_location('extract_pose_tool', TOOL)
    tool = importlib.util.module_from_spec(spec_)
    spec_.loader.exec_module(tool)
    config = tmp_path / 'pose.py'
    config.write_text("pose_backend = dict(type='mmpose', model='rtmw-l', batch_size=32)\n")
    args = tool.parse_args(['x.mp4', '--out', 'o.pkl', '--config', str(config),
                            '--batch-size', '8', '--checkpoint', 'none'])
    assert tool.backend_spec(args) == dict(type='mmpose', model='rtmw-l', batch_size=8,
                                           checkpoint=None)
    args = tool.parse_args(['x.mp4', '--out', 'o.pkl', '--backend', 'mediapipe',
                            '--model-complexity', '0', '--batch-size', '8'])
    assert tool.backend_spec(args) == dict(type='mediapipe', model_complexity=0)
    with pytest.raises(SystemExit):
        tool.parse_args(['x.mp4'])  # --out is required unless --benchmark
