from .functional import (confusion_matrix, f1_micro_macro, ma52_fine_to_coarse,
                         mean_class_accuracy, top_k_accuracy)
from .metrics import AccMetric, DumpPredictions, MA52Metric

__all__ = ['AccMetric', 'MA52Metric', 'DumpPredictions', 'top_k_accuracy',
           'mean_class_accuracy', 'f1_micro_macro', 'confusion_matrix', 'ma52_fine_to_coarse']
