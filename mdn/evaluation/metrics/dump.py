"""Dump per-clip predictions (scores, label, routing weights) for offline analysis."""
import pickle
from typing import Dict, Sequence

from mmengine.evaluator import BaseMetric

from mdn.registry import METRICS
from mdn.utils.io import atomic_write

from .accuracy import check_finite_scores, collect_scores


@METRICS.register_module()
class DumpPredictions(BaseMetric):
    """Write ``[dict(frame_dir, gt_label, pred_score [C], entity_weights [K, 2]), ...]`` and
    the entity names to ``out_file`` as a pickle of numpy arrays and plain containers (so
    ``mdn.utils.safe_pickle_load`` can read it back)."""
    default_prefix = 'dump'

    def __init__(self, out_file: str, collect_device: str = 'cpu', prefix: str = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        if not out_file.endswith(('.pkl', '.pickle')):
            raise ValueError(f'--dump file must end in .pkl, got {out_file}')
        self.out_file = out_file
        self.entity_names = None

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        if self.entity_names is None and data_samples:
            self.entity_names = tuple(data_samples[0].get('entity_names', ()))
        self.results.extend(collect_scores(data_samples))

    def compute_metrics(self, results: list) -> Dict[str, float]:
        check_finite_scores(results, type(self).__name__)  # no NaN server submissions
        with atomic_write(self.out_file) as f:
            pickle.dump(dict(entity_names=self.entity_names, predictions=results), f,
                        protocol=4)
        return {}
