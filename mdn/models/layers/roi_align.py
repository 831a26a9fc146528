"""ROIAlign in plain PyTorch: two interpolation matrices per box and a batched matmul.

ROIAlign (He et al., Mask R-CNN) averages bilinear samples on a regular grid inside each bin.
Bilinear weights factor into a y part and an x part, and so does the grid, so each output is

    out[c, p, q] = sum_{h, w} A_y[p, h] * A_x[q, w] * F[c, h, w],   i.e.  A_y @ F[c] @ A_x^T

with ``A_y [out_h, H]`` the mean over the bin's y samples of their 1-D bilinear weights (likewise
``A_x``). That is two small matmuls per box instead of ``C * out_h * out_w * samples`` gathers,
differentiable by autograd, exact up to float rounding against torchvision's kernel (including
``aligned``, the adaptive sampling ratio and the out-of-image rule). torchvision has no CPU build
for this project's torch, and compiled mmcv ops are not available; where torchvision imports,
``backend='torchvision'`` (or 'auto') uses its kernel instead.
"""
from typing import Tuple, Union

import torch
from torch import Tensor, nn

BACKENDS = ('auto', 'matmul', 'torchvision')


def _axis_weights(start: Tensor, length: Tensor, size: int, bins: int, ratio: int) -> Tensor:
    """``[R, bins, size]``: mean 1-D bilinear weights of the samples of each bin.

    ``start, length [R]`` in feature-map units; ``ratio`` > 0 samples per bin, else
    ``ceil(length / bins)`` per box (torchvision's adaptive rule; boxes of length 0 get 0).
    """
    R = start.shape[0]
    bin_size = length / bins
    if ratio > 0:
        counts = torch.full_like(start, ratio)
        max_count = ratio
    else:
        counts = torch.ceil(length / bins).clamp(min=0)
        max_count = max(int(counts.max().item()) if R else 1, 1)
    j = torch.arange(max_count, dtype=start.dtype, device=start.device)
    p = torch.arange(bins, dtype=start.dtype, device=start.device)
    # sample positions [R, bins, max_count]
    step = (bin_size / counts.clamp(min=1))[:, None, None]
    pos = (start[:, None, None] + p[None, :, None] * bin_size[:, None, None]
           + (j[None, None, :] + 0.5) * step)
    used = (j[None, None, :] < counts[:, None, None]).to(start.dtype)
    inside = ((pos >= -1.0) & (pos <= size)).to(start.dtype) * used
    pos = pos.clamp(min=0)
    low = pos.floor().clamp(max=size - 1)
    pos = torch.where(low >= size - 1, low, pos)
    frac = pos - low  # 0 at the last row/column, where low == high
    high = (low + 1).clamp(max=size - 1)
    grid = torch.arange(size, dtype=start.dtype, device=start.device)
    weights = ((1 - frac)[..., None] * (grid == low[..., None]).to(start.dtype)
               + frac[..., None] * (grid == high[..., None]).to(start.dtype))
    weights = (weights * inside[..., None]).sum(2)  # [R, bins, size]
    return weights / counts.clamp(min=1)[:, None, None]


def roi_align(features: Tensor, boxes: Tensor, output_size: Union[int, Tuple[int, int]],
              spatial_scale: float = 1.0, sampling_ratio: int = 0,
              aligned: bool = True) -> Tensor:
    """Pool ``boxes [N, K, 4]`` (x1, y1, x2, y2 in input pixels, K boxes per image) from
    ``features [N, C, H, W]``; shape ``-> [N, K, C, out_h, out_w]``.

    ``aligned=True`` shifts box corners by -0.5 so that pixel centres, not corners, sit on
    integer coordinates (torchvision/Detectron2's correct variant). ``sampling_ratio`` <= 0
    uses ``ceil(box_size / out_size)`` samples per bin, as torchvision does.
    """
    N, C, H, W = features.shape
    if boxes.dim() != 3 or boxes.shape[0] != N or boxes.shape[-1] != 4:
        raise ValueError(f'roi_align: boxes must be [N={N}, K, 4], got {list(boxes.shape)}')
    out_h, out_w = (output_size, output_size) if isinstance(output_size, int) else output_size
    K = boxes.shape[1]
    # interpolation weights in float32 at least (float16 coordinates would be coarse)
    wdtype = torch.float64 if features.dtype == torch.float64 else torch.float32
    b = boxes.reshape(-1, 4).to(wdtype) * spatial_scale - (0.5 if aligned else 0.0)
    w, h = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    if not aligned:  # legacy: boxes at least 1 feature cell
        w, h = w.clamp(min=1.0), h.clamp(min=1.0)
    a_y = _axis_weights(b[:, 1], h, H, out_h, sampling_ratio).view(N, K * out_h, H)
    a_x = _axis_weights(b[:, 0], w, W, out_w, sampling_ratio).view(N, K, out_w, W)
    a_y, a_x = a_y.to(features.dtype), a_x.to(features.dtype)
    # contract H: [N, K*out_h, H] @ [N, H, C*W] -> [N, K, out_h, C, W]
    rows = torch.bmm(a_y, features.permute(0, 2, 1, 3).reshape(N, H, C * W))
    rows = rows.view(N, K, out_h * C, W)
    # contract W: [N, K, out_h*C, W] @ [N, K, W, out_w] -> [N, K, out_h, C, out_w]
    out = torch.matmul(rows, a_x.transpose(2, 3)).view(N, K, out_h, C, out_w)
    return out.permute(0, 1, 3, 2, 4)


def torchvision_available() -> bool:
    try:
        from torchvision.ops import roi_align as _  # noqa: F401
    except Exception:  # ImportError, or a CUDA-only wheel failing to load its libraries
        return False
    return True


class RoIAlign(nn.Module):
    """Module form of :func:`roi_align`; ``backend`` 'matmul' (plain PyTorch, everywhere),
    'torchvision' (its kernel; an error where it does not import) or 'auto' (torchvision when
    it imports, else matmul). Both give the same numbers (tests/test_rgb_stream.py)."""

    def __init__(self, output_size: Union[int, Tuple[int, int]], spatial_scale: float = 1.0,
                 sampling_ratio: int = 0, aligned: bool = True, backend: str = 'auto'):
        super().__init__()
        if backend not in BACKENDS:
            raise ValueError(f'RoIAlign backend must be one of {BACKENDS}, got {backend!r}')
        if backend == 'torchvision' and not torchvision_available():
            raise ImportError('RoIAlign(backend="torchvision"): torchvision.ops does not import '
                              'here; use backend="matmul"')
        self.output_size = ((output_size, output_size) if isinstance(output_size, int)
                            else tuple(output_size))
        self.spatial_scale, self.sampling_ratio, self.aligned = (spatial_scale, sampling_ratio,
                                                                 aligned)
        self.use_torchvision = backend == 'torchvision' or (backend == 'auto'
                                                            and torchvision_available())

    def forward(self, features: Tensor, boxes: Tensor) -> Tensor:
        """Shape: ``[N, C, H, W], [N, K, 4] -> [N, K, C, out_h, out_w]``."""
        if not self.use_torchvision:
            return roi_align(features, boxes, self.output_size, self.spatial_scale,
                             self.sampling_ratio, self.aligned)
        from torchvision.ops import roi_align as tv_roi_align
        N, K = boxes.shape[:2]
        index = torch.arange(N, device=boxes.device, dtype=features.dtype).repeat_interleave(K)
        rois = torch.cat([index[:, None], boxes.reshape(-1, 4).to(features.dtype)], 1)
        out = tv_roi_align(features, rois, self.output_size, self.spatial_scale,
                           self.sampling_ratio, self.aligned)
        return out.view(N, K, *out.shape[1:])

    def extra_repr(self) -> str:
        return (f'output_size={self.output_size}, spatial_scale={self.spatial_scale}, '
                f'sampling_ratio={self.sampling_ratio}, aligned={self.aligned}, '
                f'backend={"torchvision" if self.use_torchvision else "matmul"}')


__all__ = ['roi_align', 'RoIAlign', 'torchvision_available']
