"""Batch assembly: stack clips and move them to the model's device."""
from typing import Any, Dict

import torch
from mmengine.model import BaseDataPreprocessor

from mdn.registry import MODELS


@MODELS.register_module()
class MicroActionDataPreprocessor(BaseDataPreprocessor):
    """Stack per-clip ``[N, T, V, C]`` inputs to ``[B, N, T, V, C]`` float on the device."""

    def forward(self, data: Dict[str, Any], training: bool = False) -> Dict[str, Any]:
        data = self.cast_data(data)
        inputs = data['inputs']
        if isinstance(inputs, (list, tuple)):
            shapes = {tuple(x.shape) for x in inputs}
            if len(shapes) > 1:
                raise ValueError(f'clips in a batch have different shapes {sorted(shapes)}; '
                                 'sample a fixed clip_len and num_people in the pipeline')
            inputs = torch.stack(list(inputs))
        return dict(inputs=inputs.float(), data_samples=data.get('data_samples'))
