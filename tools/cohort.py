"""Cohort report: micro-action timelines of many recordings, tables per subject and group.

    python tools/cohort.py INPUT CONFIG CHECKPOINT --out DIR [--workers N] [--overwrite]
        [--rate-min-seconds 60] [--window 2.0] [--stride 0.5] [--threshold 0.5]
        [--min-duration 0.5] [--max-gap 0.5] [--background NAME ...] [--pose-fps F]
        [--pose-stride N] [--pose-workers N] [--overlay png|mp4|none] [--fps FPS]
        [--threads N] [--cfg-options ...]

INPUT is a folder of recordings (every video under it; the first sub-folder is the group, the
file name the subject) or a CSV with columns ``path, subject, group`` and any others (kept in
the tables). Every recording goes through the ``tools/demo.py`` pipeline (the timeline options
here are passed on to it) into ``DIR/recordings/<name>/``.

Writes to DIR: ``cohort.csv`` (one row per recording and micro-action: count, total_s,
mean_s, rate_per_min, duration_s, coverage per body part), ``groups.csv`` (per group: mean
and std of each rate), ``rates_heatmap.png``, ``groups.png``, ``skipped.csv`` (recordings that
could not be analysed, and why) and ``report.html`` (one self-contained page, printable).

Resumable: run the same command again after a kill and finished recordings are not
recomputed. Recordings shorter than ``--rate-min-seconds`` get no rate per minute.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a checkout

from mdn.apis.cli import CfgOptionsAction, run_cli  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('input', help='folder of recordings, or CSV with path, subject, group')
    p.add_argument('config')
    p.add_argument('checkpoint', help='path or URL')
    p.add_argument('--out', required=True, help='output folder')
    p.add_argument('--workers', type=int, default=1,
                   help='recordings processed at once (processes; each gets cpus/N threads)')
    p.add_argument('--overwrite', action='store_true',
                   help='recompute finished recordings (default: resume, skip them)')
    p.add_argument('--rate-min-seconds', type=float, default=60.0,
                   help='shortest recording that gets a rate per minute')
    p.add_argument('--no-progress', action='store_true')
    demo = p.add_argument_group('timeline options (passed to tools/demo.py)')
    demo.add_argument('--window', type=float, help='window length, seconds')
    demo.add_argument('--stride', type=float, help='window step, seconds')
    demo.add_argument('--threshold', type=float, help='top score of a micro-action window')
    demo.add_argument('--min-duration', type=float, help='shortest segment, seconds')
    demo.add_argument('--max-gap', type=float, help='join same-label segments this close')
    demo.add_argument('--background', nargs='+', help='classes that mean "no micro-action"')
    demo.add_argument('--pose-fps', type=float,
                      help='video: pose model frames per second (tools/demo.py default)')
    demo.add_argument('--pose-stride', type=int,
                      help='video: pose on every n-th frame (overrides --pose-fps)')
    demo.add_argument('--pose-workers', type=int, help='video: pose chunks at once')
    demo.add_argument('--overlay', choices=['mp4', 'png', 'none'], default='png',
                      help='skeleton overlay per recording (default png: one frame)')
    demo.add_argument('--fps', type=float, help='frame rate of skeleton files without one')
    demo.add_argument('--device', help='cpu or cuda')
    demo.add_argument('--threads', type=int,
                      help='torch threads per recording (default: cpus / workers)')
    demo.add_argument('--cfg-options', nargs='+', action=CfgOptionsAction)
    args = p.parse_args(argv)
    if args.workers < 1:
        p.error('--workers must be >= 1')
    if args.rate_min_seconds < 0:
        p.error('--rate-min-seconds must be >= 0')
    return args


def demo_args(args) -> list:
    """The demo.py options of this run, in a fixed order (they key the resume check)."""
    out = []
    for flag in ('window', 'stride', 'threshold', 'min_duration', 'max_gap', 'pose_fps',
                 'pose_stride', 'pose_workers', 'overlay', 'fps', 'device', 'threads'):
        value = getattr(args, flag)
        if value is not None:
            out += [f'--{flag.replace("_", "-")}', str(value)]
    if args.background:
        out += ['--background', *args.background]
    if args.cfg_options:
        out += ['--cfg-options', *[f'{k}={_option(v)}' for k, v in args.cfg_options.items()]]
    return out


def _option(value) -> str:
    """A parsed --cfg-options value back to text DictAction reads the same way."""
    if isinstance(value, (list, tuple)):
        inner = ','.join(_option(v) for v in value)
        return f'[{inner}]' if isinstance(value, list) else f'({inner})'
    return str(value)


def main(argv=None):
    from mdn.apis.cohort import read_cohort, run_cohort
    args = parse_args(argv)
    recordings = read_cohort(args.input)
    result = run_cohort(recordings, args.config, args.checkpoint, args.out,
                        demo_args(args), workers=args.workers,
                        progress=not args.no_progress, overwrite=args.overwrite,
                        rate_min_s=args.rate_min_seconds)
    print(result.format())
    return result


def exit_status(result) -> int:
    """0 when at least one recording is finished (bad ones are skipped and listed), 1 when
    none is: a study without a single result must not look like a success to a script."""
    finished = len(result.done) + len(result.resumed)
    return 1 if result.failed and not finished else 0


if __name__ == '__main__':
    sys.exit(run_cli(lambda: exit_status(main())))
