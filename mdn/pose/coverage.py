"""Pose quality a person can read: in what fraction of the frames each entity was found.

Micro-actions are made of the face and the hands, and a pose model can miss them for a whole
video (a pixelated face, a hand in the lap), while the body is found everywhere. A timeline of
such a video is silently short of those micro-actions, so every extraction records per
entity the fraction of frames in which it was found (``coverage``, entity name -> fraction),
prints it, and warns about an entity the model uses that is missing in most frames.

An entity counts as found in a frame when at least half of its keypoints have a score above
``min_score`` (MediaPipe finds a hand or the face as a whole, or not at all).
"""
from typing import Dict, List, Mapping, Optional, Sequence

import numpy as np

from mdn.layouts import get_layout

DEFAULT_ENTITY_SET = 'body6'
MISSING_LIMIT = 0.5  # warn when an entity is found in fewer than half of the frames


def entity_found(keypoint_score: np.ndarray, layout: str,
                 entities: Optional[Sequence[str]] = None, min_score: float = 0.3
                 ) -> Dict[str, np.ndarray]:
    """Entity name -> ``[T]`` whether the main person's entity was found in each frame.

    ``keypoint_score`` is ``[M,T,V]`` (main person first) or ``[T,V]``; ``entities`` default
    to the layout's ``body6`` set.
    """
    score = np.asarray(keypoint_score)
    if score.ndim == 3:
        score = score[0]
    if score.ndim != 2:
        raise ValueError(f'keypoint_score must be [M,T,V] or [T,V], got {score.shape}')
    partition = get_layout(layout).partition(tuple(entities) if entities else
                                             DEFAULT_ENTITY_SET)
    seen = np.nan_to_num(score, nan=0.0) > min_score
    return {name: seen[:, list(index)].mean(-1) >= 0.5
            for name, index in zip(partition.names, partition.indices)}


def entity_coverage(keypoint_score: np.ndarray, layout: str,
                    entities: Optional[Sequence[str]] = None, min_score: float = 0.3
                    ) -> Dict[str, float]:
    """Entity name -> fraction of frames in which it was found (rounded to 3 digits)."""
    found = entity_found(keypoint_score, layout, entities, min_score)
    return {name: round(float(f.mean()) if f.size else 0.0, 3) for name, f in found.items()}


def coverage_warnings(coverage: Mapping[str, float], used: Sequence[str],
                      limit: float = MISSING_LIMIT, where: str = '') -> List[str]:
    """One sentence per entity of ``used`` (the model's entities) found in fewer than
    ``limit`` of the frames, saying what that means for the timeline."""
    lines = []
    prefix = f'{where}: ' if where else ''
    for name in used:
        if name in coverage and coverage[name] < limit:
            lines.append(
                f'{prefix}{name.replace("_", " ")} keypoints were found in only '
                f'{100 * coverage[name]:.0f}% of the frames. The model sees this entity as '
                'missing elsewhere, so micro-actions made with it are under-detected or '
                'confused with others there; counts and rates of those micro-actions are '
                f'too low. Check that the {name.replace("_", " ")} is visible (not masked, '
                'pixelated, out of frame or too small), or try another pose backend.')
    return lines


def format_coverage_table(rows: Mapping[str, Mapping[str, float]],
                          limit: float = MISSING_LIMIT) -> str:
    """Video name -> coverage, as an aligned text table; ``*`` marks a fraction below
    ``limit``."""
    if not rows:
        return 'coverage: no video'
    entities: List[str] = []
    for cov in rows.values():
        entities += [e for e in cov if e not in entities]
    width = max(5, max(len(n) for n in rows))
    cols = [max(len(e), 5) for e in entities]
    lines = ['pose coverage (fraction of frames in which each entity was found; '
             f'* = below {limit:g})',
             '  '.join([f'{"video":<{width}}'] + [f'{e:>{c}}' for e, c in zip(entities, cols)])]
    for name, cov in rows.items():
        cells = []
        for entity, col in zip(entities, cols):
            value = cov.get(entity)
            text = '-' if value is None else f'{value:.2f}' + ('*' if value < limit else ' ')
            cells.append(f'{text:>{col}}')
        lines.append('  '.join([f'{name:<{width}}'] + cells))
    return '\n'.join(lines)
