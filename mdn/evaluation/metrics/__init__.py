from .accuracy import AccMetric
from .dump import DumpPredictions
from .ma52 import MA52Metric

__all__ = ['AccMetric', 'MA52Metric', 'DumpPredictions']
