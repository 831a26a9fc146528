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
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a checkout

from mdn.apis import demo_cli  # noqa: E402
from mdn.apis.cli import run_cli  # noqa: E402
from mdn.apis.demo_cli import pose_backend_spec, timeline_options  # noqa: E402,F401
from mdn.apis.recording import (DEFAULT_POSE_FPS, DEFAULT_POSE_WORKERS,  # noqa: E402,F401
                                TimelineOptions, class_ids, frame_captions, read_reference,
                                run_recording, write_csv, write_windows)


def parse_args(argv=None):
    return demo_cli.parse_args(argv, description=__doc__.split('\n')[0])


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
