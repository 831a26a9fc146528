"""The timeline chart: per-window top score over time, and the detected micro-action segments
as bars, one row per label (optionally above the annotated segments, for comparison)."""
from typing import Optional, Sequence

import numpy as np

from mdn.apis.timeline import Segment, WindowScores

from .figure import new_figure, save_png
from .palette import label_rgb


def plot_timeline(path: str, windows: WindowScores, segments: Sequence[Segment],
                  threshold: Optional[float] = None, reference: Sequence[Segment] = (),
                  background: Sequence[int] = (), title: str = '') -> str:
    """Save the chart as a PNG. The top panel shows each window's best score among the
    non-``background`` classes; ``reference``: known segments drawn in grey on a row of their
    own (e.g. the annotation of a labelled video)."""
    duration = windows.num_frames / windows.fps
    labels = sorted({s.label_name for s in segments}, key=lambda n: _first_index(n, windows))
    rows = labels + (['annotated'] if reference else [])
    fig = new_figure((10, 2.2 + 0.32 * max(len(rows), 1)))
    top_ax, bar_ax = fig.subplots(2, 1, sharex=True,
                                  gridspec_kw=dict(height_ratios=[1.2, max(len(rows), 1) * .45]))
    centres = windows.bounds.mean(-1) / windows.fps
    keep = np.setdiff1d(np.arange(windows.scores.shape[1]), np.asarray(background, int))
    scores = np.nan_to_num(windows.scores[:, keep], nan=0.0)
    top = np.where(windows.valid, scores.max(-1), np.nan)
    top_ax.plot(centres, top, lw=0.8, color='0.25')
    if threshold is not None:
        top_ax.axhline(threshold, ls='--', lw=0.8, color='tab:red', label='threshold')
        top_ax.legend(loc='upper right', fontsize=7, frameon=False)
    top_ax.set_ylim(0, 1.02)
    top_ax.set_ylabel('top micro-action\nscore', fontsize=8)
    top_ax.set_title(title or f'{len(segments)} micro-action segments in {duration:.0f} s',
                     fontsize=9)
    for row, name in enumerate(labels):
        spans = [(s.start, s.duration) for s in segments if s.label_name == name]
        bar_ax.broken_barh(spans, (row - 0.4, 0.8),
                           color=label_rgb(_first_index(name, windows)))
    if reference:
        bar_ax.broken_barh([(s.start, s.duration) for s in reference],
                           (len(labels) - 0.4, 0.8), color='0.55')
    bar_ax.set_yticks(range(len(rows)), rows, fontsize=7)
    bar_ax.set_ylim(len(rows) - 0.5, -0.5) if rows else bar_ax.set_ylim(0.5, -0.5)
    bar_ax.set_xlim(0, duration)
    bar_ax.set_xlabel('time (s)', fontsize=8)
    for ax in (top_ax, bar_ax):
        ax.tick_params(labelsize=7)
        ax.grid(axis='x', lw=0.3, alpha=0.5)
    return save_png(fig, path)


def _first_index(name: str, windows: WindowScores) -> int:
    names = list(windows.class_names)
    return names.index(name) if name in names else len(names)
