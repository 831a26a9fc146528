"""Sliding windows over a long recording and their merging into micro-action segments.

Pure numpy, so the rules can be tested with hand-made window scores:

1. ``window_bounds`` cuts ``T`` frames into windows of ``window_s`` every ``stride_s`` (the last
   window is moved back to end at the last frame, so the tail is never dropped).
2. Each window is *accepted* as a micro-action when its top score reaches ``threshold`` and its
   top class is not a background class; otherwise it says "no micro-action" (so does a window
   without a person, whose scores are NaN).
3. Each window speaks for the stretch of time around its centre, up to half-way to its
   neighbours' centres (the first and last reach the ends of the recording). Windows are
   longer than their stride, so this stretch is where the window is the best-centred one.
4. Runs of the same accepted label form segments; a same-label pair separated by a gap of at
   most ``max_gap_s`` is joined; segments shorter than ``min_duration_s`` are dropped.
"""
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional, Sequence

import numpy as np

NO_ACTION = -1


@dataclass(frozen=True)
class Segment:
    """A detected micro-action: ``[start, end)`` in seconds and frames, mean top score."""
    start: float
    end: float
    label: int
    label_name: str
    score: float
    start_frame: int
    end_frame: int

    @property
    def duration(self) -> float:
        return self.end - self.start

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class WindowScores:
    """Per-window outputs of a recording.

    Attributes:
        bounds: ``[W, 2]`` frame ``[start, end)`` of each window.
        scores: ``[W, C]`` class probabilities (NaN rows: no person in the window).
        entity_weights: ``[W, K, 2]`` routing weights (col 0 = ST, col 1 = TS; NaN if skipped).
        fps / num_frames: of the recording.
    """
    bounds: np.ndarray
    scores: np.ndarray
    entity_weights: np.ndarray
    fps: float
    num_frames: int
    class_names: Sequence[str] = ()
    entity_names: Sequence[str] = ()
    extra: Dict = field(default_factory=dict)

    @property
    def valid(self) -> np.ndarray:
        """``[W]`` windows that were scored (a person was there)."""
        return np.isfinite(self.scores).all(-1)

    def segments(self, threshold: float = 0.5, min_duration_s: float = 0.5,
                 max_gap_s: float = 0.5, background: Sequence[int] = ()) -> List[Segment]:
        return merge_windows(self.bounds, self.scores, self.num_frames, self.fps, threshold,
                             min_duration_s, max_gap_s, background, self.class_names)


def window_bounds(num_frames: int, fps: float, window_s: float, stride_s: float) -> np.ndarray:
    """``[W, 2]`` frame ``[start, end)`` of the sliding windows; one window if the recording is
    shorter than a window."""
    if num_frames < 1:
        raise ValueError(f'a recording needs at least one frame, got {num_frames}')
    if fps <= 0 or window_s <= 0 or stride_s <= 0:
        raise ValueError(f'fps, window and stride must be > 0, got fps={fps}, '
                         f'window={window_s} s, stride={stride_s} s')
    win = max(1, int(round(window_s * fps)))
    step = max(1, int(round(stride_s * fps)))
    if num_frames <= win:
        return np.array([[0, num_frames]], dtype=np.int64)
    starts = np.arange(0, num_frames - win + 1, step, dtype=np.int64)
    if starts[-1] + win < num_frames:  # cover the tail with one window ending at the end
        starts = np.append(starts, num_frames - win)
    return np.stack([starts, starts + win], axis=1)


def window_decisions(scores: np.ndarray, threshold: float, background: Sequence[int] = ()
                     ) -> 'tuple[np.ndarray, np.ndarray]':
    """``(labels [W], top scores [W])``; label ``NO_ACTION`` where the window is rejected."""
    scores = np.asarray(scores, dtype=np.float64)
    valid = np.isfinite(scores).all(-1)
    safe = np.where(valid[:, None], scores, -np.inf)
    top = safe.argmax(-1)
    top_score = np.where(valid, safe.max(-1), 0.0)
    accept = valid & (top_score >= threshold) & ~np.isin(top, np.asarray(background, int))
    return np.where(accept, top, NO_ACTION), top_score


def window_cells(bounds: np.ndarray, num_frames: int) -> np.ndarray:
    """``[W, 2]`` frames each window speaks for: half-way between neighbouring centres."""
    centres = bounds.mean(-1)
    cuts = np.ceil((centres[:-1] + centres[1:]) / 2).astype(np.int64)
    starts = np.concatenate([[0], cuts])
    ends = np.concatenate([cuts, [num_frames]])
    return np.stack([starts, np.maximum(ends, starts)], axis=1)


def merge_windows(bounds: np.ndarray, scores: np.ndarray, num_frames: int, fps: float,
                  threshold: float = 0.5, min_duration_s: float = 0.5, max_gap_s: float = 0.5,
                  background: Sequence[int] = (), class_names: Sequence[str] = ()
                  ) -> List[Segment]:
    """Segments of accepted windows (see the module docstring for the rules)."""
    bounds, scores = np.asarray(bounds), np.asarray(scores)
    if len(bounds) != len(scores):
        raise ValueError(f'{len(bounds)} window bounds but {len(scores)} score rows')
    if len(bounds) == 0:
        return []
    order = np.argsort(bounds.mean(-1), kind='stable')
    bounds, scores = bounds[order], scores[order]
    labels, top = window_decisions(scores, threshold, background)
    cells = window_cells(bounds, num_frames)
    runs = _runs(labels, cells, top)
    runs = _bridge_gaps(runs, int(round(max_gap_s * fps)))
    min_frames, fps = min_duration_s * fps, float(fps)
    names = list(class_names)
    segments = []
    for label, start, end, weighted in runs:
        if end - start < min_frames or end <= start:
            continue
        name = names[label] if label < len(names) else f'class_{label}'
        segments.append(Segment(round(start / fps, 3), round(end / fps, 3), int(label), name,
                                round(float(weighted / (end - start)), 4), int(start),
                                int(end)))
    return segments


def _runs(labels: np.ndarray, cells: np.ndarray, top: np.ndarray) -> List[list]:
    """``[label, start, end, sum of score * frames]`` of consecutive same-label cells."""
    runs: List[list] = []
    for label, (start, end), score in zip(labels, cells, top):
        if label == NO_ACTION or end <= start:
            continue
        if runs and runs[-1][0] == label and runs[-1][2] == start:
            runs[-1][2] = end
            runs[-1][3] += score * (end - start)
        else:
            runs.append([int(label), int(start), int(end), float(score * (end - start))])
    return runs


def _bridge_gaps(runs: List[list], max_gap: int) -> List[list]:
    """Join same-label neighbours separated by at most ``max_gap`` frames of no action."""
    merged: List[list] = []
    for run in runs:
        if merged and merged[-1][0] == run[0] and run[1] - merged[-1][2] <= max_gap:
            merged[-1][2] = run[2]
            merged[-1][3] += run[3]
        else:
            merged.append(list(run))
    return merged


MIN_RATE_S = 60.0  # a rate per minute needs at least a minute of recording


def per_minute_note(duration_s: float, min_rate_s: float = MIN_RATE_S) -> Optional[str]:
    """Why ``per_minute`` is empty (None when the recording is long enough to have one)."""
    if duration_s >= min_rate_s:
        return None
    return (f'per_minute is empty: the recording is {duration_s:.1f} s long, shorter than '
            f'{min_rate_s:g} s, and a rate per minute extrapolated from it would mislead; '
            'use count and total_s')


def summarize(segments: Sequence[Segment], duration_s: float,
              class_names: Optional[Sequence[str]] = None,
              min_rate_s: float = MIN_RATE_S) -> List[dict]:
    """Per label: count, total and mean duration (s), rate per minute, mean score.

    Labels of ``class_names`` that never occur are listed with count 0, so summaries of
    different recordings line up. ``per_minute`` is None for a recording shorter than
    ``min_rate_s`` (see :func:`per_minute_note`).
    """
    rated = duration_s >= min_rate_s and duration_s > 0
    minutes = duration_s / 60.0 if rated else float('nan')
    rows: Dict[str, dict] = {}
    for name in class_names or ():
        rows[name] = dict(label=name, count=0, total_s=0.0, scores=[])
    for seg in segments:
        row = rows.setdefault(seg.label_name, dict(label=seg.label_name, count=0,
                                                   total_s=0.0, scores=[]))
        row['count'] += 1
        row['total_s'] += seg.duration
        row['scores'].append(seg.score)
    out = []
    for row in rows.values():
        count = row['count']
        out.append(dict(label=row['label'], count=count, total_s=round(row['total_s'], 3),
                        mean_s=round(row['total_s'] / count, 3) if count else 0.0,
                        per_minute=round(count / minutes, 3) if rated else None,
                        mean_score=round(float(np.mean(row['scores'])), 4) if count else 0.0))
    return out
