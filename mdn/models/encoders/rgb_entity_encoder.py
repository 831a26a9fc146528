"""The paper's Spatial Entity Module on RGB (METHOD.md Sec. 2), and the per-entity fusion of
RGB and pose tokens (ours: in the paper keypoints place the boxes; how else pose enters its
model is not described).

    frames [B, T, 3, H, W] -> ResNet-TSM -> map of stage ``roi_stage`` [B*T, C, h, w]
        -> ROIAlign of each entity box -> depthwise-separable conv -> mean -> [B, T, K, D]
        (+ entity / time embeddings; a box marked missing gets a learned "no box" token)
    last stage map -> mean over space and time -> linear -> f_CNN [B, G]   (the global stream)
"""
from typing import Dict, Optional, Tuple

import torch
from torch import Tensor, nn

from mdn.layouts import ENTITY_ORDER, get_layout
from mdn.registry import MODELS

from ..layers.roi_align import RoIAlign

FUSION_MODES = ('sum', 'concat')


@MODELS.register_module()
class RGBEntityEncoder(nn.Module):
    """``imgs [Bc, T, 3, H, W]`` + ``boxes [Bc*M, T, K, 4]`` -> entity tokens, box mask and
    the global CNN feature.

    Boxes come for the six canonical entities; the encoder keeps those of its entity set.
    ``M`` people share a clip's frames (one backbone pass per clip), each with their own
    boxes. Boxes are in input pixels; they are pooled from stage ``roi_stage`` of the backbone:
    at 224 pixels stage 3 (stride 32) is 7x7 and a hand covers about one cell, stage 2
    (stride 16, the default) is 14x14.

    Args:
        layout / entity_set: the entities (K), as for the pose encoder.
        embed_dim: D.
        backbone: ResNet-TSM config; ``num_segments`` and ``out_indices`` are filled in.
        roi_stage: backbone stage the boxes are pooled from (2: stride 16, 3: stride 32).
        roi_size / sampling_ratio / roi_backend: ROIAlign output size, samples per bin
            (<= 0: adaptive) and backend ('auto' | 'matmul' | 'torchvision').
        global_dim: size of f_CNN (a linear map of the last stage's pooled features; 0 keeps
            the raw channels).
        num_frames: T, RGB frames per clip (TSM shifts within these).
        max_frames: longest T the time embedding supports.
    """

    def __init__(self, layout: str, entity_set='body6', embed_dim: int = 128,
                 backbone: Optional[dict] = None, roi_stage: int = 2, roi_size: int = 7,
                 sampling_ratio: int = 2, roi_backend: str = 'auto', global_dim: int = 256,
                 num_frames: int = 8, max_frames: int = 64, dropout: float = 0.0):
        super().__init__()
        if roi_stage not in (0, 1, 2, 3):
            raise ValueError(f'roi_stage must be 0..3, got {roi_stage}')
        partition = get_layout(layout).partition(entity_set)
        unboxed = [n for n in partition.names if n not in ENTITY_ORDER]
        if unboxed:
            raise ValueError(f'the RGB entity stream has boxes for {list(ENTITY_ORDER)} only; '
                             f'entity set {entity_set!r} asks for {unboxed}')
        # boxes come for the six canonical entities (EntityBoxes); keep this model's
        self.register_buffer('box_index', torch.tensor(
            [ENTITY_ORDER.index(n) for n in partition.names]), persistent=False)
        self.num_entities, self.embed_dim, self.num_frames = (partition.num_entities,
                                                              embed_dim, num_frames)
        cfg = dict(backbone or dict(type='ResNetTSM', depth=50))
        cfg.setdefault('num_segments', num_frames)
        cfg['out_indices'] = (roi_stage, 3) if roi_stage != 3 else (3,)
        self.backbone = MODELS.build(cfg)
        self.roi_stage = roi_stage
        channels = self.backbone.out_channels[roi_stage]
        self.roi_align = RoIAlign(roi_size, 1.0 / self.backbone.strides[roi_stage],
                                  sampling_ratio, aligned=True, backend=roi_backend)
        # depthwise-separable conv (the paper's SEM): per-channel 3x3, then channels -> D
        self.roi_head = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1, groups=channels, bias=False),
            nn.BatchNorm2d(channels), nn.ReLU(inplace=True),
            nn.Conv2d(channels, embed_dim, 1), nn.GELU())
        self.norm = nn.LayerNorm(embed_dim)
        self.drop = nn.Dropout(dropout)
        self.missing_token = nn.Parameter(torch.zeros(self.num_entities, embed_dim))
        self.entity_embed = nn.Parameter(torch.zeros(self.num_entities, embed_dim))
        self.time_embed = nn.Parameter(torch.zeros(max_frames, embed_dim))
        for p in (self.missing_token, self.entity_embed, self.time_embed):
            nn.init.trunc_normal_(p, std=0.02)
        last = self.backbone.out_channels[3]
        self.global_proj = nn.Linear(last, global_dim) if global_dim else nn.Identity()
        self.global_dim = global_dim or last

    def init_weights(self) -> None:
        """Load the backbone's ``pretrained`` weights (the Runner calls this)."""
        self.backbone.init_weights()

    def forward(self, imgs: Tensor, boxes: Tensor, box_valid: Tensor
                ) -> Tuple[Tensor, Tensor, Tensor]:
        """Shape: ``[Bc, T, 3, H, W], [Bc*M, T, 6, 4], [Bc*M, T, 6] -> tokens [Bc*M, T, K, D],
        valid [Bc*M, T, K], f_CNN [Bc*M, G]`` (boxes of the six canonical entities in
        ``ENTITY_ORDER``; the model's K are picked from them)."""
        Bc, T, _, H, W = imgs.shape
        if boxes.shape[2] != len(ENTITY_ORDER):
            raise ValueError(f'RGBEntityEncoder expects boxes of the {len(ENTITY_ORDER)} '
                             f'canonical entities {ENTITY_ORDER}, got {list(boxes.shape)}')
        boxes, box_valid = boxes[:, :, self.box_index], box_valid[:, :, self.box_index]
        BM, _, K, _ = boxes.shape
        if T != self.num_frames or K != self.num_entities or BM % Bc:
            raise ValueError(f'RGBEntityEncoder expects {self.num_frames} frames and '
                             f'{self.num_entities} entity boxes per frame, got imgs '
                             f'{list(imgs.shape)} and boxes {list(boxes.shape)}')
        M = BM // Bc
        maps = self.backbone(imgs.reshape(Bc * T, *imgs.shape[2:]))
        fmap, last = maps[0], maps[-1]
        # all people's boxes of a frame: [Bc*M, T, K, 4] -> [Bc*T, M*K, 4]
        per_frame = boxes.view(Bc, M, T, K, 4).permute(0, 2, 1, 3, 4).reshape(Bc * T, M * K, 4)
        rois = self.roi_align(fmap, per_frame)  # [Bc*T, M*K, C, s, s]
        h = self.roi_head(rois.flatten(0, 1)).mean((2, 3))  # [Bc*T*M*K, D]
        h = h.view(Bc, T, M, K, -1).permute(0, 2, 1, 3, 4).reshape(BM, T, K, -1)
        valid = box_valid.bool()
        tokens = torch.where(valid[..., None], self.norm(h), self.missing_token)
        tokens = self.drop(tokens) + self.entity_embed + self.time_embed[:T, None, :]
        glob = last.mean((2, 3)).view(Bc, T, -1).mean(1)  # [Bc, C_last]
        glob = self.global_proj(glob).repeat_interleave(M, 0)
        return tokens, valid, glob


@MODELS.register_module()
class EntityTokenFusion(nn.Module):
    """Per-entity fusion of pose tokens ``[B, T, K, D]`` and RGB tokens ``[B, Tr, K, D]``.

    RGB tokens are first brought to the pose frame rate: pose step t takes RGB step
    ``floor(t * Tr / T)``, the stretch its frame was read from (``DecodeVideoFrames``).

    * ``'sum'`` (default): ``pose + W rgb``. A linear map of ``[pose ; rgb]`` equals
      ``W_p pose + W_r rgb``, and the paths' first layers already map the pose side, so the
      sum loses nothing a concat+linear would give while keeping D, the paths and the
      pose-only behaviour where RGB carries nothing (a zero ``W rgb``).
    * ``'concat'``: ``Linear([pose ; rgb])`` (for ablations).

    Missing-aware: a missing box's RGB token is the encoder's learned per-entity "no box"
    token, so an entity whose keypoints were not found adds a constant the model can learn to
    read as "not seen", never features pooled from an invented region.
    """

    def __init__(self, dim: int, mode: str = 'sum'):
        super().__init__()
        if mode not in FUSION_MODES:
            raise ValueError(f'EntityTokenFusion mode must be one of {FUSION_MODES}, '
                             f'got {mode!r}')
        self.mode = mode
        self.proj = nn.Linear(dim if mode == 'sum' else 2 * dim, dim)

    def forward(self, pose: Tensor, rgb: Tensor) -> Tensor:
        """Shape: ``[B, T, K, D], [B, Tr, K, D] -> [B, T, K, D]``."""
        B, T, K, D = pose.shape
        Tr = rgb.shape[1]
        index = torch.div(torch.arange(T, device=rgb.device) * Tr, T, rounding_mode='floor')
        rgb = rgb[:, index]
        if self.mode == 'sum':
            return pose + self.proj(rgb)
        return self.proj(torch.cat([pose, rgb], -1))


def rgb_inputs(inputs: Dict[str, Tensor]) -> Tuple[Tensor, Tensor, Tensor]:
    """``inputs`` of :class:`PackRGBPoseInputs` batched: ``imgs [B, Nc, T, 3, H, W]``,
    ``boxes [B, N, T, K, 4]``, ``box_valid [B, N, T, K]`` -> the encoder's flat arguments."""
    missing = [k for k in ('imgs', 'boxes', 'box_valid') if k not in inputs]
    if missing:
        raise KeyError(f'the RGB stream needs {missing} in the batch; use an RGB pipeline '
                       '(DecodeVideoFrames ... PackRGBPoseInputs)')
    imgs, boxes, valid = inputs['imgs'], inputs['boxes'], inputs['box_valid']
    return imgs.flatten(0, 1), boxes.flatten(0, 1), valid.flatten(0, 1)
