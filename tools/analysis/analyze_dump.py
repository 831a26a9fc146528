"""Pictures and numbers from a ``tools/test.py --dump`` file.

    python tools/analysis/analyze_dump.py DUMP.pkl --out DIR [--classes CONFIG|CKPT|FILE|a,b,c]
        [--group NAME=CLASS,CLASS ...]

Writes to DIR: ``confusion_matrix.png``, ``per_class_accuracy.png``, ``routing_heatmap.png``
(mean ST weight per entity: overall, per ``--group`` and per true class; the paper's routing
analysis) and ``analysis.json`` with the numbers behind them. ``--classes`` names the classes:
a config (its test dataset's classes), a checkpoint (its ``dataset_meta``), a text file (one
name per line) or comma-separated names; default ``class_0, class_1, ...``.
"""
import argparse
import json
import os.path as osp
import sys
from typing import Dict, List, Optional, Sequence

import numpy as np

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mdn.apis.cli import run_cli  # noqa: E402
from mdn.evaluation.functional import confusion_matrix  # noqa: E402
from mdn.utils.io import atomic_write  # noqa: E402
from mdn.utils.safe_pickle import safe_pickle_load  # noqa: E402


def read_dump(path: str) -> dict:
    """``dict(scores [N,C], labels [N], weights [N,K,2] or None, entity_names, frame_dirs)``."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'dump file not found: {path}')
    content = safe_pickle_load(path)
    if not isinstance(content, dict) or 'predictions' not in content:
        raise ValueError(f'{path}: not a tools/test.py --dump file (expected a dict with '
                         f'"predictions", got {type(content).__name__})')
    preds = content['predictions']
    if not preds:
        raise ValueError(f'{path}: the dump holds no predictions')
    scores = np.stack([np.asarray(p['pred_score'], np.float64) for p in preds])
    labels = np.array([int(p.get('gt_label', -1)) for p in preds])
    has_weights = all(p.get('entity_weights') is not None for p in preds)
    weights = (np.stack([np.asarray(p['entity_weights'], np.float64) for p in preds])
               if has_weights else None)
    names = tuple(content.get('entity_names') or ())
    if weights is not None and len(names) != weights.shape[1]:
        names = tuple(f'entity_{k}' for k in range(weights.shape[1]))
    return dict(scores=scores, labels=labels, weights=weights, entity_names=names,
                frame_dirs=[p.get('frame_dir') for p in preds])


def class_names(spec: Optional[str], num_classes: int) -> List[str]:
    """Class names from a config, a checkpoint, a text file or a comma-separated list."""
    if not spec:
        return [f'class_{i}' for i in range(num_classes)]
    if spec.endswith('.py'):
        names = _config_classes(spec)
    elif spec.endswith(('.pth', '.pt')):
        import torch
        meta = torch.load(spec, map_location='cpu').get('meta', {})
        names = (meta.get('dataset_meta') or {}).get('classes')
        if not names:
            raise ValueError(f'{spec}: the checkpoint stores no dataset_meta classes')
    elif osp.isfile(spec):
        with open(spec, encoding='utf-8') as f:
            names = [line.strip() for line in f if line.strip()]
    else:
        names = [n.strip() for n in spec.split(',')]
    names = list(names)
    if len(names) != num_classes:
        raise ValueError(f'--classes {spec}: {len(names)} class names for {num_classes} '
                         'scores per clip in the dump')
    return names


def _config_classes(path: str) -> Sequence[str]:
    """The test dataset's classes: named in the config, or read by building the dataset."""
    from mmengine.registry import DefaultScope

    from mdn.apis.config import load_config
    from mdn.apis.inference import config_classes as named_classes
    from mdn.registry import DATASETS
    from mdn.utils.setup_env import register_all_modules
    cfg = load_config(path)
    names = named_classes(cfg)
    if names:
        return names
    register_all_modules(init_default_scope=False)
    dataset_cfg = dict(cfg.test_dataloader.dataset, pipeline=[])
    with DefaultScope.overwrite_default_scope('mdn'):
        dataset = DATASETS.build(dataset_cfg)
    names = dataset.metainfo.get('classes')
    if not names:
        raise ValueError(f'{path}: its test dataset names no classes; pass --classes names')
    return names


def parse_groups(items: Sequence[str], names: Sequence[str]) -> Dict[str, List[int]]:
    """``NAME=cls,cls`` -> {NAME: [class ids]}; unknown class names are an error."""
    groups = {}
    for item in items or ():
        if '=' not in item:
            raise ValueError(f'--group {item!r}: expected NAME=CLASS,CLASS')
        group, members = item.split('=', 1)
        unknown = [m for m in members.split(',') if m not in names]
        if unknown:
            raise ValueError(f'--group {group}: unknown classes {unknown}; known: {list(names)}')
        groups[group] = [list(names).index(m) for m in members.split(',')]
    return groups


def routing_table(weights: np.ndarray, labels: np.ndarray, names: Sequence[str],
                  groups: Dict[str, List[int]]) -> dict:
    """Mean ST weight per entity: rows 'all', each group, each class (by true label; by
    predicted label where the dump has no labels)."""
    st = weights[..., 0]
    rows, values, counts = ['all'], [st.mean(0)], [len(st)]
    for group, members in groups.items():
        mask = np.isin(labels, members)
        rows.append(f'[{group}]')
        values.append(st[mask].mean(0) if mask.any() else np.full(st.shape[1], np.nan))
        counts.append(int(mask.sum()))
    for c, name in enumerate(names):
        mask = labels == c
        rows.append(name)
        values.append(st[mask].mean(0) if mask.any() else np.full(st.shape[1], np.nan))
        counts.append(int(mask.sum()))
    return dict(rows=rows, st_weight=np.stack(values), counts=counts)


def analyze(dump: str, out_dir: str, classes: Optional[str] = None,
            groups: Sequence[str] = ()) -> dict:
    from mdn.visualization import (plot_confusion_matrix, plot_per_class_accuracy,
                                   plot_routing_heatmap)
    data = read_dump(dump)
    scores, labels = data['scores'], data['labels']
    names = class_names(classes, scores.shape[1])
    pred = scores.argmax(1)
    labelled = labels >= 0
    result = dict(dump=dump, num_clips=int(len(labels)), classes=names, files={})
    # Without labels (e.g. the MA-52 test split) routing is grouped by predicted class.
    by = labels if labelled.all() else pred
    if labelled.any():
        cm = confusion_matrix(pred[labelled], labels[labelled], len(names))
        counts = cm.sum(1)
        acc = np.divide(np.diag(cm), counts, out=np.full(len(names), np.nan),
                        where=counts > 0)
        result.update(top1=float((pred[labelled] == labels[labelled]).mean()),
                      confusion_matrix=cm.tolist(),
                      per_class_accuracy=[None if np.isnan(a) else round(float(a), 4)
                                          for a in acc])
        result['files']['confusion_matrix'] = plot_confusion_matrix(
            osp.join(out_dir, 'confusion_matrix.png'), cm, names)
        result['files']['per_class_accuracy'] = plot_per_class_accuracy(
            osp.join(out_dir, 'per_class_accuracy.png'), acc, counts, names)
    if data['weights'] is not None:
        group_ids = parse_groups(groups, names)
        table = routing_table(data['weights'], by, names, group_ids)
        result['routing'] = dict(entities=list(data['entity_names']), rows=table['rows'],
                                 counts=table['counts'], grouped_by='true label' if by is labels
                                 else 'predicted label',
                                 st_weight=np.round(table['st_weight'], 4).tolist())
        result['files']['routing_heatmap'] = plot_routing_heatmap(
            osp.join(out_dir, 'routing_heatmap.png'), table['st_weight'], table['rows'],
            data['entity_names'], table['counts'], separators=(1, 1 + len(group_ids)))
    with atomic_write(osp.join(out_dir, 'analysis.json'), 'w') as f:
        json.dump(result, f, indent=1, default=_json_default)
    return result


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f'cannot write {type(value).__name__} as JSON')


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('dump', help='file written by tools/test.py --dump')
    parser.add_argument('--out', required=True, help='folder for the PNGs and analysis.json')
    parser.add_argument('--classes', help='config, checkpoint, text file or a,b,c')
    parser.add_argument('--group', action='append', default=[],
                        help='extra routing row averaging classes: NAME=CLASS,CLASS')
    args = parser.parse_args(argv)
    result = analyze(args.dump, args.out, args.classes, args.group)
    for kind, path in result['files'].items():
        print(f'{kind}: {path}')
    if 'top1' in result:
        print(f'top-1 accuracy: {result["top1"]:.4f} on {result["num_clips"]} clips')
    return result


if __name__ == '__main__':
    sys.exit(run_cli(main))
