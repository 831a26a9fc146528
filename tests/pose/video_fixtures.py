"""Small videos made by the tests with cv2.VideoWriter (no video files are stored in the repo)."""
from pathlib import Path
from typing import Iterable, List

import cv2
import numpy as np

MA52_DEMO = 'videos/ma52_demo'


def write_video(path: Path, frames: Iterable[np.ndarray], fps: float = 10.0) -> Path:
    frames = list(frames)
    h, w = frames[0].shape[:2] if frames else (48, 64)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'mp4v'), fps, (w, h))
    assert writer.isOpened(), f'cv2.VideoWriter cannot write {path}'
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


def moving_box_frames(num_frames: int = 8, width: int = 96, height: int = 72, seed: int = 0
                      ) -> List[np.ndarray]:
    """A bright box drifting over a noisy background (something to crop, no real person)."""
    rng = np.random.default_rng(seed)
    frames = []
    for t in range(num_frames):
        frame = rng.integers(0, 60, (height, width, 3), dtype=np.uint8)
        x = 10 + 3 * t
        frame[15:60, x:x + 30] = (200, 180, 160)
        frames.append(frame)
    return frames


def write_corrupt(path: Path, size: int = 4096) -> Path:
    """Random bytes with a video extension: OpenCV cannot open it."""
    path.write_bytes(np.random.default_rng(1).integers(0, 256, size, dtype=np.uint8).tobytes())
    return path


def write_truncated(src: Path, dst: Path, keep: float = 0.3) -> Path:
    """The first ``keep`` of a real video file (its index is cut off)."""
    data = src.read_bytes()
    dst.write_bytes(data[:int(len(data) * keep)])
    return dst


def downscale_clip(src: Path, dst: Path, scale: float = 0.25, max_frames: int = 12,
                   stride: int = 1) -> Path:
    """A small copy of a real clip, for fast tests on a real person."""
    cap = cv2.VideoCapture(str(src))
    frames, index = [], 0
    while len(frames) < max_frames:
        ok, frame = cap.read()
        if not ok:
            break
        if index % stride == 0:
            frames.append(cv2.resize(frame, None, fx=scale, fy=scale,
                                     interpolation=cv2.INTER_AREA))
        index += 1
    cap.release()
    assert frames, f'cannot read {src}'
    return write_video(dst, frames, fps=cap.get(cv2.CAP_PROP_FPS) or 30.0)
