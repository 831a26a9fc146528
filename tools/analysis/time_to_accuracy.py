"""Seconds of training until a config reaches an accuracy (the issue-14 time-to-accuracy run).

    python tools/analysis/time_to_accuracy.py CONFIG --target 0.8642 [--work-dir DIR]
        [--metric acc/top1] [--no-stop] [--gpu] [--amp] [--compile [MODE]]
        [--cfg-options ...] [--out-json PATH]

Trains as ``tools/train.py`` does (same flags), validating every epoch, and stops at the first
validation with ``metric >= target`` (``--no-stop``: run the whole schedule). Reports training
seconds (training epochs only, device-synchronised) and wall seconds (validation and
compilation included) up to that epoch, and every validation.
"""
import argparse
import json
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mdn.apis.benchmark import time_to_accuracy  # noqa: E402
from mdn.apis.cli import (CfgOptionsAction, check_output_file, check_work_dir,  # noqa: E402
                          run_cli)
from mdn.models.recognizers.compiled_core import COMPILE_MODES  # noqa: E402
from mdn.utils.io import atomic_write  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Training time until a target accuracy')
    parser.add_argument('config')
    parser.add_argument('--target', type=float, required=True,
                        help='metric value to reach, e.g. 0.8642')
    parser.add_argument('--metric', default='acc/top1', help='validation metric key')
    parser.add_argument('--work-dir', help='default: work_dirs/tta/<config name>')
    parser.add_argument('--no-stop', action='store_true',
                        help='train the whole schedule instead of stopping at the target')
    parser.add_argument('--gpu', action='store_true', help='the GPU data recipe (train.py --gpu)')
    parser.add_argument('--amp', action='store_true', help='mixed precision (train.py --amp)')
    parser.add_argument('--compile', nargs='?', const='default', choices=COMPILE_MODES,
                        metavar='MODE', help='torch.compile the model (train.py --compile)')
    parser.add_argument('--cfg-options', nargs='+', action=CfgOptionsAction)
    parser.add_argument('--out-json', help='write the result here')
    args = parser.parse_args(argv)
    if not 0 <= args.target <= 1 and args.metric.startswith('acc'):
        parser.error(f'--target {args.target}: an accuracy is in [0, 1]')
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    work_dir = args.work_dir or osp.join('work_dirs', 'tta',
                                         osp.splitext(osp.basename(args.config))[0])
    check_work_dir(work_dir)
    if args.out_json:
        check_output_file(args.out_json, '--out-json')
    result = time_to_accuracy(args.config, args.target, work_dir, args.cfg_options,
                              args.metric, not args.no_stop, args.gpu, args.amp, args.compile)
    reached = (f'reached {args.metric} >= {args.target} at epoch {result["epoch"]}: '
               f'{result["train_s"]:.1f} s training, {result["wall_s"]:.1f} s wall'
               if result['reached'] else
               f'did not reach {args.target} (best {result["best"]["value"]:.4f} at epoch '
               f'{result["best"]["epoch"]})' if result['best'] else 'no validation ran')
    print(f'{osp.basename(args.config)}: {reached}')
    if args.out_json:
        with atomic_write(args.out_json, 'w') as f:
            json.dump(result, f, indent=2)
    return result


if __name__ == '__main__':
    sys.exit(run_cli(main))
