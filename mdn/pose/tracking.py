"""Person boxes over time: from keypoints (no detector) or from detections (IoU tracks).

Micro-action clips show one main person. Without a detector the box of the next frames is the
one the keypoints of the previous frames span; with a detector, detections are linked into
tracks by IoU and the tracks are ranked by size and closeness to the image centre, summed over
the frames they cover, so the main person (large, central, present throughout) comes first.
All boxes are ``xyxy`` float arrays in pixels.
"""
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np


def whole_frame_box(width: int, height: int) -> np.ndarray:
    return np.array([0, 0, width, height], dtype=np.float32)


def keypoint_box(keypoints: np.ndarray, scores: np.ndarray, score_thr: float,
                 min_points: int = 4) -> Optional[np.ndarray]:
    """The box spanned by the keypoints scoring above ``score_thr``; None if too few.

    ``keypoints`` is ``[..., V, 2]`` (several frames are merged into one box).
    """
    points = keypoints.reshape(-1, 2)
    good = scores.reshape(-1) > score_thr
    good &= np.isfinite(points).all(axis=1)
    if good.sum() < min_points:
        return None
    points = points[good]
    return np.concatenate([points.min(0), points.max(0)]).astype(np.float32)


def expand_box(box: np.ndarray, ratio: float, width: int, height: int,
               min_side: float = 16.0) -> np.ndarray:
    """Grow ``box`` by ``ratio`` of its size on every side, at least ``min_side`` wide, clipped."""
    x0, y0, x1, y1 = box
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    w = max(x1 - x0, min_side) * (1 + 2 * ratio)
    h = max(y1 - y0, min_side) * (1 + 2 * ratio)
    out = np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], dtype=np.float32)
    out[[0, 2]] = np.clip(out[[0, 2]], 0, width)
    out[[1, 3]] = np.clip(out[[1, 3]], 0, height)
    return out


class KeypointBoxTracker:
    """Detector-free box: the whole frame first, then the box of the last keypoints, padded.

    If the keypoints become unreliable (too few above ``score_thr``, or a box smaller than
    ``min_area`` of the frame) the box falls back to the whole frame, to find the person again.
    """

    def __init__(self, width: int, height: int, score_thr: float = 0.3, margin: float = 0.1,
                 min_area: float = 0.01):
        self.width, self.height = width, height
        self.score_thr, self.margin, self.min_area = score_thr, margin, min_area
        self.box = whole_frame_box(width, height)

    def update(self, keypoints: np.ndarray, scores: np.ndarray) -> np.ndarray:
        """Next box from the keypoints ``[..., V, 2]`` of the frames just processed."""
        box = keypoint_box(keypoints, scores, self.score_thr)
        if box is not None:
            box = expand_box(box, self.margin, self.width, self.height)
            area = (box[2] - box[0]) * (box[3] - box[1])
            if area < self.min_area * self.width * self.height:
                box = None
        self.box = box if box is not None else whole_frame_box(self.width, self.height)
        return self.box


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix ``[len(a), len(b)]`` of two sets of xyxy boxes."""
    a, b = np.asarray(a, np.float32).reshape(-1, 4), np.asarray(b, np.float32).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(-1)
    area_a = (a[:, 2:] - a[:, :2]).clip(0).prod(-1)
    area_b = (b[:, 2:] - b[:, :2]).clip(0).prod(-1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0)


@dataclass
class Track:
    """One person over time: frame index -> box, and any payload stored per frame."""
    track_id: int
    boxes: Dict[int, np.ndarray] = field(default_factory=dict)
    payload: Dict[int, object] = field(default_factory=dict)

    @property
    def last_frame(self) -> int:
        return max(self.boxes)


class IoUTracker:
    """Greedy IoU linking of per-frame detections; a track ends after ``max_gap`` missed frames."""

    def __init__(self, iou_thr: float = 0.3, max_gap: int = 10):
        self.iou_thr, self.max_gap = iou_thr, max_gap
        self.tracks: List[Track] = []

    def update(self, frame: int, boxes: np.ndarray) -> List[int]:
        """Link ``boxes`` of ``frame`` to tracks; returns the track id of each box."""
        boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
        active = [t for t in self.tracks if frame - t.last_frame <= self.max_gap]
        ids = [-1] * len(boxes)
        if active and len(boxes):
            iou = box_iou(boxes, np.stack([t.boxes[t.last_frame] for t in active]))
            while iou.size and iou.max() >= self.iou_thr:
                i, j = np.unravel_index(np.argmax(iou), iou.shape)
                ids[i] = active[j].track_id
                active[j].boxes[frame] = boxes[i]
                iou[i, :], iou[:, j] = -1, -1
        for i, box in enumerate(boxes):
            if ids[i] < 0:
                track = Track(len(self.tracks), {frame: box})
                self.tracks.append(track)
                ids[i] = track.track_id
        return ids


def track_rank_score(track: Track, width: int, height: int) -> float:
    """Sum over frames of box area x centrality (1 at the image centre, 0 at a corner)."""
    half_diag = 0.5 * float(np.hypot(width, height))
    total = 0.0
    for box in track.boxes.values():
        area = max(box[2] - box[0], 0) * max(box[3] - box[1], 0) / float(width * height)
        centre = np.array([(box[0] + box[2]) / 2 - width / 2, (box[1] + box[3]) / 2 - height / 2])
        total += area * max(0.0, 1.0 - float(np.hypot(*centre)) / half_diag)
    return total


def select_tracks(tracks: Sequence[Track], width: int, height: int, num: int
                  ) -> List[Track]:
    """The ``num`` main tracks: largest and most central over the clip, best first."""
    ranked = sorted(tracks, key=lambda t: (-track_rank_score(t, width, height), t.track_id))
    return list(ranked[:num])


def tracks_to_arrays(tracks: Sequence[Track], num_frames: int, num_keypoints: int
                     ) -> Tuple[np.ndarray, np.ndarray]:
    """``keypoint [M,T,V,2]`` and ``keypoint_score [M,T,V]`` from ``payload = (kpt, score)``.

    Frames where a track has no pose stay zero (score 0 marks them missing).
    """
    keypoint = np.zeros((max(len(tracks), 1), num_frames, num_keypoints, 2), np.float32)
    score = np.zeros(keypoint.shape[:3], np.float32)
    for m, track in enumerate(tracks):
        for t, (kpt, scr) in track.payload.items():
            keypoint[m, t], score[m, t] = kpt, scr
    return keypoint, score
