"""Evaluate a checkpoint on the config's test set.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out-json PATH] [--dump PATH]
                         [--tta] [--compile [MODE]] [--gpu] [--cfg-options ...] [--launcher ...]

``--out-json`` writes the final metrics dict; ``--dump`` writes per-clip scores and routing
weights (a .pkl readable with ``mdn.utils.safe_pickle_load``), the input of
``tools/analysis/ma52_submission.py`` and the routing analysis tools. ``--tta`` tests with
the config's ``tta_pipeline`` (more clips per video and their mirror images, averaged).
"""
import argparse
import json
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a checkout

from mmengine.runner import Runner  # noqa: E402

from mdn.apis.cli import (CfgOptionsAction, add_compile_argument,  # noqa: E402
                          check_output_file, check_work_dir, run_cli)

from mdn.apis.checkpoint import check_checkpoint_matches  # noqa: E402
from mdn.apis.config import (apply_compile, apply_gpu_recipe,  # noqa: E402
                             apply_test_time_augmentation, check_config,
                             init_cpu_distributed, load_config)
from mdn.utils.io import atomic_write  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test an mdn recogniser')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--work-dir')
    parser.add_argument('--out-json', help='write the metrics dict as JSON here')
    parser.add_argument('--dump', help='write per-clip predictions (.pkl) here')
    parser.add_argument('--tta', action='store_true',
                        help="test with the config's tta_pipeline (clips and mirror images "
                        'averaged)')
    add_compile_argument(parser)
    parser.add_argument('--gpu', action='store_true',
                        help='GPU data recipe: loader workers, pinned memory, cuDNN autotuning')
    parser.add_argument('--cfg-options', nargs='+', action=CfgOptionsAction)
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    if not osp.isfile(args.checkpoint):
        raise SystemExit(f'checkpoint not found: {args.checkpoint}')
    cfg = load_config(args.config, args.cfg_options)
    cfg.launcher = args.launcher
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or osp.join(
        'work_dirs', osp.splitext(osp.basename(args.config))[0])
    check_work_dir(cfg.work_dir)
    for flag, path in (('--out-json', args.out_json), ('--dump', args.dump)):
        if path:  # find out now, not after the whole evaluation has run
            check_output_file(path, flag)
    cfg.load_from = args.checkpoint
    if args.tta:
        apply_test_time_augmentation(cfg)
    if args.dump:
        evaluators = cfg.test_evaluator
        evaluators = list(evaluators) if isinstance(evaluators, (list, tuple)) else [evaluators]
        cfg.test_evaluator = evaluators + [dict(type='DumpPredictions', out_file=args.dump)]
    if args.gpu:
        apply_gpu_recipe(cfg)
    apply_compile(cfg, args.compile)
    check_config(cfg, train=False)
    init_cpu_distributed(cfg)
    runner = Runner.from_cfg(cfg)
    check_checkpoint_matches(runner.model, args.checkpoint)  # MMEngine only warns
    metrics = runner.test()
    if args.out_json:
        with atomic_write(args.out_json, 'w') as f:
            json.dump({k: float(v) for k, v in metrics.items()}, f, indent=2)
    return metrics


if __name__ == '__main__':
    sys.exit(run_cli(main))
