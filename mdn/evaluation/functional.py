"""Metric functions on numpy arrays (sklearn definitions where sklearn has one)."""
from typing import Dict, Sequence, Tuple

import numpy as np

# Official MA-52 action(52) -> body(7) mapping: fine-id ranges per body-level group
# (VUT-HFUT/Micro-Action online evaluation: body, head, upper limb, lower limb, body-hand,
# head-hand, leg-hand).
MA52_BODY_NAMES = ('body', 'head', 'upper_limb', 'lower_limb', 'body_hand', 'head_hand',
                   'leg_hand')
MA52_BODY_RANGES = ((0, 5), (5, 11), (11, 24), (24, 32), (32, 38), (38, 48), (48, 52))


def ma52_fine_to_coarse() -> np.ndarray:
    """``mapping[fine_id] = body_id`` for the 52 MA-52 actions."""
    mapping = np.zeros(52, dtype=np.int64)
    for coarse, (lo, hi) in enumerate(MA52_BODY_RANGES):
        mapping[lo:hi] = coarse
    return mapping


def read_body_mapping(path: str) -> np.ndarray:
    """``mapping[fine_id] = coarse_id`` from ``body_categories_derived.tsv``."""
    rows = []
    with open(path, encoding='utf-8') as f:
        for line in f:
            if line.startswith('#') or line.startswith('fine_id') or not line.strip():
                continue
            parts = line.rstrip('\n').split('\t')
            rows.append((int(parts[0]), int(parts[2])))
    if not rows:
        raise ValueError(f'{path}: no fine_id -> coarse_id rows found')
    mapping = np.full(max(r[0] for r in rows) + 1, -1, dtype=np.int64)
    for fine, coarse in rows:
        mapping[fine] = coarse
    if (mapping < 0).any():
        raise ValueError(f'{path}: fine ids {np.flatnonzero(mapping < 0).tolist()} missing')
    return mapping


def top_k_accuracy(scores: np.ndarray, labels: np.ndarray, ks: Sequence[int] = (1, 5)
                   ) -> Dict[int, float]:
    """Fraction of samples whose label is among the ``k`` highest scores."""
    bad = ~np.isfinite(scores).all(1)
    if bad.any():
        raise ValueError(f'{int(bad.sum())} of {len(scores)} clips have non-finite scores, '
                         f'e.g. row {int(np.flatnonzero(bad)[0])}; refusing to compute accuracy')
    order = np.argsort(-scores, axis=1, kind='stable')
    result = {}
    for k in ks:
        hit = (order[:, :min(k, scores.shape[1])] == labels[:, None]).any(1)
        result[k] = float(hit.mean())
    return result


def mean_class_accuracy(pred: np.ndarray, labels: np.ndarray) -> float:
    """Mean over the classes present in ``labels`` of per-class recall."""
    classes = np.unique(labels)
    return float(np.mean([(pred[labels == c] == c).mean() for c in classes]))


def confusion_matrix(pred: np.ndarray, labels: np.ndarray, num_classes: int) -> np.ndarray:
    """``cm[true, pred]`` counts."""
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(cm, (labels, pred), 1)
    return cm


def f1_micro_macro(pred: np.ndarray, labels: np.ndarray) -> Tuple[float, float]:
    """sklearn's ``f1_score(average='micro' | 'macro')`` for single-label multi-class data.

    Macro averages over the union of classes in ``labels`` and ``pred`` (sklearn's default
    ``labels=None``), with F1 = 0 where precision + recall = 0.
    """
    classes = np.union1d(labels, pred)
    f1s = []
    for c in classes:
        tp = np.sum((pred == c) & (labels == c))
        fp = np.sum((pred == c) & (labels != c))
        fn = np.sum((pred != c) & (labels == c))
        denom = 2 * tp + fp + fn
        f1s.append(2 * tp / denom if denom else 0.0)
    micro = float(np.mean(pred == labels))  # micro-F1 == accuracy for single-label data
    return micro, float(np.mean(f1s))


def coarse_scores(fine_scores: np.ndarray, mapping: np.ndarray) -> np.ndarray:
    """Body-level probabilities: sum of the action probabilities in each body group."""
    num_coarse = int(mapping.max()) + 1
    out = np.zeros((fine_scores.shape[0], num_coarse), dtype=fine_scores.dtype)
    for coarse in range(num_coarse):
        out[:, coarse] = fine_scores[:, mapping == coarse].sum(1)
    return out
