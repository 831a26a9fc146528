"""The command line of ``tools/demo.py`` as a library: ``tools/cohort.py`` passes its demo options
through the same parser, so a cohort's recording folder is exactly what the demo writes."""
import argparse

from .cli import CfgOptionsAction, add_compile_argument, add_window_arguments
from .recording import DEFAULT_POSE_FPS, DEFAULT_POSE_WORKERS, TimelineOptions

DESCRIPTION = ('Micro-action timeline of a video or a skeleton file: which micro-actions, when, '
               'how often.')


def parse_args(argv=None, description: str = DESCRIPTION,
               epilog: str = None) -> argparse.Namespace:
    """``tools/demo.py``'s arguments (also the demo options of ``tools/cohort.py``)."""
    p = argparse.ArgumentParser(description=description, epilog=epilog,
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
    add_compile_argument(p, 'pays on long recordings; on a GPU: reduce-overhead')
    p.add_argument('--threads', type=int, help='torch threads')
    p.add_argument('--no-progress', action='store_true')
    p.add_argument('--cfg-options', nargs='+', action=CfgOptionsAction)
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
