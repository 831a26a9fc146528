"""Skeleton GCN recogniser (the ST-GCN baseline), with Micro-DualNet's inputs and modes.

    keypoints [B,N,T,V,C] -> backbone (STGCN) -> [B*N,T',V,C'] -> GCNClsHead -> logits

``N`` is clips x people per sample; as in Micro-DualNet, logits are averaged over N for the
loss and softmax scores for prediction. Predictions carry no ``entity_weights``.
"""
from typing import Dict, List, Optional, Union

import torch
from mmengine.model import BaseModel
from torch import Tensor

from mdn.layouts import get_layout
from mdn.registry import MODELS
from mdn.structures import MicroActionDataSample

from .compiled_core import CompiledCoreMixin, CompileSpec
from .micro_dualnet import _with


@MODELS.register_module()
class SkeletonGCN(CompiledCoreMixin, BaseModel):
    """Backbone + linear head; sizes are named once here and filled into the sub-configs.

    Args:
        layout: keypoint layout (the backbone's graph).
        num_classes: classes of the head; in_channels: C per joint.
        backbone: backbone config (default ``STGCN``); head: head config (default
            ``GCNClsHead``).
        compile_cfg: ``torch.compile`` of the tensor core, as in :class:`.MicroDualNet`.
    """

    def __init__(self, layout: str, num_classes: int, in_channels: int = 3,
                 backbone: Optional[dict] = None, head: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None, init_cfg: Optional[dict] = None,
                 compile_cfg: CompileSpec = False):
        if data_preprocessor is None:
            data_preprocessor = dict(type='MicroActionDataPreprocessor')
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.set_compile(compile_cfg)
        self.layout = get_layout(layout)
        self.backbone = MODELS.build(_with(backbone or dict(type='STGCN'), layout=layout,
                                           in_channels=in_channels))
        self.head = MODELS.build(_with(head or dict(type='GCNClsHead'), num_classes=num_classes,
                                       in_channels=self.backbone.out_channels))

    def extract_feat(self, inputs: Tensor) -> Tensor:
        """``inputs [B, N, T, V, C]`` -> logits ``[B, N, num_classes]``."""
        if inputs.dim() == 4:
            inputs = inputs[:, None]
        B, N, T, V, C = inputs.shape
        feats = self.backbone(inputs.reshape(B * N, T, V, C))
        return self.head(feats).view(B, N, -1)

    def forward(self, inputs: Tensor, data_samples: Optional[List] = None,
                mode: str = 'tensor') -> Union[Dict[str, Tensor], List, Tensor]:
        """``inputs [B, N, T, V, C]``; mode 'loss' | 'predict' | 'tensor' (logits [B, cls])."""
        if mode not in ('loss', 'predict', 'tensor'):
            raise ValueError(f'invalid mode {mode!r}; use loss, predict or tensor')
        self._check_layout(data_samples)
        if mode == 'loss':
            labels = torch.cat([s.gt_label for s in data_samples]).to(inputs.device)
            return self._core('_loss_core')(inputs, labels)
        logits = self._core('extract_feat')(inputs)
        if mode == 'tensor':
            return logits.mean(1)
        return self._predict(logits, data_samples)

    def _loss_core(self, inputs: Tensor, labels: Tensor) -> Dict[str, Tensor]:
        """``inputs [B, N, T, V, C]``, ``labels [B]`` -> the loss dict (one compiled graph)."""
        logits = self.extract_feat(inputs).mean(1)
        losses = dict(loss_cls=self.head.loss(logits, labels))
        with torch.no_grad():
            losses['acc'] = (logits.argmax(-1) == labels).float().mean()
        return losses

    def _predict(self, logits: Tensor, data_samples) -> List[MicroActionDataSample]:
        scores = logits.softmax(-1).mean(1)  # average over clips / people
        if data_samples is None:
            data_samples = [MicroActionDataSample() for _ in range(len(scores))]
        for sample, score in zip(data_samples, scores):
            sample.pred_score = score
            sample.pred_label = score.argmax(-1, keepdim=True)
        return data_samples

    def _check_layout(self, data_samples) -> None:
        if not data_samples:
            return
        layout = data_samples[0].metainfo.get('layout')
        if layout is not None and layout != self.layout.name:
            raise ValueError(f'the batch was prepared for layout "{layout}" but the model is '
                             f'built for "{self.layout.name}"')
