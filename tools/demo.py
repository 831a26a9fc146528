"""Micro-action timeline of a video or a skeleton file: which micro-actions, when, how often.

    python tools/demo.py INPUT CONFIG CHECKPOINT --out DIR [--window 2.0] [--stride 0.5]
        [--threshold 0.5] [--min-duration 0.5] [--max-gap 0.5] [--background NAME ...]
        [--topk 3] [--batch-size 64] [--fps FPS] [--backend mediapipe|mmpose]
        [--pose-checkpoint PATH|URL|default|none] [--pose-fps 10] [--pose-stride N]
        [--pose-workers 2] [--overlay mp4|png|none] [--overlay-start S] [--overlay-seconds S]
        [--reference SEGMENTS] [--threads N] [--device cpu] [--compile [MODE]]
        [--cfg-options ...]

INPUT is a video (poses are extracted with ``--backend`` on about ``--pose-fps`` frames per
second, in ``--pose-workers`` parallel chunks, while the model loads; the frames between are
filled in, so every frame number is the video's), a ``.pkl`` annotation file with
one clip, or an ``.npz`` with ``keypoints (T,V,3)`` (``--fps`` if the file has none). Sliding
windows of ``--window`` seconds every ``--stride`` seconds are scored in batches; a window
whose top score is below ``--threshold`` or whose top class is a ``--background`` class is
"no micro-action"; the rest merge into segments (see ``mdn/apis/timeline.py``).

Writes to DIR: ``segments.csv`` / ``segments.json`` (start, end, label, score; the JSON also
holds the settings, the summary, the pose ``coverage`` per entity and the run's time, real-time
factor and peak memory), ``summary.csv`` (per label: count, total and mean duration, rate per
minute for recordings of at least a minute), ``windows.csv`` (top-k scores and ST routing
weight per entity of each window), ``timeline.png`` and the skeleton overlay (``overlay.mp4``
at the pose frame rate, and ``overlay.png``); every column is explained in
``docs/inference.md``. The pipeline is ``mdn.apis.recording.run_recording``. ``--reference``
draws known segments on the timeline: a CSV with ``start,end`` columns in seconds, or an npz
with ``start_end_frame``.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a checkout

from mmengine.config import DictAction  # noqa: E402

from mdn.apis.cli import add_window_arguments, run_cli  # noqa: E402
from mdn.apis.recording import (DEFAULT_POSE_FPS, DEFAULT_POSE_WORKERS,  # noqa: E402,F401
                                TimelineOptions, class_ids, frame_captions, read_reference,
                                run_recording, write_csv, write_windows)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('input', help='video, .pkl annotation file (one clip) or .npz skeleton')
    p.add_argument('config')
    p.add_argument('checkpoint', help='path or URL')
    p.add_argument('--out', required=True, help='output folder')
    add_window_arguments(p)
    p.add_argument('--topk', type=int, default=3, help='scores per window in windows.csv')
    p.add_argument('--batch-size', type=int, default=64,
                   help='clips per forward pass (bounds memory; a window of a k-clip test '
                   'pipeline counts k)')
    p.add_argument('--fps', type=float, help='frame rate of a skeleton file without one')
    p.add_argument('--backend', choices=['mediapipe', 'mmpose'],
                   help='pose backend for a video input (default: mediapipe, or mmpose when '
                   '--pose-checkpoint is given)')
    p.add_argument('--pose-checkpoint',
                   help="mmpose backend weights: a local file (works offline), a URL, "
                   "'default' (model-zoo URL) or 'none' (random weights, meaningless poses)")
    p.add_argument('--pose-fps', type=float, default=DEFAULT_POSE_FPS,
                   help='video: run the pose model at about this many frames/s and fill the '
                   'frames between (default %(default)s; see docs/benchmarks.md for the cost)')
    p.add_argument('--pose-stride', type=int,
                   help='video: run the pose model on every n-th frame (overrides --pose-fps; '
                   '1 = every frame)')
    p.add_argument('--pose-workers', type=int, default=DEFAULT_POSE_WORKERS,
                   help='video: chunks of the video posed at once, one pose graph each '
                   '(default %(default)s)')
    p.add_argument('--overlay', choices=['mp4', 'png', 'none'], default='mp4',
                   help='skeleton overlay as a video (plus one PNG frame), a PNG only, or none')
    p.add_argument('--overlay-start', type=float, default=0.0, help='overlay start, seconds')
    p.add_argument('--overlay-seconds', type=float, default=30.0,
                   help='overlay length, seconds (long recordings: a preview)')
    p.add_argument('--overlay-size', type=int, default=640,
                   help='longest side of the overlay frames, pixels')
    p.add_argument('--reference', help='known segments to draw on the timeline')
    p.add_argument('--device', default='cpu')
    p.add_argument('--compile', nargs='?', const='default', metavar='MODE',
                   choices=('default', 'reduce-overhead', 'max-autotune',
                            'max-autotune-no-cudagraphs'),
                   help='torch.compile the model (pays on long recordings, GPU: '
                   'reduce-overhead)')
    p.add_argument('--threads', type=int, help='torch threads')
    p.add_argument('--no-progress', action='store_true')
    p.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = p.parse_args(argv)
    if args.topk < 1 or args.batch_size < 1:
        p.error('--topk and --batch-size must be >= 1')
    if (args.pose_stride is not None and args.pose_stride < 1) or args.pose_fps <= 0 \
            or args.pose_workers < 1:
        p.error('--pose-stride and --pose-workers must be >= 1, --pose-fps > 0')
    if args.pose_checkpoint is not None and args.backend == 'mediapipe':
        p.error('--pose-checkpoint is for --backend mmpose (MediaPipe ships its own models)')
    if args.backend is None:
        args.backend = 'mmpose' if args.pose_checkpoint is not None else 'mediapipe'
    return args


def pose_backend_spec(args) -> dict:
    """The pose backend for a video input: ``--backend`` plus ``--pose-checkpoint``."""
    spec = dict(type=args.backend)
    if args.pose_checkpoint is not None:
        checkpoint = args.pose_checkpoint
        spec['checkpoint'] = None if checkpoint.lower() in ('none', 'null', 'random') \
            else checkpoint
    return spec


# --------------------------------------------------------------------------- pipeline
def read_input(args):
    """The input's skeleton, at the video's own frame rate (``load_recording``)."""
    from mdn.apis.recording import load_recording
    from mdn.pose.video import VideoError
    try:  # a missing/corrupt video or one without a person: one clear line, no traceback
        return load_recording(args.input, timeline_options(args),
                              progress=not args.no_progress).skeleton
    except VideoError as err:
        raise ValueError(str(err)) from None


def timeline_options(args) -> TimelineOptions:
    """The command line as :class:`mdn.apis.recording.TimelineOptions`."""
    return TimelineOptions(
        window_s=args.window, stride_s=args.stride, threshold=args.threshold,
        min_duration_s=args.min_duration, max_gap_s=args.max_gap, background=args.background,
        topk=args.topk, batch_size=args.batch_size, fps=args.fps,
        backend=pose_backend_spec(args), pose_stride=args.pose_stride, pose_fps=args.pose_fps,
        pose_workers=args.pose_workers, overlay=args.overlay, overlay_start=args.overlay_start,
        overlay_seconds=args.overlay_seconds, overlay_size=args.overlay_size,
        reference=args.reference)


def main(argv=None) -> dict:
    """Run the pipeline (``mdn.apis.recording.run_recording``); returns the segments.json
    report."""
    args = parse_args(argv)
    if args.threads:
        import torch
        torch.set_num_threads(args.threads)
    cfg_options = dict(args.cfg_options or {})
    if args.compile:  # init_recognizer reads the config's compile key
        cfg_options['compile'] = args.compile
    return run_recording(args.input, args.out, config=args.config, checkpoint=args.checkpoint,
                         options=timeline_options(args), device=args.device,
                         cfg_options=cfg_options or None, progress=not args.no_progress)


if __name__ == '__main__':
    sys.exit(run_cli(main))
