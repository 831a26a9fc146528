"""Multi-stream ensembles: per-stream configs and score fusion.

The skeleton toolboxes (PYSKL, CTR-GCN, InfoGCN) report 4-stream ensembles: the same network
trained on its own for each input stream and the per-clip softmax scores of the streams
summed (optionally weighted) at test time. The streams, in PYSKL's naming:

* ``j``: joint coordinates (``'joint'``);
* ``b``: bone vectors, joint minus its parent (``'bone'``);
* ``jm``: joint motion (``'motion'``, the velocity of the joints);
* ``bm``: bone motion (``'bone_motion'``, the velocity of the bone vectors).

Streams join with ``+`` into one network's input: ``j+jm`` is joint and joint motion
stacked, which is what the shipped single-stream configs feed (e.g. NW-UCLA's
``feats = ('joint', 'motion')``). A stream whose coordinate features equal the config's own,
in the same order, keeps the config's feats unchanged, so ``j+jm`` of a shipped config *is*
that config.

Extra channels of the config (``'score'``, the keypoint confidence of 2D data) are kept in
every stream, after the stream's coordinates (as PYSKL keeps the score with every 2D stream).
"""
import copy
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.config import Config

from mdn.datasets.transforms.features import GenSkeletonFeatures
from mdn.evaluation.functional import mean_class_accuracy, top_k_accuracy

from .config import ConfigError

STREAM_FEATS = {'j': 'joint', 'b': 'bone', 'jm': 'motion', 'bm': 'bone_motion'}
COORD_FEATURES = tuple(STREAM_FEATS.values())  # features with one channel per coordinate
METRIC_KEYS = ('top1', 'top5', 'mean_class_accuracy')


class StreamMismatchError(ValueError):
    """Dumps of different streams that do not hold the same clips in the same order."""


def stream_features(stream: str) -> Tuple[str, ...]:
    """``'j+jm'`` -> ``('joint', 'motion')``; raises ``ValueError`` on an unknown stream."""
    parts = stream.split('+')
    unknown = [p for p in parts if p not in STREAM_FEATS]
    if unknown or len(set(parts)) != len(parts):
        raise ValueError(f'unknown or repeated stream {stream!r}: use {sorted(STREAM_FEATS)} '
                         "or several joined by '+' (e.g. 'j+jm')")
    return tuple(STREAM_FEATS[p] for p in parts)


def _feature_transforms(node, found: list) -> list:
    """Every ``GenSkeletonFeatures`` dict anywhere in a config (all pipelines, wrappers)."""
    if isinstance(node, dict):
        if node.get('type') in ('GenSkeletonFeatures', GenSkeletonFeatures):
            found.append(node)
        for value in node.values():
            _feature_transforms(value, found)
    elif isinstance(node, (list, tuple)):
        for value in node:
            _feature_transforms(value, found)
    return found


def config_features(cfg: Config) -> Tuple[Tuple[str, ...], int]:
    """The config's skeleton features and coordinate dims (2 for 2D, 3 for x/y/z).

    The coordinate dims follow from the features and ``model.in_channels``: ``in_channels =
    #extra channels + dims x #coordinate features``.
    """
    name = getattr(cfg, 'filename', None) or '<config>'
    transforms = _feature_transforms(cfg._cfg_dict, [])
    if not transforms:
        raise ConfigError(f'{name}: no GenSkeletonFeatures transform in any pipeline')
    all_feats = {tuple(t.get('feats', ('joint', 'score'))) for t in transforms}
    if len(all_feats) > 1:
        raise ConfigError(f'{name}: the pipelines disagree on the skeleton features '
                          f'{sorted(all_feats)}; cannot derive streams')
    feats = all_feats.pop()
    model = cfg.get('model', {})
    if 'in_channels' not in model:
        raise ConfigError(f'{name}: model.in_channels is not set; cannot infer the coordinate '
                          'dims of the data')
    coords = [f for f in feats if f in COORD_FEATURES]
    extra = len(feats) - len(coords)
    dims = (model['in_channels'] - extra) / max(len(coords), 1)
    if not coords or dims not in (2, 3):
        raise ConfigError(f'{name}: model.in_channels={model["in_channels"]} does not fit '
                          f'feats={feats} with 2 or 3 coordinates per feature')
    return feats, int(dims)


def derive_stream_config(cfg: Config, stream: str) -> Config:
    """A copy of ``cfg`` whose every ``GenSkeletonFeatures`` feeds ``stream`` and whose
    ``model.in_channels`` matches. ``cfg`` itself is left untouched."""
    base_feats, dims = config_features(cfg)
    coords = stream_features(stream)
    if coords == tuple(f for f in base_feats if f in COORD_FEATURES):
        feats = base_feats  # the config's own input (channel order included)
    else:
        feats = coords + tuple(f for f in base_feats if f not in COORD_FEATURES)
    new = copy.deepcopy(cfg)
    for transform in _feature_transforms(new._cfg_dict, []):
        transform['feats'] = feats
    if 'feats' in new._cfg_dict:  # the dataset config's variable, for a reader of the dump
        new._cfg_dict['feats'] = feats
    new.model['in_channels'] = GenSkeletonFeatures.num_channels(feats, dims)
    return new


# ---------------------------------------------------------------------------- fusion


def read_dump(path: str) -> dict:
    """``tools/test.py --dump`` output as ``dict(names, labels [N], scores [N, C])``."""
    from mdn.utils import safe_pickle_load
    content = safe_pickle_load(path)
    preds = content['predictions'] if isinstance(content, dict) else content
    if not preds:
        raise ValueError(f'{path}: holds no predictions')
    return dict(path=path, names=[p.get('frame_dir') for p in preds],
                labels=np.array([int(p['gt_label']) for p in preds]),
                scores=np.stack([np.asarray(p['pred_score'], dtype=np.float64)
                                 for p in preds]))


def check_same_clips(dumps: Sequence[dict]) -> None:
    """Refuse dumps that do not list the same clips (names and labels) in the same order."""
    ref = dumps[0]
    for other in dumps[1:]:
        where = f'{ref["path"]} and {other["path"]}'
        if len(other['names']) != len(ref['names']):
            raise StreamMismatchError(f'{where} hold {len(ref["names"])} and '
                                      f'{len(other["names"])} clips: streams tested on '
                                      'different splits cannot be fused')
        if other['scores'].shape[1] != ref['scores'].shape[1]:
            raise StreamMismatchError(f'{where} score {ref["scores"].shape[1]} and '
                                      f'{other["scores"].shape[1]} classes')
        bad = [i for i, (a, b) in enumerate(zip(ref['names'], other['names'])) if a != b]
        if bad:
            i = bad[0]
            raise StreamMismatchError(
                f'{where} list different clips or another order ({len(bad)} positions differ, '
                f'first at #{i}: {ref["names"][i]!r} vs {other["names"][i]!r}); fusing them '
                'would add up scores of different clips')
        bad = np.flatnonzero(ref['labels'] != other['labels'])
        if len(bad):
            raise StreamMismatchError(f'{where} disagree on the label of {len(bad)} clips '
                                      f'(first: {ref["names"][bad[0]]!r})')


def fuse_scores(dumps: Sequence[dict], weights: Optional[Sequence[float]] = None
                ) -> np.ndarray:
    """Weighted sum of the streams' per-clip softmax scores, after :func:`check_same_clips`."""
    weights = [1.0] * len(dumps) if weights is None else list(weights)
    if len(weights) != len(dumps):
        raise ValueError(f'{len(weights)} weights for {len(dumps)} streams')
    check_same_clips(dumps)
    return sum(w * d['scores'] for w, d in zip(weights, dumps))


def score_metrics(scores: np.ndarray, labels: np.ndarray) -> Dict[str, float]:
    """top-1, top-5 and mean class accuracy over the labelled clips (label >= 0)."""
    keep = labels >= 0
    if not keep.any():
        return {k: float('nan') for k in METRIC_KEYS}
    scores, labels = scores[keep], labels[keep]
    top = top_k_accuracy(scores, labels, (1, 5))
    return dict(top1=top[1], top5=top[5],
                mean_class_accuracy=mean_class_accuracy(scores.argmax(1), labels))


def fuse_dumps(paths: Sequence[str], weights: Optional[Sequence[float]] = None
               ) -> Dict[str, object]:
    """Read the dumps, fuse them and score each stream and the fusion:
    ``dict(streams=[metrics per dump], fused=metrics, scores=fused [N, C], names, labels)``."""
    dumps = [read_dump(p) for p in paths]
    fused = fuse_scores(dumps, weights)
    return dict(streams=[score_metrics(d['scores'], d['labels']) for d in dumps],
                fused=score_metrics(fused, dumps[0]['labels']), scores=fused,
                names=dumps[0]['names'], labels=dumps[0]['labels'])


__all__: List[str] = ['STREAM_FEATS', 'StreamMismatchError', 'stream_features',
                      'config_features', 'derive_stream_config', 'read_dump',
                      'check_same_clips', 'fuse_scores', 'score_metrics', 'fuse_dumps']
