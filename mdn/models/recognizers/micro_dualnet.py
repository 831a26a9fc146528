"""Micro-DualNet, pose-based (arXiv 2604.21011; METHOD.md Sec. 4).

    keypoints [B,N,T,V,C] -> EntityEncoder -> X [B*N,T,K,D]
        -> ST path and TS path -> EntityRouter (per-entity mix) -> fused [B*N,T,K,D]
    all joints -> GlobalPoseStream -> f_global
    [f_global ; fused] -> MicroActionHead -> logits;   L = CE + lambda * MAC(X_ST, X_TS)

``N`` is clips x people per sample; their scores are averaged.
"""
import copy
from typing import Dict, List, Optional, Union

import torch
from mmengine.model import BaseModel
from torch import Tensor, nn

from mdn.layouts import get_layout
from mdn.registry import MODELS
from mdn.structures import MicroActionDataSample

from .compiled_core import CompiledCoreMixin, CompileSpec

PATHS = ('dual', 'st', 'ts')
FUSIONS = ('route', 'mean')
INPUT_NORMS = (None, 'batch')


@MODELS.register_module()
class MicroDualNet(CompiledCoreMixin, BaseModel):
    """The recogniser; sub-module configs get the shared sizes filled in, so configs name
    each size once.

    Args:
        layout / entity_set: keypoint layout and entity grouping (read by the encoder too).
        num_classes: classes of the head.
        in_channels: C per joint; embed_dim: D of entity tokens.
        paths: 'dual' (both, the full model), 'st' or 'ts' (single-path ablations).
        fusion: 'route' (entity-level router) or 'mean' (fixed 0.5/0.5, ablation).
        input_norm: 'batch' normalises every (joint, channel) over batch and time with a
            BatchNorm1d before anything else (the ``data_bn`` of ST-GCN-style models): raw
            velocities are heavy-tailed (Kinect jumps reach 20x their std) and would otherwise
            dominate the token embeddings. None (default) keeps the model batch-independent.
        encoder / path / router / mac_loss / head / global_stream: sub-module configs;
            ``global_stream=None`` switches the global stream off; ``mac_loss=None`` or
            ``loss_weight=0`` drops MAC.
        compile_cfg: ``torch.compile`` of the tensor core (forward + losses in training,
            forward in inference; see :mod:`.compiled_core`): False (default, eager), True,
            a mode name ('reduce-overhead' captures CUDA graphs) or a dict of arguments.
    """

    def __init__(self, layout: str, num_classes: int, entity_set='body6', in_channels: int = 3,
                 embed_dim: int = 128, paths: str = 'dual', fusion: str = 'route',
                 input_norm: Optional[str] = None,
                 encoder: Optional[dict] = None, path: Optional[dict] = None,
                 router: Optional[dict] = None, mac_loss: Optional[dict] = None,
                 head: Optional[dict] = None, global_stream: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None, init_cfg: Optional[dict] = None,
                 compile_cfg: CompileSpec = False):
        if data_preprocessor is None:
            data_preprocessor = dict(type='MicroActionDataPreprocessor')
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.set_compile(compile_cfg)
        if paths not in PATHS:
            raise ValueError(f'paths must be one of {PATHS}, got {paths!r}')
        if fusion not in FUSIONS:
            raise ValueError(f'fusion must be one of {FUSIONS}, got {fusion!r}')
        if input_norm not in INPUT_NORMS:
            raise ValueError(f'input_norm must be one of {INPUT_NORMS}, got {input_norm!r}')
        self.layout = get_layout(layout)
        self.paths, self.fusion = paths, fusion
        self.input_norm = (nn.BatchNorm1d(self.layout.num_keypoints * in_channels)
                           if input_norm == 'batch' else None)
        D = embed_dim
        self.encoder = MODELS.build(_with(encoder or dict(type='EntityEncoder'), layout=layout,
                                          entity_set=entity_set, in_channels=in_channels,
                                          embed_dim=D))
        K = self.encoder.num_entities
        self.entity_names = self.encoder.partition.names
        path = path or dict(type='FactorisedPath')
        self.st_path = MODELS.build(_with(path, order='st', dim=D)) if paths != 'ts' else None
        self.ts_path = MODELS.build(_with(path, order='ts', dim=D)) if paths != 'st' else None
        dual = paths == 'dual'
        self.router = (MODELS.build(_with(router or dict(type='EntityRouter'), num_entities=K,
                                          dim=D)) if dual and fusion == 'route' else None)
        use_mac = dual and mac_loss is not None and mac_loss.get('loss_weight', 0.1) > 0
        self.mac_loss = MODELS.build(_with(mac_loss, dim=D)) if use_mac else None
        self.global_stream = None
        global_dim = 0
        if global_stream is not None:
            self.global_stream = MODELS.build(_with(global_stream,
                                                    num_keypoints=self.layout.num_keypoints,
                                                    in_channels=in_channels))
            global_dim = self.global_stream.out_dim
        self.head = MODELS.build(_with(head or dict(type='MicroActionHead'),
                                       num_classes=num_classes, num_entities=K, dim=D,
                                       global_dim=global_dim))

    # --------------------------------------------------------------- features
    def extract_feat(self, inputs: Tensor) -> Dict[str, Tensor]:
        """``inputs [B, N, T, V, C]`` -> dict(logits [B*N, classes], weights [B*N, K, 2] or
        [B*N, T, K, 2], x_st / x_ts [B*N, T, K, D] (None when the path is off))."""
        if inputs.dim() == 4:
            inputs = inputs[:, None]
        B, N, T, V, C = inputs.shape
        raw = inputs.reshape(B * N, T, V, C)
        present = raw.detach().abs().amax(-1) > 0  # missing joints are all-zero features
        x = self._normalise_input(raw)
        tokens = self.encoder(x, present)
        x_st = self.st_path(tokens) if self.st_path is not None else None
        x_ts = self.ts_path(tokens) if self.ts_path is not None else None
        fused, weights = self._fuse(x_st, x_ts)
        global_feat = self.global_stream(x) if self.global_stream is not None else None
        logits = self.head(fused, global_feat)
        return dict(logits=logits, weights=weights, x_st=x_st, x_ts=x_ts)

    def _normalise_input(self, x: Tensor) -> Tensor:
        """``[B, T, V, C]``, each (joint, channel) standardised over batch and time."""
        if self.input_norm is None:
            return x
        B, T, V, C = x.shape
        if V * C != self.input_norm.num_features:
            raise ValueError(f'MicroDualNet for layout {self.layout.name} expects '
                             f'[B, N, T, {self.layout.num_keypoints}, C] input with '
                             f'{self.input_norm.num_features // self.layout.num_keypoints} '
                             f'channels, got {list(x.shape)}')
        h = self.input_norm(x.permute(0, 2, 3, 1).reshape(B, V * C, T))
        return h.view(B, V, C, T).permute(0, 3, 1, 2)

    def _fuse(self, x_st, x_ts):
        ref = x_st if x_st is not None else x_ts
        BN, T, K, _ = ref.shape
        if self.paths != 'dual':
            weights = ref.new_zeros(BN, K, 2)
            weights[..., 0 if self.paths == 'st' else 1] = 1.0
            return ref, weights
        if self.router is None:  # mean fusion
            return 0.5 * (x_st + x_ts), ref.new_full((BN, K, 2), 0.5)
        return self.router(x_st, x_ts)

    # --------------------------------------------------------------- modes
    def forward(self, inputs: Tensor, data_samples: Optional[List] = None,
                mode: str = 'tensor') -> Union[Dict[str, Tensor], List, Tensor]:
        """``inputs [B, N, T, V, C]``; mode 'loss' | 'predict' | 'tensor' (logits [B, cls])."""
        if mode not in ('loss', 'predict', 'tensor'):
            raise ValueError(f'invalid mode {mode!r}; use loss, predict or tensor')
        self._check_layout(data_samples)
        if mode == 'loss':
            labels = torch.cat([s.gt_label for s in data_samples]).to(inputs.device)
            return self._core('_loss_core')(inputs, labels)
        logits, weights = self._core('_infer_core')(inputs)
        if mode == 'tensor':
            return logits.mean(1)
        B, N = logits.shape[:2]
        return self._predict(logits, weights, data_samples, B, N)

    def _infer_core(self, inputs: Tensor) -> 'tuple[Tensor, Tensor]':
        """``inputs [B, N, T, V, C]`` -> logits ``[B, N, classes]``, routing weights
        ``[B*N, K, 2]`` (``[B*N, T, K, 2]`` per frame): the tensor work of inference."""
        out = self.extract_feat(inputs)
        B, N = inputs.shape[0], (inputs.shape[1] if inputs.dim() == 5 else 1)
        return out['logits'].view(B, N, -1), out['weights']

    def _loss_core(self, inputs: Tensor, labels: Tensor) -> Dict[str, Tensor]:
        """``inputs [B, N, T, V, C]``, ``labels [B]`` -> the loss dict: the tensor work of
        a training step (compiled as one graph with ``compile_cfg``)."""
        out = self.extract_feat(inputs)
        B, N = inputs.shape[0], (inputs.shape[1] if inputs.dim() == 5 else 1)
        return self._losses(out['logits'].view(B, N, -1).mean(1), out, labels)

    def _loss(self, logits: Tensor, out: dict, data_samples) -> Dict[str, Tensor]:
        """The loss dict from the data samples' labels (subclasses' eager forward)."""
        labels = torch.cat([s.gt_label for s in data_samples]).to(logits.device)
        return self._losses(logits, out, labels)

    def _losses(self, logits: Tensor, out: dict, labels: Tensor) -> Dict[str, Tensor]:
        """``logits [B, classes]``, ``labels [B]`` -> CE (+ MAC) and logged statistics."""
        losses = dict(loss_cls=self.head.loss(logits, labels))
        if self.mac_loss is not None:
            losses['loss_mac'] = self.mac_loss(out['x_st'], out['x_ts'], labels)
        with torch.no_grad():
            losses['acc'] = (logits.argmax(-1) == labels).float().mean()
            w = out['weights']
            losses['route_st'] = w[..., 0].mean()
            losses['route_entropy'] = -(w * w.clamp_min(1e-8).log()).sum(-1).mean()
        return losses

    def _predict(self, logits, weights, data_samples, B, N) -> List[MicroActionDataSample]:
        scores = logits.softmax(-1).mean(1)  # average over clips / people
        if weights.dim() == 4:  # per-frame routing: report the clip mean
            weights = weights.mean(1)
        weights = weights.view(B, N, *weights.shape[1:]).mean(1)
        if data_samples is None:
            data_samples = [MicroActionDataSample() for _ in range(B)]
        for sample, score, w in zip(data_samples, scores, weights):
            sample.pred_score = score
            sample.pred_label = score.argmax(-1, keepdim=True)
            sample.entity_weights = w
            sample.set_metainfo(dict(entity_names=self.entity_names))
        return data_samples

    def _check_layout(self, data_samples) -> None:
        if not data_samples:
            return
        layout = data_samples[0].metainfo.get('layout')
        if layout is not None and layout != self.layout.name:
            raise ValueError(f'the batch was prepared for layout "{layout}" but the model is '
                             f'built for "{self.layout.name}"')


def _with(cfg: Optional[dict], **defaults) -> Optional[dict]:
    """Copy of ``cfg`` with ``defaults`` filled in where the config does not set them."""
    if cfg is None:
        return None
    cfg = copy.deepcopy(dict(cfg))
    for key, value in defaults.items():
        cfg.setdefault(key, value)
    return cfg
