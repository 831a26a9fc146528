"""Train and test a list of configs one after another and tabulate the test metrics.

    python tools/analysis/accuracy_suite.py CONFIG [CONFIG ...] --work-root work_dirs/suite
        [--seeds 0 1 2] [--out-json suite.json] [--cfg-options ...]

Each config trains with ``tools/train.py`` (resuming if its work dir has checkpoints) and the
*last* checkpoint is tested with ``tools/test.py`` (no best-epoch picking on the test split).
Finished configs (their ``test.json`` exists) are skipped, so a killed suite can be rerun.
With ``--seeds`` every config is trained once per seed (``WORK_ROOT/NAME_seedS``,
``randomness.seed=S``, ``deterministic=True``: a seed fixes the run) and the table gives mean +- sample standard deviation over the seeds:
on a 464-clip test split one run moves by a point or more between seeds.
"""
import argparse
import json
import os.path as osp
import subprocess
import sys
import time
from collections import defaultdict
from typing import List, Optional, Sequence

import numpy as np

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)

from mdn.utils.io import atomic_write  # noqa: E402


METRICS = ('acc/top1', 'acc/top5', 'acc/mean_class_accuracy')


def run_one(config: str, work_root: str, options: list, seed: Optional[int] = None,
            dump: bool = False) -> dict:
    """Train ``config`` (resuming), test its last checkpoint, return the stored record.

    With ``dump`` the test also writes per-clip scores to ``WORK_DIR/test_dump.pkl``
    (``tools/test.py --dump``; a finished run without one is tested again for it) and the
    record's ``dump`` gives the path.
    """
    name = osp.splitext(osp.basename(config))[0]
    if seed is not None:
        name = f'{name}_seed{seed}'
        options = [*options, f'randomness.seed={seed}', 'randomness.deterministic=True']
    work_dir = osp.join(work_root, name)
    result_file = osp.join(work_dir, 'test.json')
    dump_file = osp.join(work_dir, 'test_dump.pkl') if dump else None
    opts = ['--cfg-options', *options] if options else []
    if osp.isfile(result_file):
        with open(result_file) as f:
            record = json.load(f)
        if dump_file:
            if not osp.isfile(dump_file):
                _test(config, record['checkpoint'], work_dir, opts,
                      osp.join(work_dir, 'test_metrics.json'), dump_file)
            record['dump'] = dump_file
        return record
    start = time.time()
    train = [sys.executable, osp.join(REPO, 'tools/train.py'), config, '--work-dir', work_dir]
    if osp.isfile(osp.join(work_dir, 'last_checkpoint')):
        train.append('--resume')
    subprocess.run(train + opts, check=True)
    train_s = time.time() - start
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        checkpoint = f.read().strip()
    metrics_file = osp.join(work_dir, 'test_metrics.json')
    _test(config, checkpoint, work_dir, opts, metrics_file, dump_file)
    with open(metrics_file) as f:
        metrics = json.load(f)
    record = dict(config=config, seed=seed, checkpoint=checkpoint,
                  train_minutes=round(train_s / 60, 1), metrics=metrics)
    with atomic_write(result_file, 'w') as f:
        json.dump(record, f, indent=2)
    if dump_file:
        record['dump'] = dump_file
    return record


def _test(config: str, checkpoint: str, work_dir: str, opts: list, metrics_file: str,
          dump_file: Optional[str] = None) -> None:
    command = [sys.executable, osp.join(REPO, 'tools/test.py'), config, checkpoint,
               '--work-dir', work_dir, '--out-json', metrics_file]
    if dump_file:
        command += ['--dump', dump_file]
    subprocess.run(command + opts, check=True)


def summarise(records: Sequence[dict]) -> List[dict]:
    """One row per config, in first-seen order: mean and sample std (0 for one run) of each
    metric over its records (seeds), the number of runs and the mean training minutes."""
    groups = defaultdict(list)
    for record in records:
        groups[record['config']].append(record)
    rows = []
    for config, runs in groups.items():
        row = dict(config=config, runs=len(runs),
                   train_minutes=float(np.mean([r['train_minutes'] for r in runs])))
        for key in METRICS:
            values = np.array([r['metrics'].get(key, np.nan) for r in runs], dtype=float)
            row[key] = float(values.mean())
            row[key + '_std'] = float(values.std(ddof=1)) if len(values) > 1 else 0.0
        rows.append(row)
    return rows


def format_table(rows: Sequence[dict]) -> str:
    """Markdown table; with several runs a cell reads ``mean +- std``."""
    lines = ['| config | runs | top-1 | top-5 | mean class acc | train min |',
             '|---|---|---|---|---|---|']
    for row in rows:
        cells = [f'{row[k]:.4f}' + (f' +- {row[k + "_std"]:.4f}' if row['runs'] > 1 else '')
                 for k in METRICS]
        lines.append(f"| {osp.basename(row['config'])} | {row['runs']} | {' | '.join(cells)} | "
                     f"{row['train_minutes']:.1f} |")
    return '\n'.join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('configs', nargs='+')
    parser.add_argument('--work-root', default='work_dirs/suite')
    parser.add_argument('--seeds', type=int, nargs='+',
                        help='train every config once per seed and report mean +- std')
    parser.add_argument('--out-json')
    parser.add_argument('--cfg-options', nargs='+', default=[])
    args = parser.parse_args(argv)
    seeds = args.seeds or [None]
    records = [run_one(c, args.work_root, args.cfg_options, seed)
               for c in args.configs for seed in seeds]
    rows = summarise(records)
    print(format_table(rows))
    if args.out_json:
        with atomic_write(args.out_json, 'w') as f:
            json.dump(dict(runs=records, summary=rows), f, indent=2)


if __name__ == '__main__':
    main()
