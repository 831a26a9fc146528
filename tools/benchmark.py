"""Speed, memory, parameters and FLOPs of one or more recognisers (see mdn/apis/benchmark.py).

    python tools/benchmark.py CONFIG [--compare CONFIG2 ...] [--shape T V | --clip-len T]
                              [--layout NAME] [--batch-train 16] [--batch-infer 32]
                              [--repeats 5] [--warmup 1] [--device cpu|cuda] [--threads N]
                              [--amp [--amp-dtype D]] [--compile [MODE]] [--count-ops]
                              [--out-json PATH]

Micro-DualNet vs the ST-GCN baseline at T=64, V=133 (docs/benchmarks.md):

    python tools/benchmark.py configs/micro_dualnet/mdn_synthetic.py \\
        --compare configs/stgcn/stgcn_synthetic.py --layout coco_wholebody_133 --clip-len 64

``--compile [MODE]`` measures the models with their tensor core compiled (warm-up raised to 3
untimed calls; compilation time is reported as ``*_warmup_s``). ``--count-ops`` instead counts
the ops of one training step and one batch-1 inference with ``torch.profiler``.
"""
import argparse
import json
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a checkout

from mdn.apis.benchmark import (BenchmarkSettings, benchmark, count_step_ops,  # noqa: E402
                                format_report)
from mdn.apis.cli import add_amp_arguments, add_compile_argument  # noqa: E402
from mdn.utils.io import atomic_write  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Benchmark mdn recognisers')
    parser.add_argument('config')
    parser.add_argument('--compare', nargs='+', default=[], metavar='CONFIG',
                        help='measure these too, in the same run; ratios are CONFIG / each')
    parser.add_argument('--shape', nargs=2, type=int, metavar=('T', 'V'),
                        help='clip length and keypoints (V picks the layout with V keypoints)')
    parser.add_argument('--clip-len', type=int, help='clip length T (default: the config\'s)')
    parser.add_argument('--layout', help='keypoint layout for every model, e.g. '
                        'coco_wholebody_133')
    parser.add_argument('--batch-train', type=int, default=16)
    parser.add_argument('--batch-infer', type=int, default=32)
    parser.add_argument('--repeats', type=int, default=5, help='timed calls (median reported)')
    parser.add_argument('--warmup', type=int, default=1, help='untimed calls first')
    parser.add_argument('--device', choices=['cpu', 'cuda'], default='cpu')
    add_amp_arguments(parser)
    add_compile_argument(parser, "each model's tensor core; default mode if no MODE")
    parser.add_argument('--count-ops', action='store_true',
                        help='count ops per training step and per batch-1 inference '
                        '(torch.profiler) instead of timing')
    parser.add_argument('--threads', type=int, help='torch.set_num_threads (default: torch\'s)')
    parser.add_argument('--out-json', help='write the full report here')
    args = parser.parse_args(argv)
    if args.shape and args.clip_len and args.shape[0] != args.clip_len:
        parser.error('--shape T and --clip-len disagree')
    if args.amp_dtype != 'auto' and not args.amp:
        parser.error('--amp-dtype needs --amp')
    return args


def main(argv=None):
    args = parse_args(argv)
    settings = BenchmarkSettings(
        clip_len=args.shape[0] if args.shape else args.clip_len, layout=args.layout,
        num_keypoints=args.shape[1] if args.shape else None, batch_train=args.batch_train,
        batch_infer=args.batch_infer, repeats=args.repeats, warmup=args.warmup,
        device=args.device, threads=args.threads, amp=args.amp, amp_dtype=args.amp_dtype,
        compile=args.compile)
    if args.count_ops:
        report = dict(settings=settings.__dict__, ops={
            config: count_step_ops(config, settings) for config in [args.config] + args.compare})
        for config, counts in report['ops'].items():
            print(f'{osp.basename(config)}: ' + '; '.join(
                f'{section} ' + ', '.join(f'{k}={v}' for k, v in c.items())
                for section, c in counts.items()))
    else:
        report = benchmark([args.config] + args.compare, settings)
        print(format_report(report))
    if args.out_json:
        with atomic_write(args.out_json, 'w') as f:
            json.dump(report, f, indent=2)
        print(f'written to {args.out_json}')
    return report


if __name__ == '__main__':
    main()
