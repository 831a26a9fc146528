"""Batch assembly for the RGB stream: stack keypoints, frames and boxes; normalise the frames
on the device (uint8 travels, float is made where it is used)."""
from typing import Any, Dict, Sequence

import torch
from mmengine.model import BaseDataPreprocessor

from mdn.registry import MODELS

IMAGENET_MEAN = (123.675, 116.28, 103.53)  # RGB, 0-255
IMAGENET_STD = (58.395, 57.12, 57.375)


@MODELS.register_module()
class RGBPoseDataPreprocessor(BaseDataPreprocessor):
    """Per-clip ``dict(keypoint, imgs, boxes, box_valid)`` (``PackRGBPoseInputs``) ->
    ``dict(keypoint [B, N, T, V, C] float, imgs [B, Nc, Tr, 3, H, W] float normalised,
    boxes [B, N, Tr, K, 4] float, box_valid [B, N, Tr, K] bool)``.

    Args:
        mean / std: per-channel RGB statistics of the backbone's pretraining (ImageNet).
    """

    def __init__(self, mean: Sequence[float] = IMAGENET_MEAN,
                 std: Sequence[float] = IMAGENET_STD):
        super().__init__()
        self.register_buffer('mean', torch.tensor(mean).view(3, 1, 1), persistent=False)
        self.register_buffer('std', torch.tensor(std).view(3, 1, 1), persistent=False)

    def forward(self, data: Dict[str, Any], training: bool = False) -> Dict[str, Any]:
        data = self.cast_data(data)
        inputs = data['inputs']
        if isinstance(inputs, (list, tuple)):  # a list of per-clip dicts
            if not all(isinstance(x, dict) for x in inputs):
                raise TypeError('RGBPoseDataPreprocessor takes the dict inputs of '
                                'PackRGBPoseInputs; this pipeline packs keypoints only')
            inputs = {key: [x[key] for x in inputs] for key in inputs[0]}
        if not isinstance(inputs, dict):
            raise TypeError('RGBPoseDataPreprocessor takes the dict inputs of '
                            f'PackRGBPoseInputs, got {type(inputs).__name__}')
        inputs = {key: _stack(key, value) for key, value in inputs.items()}
        out = dict(inputs)
        out['keypoint'] = inputs['keypoint'].float()
        if 'imgs' in inputs:
            out['imgs'] = (inputs['imgs'].float() - self.mean) / self.std
            out['boxes'] = inputs['boxes'].float()
            out['box_valid'] = inputs['box_valid'].bool()
        return dict(inputs=out, data_samples=data.get('data_samples'))


def _stack(key: str, value: Any) -> torch.Tensor:
    """Per-clip tensors (pseudo_collate keeps them as a list) -> one batch tensor."""
    if isinstance(value, torch.Tensor):
        return value
    shapes = {tuple(x.shape) for x in value}
    if len(shapes) > 1:
        raise ValueError(f'clips in a batch have different "{key}" shapes {sorted(shapes)}; '
                         'use one clip_len, num_people and crop size in the pipeline')
    return torch.stack(list(value))
