"""Skeleton overlays: keypoints coloured by entity, on the video's frames or a blank canvas,
with the current label written on top; saved as an MP4 or single PNG frames."""
import os
import os.path as osp
import tempfile
from typing import Iterable, Iterator, Optional, Sequence, Tuple

import cv2
import numpy as np

from mdn.layouts import get_layout

from .palette import edge_colors, entity_rgb, keypoint_colors


class SkeletonPainter:
    """Draws the poses of one recording, frame by frame, at a fixed output size.

    Args:
        keypoint / score: ``[M,T,V,2]`` pixels and ``[M,T,V]`` (the main person first).
        layout / entities: the keypoint layout and the entity names that pick the colours.
        img_shape: ``(h, w)`` of the video the keypoints come from; None draws on a white
            canvas framed around the keypoints.
        max_side: longest side of the output frames, in pixels.
    """

    def __init__(self, keypoint: np.ndarray, score: np.ndarray, layout: str,
                 entities: Sequence[str], img_shape: Optional[Tuple[int, int]] = None,
                 max_side: int = 640, score_thr: float = 0.0):
        self.keypoint, self.score, self.thr = keypoint, score, score_thr
        self.layout, self.entities = get_layout(layout), tuple(entities)
        self.colors = keypoint_colors(self.layout.name, self.entities)
        self.edge_colors = edge_colors(self.layout.name, self.colors)
        if img_shape is not None:
            h, w = int(img_shape[0]), int(img_shape[1])
            self.origin = np.zeros(2, np.float32)
        else:
            (x0, y0), (x1, y1) = _keypoint_box(keypoint, score, score_thr)
            self.origin = np.array([x0, y0], np.float32)
            h, w = max(y1 - y0, 1.0), max(x1 - x0, 1.0)
        self.scale = max_side / max(h, w)
        self.size = (max(16, int(round(w * self.scale)) // 2 * 2),   # even sizes: codecs
                     max(16, int(round(h * self.scale)) // 2 * 2))  # (width, height)
        self.radius = max(3, self.size[0] // 160)

    def canvas(self, frame: Optional[np.ndarray]) -> np.ndarray:
        if frame is None:
            return np.full((self.size[1], self.size[0], 3), 255, np.uint8)
        return cv2.resize(frame, self.size, interpolation=cv2.INTER_AREA)

    def draw(self, t: int, frame: Optional[np.ndarray] = None, caption: str = '') -> np.ndarray:
        """BGR image of frame ``t`` with every person's skeleton and ``caption``."""
        image = self.canvas(frame)
        for m in range(self.keypoint.shape[0] - 1, -1, -1):  # main person drawn last (on top)
            points = (self.keypoint[m, t] - self.origin) * self.scale
            self._draw_person(image, points, self.score[m, t] > self.thr, thick=m == 0)
        self._draw_legend(image)
        if caption:
            _draw_text_box(image, caption, (8, 8), scale=self.size[0] / 900)
        return image

    def _draw_person(self, image, points, seen, thick: bool) -> None:
        width = self.radius // 2 + 1 if thick else 1
        pts = np.round(points).astype(np.int32)
        for (a, b), color in zip(self.layout.edges, self.edge_colors):
            if seen[a] and seen[b]:
                cv2.line(image, tuple(pts[a]), tuple(pts[b]), color, width, cv2.LINE_AA)
        radius = self.radius if thick else max(1, self.radius // 2)
        for v in np.flatnonzero(seen):
            cv2.circle(image, tuple(pts[v]), radius, tuple(int(c) for c in self.colors[v]), -1,
                       cv2.LINE_AA)

    def _draw_legend(self, image) -> None:
        scale = self.size[0] / 1400
        step = max(12, int(28 * scale * 1.6))
        y = self.size[1] - 8 - step * (len(self.entities) - 1)
        for name in self.entities:
            _draw_text_box(image, name.replace('_', ' '), (8, y - step + 4), scale,
                           color=entity_rgb(name)[::-1])
            y += step


def _keypoint_box(keypoint, score, thr) -> Tuple[Tuple[float, float], Tuple[float, float]]:
    """A box around where each keypoint usually is (its 2nd-98th percentile over time, so a
    rare detector glitch does not shrink the person), with a 10 % margin."""
    seen = score > thr  # [M, T, V]
    lows, highs = [], []
    for v in range(keypoint.shape[2]):
        points = keypoint[:, :, v][seen[:, :, v]]
        if len(points):
            lows.append(np.percentile(points, 2, axis=0))
            highs.append(np.percentile(points, 98, axis=0))
    if not lows:
        return (0.0, 0.0), (1.0, 1.0)
    lo, hi = np.min(lows, axis=0), np.max(highs, axis=0)
    margin = 0.1 * (hi - lo).max() + 1.0
    return tuple(lo - margin), tuple(hi + margin)


def _draw_text_box(image, text: str, origin: Tuple[int, int], scale: float,
                   color=(255, 255, 255)) -> None:
    scale = max(scale, 0.35)
    thickness = max(1, int(round(scale * 1.5)))
    (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    x, y = origin
    cv2.rectangle(image, (x - 3, y - 3), (x + w + 3, y + h + base + 3), (40, 40, 40), -1)
    cv2.putText(image, text, (x, y + h), cv2.FONT_HERSHEY_SIMPLEX, scale, color, thickness,
                cv2.LINE_AA)


def write_skeleton_video(path: str, painter: SkeletonPainter, frame_indices: Sequence[int],
                         fps: float, captions: Sequence[str],
                         frames: Optional[Iterable[np.ndarray]] = None) -> str:
    """Write the overlay of ``frame_indices`` (with ``captions[i]`` on each) as an MP4.

    ``frames`` are the matching video frames (BGR), or None for a blank canvas. The file is
    written under a temporary name and renamed when complete.
    """
    directory = osp.dirname(osp.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix='.' + osp.basename(path), suffix='.mp4')
    os.close(fd)
    writer = cv2.VideoWriter(tmp, cv2.VideoWriter_fourcc(*'mp4v'), float(fps), painter.size)
    try:
        if not writer.isOpened():
            raise OSError(f'{path}: OpenCV cannot write MP4 (mp4v) video here')
        source: Iterator = iter(frames) if frames is not None else iter(())
        written = 0
        for t, caption in zip(frame_indices, captions):
            frame = next(source, None) if frames is not None else None
            writer.write(painter.draw(int(t), frame, caption))
            written += 1
        writer.release()
        if written == 0:
            raise ValueError(f'{path}: no frames to write')
        from mdn.utils.io import default_file_mode
        os.chmod(tmp, default_file_mode())  # mkstemp made it 0600; give it the umask's mode
        os.replace(tmp, path)
    finally:
        writer.release()
        if osp.exists(tmp):
            os.remove(tmp)
    return path


def save_frame_png(path: str, image: np.ndarray) -> str:
    """Write one BGR image as a PNG, atomically."""
    from mdn.utils.io import atomic_write
    ok, data = cv2.imencode('.png', image, [cv2.IMWRITE_PNG_COMPRESSION, 9])
    if not ok:
        raise OSError(f'{path}: OpenCV could not encode the frame as PNG')
    with atomic_write(path) as f:
        f.write(data.tobytes())
    return path
