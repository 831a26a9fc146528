"""Training speed of finished (or running) runs, read from MMEngine's own logs.

    python tools/analysis/train_speed.py WORK_DIR [WORK_DIR ...] [--skip 2] [--out-json F]

For each work dir, the newest ``<timestamp>/vis_data/scalars.json`` holds one record per
logged window with ``time`` (seconds per iteration, data loading included) and ``data_time``.
The first ``--skip`` training records (warm-up: CUDA context, cuDNN autotuning, worker start)
are dropped; the median of the rest gives clips/s = batch size x processes / time, and the
same for pure compute (time - data_time) to show whether the loader keeps up.
"""
import argparse
import glob
import json
import os.path as osp
import runpy
import statistics
import sys
from typing import Dict, List, Tuple

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)

from mdn.apis.cli import run_cli  # noqa: E402
from mdn.utils.io import atomic_write  # noqa: E402


def newest_training_log(work_dir: str) -> Tuple[str, List[Dict]]:
    """The newest ``scalars.json`` in ``work_dir`` that holds training records (a later
    ``tools/test.py`` run in the same work dir logs none), and those records."""
    found = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    for path in reversed(found):
        records = read_train_records(path)
        if records:
            return path, records
    raise FileNotFoundError(f'{work_dir}: no <timestamp>/vis_data/scalars.json with training '
                            'records (is it the work dir of an MMEngine training run?)')


def train_batch_size(work_dir: str) -> int:
    """``train_dataloader.batch_size`` of the config MMEngine dumped into the work dir (a flat
    Python file; run directly, as MMEngine's ``Config`` refuses the ``filename`` key it wrote)."""
    dumped = sorted(glob.glob(osp.join(work_dir, '*.py')))
    if not dumped:
        raise FileNotFoundError(f'{work_dir}: no dumped config (*.py); pass --batch-size')
    return int(runpy.run_path(dumped[0])['train_dataloader']['batch_size'])


def read_train_records(path: str) -> List[Dict]:
    """Training records: those with ``lr``, ``time`` and ``data_time`` (validation records
    carry metrics and no ``lr``)."""
    records = []
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f'{path}:{lineno}: not a JSON record ({err})') from None
            if 'time' in record and 'data_time' in record and 'lr' in record:
                records.append(record)
    return records


def train_speed(work_dir: str, batch_size: int = None, processes: int = 1,
                skip: int = 2) -> Dict:
    """Median seconds per iteration and clips/s of one run."""
    path, records = newest_training_log(work_dir)
    records = records[skip:]
    if not records:
        raise ValueError(f'{path}: no training records left after skipping {skip}')
    batch = batch_size or train_batch_size(work_dir)
    iter_s = statistics.median(r['time'] for r in records)
    data_s = statistics.median(r['data_time'] for r in records)
    clips = batch * processes
    return dict(work_dir=work_dir, scalars=path, records=len(records), batch_size=batch,
                processes=processes, iter_s=iter_s, data_s=data_s,
                clips_per_s=clips / iter_s,
                compute_clips_per_s=clips / max(iter_s - data_s, 1e-9))


def main(argv=None) -> List[Dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('work_dirs', nargs='+')
    parser.add_argument('--batch-size', type=int, help='per process (default: the config\'s)')
    parser.add_argument('--processes', type=int, default=1, help='GPUs / ranks of the run')
    parser.add_argument('--skip', type=int, default=2, help='warm-up records to drop')
    parser.add_argument('--out-json')
    args = parser.parse_args(argv)
    results = [train_speed(d, args.batch_size, args.processes, args.skip)
               for d in args.work_dirs]
    print('| work dir | batch x procs | s/iter | data s/iter | clips/s | compute-only clips/s |')
    print('|---|---|---|---|---|---|')
    for r in results:
        print(f"| {r['work_dir']} | {r['batch_size']} x {r['processes']} | {r['iter_s']:.4f} | "
              f"{r['data_s']:.4f} | {r['clips_per_s']:.1f} | {r['compute_clips_per_s']:.1f} |")
    if args.out_json:
        with atomic_write(args.out_json, 'w') as f:
            json.dump(results, f, indent=2)
    return results


if __name__ == '__main__':
    sys.exit(run_cli(main))
