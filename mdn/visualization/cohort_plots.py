"""Pictures of a study (``tools/cohort.py``): the recordings x micro-actions heat map of rates
and the per-group comparison of mean rates. Missing values (a recording too short for a rate)
are shown as such, never as zero."""
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .figure import new_figure, save_png


def plot_rate_heatmap(path: str, recordings: Sequence[str], labels: Sequence[str],
                      rates: Sequence[Sequence[Optional[float]]], rate_min_s: float = 60.0
                      ) -> str:
    """Rows = recordings, columns = micro-actions, colour = occurrences per minute; a hatched
    grey cell: no rate (the recording is shorter than ``rate_min_s``)."""
    values = np.array([[np.nan if v is None else float(v) for v in row] for row in rates],
                      dtype=float).reshape(len(recordings), len(labels))
    fig = new_figure((min(2.5 + 0.45 * max(len(labels), 1), 16),
                      min(1.8 + 0.3 * max(len(recordings), 1), 20)))
    ax = fig.subplots()
    if values.size == 0:
        ax.text(0.5, 0.5, 'no finished recordings', ha='center', va='center')
        ax.set_axis_off()
        return save_png(fig, path)
    masked = np.ma.masked_invalid(values)
    top = float(np.nanmax(values)) if np.isfinite(values).any() else 1.0
    image = ax.imshow(masked, cmap='viridis', vmin=0, vmax=max(top, 1e-6), aspect='auto')
    ax.set_facecolor('0.85')
    if np.isnan(values).any():  # hatch the cells without a rate
        for i, j in zip(*np.nonzero(np.isnan(values))):
            ax.add_patch(_hatched_cell(j, i))
    fig.colorbar(image, ax=ax, shrink=0.8, label='per minute')
    ax.set_xticks(range(len(labels)), labels, rotation=50, ha='right', fontsize=7)
    ax.set_yticks(range(len(recordings)), recordings, fontsize=7)
    if values.size <= 400:
        for i, j in zip(*np.nonzero(np.isfinite(values))):
            ax.text(j, i, f'{values[i, j]:.1f}', ha='center', va='center', fontsize=6,
                    color='white' if values[i, j] < 0.6 * top else 'black')
    missing = int(np.isnan(values).all(1).sum())
    note = (f'; hatched: recording < {rate_min_s:g} s, no rate' if missing else '')
    ax.set_title(f'micro-actions per minute, {len(recordings)} recordings{note}', fontsize=9)
    return save_png(fig, path)


def _hatched_cell(x: int, y: int):
    from matplotlib.patches import Rectangle
    return Rectangle((x - 0.5, y - 0.5), 1, 1, fill=False, hatch='///', edgecolor='0.6', lw=0)


def plot_group_rates(path: str, header: Sequence[str], rows: Sequence[Sequence],
                     points: Optional[Dict[Tuple[str, str], Sequence[float]]] = None) -> str:
    """Bars: mean rate per minute of each micro-action, one bar per group, with the group's
    standard deviation as error bar (``groups.csv`` rows); ``points``: the recordings' own
    rates per ``(group, label)``, drawn as dots (with few recordings per group the spread
    says more than the bar)."""
    col = {name: i for i, name in enumerate(header)}
    groups: List[str] = list(dict.fromkeys(str(r[col['group']]) for r in rows))
    labels: List[str] = list(dict.fromkeys(str(r[col['label']]) for r in rows))
    mean = np.full((len(groups), len(labels)), np.nan)
    std = np.zeros((len(groups), len(labels)))
    for r in rows:
        g, k = groups.index(str(r[col['group']])), labels.index(str(r[col['label']]))
        if r[col['rate_per_min_mean']] != '':
            mean[g, k] = float(r[col['rate_per_min_mean']])
        if r[col['rate_per_min_std']] != '':
            std[g, k] = float(r[col['rate_per_min_std']])
    fig = new_figure((min(3 + 0.55 * max(len(labels), 1) * max(len(groups), 1) ** 0.5, 16),
                      3.6))
    ax = fig.subplots()
    if not np.isfinite(mean).any():
        ax.text(0.5, 0.5, 'no rates (every recording is shorter than the minimum for a rate)',
                ha='center', va='center', fontsize=9)
        ax.set_axis_off()
        return save_png(fig, path)
    width = 0.8 / max(len(groups), 1)
    x = np.arange(len(labels))
    from .palette import label_rgb
    for g, group in enumerate(groups):
        centre = x - 0.4 + width * (g + 0.5)
        ax.bar(centre, np.nan_to_num(mean[g]), width, yerr=std[g], capsize=2, label=group,
               color=label_rgb(2 * g), error_kw=dict(lw=0.8))
        for k, label in enumerate(labels):
            values = [v for v in (points or {}).get((group, label), ()) if v is not None]
            if values:
                ax.scatter(np.full(len(values), centre[k]), values, s=9, color='0.15',
                           zorder=3, lw=0)
    ax.set_ylim(bottom=0)
    ax.set_xticks(x, labels, rotation=50, ha='right', fontsize=7)
    ax.set_ylabel('per minute (mean ± std;\ndots: recordings)', fontsize=8)
    ax.legend(fontsize=7, frameon=False, title='group', title_fontsize=7)
    ax.set_title('micro-action rate by group', fontsize=9)
    ax.grid(axis='y', lw=0.3, alpha=0.5)
    return save_png(fig, path)


__all__ = ['plot_rate_heatmap', 'plot_group_rates']
