"""The pose stage never loses work and answers a user's mistake with one line, not a traceback.

tools/extract_pose.py runs in this process (so a fake backend can stand in for the slow real
one, and a download can be made to fail); one test runs it as a real subprocess. Videos are
generated; a truncated one is made by cutting bytes off a generated AVI.
"""
import importlib.util
import os
import socket
import subprocess
import sys
from pathlib import Path
from urllib.error import URLError

import numpy as np
import pytest

import mdn.pose.extract as extract_module
from mdn.datasets.annotation_io import load_annotations
from mdn.pose.backends import PoseBackend, VideoPose
from mdn.pose.backends.mmpose_backend import MMPoseBackend
from mdn.pose.backends.mmpose_models import POSE_MODELS
from mdn.pose.extract import TruncatedVideoWarning, extract_video, extract_videos
from mdn.pose.inputs import VideoItem, collect_videos
from mdn.pose.parts import parts_dir_for

from .video_fixtures import moving_box_frames, write_video

REPO = Path(__file__).resolve().parents[2]
TOOL = REPO / 'tools' / 'extract_pose.py'
NAMES = ['clip_a', 'clip_b', 'clip_c']
# mmpose spec flags that need no weights; the fake backend below replaces the model anyway
FLAGS = ['--backend', 'mmpose', '--checkpoint', 'none', '--detector', 'none', '--no-progress']


def load_tool(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def tool():
    return load_tool(TOOL, 'extract_pose_trust')


class FakeBackend(PoseBackend):
    """Everyone found everywhere, instantly."""

    name = 'fake'

    def process_video(self, frames, width, height, max_people=1):
        n = sum(1 for _ in frames)
        return VideoPose(np.full((1, n, 133, 2), 5, np.float32), np.ones((1, n, 133), np.float32))


@pytest.fixture
def fake_backend(monkeypatch):
    built = []

    def build(spec):
        built.append(dict(spec))
        return FakeBackend()

    monkeypatch.setattr(extract_module, 'build_backend', build)
    return built


@pytest.fixture
def videos(tmp_path):
    folder = tmp_path / 'videos'
    folder.mkdir()
    for i, name in enumerate(NAMES):
        write_video(folder / f'{name}.mp4', moving_box_frames(4, 64, 48, seed=i))
    return folder


def run_tool(tool, capsys, *argv):
    rc = tool.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def assert_one_error_line(err: str, *expected: str):
    assert 'Traceback' not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('error: '), err
    for text in expected:
        assert text in lines[0], (text, err)


# --------------------------------------------------------------------------- 1. no silent delete
def test_rerun_without_resume_refuses_to_delete_finished_videos(tool, videos, tmp_path, capsys,
                                                                  fake_backend):
    out = tmp_path / 'poses.pkl'
    parts = Path(parts_dir_for(str(out)))
    rc, stdout, _ = run_tool(tool, capsys, videos, '--out', out, *FLAGS)
    assert rc == 0 and '3 extracted' in stdout
    out.unlink()  # as if the run had been killed before the merge
    before = {p.name: p.stat().st_mtime_ns for p in parts.glob('*.pkl')}
    assert sorted(before) == [f'{n}.pkl' for n in NAMES]

    rc, stdout, err = run_tool(tool, capsys, videos, '--out', out, *FLAGS)
    assert rc == 2
    assert_one_error_line(err, f'3 finished videos in {parts}',
                          'rerun with --resume, or --overwrite to start over')
    assert {p.name: p.stat().st_mtime_ns for p in parts.glob('*.pkl')} == before  # untouched
    assert not out.exists()

    rc, stdout, _ = run_tool(tool, capsys, videos, '--out', out, *FLAGS, '--resume')
    assert rc == 0 and '0 extracted, 3 already done (resume)' in stdout and out.exists()
    rc, stdout, _ = run_tool(tool, capsys, videos, '--out', out, *FLAGS, '--overwrite')
    assert rc == 0 and '3 extracted, 0 already done' in stdout
    with pytest.raises(SystemExit) as exit_:  # both at once: argparse refuses (status 2)
        tool.parse_args([str(videos), '--out', str(out), '--resume', '--overwrite'])
    assert exit_.value.code == 2


# --------------------------------------------------------------------------- 2. refusals
def test_refusals_are_one_error_line(tool, videos, tmp_path, capsys, fake_backend):
    out = tmp_path / 'poses.pkl'
    assert run_tool(tool, capsys, videos, '--out', out, *FLAGS)[0] == 0
    fake_backend.clear()
    # changed settings on resume
    rc, _, err = run_tool(tool, capsys, videos, '--out', out, *FLAGS, '--resume', '--stride', '2')
    assert rc == 2
    assert_one_error_line(err, 'other settings', 'stride')
    # the same file name in two folders
    for sub in ('a', 'b'):
        (videos / sub).mkdir()
        write_video(videos / sub / 'same.mp4', moving_box_frames(2, 64, 48))
    rc, _, err = run_tool(tool, capsys, videos, '--out', tmp_path / 'other.pkl', *FLAGS)
    assert rc == 2
    assert_one_error_line(err, 'more than once', "'same'", 'unique file name')
    # an input that does not exist
    rc, _, err = run_tool(tool, capsys, tmp_path / 'nothing', '--out', out, *FLAGS)
    assert rc == 2
    assert_one_error_line(err, 'no such video, folder or list file')
    assert not fake_backend  # every refusal came before a backend was built


def test_truncated_part_is_refused_by_the_command(tool, videos, tmp_path, capsys, fake_backend):
    """End to end, as a user runs it: a subprocess, a damaged part, one line, status 2."""
    out = tmp_path / 'poses.pkl'
    assert run_tool(tool, capsys, videos, '--out', out, *FLAGS)[0] == 0
    part = Path(parts_dir_for(str(out))) / 'clip_b.pkl'
    part.write_bytes(part.read_bytes()[:100])
    fake_backend.clear()
    done = subprocess.run([sys.executable, str(TOOL), str(videos), '--out', str(out), *FLAGS,
                           '--resume'], capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert done.returncode == 2, done.stdout + done.stderr
    assert_one_error_line(done.stderr, str(part), 'truncated or corrupt',
                          'rerun with --resume')


# --------------------------------------------------------------------------- 3. truncated video
def test_truncated_video_is_reported_not_silently_shortened(tool, videos, tmp_path, capsys,
                                                            fake_backend):
    import cv2
    # write_video uses mp4v; an AVI with MJPG keeps frames readable up to the cut
    cut = videos / 'cut.avi'
    whole = videos / 'whole.avi'
    writer = cv2.VideoWriter(str(whole), cv2.VideoWriter_fourcc(*'MJPG'), 10.0, (64, 48))
    for frame in moving_box_frames(30, 64, 48):
        writer.write(frame)
    writer.release()
    cut.write_bytes(whole.read_bytes()[:whole.stat().st_size // 2])
    whole.unlink()
    cap = cv2.VideoCapture(str(cut))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 30
    cap.release()

    out = tmp_path / 'poses.pkl'
    rc, stdout, _ = run_tool(tool, capsys, videos, '--out', out, *FLAGS)
    assert rc == 0, stdout  # kept (its frames are real), but reported
    warning = [line for line in stdout.splitlines() if line.startswith('  WARNING cut:')]
    assert len(warning) == 1, stdout
    read = int(warning[0].split('read ')[1].split(' of 30 frames')[0])
    assert 0 < read < 30
    clips = {c['frame_dir']: c for c in load_annotations(str(out))[0]}
    assert clips['cut']['total_frames'] == read
    assert clips['cut']['decode_warning'].startswith(f'read {read} of 30 frames')
    assert all('decode_warning' not in clips[n] for n in NAMES)  # whole videos: no warning
    # on --resume the report still says so (read back from the part)
    rc, stdout, _ = run_tool(tool, capsys, videos, '--out', out, *FLAGS, '--resume')
    assert rc == 0 and f'  WARNING cut: read {read} of 30 frames' in stdout
    # the library call (tools/demo.py) warns too
    with pytest.warns(TruncatedVideoWarning, match=f'read {read} of 30 frames'):
        clip = extract_video(VideoItem(str(cut)), FakeBackend())
    assert clip['total_frames'] == read


# --------------------------------------------------------------------------- 4. offline weights
@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No cached weights, and every download fails as it does without network (no DNS wait)."""
    import torch.hub
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    calls = []

    def fail(url, *args, **kwargs):
        calls.append(url)
        raise URLError(socket.gaierror(-3, 'Temporary failure in name resolution'))

    monkeypatch.setattr(torch.hub, 'download_url_to_file', fail)
    return calls


def test_offline_default_backend_says_what_to_do(tool, videos, tmp_path, capsys, offline):
    url = POSE_MODELS['rtmpose-m'][1]
    rc, _, err = run_tool(tool, capsys, videos, '--out', tmp_path / 'poses.pkl', '--no-progress',
                          '--detector', 'none')
    assert rc == 2
    assert_one_error_line(err, 'could not be downloaded', url, 'Temporary failure in name',
                          '--checkpoint PATH', '--backend mediapipe')
    assert offline == [url]
    # local weights that are not there: named, same advice
    rc, _, err = run_tool(tool, capsys, videos, '--out', tmp_path / 'poses.pkl', '--no-progress',
                          '--detector', 'none', '--checkpoint', tmp_path / 'missing.pth')
    assert rc == 2
    assert_one_error_line(err, f'weights not found: {tmp_path / "missing.pth"}')
    # several workers: one clear error in the main process, before any worker starts
    items = collect_videos(str(videos))
    with pytest.raises(FileNotFoundError, match='could not be downloaded'):
        extract_videos(items, dict(type='mmpose', detector=None), str(tmp_path / 'w.pkl'),
                       workers=2, progress=False)


# --------------------------------------------------------------------------- 5. random weights
def test_random_weights_warn_and_are_recorded(tool, videos, tmp_path, capsys, tiny_pose_config):
    (videos / 'clip_b.mp4').unlink()
    (videos / 'clip_c.mp4').unlink()
    out = tmp_path / 'poses.pkl'
    rc, stdout, err = run_tool(tool, capsys, videos, '--out', out, '--model', tiny_pose_config,
                               '--batch-size', '4', *FLAGS)
    assert rc == 0, stdout + err
    assert 'WARNING: pose model' in err and 'RANDOM weights (--checkpoint none)' in err
    assert 'WARNING: the pose model has RANDOM weights' in stdout  # repeated in the summary
    clip, = load_annotations(str(out))[0]
    assert clip['pose_model_weights'] == 'random (--checkpoint none)'


def test_real_weights_are_recorded():
    backend = MMPoseBackend.__new__(MMPoseBackend)
    backend.settings = dict(checkpoint='/models/rtmpose-m.pth')
    assert backend.clip_fields() == dict(pose_model_weights='/models/rtmpose-m.pth')


# --------------------------------------------------------------------------- 6. --max-people
def test_max_people_without_detector_is_refused(tool, videos, tmp_path, capsys, fake_backend,
                                                monkeypatch):
    out = tmp_path / 'poses.pkl'
    rc, _, err = run_tool(tool, capsys, videos, '--out', out, *FLAGS, '--max-people', '2')
    assert rc == 2
    assert_one_error_line(err, '--max-people 2 needs a person detector', '--detector none',
                          '--max-people 1')
    import mdn.pose.backends.mmpose_backend as mmpose_backend
    monkeypatch.setattr(mmpose_backend, 'detector_available', lambda: False)
    rc, _, err = run_tool(tool, capsys, videos, '--out', out, '--backend', 'mmpose',
                          '--checkpoint', 'none', '--no-progress', '--max-people', '2')
    assert rc == 2
    assert_one_error_line(err, '--detector auto found no working detector', 'mmdet')
    rc, _, err = run_tool(tool, capsys, videos, '--out', out, '--backend', 'mediapipe',
                          '--no-progress', '--max-people', '2')
    assert rc == 2
    assert_one_error_line(err, 'the mediapipe backend tracks one person')
    assert not fake_backend and not Path(parts_dir_for(str(out))).exists()
    # a built backend without a detector refuses too (it used to return one person)
    backend = MMPoseBackend.__new__(MMPoseBackend)
    backend.detector = None
    with pytest.raises(ValueError, match='needs a person detector'):
        backend.process_video(iter(moving_box_frames(2)), 96, 72, max_people=2)


# --------------------------------------------------------------------------- 7. demo weights
def test_demo_passes_local_pose_weights_to_the_backend(tmp_path, capsys):
    from mdn.apis.cli import run_cli
    demo = load_tool(REPO / 'tools' / 'demo.py', 'demo_trust')
    video = write_video(tmp_path / 'clip.mp4', moving_box_frames(3, 64, 48))
    weights = tmp_path / 'no_such_weights.pth'
    base = [str(video), 'cfg.py', 'ckpt.pth', '--out', str(tmp_path / 'o'), '--no-progress']
    args = demo.parse_args(base + ['--pose-checkpoint', str(weights)])
    assert args.backend == 'mmpose'  # implied by --pose-checkpoint
    assert demo.pose_backend_spec(args) == dict(type='mmpose', checkpoint=str(weights))
    assert run_cli(lambda: demo.read_input(args)) == 2
    assert_one_error_line(capsys.readouterr().err, f'weights not found: {weights}')
    args = demo.parse_args(base + ['--pose-checkpoint', 'none'])
    assert demo.pose_backend_spec(args) == dict(type='mmpose', checkpoint=None)
    assert demo.pose_backend_spec(demo.parse_args(base)) == dict(type='mediapipe')
    with pytest.raises(SystemExit):
        demo.parse_args(base + ['--backend', 'mediapipe', '--pose-checkpoint', str(weights)])
