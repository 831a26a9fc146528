"""Poses found on every n-th frame -> poses on every frame of the video.

Pose estimation is most of the cost of a timeline, so ``tools/demo.py`` runs the pose model on
every ``stride``-th frame only and fills the frames in between here. That keeps everything
after the pose stage in the video's own frames (frame numbers, fps, window lengths), whatever
the pose rate; the cost in accuracy of a lower pose rate is measured by
``tools/analysis/pose_rate_cost.py`` (``docs/benchmarks.md``).

A keypoint seen on both pose frames around a frame is interpolated linearly (position and
score); a keypoint missing on either side takes the nearer pose frame's value, so a hand that
disappears is not dragged towards (0, 0) and stays missing where the nearer frame misses it.
"""
from typing import Tuple

import numpy as np


def pose_frame_indices(num_frames: int, stride: int) -> np.ndarray:
    """Video frames the pose model runs on: ``0, stride, 2*stride, ...`` below ``num_frames``."""
    if stride < 1:
        raise ValueError(f'pose stride must be >= 1, got {stride}')
    return np.arange(0, max(int(num_frames), 0), stride, dtype=np.int64)


def fill_strided(keypoint: np.ndarray, score: np.ndarray, stride: int, num_frames: int
                 ) -> Tuple[np.ndarray, np.ndarray]:
    """``[M,T',V,C]`` / ``[M,T',V]`` poses of frames ``0, stride, ...`` -> ``[M,num_frames,V,C]``
    and ``[M,num_frames,V]`` on every frame (see the module docstring for the rule).

    Frames after the last pose frame repeat it.
    """
    keypoint, score = np.asarray(keypoint), np.asarray(score)
    if keypoint.ndim != 4 or score.shape != keypoint.shape[:3]:
        raise ValueError(f'keypoint {keypoint.shape} / score {score.shape}: expected '
                         '[M,T,V,C] and [M,T,V]')
    kept = keypoint.shape[1]
    if kept == 0:
        raise ValueError('no pose frame to fill from')
    if stride == 1 and kept == num_frames:
        return keypoint, score
    if num_frames < (kept - 1) * stride + 1:
        raise ValueError(f'{kept} pose frames every {stride} frames need at least '
                         f'{(kept - 1) * stride + 1} video frames, got {num_frames}')
    t = np.arange(num_frames)
    left = np.minimum(t // stride, kept - 1)
    right = np.minimum(left + 1, kept - 1)
    frac = ((t - left * stride) / stride).astype(np.float32)
    frac[left == right] = 0.0
    s_left, s_right = score[:, left], score[:, right]  # [M, T, V]
    both = (s_left > 0) & (s_right > 0)
    nearest = np.where(frac[None, :, None] < 0.5, 0.0, 1.0).astype(np.float32)
    weight = np.where(both, frac[None, :, None], nearest)  # [M, T, V], weight of the right
    out_kp = (keypoint[:, left] * (1 - weight[..., None])
              + keypoint[:, right] * weight[..., None]).astype(keypoint.dtype)
    out_score = (s_left * (1 - weight) + s_right * weight).astype(score.dtype)
    return out_kp, out_score


def stride_for_rate(video_fps: float, pose_fps: float) -> int:
    """The frame stride that runs the pose model at about ``pose_fps`` (at least every frame)."""
    if pose_fps <= 0:
        raise ValueError(f'pose frame rate must be > 0, got {pose_fps}')
    if video_fps <= 0:
        return 1
    return max(1, int(round(video_fps / pose_fps)))
