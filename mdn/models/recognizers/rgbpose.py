"""Micro-DualNet with the paper's RGB entity stream (METHOD.md Sec. 2), alone or with pose.

    modality='both':  pose tokens [B*N,T,K,D] + RGB tokens [B*N,Tr,K,D] -> EntityTokenFusion
    modality='rgb':   RGB tokens only (T = Tr)
    modality='pose':  the pose model (no frames needed)
        -> ST / TS paths -> router -> head([f_pose ; f_CNN ; fused]);  L = CE + lambda * MAC

Everything after the tokens is :class:`MicroDualNet`'s, unchanged; this subclass only adds the
RGB encoder, the fusion and a dict input (``PackRGBPoseInputs``), so pose-only configs build
exactly the same model as before.
"""
from typing import Dict, List, Optional, Union

import torch
from torch import Tensor

from mdn.registry import MODELS

from ..encoders.rgb_entity_encoder import rgb_inputs
from .micro_dualnet import MicroDualNet, _with

MODALITIES = ('both', 'rgb', 'pose')


@MODELS.register_module()
class RGBPoseMicroDualNet(MicroDualNet):
    """:class:`MicroDualNet` whose entity tokens come from RGB boxes, pose, or both.

    Args:
        modality: 'both' (pose + RGB tokens fused per entity), 'rgb' (the RGB stream alone:
            the pose encoder and pose global stream are not built) or 'pose'.
        rgb_encoder: :class:`RGBEntityEncoder` config (layout, entity set, D filled in).
        token_fusion: :class:`EntityTokenFusion` config ('both' only).
        **kwargs: :class:`MicroDualNet`'s arguments.

    Input: ``dict(keypoint [B, N, T, V, C], imgs [B, Nc, Tr, 3, H, W] float (normalised by
    the data preprocessor), boxes [B, N, Tr, K, 4], box_valid [B, N, Tr, K])`` with
    ``N = Nc * M`` (clips x people).
    """

    def __init__(self, modality: str = 'both', rgb_encoder: Optional[dict] = None,
                 token_fusion: Optional[dict] = None, **kwargs):
        if modality not in MODALITIES:
            raise ValueError(f'modality must be one of {MODALITIES}, got {modality!r}')
        kwargs.setdefault('data_preprocessor', dict(type='RGBPoseDataPreprocessor'))
        super().__init__(**kwargs)
        self.modality = modality
        D, K = self.encoder.embed_dim, self.encoder.num_entities
        self.rgb_encoder = self.token_fusion = None
        if modality != 'pose':
            self.rgb_encoder = MODELS.build(_with(
                rgb_encoder or dict(type='RGBEntityEncoder'), layout=kwargs['layout'],
                entity_set=kwargs.get('entity_set', 'body6'), embed_dim=D))
        if modality == 'both':
            self.token_fusion = MODELS.build(_with(token_fusion or dict(type='EntityTokenFusion'),
                                                   dim=D))
        if modality == 'rgb':  # nothing of the pose side is used: do not build it
            self.encoder = self.global_stream = self.input_norm = None
        # the head again, now that the global feature's width is known (pose + f_CNN)
        global_dim = ((self.global_stream.out_dim if self.global_stream is not None else 0)
                      + (self.rgb_encoder.global_dim if self.rgb_encoder is not None else 0))
        self.head = MODELS.build(_with(kwargs.get('head') or dict(type='MicroActionHead'),
                                       num_classes=kwargs['num_classes'], num_entities=K,
                                       dim=D, global_dim=global_dim))

    @property
    def needs_frames(self) -> bool:
        """Whether inputs must carry video frames (inference reads them from the video)."""
        return self.modality != 'pose'

    def extract_feat(self, inputs: Union[Tensor, Dict[str, Tensor]]) -> Dict[str, Tensor]:
        """``inputs`` (see the class) -> dict(logits [B*N, classes], weights, x_st, x_ts)."""
        if not isinstance(inputs, dict):
            if self.needs_frames:
                raise TypeError(f'modality={self.modality!r} needs dict inputs with frames '
                                '(PackRGBPoseInputs), got a tensor')
            inputs = dict(keypoint=inputs)
        kp = inputs['keypoint']
        if kp.dim() == 4:
            kp = kp[:, None]
        B, N, T, V, C = kp.shape
        tokens, globals_ = None, []
        if self.modality != 'rgb':
            raw = kp.reshape(B * N, T, V, C)
            present = raw.detach().abs().amax(-1) > 0
            x = self._normalise_input(raw)
            tokens = self.encoder(x, present)
            if self.global_stream is not None:
                globals_.append(self.global_stream(x))
        if self.rgb_encoder is not None:
            rgb, _, f_cnn = self.rgb_encoder(*rgb_inputs(inputs))
            globals_.append(f_cnn)
            tokens = rgb if tokens is None else self.token_fusion(tokens, rgb)
        x_st = self.st_path(tokens) if self.st_path is not None else None
        x_ts = self.ts_path(tokens) if self.ts_path is not None else None
        fused, weights = self._fuse(x_st, x_ts)
        global_feat = torch.cat(globals_, -1) if globals_ else None
        logits = self.head(fused, global_feat)
        return dict(logits=logits, weights=weights, x_st=x_st, x_ts=x_ts)

    def forward(self, inputs: Union[Tensor, Dict[str, Tensor]],
                data_samples: Optional[List] = None,
                mode: str = 'tensor') -> Union[Dict[str, Tensor], List, Tensor]:
        """``inputs`` (see the class); mode 'loss' | 'predict' | 'tensor' (logits [B, cls])."""
        self._check_layout(data_samples)
        out = self.extract_feat(inputs)
        kp = inputs['keypoint'] if isinstance(inputs, dict) else inputs
        B, N = kp.shape[0], (kp.shape[1] if kp.dim() == 5 else 1)
        logits = out['logits'].view(B, N, -1)
        if mode == 'tensor':
            return logits.mean(1)
        if mode == 'loss':
            return self._loss(logits.mean(1), out, data_samples)
        if mode == 'predict':
            return self._predict(logits, out['weights'], data_samples, B, N)
        raise ValueError(f'invalid mode {mode!r}; use loss, predict or tensor')
