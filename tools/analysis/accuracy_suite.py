"""Train and test a list of configs one after another and tabulate the test metrics.

    python tools/analysis/accuracy_suite.py CONFIG [CONFIG ...] --work-root work_dirs/suite
        [--out-json suite.json] [--cfg-options ...]

Each config trains with ``tools/train.py`` (resuming if its work dir has checkpoints) and the
*last* checkpoint is tested with ``tools/test.py`` (no best-epoch picking on the test split).
Finished configs (their ``test.json`` exists) are skipped, so a killed suite can be rerun.
"""
import argparse
import json
import os.path as osp
import subprocess
import sys
import time

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)

from mdn.utils.io import atomic_write  # noqa: E402


def run_one(config: str, work_root: str, options: list) -> dict:
    name = osp.splitext(osp.basename(config))[0]
    work_dir = osp.join(work_root, name)
    result_file = osp.join(work_dir, 'test.json')
    if osp.isfile(result_file):
        with open(result_file) as f:
            return json.load(f)
    opts = ['--cfg-options', *options] if options else []
    start = time.time()
    train = [sys.executable, osp.join(REPO, 'tools/train.py'), config, '--work-dir', work_dir]
    if osp.isfile(osp.join(work_dir, 'last_checkpoint')):
        train.append('--resume')
    subprocess.run(train + opts, check=True)
    train_s = time.time() - start
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        checkpoint = f.read().strip()
    metrics_file = osp.join(work_dir, 'test_metrics.json')
    subprocess.run([sys.executable, osp.join(REPO, 'tools/test.py'), config, checkpoint,
                    '--work-dir', work_dir, '--out-json', metrics_file] + opts, check=True)
    with open(metrics_file) as f:
        metrics = json.load(f)
    record = dict(config=config, checkpoint=checkpoint, train_minutes=round(train_s / 60, 1),
                  metrics=metrics)
    with atomic_write(result_file, 'w') as f:
        json.dump(record, f, indent=2)
    return record


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('configs', nargs='+')
    parser.add_argument('--work-root', default='work_dirs/suite')
    parser.add_argument('--out-json')
    parser.add_argument('--cfg-options', nargs='+', default=[])
    args = parser.parse_args(argv)
    records = [run_one(c, args.work_root, args.cfg_options) for c in args.configs]
    print('| config | top-1 | top-5 | mean class acc | train min |')
    print('|---|---|---|---|---|')
    for r in records:
        m = r['metrics']
        print(f"| {osp.basename(r['config'])} | {m.get('acc/top1', float('nan')):.4f} | "
              f"{m.get('acc/top5', float('nan')):.4f} | "
              f"{m.get('acc/mean_class_accuracy', float('nan')):.4f} | {r['train_minutes']} |")
    if args.out_json:
        with atomic_write(args.out_json, 'w') as f:
            json.dump(records, f, indent=2)


if __name__ == '__main__':
    main()
