"""Top-k and mean class accuracy (iMiGUE, Penn Action, NW-UCLA, synthetic)."""
from typing import Dict, List, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from mdn.registry import METRICS

from ..functional import mean_class_accuracy, top_k_accuracy


def check_finite_scores(results: list, metric: str) -> None:
    """Refuse to score predictions holding NaN/inf: a top-1 from them would be meaningless."""
    bad = [r for r in results if not np.isfinite(r['pred_score']).all()]
    if bad:
        examples = [str(r.get('frame_dir') or '?') for r in bad[:3]]
        raise ValueError(f'{metric}: {len(bad)} of {len(results)} clips have non-finite '
                         f'scores, e.g. {", ".join(examples)}; the model produced NaN/inf '
                         '(NaN weights from a diverged run, or corrupt inputs): no metrics '
                         'reported')


def labelled(results: list) -> 'tuple[np.ndarray, np.ndarray]':
    """Scores and labels of the clips that have a label (-1 marks unlabelled test clips)."""
    results = [r for r in results if r['gt_label'] >= 0]
    if not results:
        return np.zeros((0, 0)), np.zeros(0, dtype=int)
    return np.stack([r['pred_score'] for r in results]), np.array([r['gt_label']
                                                                   for r in results])


def collect_scores(data_samples: Sequence[dict]) -> List[dict]:
    """Per-sample numpy scores, label and routing weights from ``predict`` outputs."""
    out = []
    for s in data_samples:
        out.append(dict(
            pred_score=np.asarray(s['pred_score'].float().cpu()),
            gt_label=int(s['gt_label'].reshape(-1)[0]) if 'gt_label' in s else -1,
            entity_weights=(np.asarray(s['entity_weights'].float().cpu())
                            if 'entity_weights' in s else None),
            frame_dir=s.get('frame_dir', None)))
    return out


@METRICS.register_module()
class AccMetric(BaseMetric):
    """``top1``, ``top5`` and ``mean_class_accuracy`` of the predicted scores."""
    default_prefix = 'acc'

    def __init__(self, topk: Sequence[int] = (1, 5), collect_device: str = 'cpu',
                 prefix: str = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.topk = tuple(topk)

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        self.results.extend(collect_scores(data_samples))

    def compute_metrics(self, results: list) -> Dict[str, float]:
        check_finite_scores(results, type(self).__name__)
        scores, labels = labelled(results)
        if not len(labels):
            print_log('AccMetric: no labelled clips (labels -1): nothing to score; use '
                      '--dump to keep the predictions', logger='current', level=30)
            return {}
        metrics = {f'top{k}': v for k, v in top_k_accuracy(scores, labels, self.topk).items()}
        metrics['mean_class_accuracy'] = mean_class_accuracy(scores.argmax(1), labels)
        return metrics
