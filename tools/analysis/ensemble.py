"""Multi-stream ensemble: train one network per input stream, fuse their test scores.

    python tools/analysis/ensemble.py CONFIG [CONFIG ...] --streams j b jm bm
        --work-root work_dirs/ensemble [--seeds 0 1 2] [--weights 1 1 1 1]
        [--cfg-options ...] [--out-json ensemble.json] [--fuse-only] [--tta]

The 4-stream protocol of PYSKL / CTR-GCN / InfoGCN, for any config (Micro-DualNet or
ST-GCN), so both models are compared on the same footing:

* streams: ``j`` joint, ``b`` bone, ``jm`` joint motion, ``bm`` bone motion, or several
  joined by ``+`` into one network's input (``j+jm``). The config's extra channels
  (``'score'`` for 2D data) are kept in every stream; ``model.in_channels`` follows.
* **``j`` is joint coordinates only**, as in PYSKL, so the four streams are disjoint views of
  the skeleton and fused numbers compare with the published 4-stream ones. The shipped
  single-stream default (NW-UCLA: joint + motion channels in one network) is *not* ``j``:
  it is stream ``j+jm`` (which reproduces the shipped config exactly), and can be listed
  next to the others, e.g. ``--streams j+jm b+bm`` for a 2-stream ensemble of 2-feature
  networks, or to compare a single network against the ensemble.
* each stream's config is written to ``WORK_ROOT/configs/NAME_STREAM.py`` (with
  ``--cfg-options`` applied; usable with ``tools/train.py``), trained and tested by
  ``accuracy_suite.run_one`` in ``WORK_ROOT/NAME_STREAM[_seedS]`` (resumable; finished
  streams are reused) with per-clip scores dumped to ``test_dump.pkl`` there. If the
  config file already there differs (other options), the tool refuses rather than mix runs.
* fusion: ``sum_s w_s * softmax_s`` per clip (``--weights``, default all 1), after checking
  every dump lists the same clips in the same order. With ``--seeds`` each seed's streams
  are fused together and the table gives mean +- sample std over seeds.
* ``--fuse-only`` skips training and fuses the dumps already in WORK_ROOT.
* ``--tta`` also tests every stream's last checkpoint with the config's ``tta_pipeline``
  (``tools/test.py --tta``: several clips per video and their mirror images) and fuses those
  scores (``test_dump_tta.pkl``) instead, so an ensemble is compared with single networks
  tested the same way.
"""
import argparse
import json
import os
import os.path as osp
import sys
from typing import List, Optional, Sequence

import numpy as np

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

from mmengine.config import DictAction  # noqa: E402

from accuracy_suite import _test, run_one  # noqa: E402
from mdn.apis.config import load_config  # noqa: E402
from mdn.apis.streams import (METRIC_KEYS, derive_stream_config, fuse_dumps,  # noqa: E402
                              stream_features)
from mdn.utils.io import atomic_write  # noqa: E402


def config_name(config: str) -> str:
    return osp.splitext(osp.basename(config))[0]


def stream_config_path(work_root: str, config: str, stream: str) -> str:
    return osp.join(work_root, 'configs', f'{config_name(config)}_{stream}.py')


def stream_work_dir(work_root: str, config: str, stream: str, seed: Optional[int]) -> str:
    suffix = '' if seed is None else f'_seed{seed}'
    return osp.join(work_root, f'{config_name(config)}_{stream}{suffix}')


def write_stream_config(config: str, stream: str, work_root: str, options: dict) -> str:
    """Derive ``stream``'s config from ``config`` (+ options) and write it under WORK_ROOT."""
    cfg = load_config(config, options)
    text = derive_stream_config(cfg, stream).pretty_text
    path = stream_config_path(work_root, config, stream)
    if osp.isfile(path):
        with open(path, encoding='utf-8') as f:
            if f.read() == text:
                return path
        prefix = f'{config_name(config)}_{stream}'
        runs = [d for d in os.listdir(work_root) if osp.isdir(osp.join(work_root, d))
                and (d == prefix or d.startswith(prefix + '_seed'))]
        if runs:
            raise SystemExit(f'{path} (the config of runs {sorted(runs)}) differs from what '
                             f'{config} with these --cfg-options gives for stream {stream}: '
                             'use another --work-root, or delete those runs to retrain')
    os.makedirs(osp.dirname(path), exist_ok=True)
    with atomic_write(path, 'w') as f:
        f.write(text)
    return path


def dump_name(tta: bool) -> str:
    return 'test_dump_tta.pkl' if tta else 'test_dump.pkl'


def tta_dump(stream_config: str, checkpoint: str, work_dir: str) -> str:
    """Test ``checkpoint`` with the config's ``tta_pipeline`` once; the score dump's path."""
    dump = osp.join(work_dir, dump_name(True))
    if not osp.isfile(dump):
        _test(stream_config, checkpoint, work_dir, ['--tta'],
              osp.join(work_dir, 'test_metrics_tta.json'), dump)
    return dump


def run_streams(config: str, streams: Sequence[str], work_root: str, options: dict,
                seed: Optional[int], fuse_only: bool = False, tta: bool = False
                ) -> List[dict]:
    """Train + test (or, with ``fuse_only``, just locate) each stream's run; one record each
    with the path of its per-clip score dump (of the ``tta_pipeline`` test with ``tta``)."""
    records = []
    for i, stream in enumerate(streams, 1):
        work_dir = stream_work_dir(work_root, config, stream, seed)
        dump = osp.join(work_dir, dump_name(tta))
        head = (f'[ensemble] {config_name(config)}'
                + ('' if seed is None else f' seed {seed}') + f': stream {stream} ({i}/'
                f'{len(streams)})')
        if fuse_only:
            if not osp.isfile(dump):
                raise SystemExit(f'--fuse-only: no score dump {dump}; run without --fuse-only '
                                 'to train and test this stream')
            print(f'{head}: fusing {dump}', flush=True)
            records.append(dict(config=config, stream=stream, seed=seed, dump=dump))
            continue
        path = write_stream_config(config, stream, work_root, options)
        finished = osp.isfile(osp.join(work_dir, 'test.json'))
        status = ('finished run reused' if finished and osp.isfile(dump) else
                  'finished run, testing for the score dump' if finished else
                  'resuming training' if osp.isfile(osp.join(work_dir, 'last_checkpoint'))
                  else 'training')
        print(f'{head}: {status} ({work_dir})', flush=True)
        record = run_one(path, work_root, [], seed, dump=True)
        if tta:
            record['dump'] = tta_dump(path, record['checkpoint'], work_dir)
        records.append(dict(config=config, stream=stream, seed=seed, dump=record['dump'],
                            stream_config=path, checkpoint=record.get('checkpoint'),
                            train_minutes=record.get('train_minutes')))
        print(f'{head}: done, test top-1 {record["metrics"].get("acc/top1", float("nan")):.4f}'
              ' (one clip per video)', flush=True)
    return records


def fuse_records(records: Sequence[dict], weights: Sequence[float]) -> dict:
    """Fuse one (config, seed)'s stream records; per-stream and fused metrics."""
    result = fuse_dumps([r['dump'] for r in records], weights)
    for record, metrics in zip(records, result['streams']):
        record['metrics'] = metrics
    return dict(config=records[0]['config'], seed=records[0]['seed'],
                streams=[r['stream'] for r in records], weights=list(weights),
                clips=len(result['labels']), metrics=result['fused'])


def _mean_std(values: Sequence[float]) -> tuple:
    values = np.asarray(values, dtype=float)
    return float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else 0.0


def summarise(fused: Sequence[dict], records: Sequence[dict], streams: Sequence[str]
              ) -> List[dict]:
    """One row per config: mean/std over seeds of each stream's top-1 and the fused metrics."""
    rows = []
    for config in dict.fromkeys(f['config'] for f in fused):
        runs = [f for f in fused if f['config'] == config]
        row = dict(config=config, runs=len(runs), streams={})
        for stream in streams:
            row['streams'][stream] = _mean_std(
                [r['metrics']['top1'] for r in records
                 if r['config'] == config and r['stream'] == stream])
        for key in METRIC_KEYS:
            row[key], row[key + '_std'] = _mean_std([f['metrics'][key] for f in runs])
        rows.append(row)
    return rows


def format_table(rows: Sequence[dict], streams: Sequence[str], weights: Sequence[float]
                 ) -> str:
    def cell(mean, std, runs):
        return f'{mean:.4f}' + (f' +- {std:.4f}' if runs > 1 else '')
    fused = 'fused (' + ' + '.join(f'{w:g} {s}' for s, w in zip(streams, weights)) + ')'
    lines = ['| config | runs | ' + ' | '.join(f'{s} top-1' for s in streams)
             + f' | {fused} top-1 | fused top-5 | fused mean class acc |',
             '|---|---|' + '---|' * (len(streams) + 3)]
    for row in rows:
        cells = [cell(*row['streams'][s], row['runs']) for s in streams]
        cells += [cell(row[k], row[k + '_std'], row['runs']) for k in METRIC_KEYS]
        lines.append(f"| {osp.basename(row['config'])} | {row['runs']} | "
                     + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def main(argv=None) -> List[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('configs', nargs='+')
    parser.add_argument('--streams', nargs='+', default=['j', 'b', 'jm', 'bm'],
                        help="j, b, jm, bm, or several joined by '+' (j+jm: one network "
                             'on both)')
    parser.add_argument('--seeds', type=int, nargs='+',
                        help='train every stream once per seed; mean +- std of the fusion')
    parser.add_argument('--weights', type=float, nargs='+',
                        help='one fusion weight per stream (default: all 1)')
    parser.add_argument('--work-root', default='work_dirs/ensemble')
    parser.add_argument('--out-json')
    parser.add_argument('--fuse-only', action='store_true',
                        help='no training: fuse the score dumps already in WORK_ROOT')
    parser.add_argument('--tta', action='store_true',
                        help="fuse scores of each stream tested with the config's "
                             'tta_pipeline (clips and mirror images) instead of one clip')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={})
    args = parser.parse_args(argv)
    for stream in args.streams:
        try:
            stream_features(stream)
        except ValueError as err:
            parser.error(str(err))
    if len(set(args.streams)) != len(args.streams):
        parser.error(f'a stream is listed twice: {args.streams}')
    weights = args.weights or [1.0] * len(args.streams)
    if len(weights) != len(args.streams):
        parser.error(f'{len(weights)} --weights for {len(args.streams)} --streams')
    seeds = args.seeds or [None]
    if args.tta and not args.fuse_only:
        for config in args.configs:  # fail now, not after hours of training
            if not load_config(config, args.cfg_options).get('tta_pipeline'):
                parser.error(f'{config}: --tta needs a "tta_pipeline" in the config (e.g. '
                             'configs/_base_/datasets/nw_ucla.py)')

    records, fused = [], []
    for config in args.configs:
        for seed in seeds:
            runs = run_streams(config, args.streams, args.work_root, args.cfg_options, seed,
                               args.fuse_only, args.tta)
            fused.append(fuse_records(runs, weights))
            records += runs
            print(f'[ensemble] {config_name(config)}'
                  + ('' if seed is None else f' seed {seed}')
                  + f': fused top-1 {fused[-1]["metrics"]["top1"]:.4f}', flush=True)
    rows = summarise(fused, records, args.streams)
    print(format_table(rows, args.streams, weights))
    if args.out_json:
        with atomic_write(args.out_json, 'w') as f:
            json.dump(dict(streams=args.streams, weights=weights, runs=records, fused=fused,
                           summary=rows), f, indent=2)
    return rows


if __name__ == '__main__':
    main()
