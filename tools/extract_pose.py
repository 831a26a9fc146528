"""Videos -> COCO-WholeBody 133 keypoints in one mmaction2/PYSKL annotation file.

    python tools/extract_pose.py INPUT --out OUT.pkl [--backend mmpose|mediapipe]
        [--model rtmpose-m] [--checkpoint default|PATH|URL|none] [--detector auto|none|rtmdet-m]
        [--batch-size 16] [--flip-test] [--stride 1] [--max-people 1] [--workers 1]
        [--resume | --overwrite]
    python tools/extract_pose.py VIDEO --benchmark [--benchmark-frames 32] [--checkpoint none]

INPUT is a video, a folder (searched recursively) or a list file (``path [label]`` per line;
relative paths are under --video-root, default the list's folder). ``--config FILE`` reads
``pose_backend = dict(type=..., ...)`` from an mmengine config; flags given on the command line
win. Finished videos are kept in ``OUT_parts/``: rerun with ``--resume`` after an interruption;
a run that finds finished videos there refuses to start unless given ``--resume`` or
``--overwrite`` (which deletes them). Exit status: 0 when every video was extracted, 1 otherwise
(the summary says why), 2 for a refusal or input error (one ``error: ...`` line; set
``MDN_DEBUG=1`` for the traceback), 130 when interrupted (finished videos are kept).
"""
import argparse
import json
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a checkout

from mdn.apis.cli import run_cli  # noqa: E402
from mdn.pose.extract import extract_videos  # noqa: E402
from mdn.pose.inputs import collect_videos  # noqa: E402

MMPOSE_KEYS = ('model', 'checkpoint', 'device', 'batch_size', 'flip_test', 'detector',
               'det_checkpoint', 'kpt_thr', 'seed')
MEDIAPIPE_KEYS = ('model_complexity',)


def none_or_str(value: str):
    return None if value.lower() in ('none', 'null', 'random') else value


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('input', help='video, folder of videos, or list file')
    p.add_argument('--out', help='output annotation file (.pkl)')
    p.add_argument('--video-root', help='folder that relative paths of a list file are under')
    p.add_argument('--config', help='mmengine config with pose_backend=dict(type=..., ...)')
    p.add_argument('--backend', choices=['mmpose', 'mediapipe'])
    # Backend flags are absent from args unless given, so a config file's values survive.
    b = p.add_argument_group('backend settings (override --config)')
    S = argparse.SUPPRESS
    b.add_argument('--model', default=S,
                   help='mmpose model name (rtmpose-m, rtmw-l, dwpose-l, ...) or config path')
    b.add_argument('--checkpoint', '--pose-checkpoint', type=none_or_str, default=S,
                   help="'default' (model-zoo URL, downloaded once), a local path (offline) or "
                   "URL, or 'none' (random weights: meaningless keypoints, for tests)")
    b.add_argument('--device', default=S)
    b.add_argument('--batch-size', type=int, default=S, help='person crops per network call')
    b.add_argument('--flip-test', action='store_true', default=S,
                   help='average with the flipped image (about 2x slower)')
    b.add_argument('--detector', type=none_or_str, default=S,
                   help="'auto' (RTMDet if mmdet + full mmcv work), 'none', or a detector name")
    b.add_argument('--det-checkpoint', type=none_or_str, default=S)
    b.add_argument('--kpt-thr', type=float, default=S, help='keypoint score for box tracking')
    b.add_argument('--seed', type=int, default=S, help='seed of random weights')
    b.add_argument('--model-complexity', type=int, default=S,
                   help='MediaPipe: 0 (lite) or 1 (full)')
    p.add_argument('--stride', type=int, default=1, help='keep every n-th frame')
    p.add_argument('--max-people', type=int, default=1, help='people kept per video (M)')
    p.add_argument('--min-score', type=float, default=0.3,
                   help='body keypoint score that counts as a person being there')
    p.add_argument('--workers', type=int, default=1, help='processes, for many videos')
    p.add_argument('--threads', type=int,
                   help='torch threads (default: all cores; 1 is faster on a busy machine)')
    again = p.add_mutually_exclusive_group()
    again.add_argument('--resume', action='store_true',
                       help='keep the videos an earlier run of this command finished')
    again.add_argument('--overwrite', action='store_true',
                       help="delete an earlier run's finished videos and start over")
    p.add_argument('--no-progress', action='store_true')
    p.add_argument('--benchmark', action='store_true',
                   help='frames/s of the batched backend vs the per-frame MMPoseInferencer')
    p.add_argument('--benchmark-frames', type=int, default=32)
    args = p.parse_args(argv)
    if not args.benchmark and not args.out:
        p.error('--out is required (unless --benchmark)')
    return args


def backend_spec(args) -> dict:
    """The backend spec: config file first, then command-line flags on top."""
    spec = {}
    if args.config:
        from mmengine.config import Config
        spec = dict(Config.fromfile(args.config).get('pose_backend', {}))
    if args.backend:
        if spec.get('type') not in (None, args.backend):
            spec = {}
        spec['type'] = args.backend
    spec.setdefault('type', 'mmpose')
    keys = MMPOSE_KEYS if spec['type'] == 'mmpose' else MEDIAPIPE_KEYS
    given = vars(args)
    spec.update({key: given[key] for key in keys if key in given})
    return spec


def run_benchmark(args) -> int:
    from mdn.pose.benchmark import benchmark, format_benchmark
    spec = backend_spec(args)
    model = spec.get('model', 'rtmpose-m')
    result = benchmark(args.input, model, spec.get('checkpoint'), args.benchmark_frames,
                       spec.get('batch_size', 16), spec.get('device', 'cpu'))
    print(format_benchmark(result, args.input, model))
    print(json.dumps(result))
    return 0


def run(args) -> int:
    if args.threads:
        import torch
        torch.set_num_threads(args.threads)
    if args.benchmark:
        return run_benchmark(args)
    items = collect_videos(args.input, args.video_root)
    from mdn.apis.cli import check_output_file
    check_output_file(args.out, '--out')  # before any work is done for it
    summary = extract_videos(items, backend_spec(args), args.out, resume=args.resume,
                             overwrite=args.overwrite, workers=args.workers,
                             stride=args.stride, max_people=args.max_people,
                             min_score=args.min_score, progress=not args.no_progress)
    print(summary.format())
    return 0 if not summary.failed and summary.output else 1


def main(argv=None) -> int:
    """Exit status of the command; a refusal or input error is one ``error:`` line and 2."""
    args = parse_args(argv)
    try:
        return run_cli(lambda: run(args))
    except KeyboardInterrupt:
        if args.benchmark:
            raise
        print('interrupted: the finished videos are kept; rerun the same command with --resume '
              'to continue', file=sys.stderr)
        return 130


if __name__ == '__main__':
    sys.exit(main())
