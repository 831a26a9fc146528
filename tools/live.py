"""Live micro-action recognition on a camera, a stream or a video file.

    python tools/live.py SOURCE CONFIG CHECKPOINT --out DIR [--headless] [--every-frame]
        [--pose-fps 10] [--pose-stride N] [--window 2.0] [--stride 0.5] [--threshold 0.5]
        [--min-duration 0.5] [--max-gap 0.5] [--background NAME ...] [--max-seconds S]
        [--snapshot PNG] [--view-size 640] [--threads N]

SOURCE is a camera index (``0``), a stream URL (``rtsp://...``) or a video file, which is
played at its own frame rate: when processing falls behind, frames are dropped (counted in
the summary). Poses come from the offline MediaPipe backend on about ``--pose-fps`` frames
per second, the frames between filled in as ``tools/demo.py`` fills them; a window of
``--window`` seconds is scored every ``--stride`` seconds. A window shows the skeleton, the
current micro-action and a scrolling timeline (``q`` or Esc quits), or nothing with
``--headless``.

Writes to DIR: ``segments.csv`` (start, end, label, score, start_frame, end_frame; a row is
appended and flushed as soon as a segment can no longer change) and, at the end,
``live_summary.json`` (frames processed and dropped, processing ``fps``, settings).
``--every-frame`` (video files) processes every frame as fast as possible instead of in real
time: the segments are then those ``tools/demo.py`` finds on the same file. Ctrl-C, the end of
the stream or ``--max-seconds`` stop cleanly.
"""
import argparse
import os.path as osp
import signal
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a checkout

from mdn.apis.cli import CfgOptionsAction, add_window_arguments, run_cli  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('source', help='camera index (0), stream URL or video file')
    p.add_argument('config')
    p.add_argument('checkpoint', help='path or URL')
    p.add_argument('--out', required=True, help='output folder')
    p.add_argument('--headless', action='store_true', help='no window (servers, tests)')
    p.add_argument('--every-frame', action='store_true',
                   help='video file: process every frame, as fast as possible, never drop '
                   '(deterministic; same segments as tools/demo.py)')
    p.add_argument('--pose-fps', type=float,
                   help='run the pose model at about this many frames/s and fill the frames '
                   "between, as tools/demo.py does (default: the demo's, 10)")
    p.add_argument('--pose-stride', type=int,
                   help='run the pose model on every n-th frame (overrides --pose-fps; 1 = '
                   'every frame)')
    add_window_arguments(p)
    p.add_argument('--max-seconds', type=float,
                   help='stop after this many seconds of the source')
    p.add_argument('--snapshot', help='save the last view (skeleton + timeline) as a PNG')
    p.add_argument('--view-size', type=int, default=640,
                   help='longest side of the window / snapshot frame, pixels')
    p.add_argument('--device', default='cpu')
    p.add_argument('--threads', type=int, help='torch threads')
    p.add_argument('--cfg-options', nargs='+', action=CfgOptionsAction)
    args = p.parse_args(argv)
    if args.window <= 0 or args.stride <= 0:
        p.error('--window and --stride must be > 0')
    if args.max_seconds is not None and args.max_seconds <= 0:
        p.error('--max-seconds must be > 0')
    if (args.pose_stride is not None and args.pose_stride < 1) or \
            (args.pose_fps is not None and args.pose_fps <= 0):
        p.error('--pose-stride must be >= 1 and --pose-fps > 0')
    return args


def _stop_on_sigterm(signum, frame):
    raise KeyboardInterrupt  # the same clean stop as Ctrl-C


def main(argv=None) -> dict:
    args = parse_args(argv)
    import torch

    from mdn.apis.inference import init_recognizer
    from mdn.apis.live import LiveOptions, background_ids, run_live
    if args.threads:
        torch.set_num_threads(args.threads)
    model = init_recognizer(args.config, args.checkpoint, args.device, args.cfg_options)
    background = background_ids(args.background, model.dataset_meta['classes'])
    options = LiveOptions(args.window, args.stride, args.threshold, args.min_duration,
                          args.max_gap, background)
    previous = signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        summary = run_live(args.source, model, args.out, options, display=not args.headless,
                           every_frame=args.every_frame, max_seconds=args.max_seconds,
                           snapshot=args.snapshot, pose_stride=args.pose_stride,
                           pose_fps=args.pose_fps, view_size=args.view_size,
                           on_segment=lambda s: print(f'{s.start:8.2f}-{s.end:8.2f} s  '
                                                      f'{s.label_name} ({s.score:.2f})',
                                                      flush=True))
    finally:
        signal.signal(signal.SIGTERM, previous)
    print(f'{summary.stopped}: {summary.frames_processed} frames processed, '
          f'{summary.frames_dropped} dropped, {summary.fps} frames/s (pose on every '
          f'{summary.pose_stride} frame(s): {summary.pose_fps} pose frames/s); '
          f'{summary.segments} segments in {summary.files["segments_csv"]}')
    from dataclasses import asdict
    return asdict(summary)


if __name__ == '__main__':
    sys.exit(run_cli(main))
