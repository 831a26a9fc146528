"""Frames/s of the batched MMPose backend against mmpose's per-frame ``MMPoseInferencer``.

Both run the same model (same config, same random or loaded weights) on the same decoded
frames of one video, one after the other in one process, so machine load affects both alike.
The inferencer uses ``det_model='whole_image'`` (one crop per frame, as the detector-free
backend) since mmdet's detector needs compiled mmcv ops. It runs twice: with the config's test
settings as shipped (flip test on) and with flip test off, to separate the gain of batching
from the gain of skipping the flipped pass.
"""
import time
import warnings
from typing import Dict, List, Optional

import numpy as np

from .backends.mmpose_backend import MMPoseBackend
from .backends.mmpose_models import resolve_pose_model
from .mmpose_compat import import_mmpose
from .video import iter_frames


def _inferencer(config: str, weights: Optional[str], flip_test: Optional[bool], device: str):
    from mmengine.config import Config
    apis = import_mmpose()
    cfg = Config.fromfile(config)
    if flip_test is not None:
        cfg.model.test_cfg.flip_test = flip_test
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return apis.MMPoseInferencer(pose2d=cfg, pose2d_weights=weights,
                                     det_model='whole_image', device=device,
                                     show_progress=False)


def time_inferencer(frames: List[np.ndarray], config: str, weights: Optional[str],
                    flip_test: Optional[bool], device: str = 'cpu', warmup: int = 1) -> float:
    """Frames/s of ``next(inferencer(frame))`` called once per frame."""
    inferencer = _inferencer(config, weights, flip_test, device)
    for frame in frames[:warmup]:
        next(inferencer(frame, return_vis=False))
    start = time.perf_counter()
    for frame in frames:
        next(inferencer(frame, return_vis=False))
    return len(frames) / (time.perf_counter() - start)


def time_backend(frames: List[np.ndarray], backend: MMPoseBackend, warmup: int = 1) -> float:
    """Frames/s of the batched backend on the same frames (box tracking included)."""
    h, w = frames[0].shape[:2]
    backend.estimate(frames[:warmup], [np.array([0, 0, w, h], np.float32)] * warmup)
    start = time.perf_counter()
    backend.process_video(iter(frames), w, h)
    return len(frames) / (time.perf_counter() - start)


def benchmark(video: str, model: str = 'rtmpose-m', checkpoint: Optional[str] = None,
              num_frames: int = 32, batch_size: int = 16, device: str = 'cpu'
              ) -> Dict[str, float]:
    """Frames/s: batched backend vs the per-frame inferencer (flip as shipped, flip off)."""
    import torch
    frames = list(iter_frames(video, max_frames=num_frames))
    config, weights = resolve_pose_model(model, checkpoint)
    backend = MMPoseBackend(model, checkpoint, device=device, batch_size=batch_size,
                            detector=None)
    result = dict(frames=len(frames), height=frames[0].shape[0], width=frames[0].shape[1],
                  torch_threads=torch.get_num_threads(), batch_size=batch_size)
    result['batched_fps'] = time_backend(frames, backend)
    result['inferencer_fps'] = time_inferencer(frames, config, weights, None, device)
    result['inferencer_noflip_fps'] = time_inferencer(frames, config, weights, False, device)
    result['speedup'] = result['batched_fps'] / result['inferencer_fps']
    result['speedup_vs_noflip'] = result['batched_fps'] / result['inferencer_noflip_fps']
    return result


def format_benchmark(result: Dict[str, float], video: str, model: str) -> str:
    return (f'{model} on {video} ({result["frames"]} frames {result["width"]}x'
            f'{result["height"]}, {result["torch_threads"]} torch threads):\n'
            f'  batched backend (batch {result["batch_size"]}, flip off): '
            f'{result["batched_fps"]:.2f} frames/s\n'
            f'  MMPoseInferencer per frame, config as shipped (flip on): '
            f'{result["inferencer_fps"]:.2f} frames/s  -> speed-up {result["speedup"]:.2f}x\n'
            f'  MMPoseInferencer per frame, flip off: {result["inferencer_noflip_fps"]:.2f} '
            f'frames/s  -> speed-up {result["speedup_vs_noflip"]:.2f}x')
