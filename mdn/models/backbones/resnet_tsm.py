"""ResNet with a temporal shift in every residual branch (TSM, Lin et al., ICCV 2019), the
backbone of the paper's RGB stream (METHOD.md Sec. 2: ResNet-101 + TSM).

Frames of a clip are stacked on the batch axis, ``[B*T, 3, H, W]``. Before the first
convolution of each residual branch, ``1/shift_div`` of the channels take the values of the
next frame and another ``1/shift_div`` those of the previous frame (zeros past the clip's
ends); the identity path is not shifted, so each block mixes neighbouring frames at zero
FLOPs while the shortcut keeps the frame's own features.

Module names follow torchvision's ResNet, so torchvision ImageNet weights load as they are;
mmaction2 TSM checkpoints (``conv1.conv``, ``conv1.bn``, ``layerX.Y.conv1.net.conv``,
``downsample.conv`` ...) are renamed on load (:func:`convert_state_dict`).
"""
import re
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

from mdn.registry import MODELS

DEPTHS = {18: ('basic', (2, 2, 2, 2)), 34: ('basic', (3, 4, 6, 3)),
          50: ('bottleneck', (3, 4, 6, 3)), 101: ('bottleneck', (3, 4, 23, 3))}


def temporal_shift(x: Tensor, num_segments: int, shift_div: int) -> Tensor:
    """Shape: ``[N*T, C, H, W] -> [N*T, C, H, W]``.

    Channels ``[0, C/d)`` of frame t come from frame t+1, channels ``[C/d, 2C/d)`` from frame
    t-1 (zeros at the clip's last / first frame); the rest stay. The direction matches
    mmaction2's TSM, so its Kinetics weights see the features they were trained on.
    """
    NT, C, H, W = x.shape
    if NT % num_segments:
        raise ValueError(f'temporal_shift: batch {NT} is not a multiple of num_segments '
                         f'{num_segments} (frames of a clip must be stacked on the batch axis)')
    fold = C // shift_div
    x = x.view(NT // num_segments, num_segments, C, H, W)
    zero = x.new_zeros(x.shape[0], 1, fold, H, W)
    from_next = torch.cat([x[:, 1:, :fold], zero], 1)
    from_prev = torch.cat([zero, x[:, :-1, fold:2 * fold]], 1)
    return torch.cat([from_next, from_prev, x[:, :, 2 * fold:]], 2).view(NT, C, H, W)


class BasicBlock(nn.Module):
    """Two 3x3 convs; TSM shifts the branch input."""
    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 downsample: Optional[nn.Module] = None, shift=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.downsample, self.shift = downsample, shift

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(self.shift(x) if self.shift else x)))
        return self.relu(self.bn2(self.conv2(out)) + identity)


class Bottleneck(nn.Module):
    """1x1 -> 3x3 (stride here, torchvision's v1.5) -> 1x1; TSM shifts the branch input."""
    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 downsample: Optional[nn.Module] = None, shift=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample, self.shift = downsample, shift

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(self.shift(x) if self.shift else x)))
        out = self.relu(self.bn2(self.conv2(out)))
        return self.relu(self.bn3(self.conv3(out)) + identity)


class _Shift:
    """A picklable callable (not a Module: no parameters, no state-dict keys)."""

    def __init__(self, num_segments: int, shift_div: int):
        self.num_segments, self.shift_div = num_segments, shift_div

    def __call__(self, x: Tensor) -> Tensor:
        return temporal_shift(x, self.num_segments, self.shift_div)


@MODELS.register_module()
class ResNetTSM(nn.Module):
    """``[B*T, 3, H, W]`` frames -> feature maps of the stages in ``out_indices``.

    Stage i (``layer{i+1}``) has stride ``4 * 2**i``: at 224 pixels stage 2 is 14x14
    (stride 16, 1024 channels for R50/R101) and stage 3 is 7x7 (stride 32, 2048). Stages
    after the last one asked for are not built.

    Args:
        depth: 18, 34, 50 or 101.
        num_segments: T, frames per clip (the shift needs to know where clips end).
        shift_div: 1/shift_div of the channels move forward, as many backward (TSM: 8).
        out_indices: stages whose maps are returned, in order.
        pretrained: torchvision ImageNet or mmaction2 TSM checkpoint (path or URL), loaded by
            :meth:`init_weights`, i.e. when the Runner initialises the model.
        norm_eval: keep BatchNorm in eval mode while training (frozen statistics: small
            per-GPU batches of 8-frame clips give noisy batch statistics).
        frozen_stages: the stem and stages ``< frozen_stages`` get no gradient and keep their
            BatchNorm statistics (0: the stem only; -1: nothing frozen).
    """

    def __init__(self, depth: int = 50, num_segments: int = 8, shift_div: int = 8,
                 out_indices: Sequence[int] = (3,), pretrained: Optional[str] = None,
                 norm_eval: bool = False, frozen_stages: int = -1, in_channels: int = 3):
        super().__init__()
        if depth not in DEPTHS:
            raise ValueError(f'ResNetTSM depth must be one of {sorted(DEPTHS)}, got {depth}')
        if not out_indices or not set(out_indices) <= {0, 1, 2, 3}:
            raise ValueError(f'out_indices must be stage numbers in 0..3, got {out_indices}')
        if shift_div < 2:
            raise ValueError(f'shift_div must be >= 2 (2 folds are shifted), got {shift_div}')
        kind, blocks = DEPTHS[depth]
        block = BasicBlock if kind == 'basic' else Bottleneck
        self.depth, self.num_segments, self.shift_div = depth, num_segments, shift_div
        self.out_indices, self.pretrained = tuple(out_indices), pretrained
        self.norm_eval, self.frozen_stages = norm_eval, frozen_stages
        self.conv1 = nn.Conv2d(in_channels, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        shift = _Shift(num_segments, shift_div)
        inplanes, self.out_channels, self.strides = 64, [], []
        for i in range(max(self.out_indices) + 1):
            planes, stride = 64 * 2 ** i, 1 if i == 0 else 2
            downsample = None
            if stride != 1 or inplanes != planes * block.expansion:
                downsample = nn.Sequential(
                    nn.Conv2d(inplanes, planes * block.expansion, 1, stride, bias=False),
                    nn.BatchNorm2d(planes * block.expansion))
            layers = [block(inplanes, planes, stride, downsample, shift)]
            inplanes = planes * block.expansion
            layers += [block(inplanes, planes, shift=shift) for _ in range(1, blocks[i])]
            self.add_module(f'layer{i + 1}', nn.Sequential(*layers))
            self.out_channels.append(inplanes)
            self.strides.append(4 * 2 ** i)
        self._init_random()
        self._freeze()

    def _init_random(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def _frozen(self) -> List[nn.Module]:
        stages = [self.conv1, self.bn1] + [getattr(self, f'layer{i + 1}')
                                           for i in range(len(self.out_channels))]
        return stages[:self.frozen_stages + 2] if self.frozen_stages >= 0 else []

    def _freeze(self) -> None:
        for module in self._frozen():
            for p in module.parameters():
                p.requires_grad_(False)

    def init_weights(self) -> None:
        """Load ``pretrained`` (if set); called by the Runner before training."""
        if self.pretrained:
            load_resnet_checkpoint(self, self.pretrained)

    def train(self, mode: bool = True) -> 'ResNetTSM':
        super().train(mode)
        if mode:  # frozen stages keep their BatchNorm statistics too
            for module in self._frozen():
                module.eval()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, nn.BatchNorm2d):
                    m.eval()
        return self

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """Shape: ``[B*T, C_in, H, W] -> ([B*T, C_i, H/s_i, W/s_i] for i in out_indices)``."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        outs = {}
        for i in range(len(self.out_channels)):
            x = getattr(self, f'layer{i + 1}')(x)
            outs[i] = x
        return tuple(outs[i] for i in self.out_indices)


# ----------------------------------------------------------------------------- weights
_MMACTION_RULES = (  # mmaction2 ConvModule / TemporalShift names -> torchvision names
    (r'\.net\.', '.'),
    (r'^conv1\.conv\.', 'conv1.'), (r'^conv1\.bn\.', 'bn1.'),
    (r'^(layer\d+\.\d+)\.conv(\d)\.conv\.', r'\1.conv\2.'),
    (r'^(layer\d+\.\d+)\.conv(\d)\.bn\.', r'\1.bn\2.'),
    (r'\.downsample\.conv\.', '.downsample.0.'), (r'\.downsample\.bn\.', '.downsample.1.'),
)


def convert_state_dict(state: Dict[str, Tensor]) -> Tuple[Dict[str, Tensor], str]:
    """A checkpoint's weights in this module's names, and the naming scheme found.

    Handles a ``state_dict`` / ``model`` wrapper, ``module.`` (DDP) and ``backbone.``
    prefixes (other top-level parts such as ``cls_head.`` are dropped), torchvision's
    classifier ``fc.*`` (dropped) and mmaction2's ConvModule/TemporalShift names.
    """
    for key in ('state_dict', 'model'):
        if isinstance(state.get(key), dict):
            state = state[key]
    state = {re.sub(r'^module\.', '', k): v for k, v in state.items()}
    if any(k.startswith('backbone.') for k in state):
        state = {k[len('backbone.'):]: v for k, v in state.items() if k.startswith('backbone.')}
    mmaction = any(re.search(r'\.(conv|bn|net)\.', k) for k in state)
    out = {}
    for key, value in state.items():
        if key.startswith('fc.'):
            continue
        if mmaction:
            for pattern, repl in _MMACTION_RULES:
                key = re.sub(pattern, repl, key)
        out[key] = value
    return out, 'mmaction2' if mmaction else 'torchvision'


def load_resnet_checkpoint(model: nn.Module, filename: str) -> List[str]:
    """Load torchvision or mmaction2 ResNet(-TSM) weights (local path or URL, through
    MMEngine's ``CheckpointLoader``) into ``model``; returns the loaded keys.

    Stages the model does not build (e.g. ``layer4`` with ``out_indices=(2,)``) are skipped.
    Any other missing or unexpected key, or a shape mismatch, raises ``ValueError`` naming the
    file and the keys, so a checkpoint of another depth or architecture never loads half-way.
    """
    from mmengine.runner import CheckpointLoader
    raw = CheckpointLoader.load_checkpoint(filename, map_location='cpu', logger='silent')
    if not isinstance(raw, dict):
        raise ValueError(f'{filename}: not a state-dict checkpoint (got {type(raw).__name__})')
    state, scheme = convert_state_dict(raw)
    own = model.state_dict()
    built = {k.split('.')[0] for k in own}
    state = {k: v for k, v in state.items()
             if not (re.match(r'layer\d+\.', k) and k.split('.')[0] not in built)}
    missing = sorted(k for k in own if k not in state and not k.endswith('num_batches_tracked'))
    unexpected = sorted(k for k in state if k not in own)
    wrong = sorted(f'{k} {tuple(state[k].shape)} vs {tuple(own[k].shape)}' for k in own
                   if k in state and state[k].shape != own[k].shape)
    if missing or unexpected or wrong:
        depth = getattr(model, 'depth', '?')
        raise ValueError(
            f'{filename} does not fit ResNetTSM(depth={depth}) (read as {scheme} names): '
            f'{len(missing)} expected key(s) missing {missing[:8]}, {len(unexpected)} '
            f'unexpected {unexpected[:8]}, {len(wrong)} of another shape {wrong[:4]}; '
            f'expected keys look like {sorted(own)[:4]}')
    model.load_state_dict(state, strict=False)
    return sorted(state)
