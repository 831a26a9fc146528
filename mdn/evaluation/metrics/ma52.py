"""The MA-52 metric set (Guo et al., TCSVT 2024): action and body level accuracy and F1."""
from typing import Dict, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from mdn.registry import METRICS

from ..functional import (coarse_scores, f1_micro_macro, ma52_fine_to_coarse,
                          read_body_mapping, top_k_accuracy)
from .accuracy import check_finite_scores, collect_scores, labelled


@METRICS.register_module()
class MA52Metric(BaseMetric):
    """``action_top1``, ``action_top5``, ``body_top1``, ``action_f1_micro/macro``,
    ``body_f1_micro/macro`` and ``F1_mean`` (mean of those four F1 scores).

    Body scores are the sums of action probabilities per body group (official 52 -> 7
    mapping, built in or read from ``body_map_file``).
    """
    default_prefix = 'ma52'

    def __init__(self, body_map_file: Optional[str] = None, collect_device: str = 'cpu',
                 prefix: str = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.mapping = (read_body_mapping(body_map_file) if body_map_file
                        else ma52_fine_to_coarse())

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        self.results.extend(collect_scores(data_samples))

    def compute_metrics(self, results: list) -> Dict[str, float]:
        check_finite_scores(results, type(self).__name__)
        scores, labels = labelled(results)
        if not len(labels):
            print_log('MA52Metric: the test split is unlabelled (labels -1): write the '
                      'server CSV from a --dump file with tools/analysis/ma52_submission.py',
                      logger='current', level=30)
            return {}
        return ma52_metrics(scores, labels, self.mapping)


def ma52_metrics(scores: np.ndarray, labels: np.ndarray, mapping: np.ndarray
                 ) -> Dict[str, float]:
    """All MA-52 numbers from action scores ``[N, 52]`` and action labels ``[N]``."""
    if scores.shape[1] != len(mapping):
        raise ValueError(f'MA-52 metric: scores have {scores.shape[1]} classes but the body '
                         f'mapping covers {len(mapping)}')
    acc = top_k_accuracy(scores, labels, (1, 5))
    body_scores = coarse_scores(scores, mapping)
    body_labels = mapping[labels]
    body_pred = body_scores.argmax(1)
    a_micro, a_macro = f1_micro_macro(scores.argmax(1), labels)
    b_micro, b_macro = f1_micro_macro(body_pred, body_labels)
    return dict(action_top1=acc[1], action_top5=acc[5],
                body_top1=float((body_pred == body_labels).mean()),
                action_f1_micro=a_micro, action_f1_macro=a_macro,
                body_f1_micro=b_micro, body_f1_macro=b_macro,
                F1_mean=(a_micro + a_macro + b_micro + b_macro) / 4)
