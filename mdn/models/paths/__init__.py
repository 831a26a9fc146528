from .factorised_path import FactorisedPath, SpatialTransformer, TemporalTransformer

__all__ = ['FactorisedPath', 'SpatialTransformer', 'TemporalTransformer']
