"""Metrics against hand-computed answers and against sklearn's definitions."""
import numpy as np
import pytest
import torch

from mdn.evaluation import AccMetric, MA52Metric, f1_micro_macro, top_k_accuracy
from mdn.evaluation.functional import (confusion_matrix, ma52_fine_to_coarse,
                                       mean_class_accuracy, read_body_mapping)
from mdn.evaluation.metrics.ma52 import ma52_metrics

from .conftest import require_shared


def _samples(scores, labels):
    return [dict(pred_score=torch.tensor(s), gt_label=torch.tensor([y]))
            for s, y in zip(scores, labels)]


def test_accuracy_hand_case():
    scores = np.array([[0.7, 0.2, 0.1], [0.2, 0.3, 0.5], [0.1, 0.6, 0.3], [0.5, 0.4, 0.1]])
    labels = np.array([0, 1, 1, 1])
    # top1 hits: rows 0, 2 -> 0.5; top2: row1 (label 1 is 2nd), row3 (2nd) -> all 4
    assert top_k_accuracy(scores, labels, (1, 2)) == {1: 0.5, 2: 1.0}
    # class 0: 1/1, class 1: 1/3 -> mean 2/3
    assert mean_class_accuracy(scores.argmax(1), labels) == pytest.approx(2 / 3)
    metric = AccMetric(topk=(1, 2))
    metric.process(None, _samples(scores, labels))
    result = metric.compute_metrics(metric.results)
    assert result == pytest.approx({'top1': 0.5, 'top2': 1.0, 'mean_class_accuracy': 2 / 3})


def test_f1_hand_case():
    labels = np.array([0, 0, 1, 1, 2])
    pred = np.array([0, 1, 1, 1, 0])
    # class 0: tp1 fp1 fn1 -> 0.5; class 1: tp2 fp1 fn0 -> 0.8; class 2: tp0 -> 0
    micro, macro = f1_micro_macro(pred, labels)
    assert micro == pytest.approx(3 / 5)
    assert macro == pytest.approx((0.5 + 0.8 + 0.0) / 3)
    cm = confusion_matrix(pred, labels, 3)
    assert cm.tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 0]]


def test_f1_matches_sklearn_on_random_data():
    sklearn_metrics = pytest.importorskip('sklearn.metrics')
    rng = np.random.default_rng(0)
    for _ in range(20):
        labels = rng.integers(0, 12, 200)
        pred = np.where(rng.random(200) < 0.5, labels, rng.integers(0, 15, 200))
        micro, macro = f1_micro_macro(pred, labels)
        assert micro == pytest.approx(sklearn_metrics.f1_score(labels, pred, average='micro'))
        assert macro == pytest.approx(sklearn_metrics.f1_score(labels, pred, average='macro'))
        assert mean_class_accuracy(pred, labels) == pytest.approx(
            sklearn_metrics.balanced_accuracy_score(labels, pred))


def test_ma52_metric_hand_case():
    mapping = ma52_fine_to_coarse()
    assert mapping[4] == 0 and mapping[5] == 1 and mapping[23] == 2 and mapping[51] == 6
    scores = np.full((3, 52), 0.001)
    scores[0, 0] = 0.9      # label 0 (body): correct action, correct body
    scores[1, 6] = 0.5      # label 5 (head): wrong action (6, also head) -> body right
    scores[1, 5] = 0.4
    scores[2, 30] = 0.6     # label 12 (upper limb): wrong action (30, lower limb)
    scores[2, 12] = 0.3     #   ... but 12 is second -> top5 hit
    scores /= scores.sum(1, keepdims=True)
    labels = np.array([0, 5, 12])
    m = ma52_metrics(scores, labels, mapping)
    assert m['action_top1'] == pytest.approx(1 / 3)
    assert m['action_top5'] == pytest.approx(1.0)
    assert m['body_top1'] == pytest.approx(2 / 3)
    # action F1 macro over classes {0, 5, 6, 12, 30}: only class 0 has F1 = 1
    assert m['action_f1_macro'] == pytest.approx(1 / 5)
    # body: true [0, 1, 2], pred [0, 1, 3]: F1 1, 1, 0, 0 over classes {0, 1, 2, 3}
    assert m['body_f1_macro'] == pytest.approx(0.5)
    assert m['F1_mean'] == pytest.approx((1 / 3 + 1 / 5 + 2 / 3 + 0.5) / 4)
    metric = MA52Metric()
    metric.process(None, _samples(scores.astype(np.float32), labels))
    assert metric.compute_metrics(metric.results)['F1_mean'] == pytest.approx(m['F1_mean'])


def test_ma52_metric_rejects_wrong_class_count():
    with pytest.raises(ValueError, match='52'):
        ma52_metrics(np.ones((2, 10)), np.array([0, 1]), ma52_fine_to_coarse())


def test_builtin_body_mapping_equals_official_file():
    path = require_shared('annotations/ma52/body_categories_derived.tsv')
    assert (read_body_mapping(str(path)) == ma52_fine_to_coarse()).all()


def test_unlabelled_clips_are_not_scored():
    scores = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]], dtype=np.float32)
    metric = AccMetric(topk=(1,))
    metric.process(None, _samples(scores, [0, 1, -1]))  # -1: unlabelled test clip
    assert metric.compute_metrics(metric.results)['top1'] == 1.0
    ma52 = MA52Metric()
    ma52.process(None, _samples(np.ones((2, 52), np.float32) / 52, [-1, -1]))
    assert ma52.compute_metrics(ma52.results) == {}
