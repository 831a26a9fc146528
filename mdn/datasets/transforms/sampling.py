"""Temporal sampling to a fixed clip length."""
from typing import Optional, Sequence

import numpy as np
from mmcv.transforms import BaseTransform

from mdn.registry import TRANSFORMS


@TRANSFORMS.register_module()
class UniformSampleFrames(BaseTransform):
    """Sample ``clip_len`` frames spread uniformly over the clip (PYSKL's scheme).

    The clip is cut into ``clip_len`` equal segments and one frame is drawn from each: at a
    random offset in training, deterministically in test mode (``seed``) so evaluation is
    repeatable. Clips shorter than ``clip_len`` repeat frames in order. ``num_clips`` > 1
    draws several clips (test-time averaging).

    ``crop_ratio=(low, high)`` (training only) first keeps one random window of the clip,
    ``low`` to ``high`` of its frames long, and samples inside it (the crop-and-resize of
    CTR-GCN / SkateFormer feeders): the same action at another speed or with its edges cut.

    Training offsets come from numpy's global generator, which MMEngine seeds from
    ``randomness.seed`` (and per dataloader worker), so a seed fixes the sampled frames.

    Required keys: keypoint [M,T,V,C], keypoint_score [M,T,V], total_frames
    Modified keys: keypoint [M, num_clips*clip_len, V, C], keypoint_score, missing
    Added keys: frame_inds, clip_len, num_clips
    """

    def __init__(self, clip_len: int, num_clips: int = 1, test_mode: bool = False,
                 seed: int = 255, crop_ratio: Optional[Sequence[float]] = None):
        if clip_len < 1 or num_clips < 1:
            raise ValueError(f'clip_len and num_clips must be >= 1, got {clip_len}, {num_clips}')
        if crop_ratio is not None:
            crop_ratio = tuple(float(r) for r in crop_ratio)
            if len(crop_ratio) != 2 or not 0 < crop_ratio[0] <= crop_ratio[1] <= 1:
                raise ValueError('crop_ratio must be (low, high) with 0 < low <= high <= 1, '
                                 f'got {crop_ratio}')
        self.clip_len, self.num_clips, self.test_mode, self.seed = (clip_len, num_clips,
                                                                    test_mode, seed)
        self.crop_ratio = crop_ratio

    def _indices(self, num_frames: int, rng) -> np.ndarray:
        if num_frames < self.clip_len:  # stretch: each frame repeated, order kept
            return np.floor(np.arange(self.clip_len) * num_frames / self.clip_len).astype(int)
        bounds = np.linspace(0, num_frames, self.clip_len + 1)
        low, high = bounds[:-1], np.maximum(bounds[1:], bounds[:-1] + 1)
        offsets = rng.random(self.clip_len)
        return np.minimum((low + offsets * (high - low)).astype(int), num_frames - 1)

    def _clip_indices(self, num_frames: int, rng) -> np.ndarray:
        if self.crop_ratio is None or self.test_mode:
            return self._indices(num_frames, rng)
        length = max(1, int(round(num_frames * rng.uniform(*self.crop_ratio))))
        start = int(rng.randint(0, num_frames - length + 1))
        return start + self._indices(length, rng)

    def transform(self, results: dict) -> dict:
        num_frames = results['keypoint'].shape[1]
        if num_frames < 1:
            raise ValueError(f'clip {results.get("frame_dir", "?")} has no frames')
        rng = np.random.default_rng(self.seed) if self.test_mode else np.random
        inds = np.concatenate([self._clip_indices(num_frames, rng)
                               for _ in range(self.num_clips)])
        for key in ('keypoint', 'keypoint_score', 'missing'):
            if key in results:
                results[key] = results[key][:, inds]
        results.update(frame_inds=inds, clip_len=self.clip_len, num_clips=self.num_clips)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(clip_len={self.clip_len}, num_clips={self.num_clips}, '
                f'test_mode={self.test_mode}, crop_ratio={self.crop_ratio})')
