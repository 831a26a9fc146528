"""Where the CPU of ``tools/demo.py`` goes: each stage alone, one after the other, in one process.

    python tools/analysis/demo_cpu_budget.py [--video VIDEO] [--pose-stride 3] [--out DIR]

The real-time factor of ``tools/demo.py`` (``realtime_factor.py``) cannot be better than
``video seconds / (CPU seconds / cores)``; this tool says which stage those CPU seconds are
spent in, timed alone so that none competes with another: the imports (MediaPipe; torch,
MMEngine and the model), decoding the video with every ``--pose-stride``-th frame
read and the others grabbed, MediaPipe Holistic on the decoded frames, the sliding-window
model (random weights of the default config: a trained model costs the same) and the
output files. Prints a table of wall and CPU seconds per stage and the bounds they set on an
idle 2-core machine and on one core (another job on the other), and writes it as JSON.
"""
import argparse
import json
import os.path as osp
import resource
import sys
import time
from typing import Callable, Dict, List, Optional

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

from realtime_factor import DEFAULT_CONFIG, prepare_inputs  # noqa: E402


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed(stages: List[dict], name: str, fn: Callable[[], object]):
    """Run ``fn``; append its wall and CPU seconds to ``stages``; return its result."""
    wall, cpu = time.perf_counter(), _cpu_s()
    result = fn()
    stages.append(dict(stage=name, wall_s=round(time.perf_counter() - wall, 3),
                       cpu_s=round(_cpu_s() - cpu, 3)))
    print(f'{name:<44} {stages[-1]["wall_s"]:7.2f} s wall {stages[-1]["cpu_s"]:7.2f} s CPU',
          flush=True)
    return result


def measure(video: str, config: str, checkpoint: str, stride: int, out: str) -> Dict:
    stages: List[dict] = []
    import cv2  # (already imported by the input preparation: 0.2 s, not a stage)
    import numpy as np

    def import_mediapipe():
        from mdn.pose.backends.mediapipe_backend import _import_holistic
        return _import_holistic()
    holistic = timed(stages, 'import MediaPipe (Holistic)', import_mediapipe)

    def decode() -> List[np.ndarray]:
        from mdn.pose.video import iter_frames
        return list(iter_frames(video, stride))
    frames = timed(stages, f'decode (every {stride}th frame read, others grabbed)', decode)

    def pose():
        with holistic.Holistic(static_image_mode=False, model_complexity=1,
                               smooth_landmarks=True) as graph:
            for frame in frames:
                graph.process(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    timed(stages, f'MediaPipe Holistic on {len(frames)} frames', pose)

    def load_model():
        from mdn.apis.inference import init_recognizer
        return init_recognizer(config, checkpoint)
    model = timed(stages, 'import torch, MMEngine; build and load the model', load_model)

    from mdn.apis.recording import TimelineOptions, load_recording
    options = TimelineOptions(pose_stride=stride, pose_workers=1)
    recording = load_recording(video, options, progress=False)  # poses for the model stage

    def windows():
        from mdn.apis.inference import recognize_timeline
        return recognize_timeline(model, recording.skeleton, progress=False)
    scores = timed(stages, 'the model on its sliding windows', windows)

    def outputs():
        from mdn.apis.recording import write_results
        from mdn.apis.timeline import summarize
        segments = scores.segments(0.5, 0.5, 0.5, [])
        summary = summarize(segments, recording.skeleton.duration,
                            model.dataset_meta['classes'])
        return write_results(out, options, recording, model, scores, segments, summary, [])
    timed(stages, 'output files (CSV, timeline, overlay)', outputs)
    duration = recording.skeleton.duration
    total_cpu = sum(s['cpu_s'] for s in stages)
    result = dict(video=video, duration_s=round(duration, 3), pose_stride=stride,
                  pose_frames=len(frames), stages=stages, cpu_s=round(total_cpu, 2),
                  bound_rtf_two_idle_cores=round(duration / (total_cpu / 2), 3),
                  bound_rtf_one_core=round(duration / total_cpu, 3))
    print(f'{duration:.1f} s of video, {total_cpu:.1f} CPU s in all: at best '
          f'{result["bound_rtf_two_idle_cores"]:.2f}x real time on 2 idle cores, '
          f'{result["bound_rtf_one_core"]:.2f}x on one (a job on the other)')
    return result


def main(argv: Optional[List[str]] = None) -> Dict:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--video', help='default: the six MA-52 demo clips joined')
    p.add_argument('--config', default=DEFAULT_CONFIG)
    p.add_argument('--checkpoint', help='default: random weights of --config')
    p.add_argument('--pose-stride', type=int, default=3,
                   help="pose on every n-th frame (3: the demo's 10 frames/s of a 30 fps video)")
    p.add_argument('--out', default='work_dirs/demo_cpu_budget')
    args = p.parse_args(argv)
    if args.pose_stride < 1:
        p.error('--pose-stride must be >= 1')
    video, checkpoint = prepare_inputs(args.video, args.config, args.checkpoint, args.out)
    result = measure(video, args.config, checkpoint, args.pose_stride,
                     osp.join(args.out, 'outputs'))
    from mdn.utils.io import atomic_write
    with atomic_write(osp.join(args.out, 'demo_cpu_budget.json'), 'w') as f:
        json.dump(result, f, indent=1)
    return result


if __name__ == '__main__':
    main()
