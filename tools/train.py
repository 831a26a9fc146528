"""Train a recogniser from a config with MMEngine's Runner.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp [--amp-dtype D]]
                          [--compile [MODE]] [--gpu] [--cfg-options key=value ...]
                          [--launcher none|pytorch|slurm]

On a GPU: ``--gpu --amp --compile reduce-overhead`` (data loader workers and pinned memory,
bf16 autocast where supported, the model's tensor core compiled and captured as CUDA graphs).
On a CPU, compile is off by default: it does not pay there for every model (docs/benchmarks.md).

One training at a time per work dir (a lock file, released by the OS when the process ends).
``--resume`` without CKPT continues from ``WORK_DIR/last_checkpoint``; if that is empty or
names a damaged file, the intact ``epoch_N.pth`` files are listed instead of a traceback.
"""
import argparse
import os
import os.path as osp
import re
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a checkout

from mmengine.config import Config  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

from mdn.apis.checkpoint import (CheckpointMismatchError, check_checkpoint_matches,  # noqa: E402
                                 load_checkpoint_file)
from mdn.apis.cli import (CfgOptionsAction, UsageError, add_amp_arguments,  # noqa: E402
                          add_compile_argument, check_work_dir, run_cli)
from mdn.apis.config import (apply_compile, apply_gpu_recipe, check_config,  # noqa: E402
                             enable_amp, init_cpu_distributed, load_config)
from mdn.utils.work_dir_lock import work_dir_lock  # noqa: E402

REMOTE = ('http://', 'https://', 's3://', 'open-mmlab://', 'torchvision://')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train an mdn recogniser')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--work-dir', help='where logs and checkpoints go')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from CKPT, or from the latest checkpoint in work-dir')
    add_amp_arguments(parser)
    add_compile_argument(parser)
    parser.add_argument('--gpu', action='store_true',
                        help='GPU data recipe: loader workers, pinned memory, drop_last, '
                        'cuDNN autotuning, fused AdamW (mdn.apis.config.apply_gpu_recipe)')
    parser.add_argument('--cfg-options', nargs='+', action=CfgOptionsAction,
                        help='override config entries, e.g. train_cfg.max_epochs=2')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if args.amp_dtype != 'auto' and not args.amp:
        parser.error('--amp-dtype needs --amp')
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def _checkpoint_problem(path: str):
    """Why ``path`` cannot be resumed from (short), or None if it loads."""
    try:
        load_checkpoint_file(path)
    except (CheckpointMismatchError, FileNotFoundError, OSError) as err:
        text = str(err)
        return text[len(path) + 2:] if text.startswith(path + ': ') else text
    return None


def intact_checkpoints(work_dir: str) -> list:
    """``epoch_N.pth`` / ``iter_N.pth`` files in ``work_dir`` that load, newest first."""
    found = []
    for name in os.listdir(work_dir) if osp.isdir(work_dir) else ():
        match = re.fullmatch(r'(epoch|iter)_(\d+)\.pth', name)
        if match:
            found.append((int(match.group(2)), osp.join(work_dir, name)))
    return [path for _, path in sorted(found, reverse=True) if _checkpoint_problem(path) is None]


def resolve_auto_resume(work_dir: str):
    """The checkpoint ``--resume`` (no path) continues from, or None to start from scratch.

    Raises UsageError naming the intact checkpoints when ``last_checkpoint`` is empty, holds
    garbage or names a damaged file, or when it is missing next to saved checkpoints."""
    record = osp.join(work_dir, 'last_checkpoint')
    if not osp.exists(record):
        intact = intact_checkpoints(work_dir)
        if intact:
            raise UsageError(
                f'--resume: {work_dir} has no last_checkpoint, but has checkpoints; pick one '
                f'explicitly, e.g. --resume {intact[0]} (intact: '
                f'{", ".join(osp.basename(p) for p in intact)})')
        print(f'--resume: no checkpoint in {work_dir}; starting from scratch', flush=True)
        return None
    with open(record, 'rb') as f:
        raw = f.read()
    named = raw.decode('utf-8', errors='replace').strip()
    if not named:
        problem = 'is empty'
    elif '\n' in named or '\x00' in named or '\ufffd' in named or len(named) > 4096:
        problem = 'does not hold a checkpoint path (garbage)'
    else:
        path = named
        if not osp.isfile(path) and osp.isfile(osp.join(work_dir, osp.basename(path))):
            path = osp.join(work_dir, osp.basename(path))  # the work dir was moved
        if not osp.isfile(path):
            problem = f'names {named}, which does not exist'
        else:
            damage = _checkpoint_problem(path)
            if damage is None:
                return path
            problem = f'names {path}, which is truncated or damaged ({damage[:200]})'
    intact = intact_checkpoints(work_dir)
    if intact:
        advice = (f'intact checkpoints there: {", ".join(osp.basename(p) for p in intact)}; '
                  f'resume from the newest with --resume {intact[0]}')
    else:
        advice = 'no intact checkpoint there; train again without --resume'
    raise UsageError(f'--resume: {record} {problem}; {advice}')


def build_config(args) -> Config:
    cfg = load_config(args.config, args.cfg_options)
    cfg.launcher = args.launcher
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or osp.join(
        'work_dirs', osp.splitext(osp.basename(args.config))[0])
    check_work_dir(cfg.work_dir)
    if args.gpu:
        apply_gpu_recipe(cfg)
    if args.amp:
        enable_amp(cfg, args.amp_dtype)
    apply_compile(cfg, args.compile)
    if args.resume == 'auto':  # main() resolves it (checked) once it holds the lock
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        if not args.resume.startswith(REMOTE) and not osp.isfile(args.resume):
            raise FileNotFoundError(f'--resume {args.resume}: checkpoint not found')
        cfg.resume, cfg.load_from = True, args.resume
    elif cfg.get('load_from') and not str(cfg.load_from).startswith(REMOTE) \
            and not osp.isfile(cfg.load_from):
        raise FileNotFoundError(f'load_from {cfg.load_from}: checkpoint not found')
    check_config(cfg)
    init_cpu_distributed(cfg)
    return cfg


def main(argv=None):
    args = parse_args(argv)
    cfg = build_config(args)
    with work_dir_lock(cfg.work_dir):  # refuses a second training into this work dir
        if args.resume == 'auto':
            cfg.load_from = resolve_auto_resume(cfg.work_dir)
            cfg.resume = cfg.load_from is not None
        runner = Runner.from_cfg(cfg)
        if cfg.get('load_from') and osp.isfile(cfg.load_from):
            # MMEngine only warns about weights that do not fit, then trains from random ones
            check_checkpoint_matches(runner.model, cfg.load_from)
        runner.train()


if __name__ == '__main__':
    sys.exit(run_cli(main))
