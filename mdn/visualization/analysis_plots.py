"""Pictures of an evaluation dump: confusion matrix, per-class accuracy and the routing heat
map (mean ST weight per entity, overall and per class: the paper's routing analysis)."""
from typing import Optional, Sequence

import numpy as np

from .figure import new_figure, save_png
from .palette import entity_rgb


def plot_confusion_matrix(path: str, cm: np.ndarray, class_names: Sequence[str],
                          title: str = 'confusion matrix (row-normalised)') -> str:
    """Rows = true class, columns = predicted; colour = fraction of the row, text = count."""
    cm = np.asarray(cm)
    rows = cm.sum(1, keepdims=True)
    frac = np.divide(cm, rows, out=np.zeros(cm.shape, float), where=rows > 0)
    n = len(class_names)
    side = min(max(4.0, 0.42 * n + 2.0), 14.0)
    fig = new_figure((side + 0.8, side))
    ax = fig.subplots()
    image = ax.imshow(frac, cmap='Blues', vmin=0, vmax=1)
    fig.colorbar(image, ax=ax, shrink=0.7, label='fraction of true class')
    ticks = np.arange(n)
    fontsize = 8 if n <= 20 else 5
    ax.set_xticks(ticks, class_names, rotation=60, ha='right', fontsize=fontsize)
    ax.set_yticks(ticks, class_names, fontsize=fontsize)
    ax.set_xlabel('predicted')
    ax.set_ylabel('true')
    if n <= 20:
        for i in range(n):
            for j in range(n):
                if cm[i, j]:
                    ax.text(j, i, str(cm[i, j]), ha='center', va='center', fontsize=7,
                            color='white' if frac[i, j] > 0.5 else 'black')
    ax.set_title(title, fontsize=10)
    return save_png(fig, path)


def plot_per_class_accuracy(path: str, accuracy: np.ndarray, counts: np.ndarray,
                            class_names: Sequence[str]) -> str:
    """Horizontal bars of top-1 accuracy per class, with the number of test clips."""
    n = len(class_names)
    fig = new_figure((6.5, max(2.5, 0.28 * n + 1.2)))
    ax = fig.subplots()
    y = np.arange(n)
    ax.barh(y, np.nan_to_num(accuracy), color='tab:blue')
    for i in range(n):
        text = f'{accuracy[i]:.2f} (n={counts[i]})' if counts[i] else 'no clips'
        ax.text(min(np.nan_to_num(accuracy[i]) + 0.01, 0.8), i, text, va='center', fontsize=7)
    ax.set_yticks(y, class_names, fontsize=7 if n <= 30 else 5)
    ax.set_ylim(n - 0.5, -0.5)
    ax.set_xlim(0, 1)
    ax.set_xlabel('top-1 accuracy')
    valid = counts > 0
    mean = float(np.mean(accuracy[valid])) if valid.any() else float('nan')
    ax.set_title(f'per-class accuracy (mean {mean:.3f})', fontsize=10)
    return save_png(fig, path)


def plot_routing_heatmap(path: str, st_weight: np.ndarray, row_names: Sequence[str],
                         entity_names: Sequence[str], counts: Optional[Sequence[int]] = None,
                         separators: Sequence[int] = (1,),
                         title: str = 'entity routing: mean ST weight') -> str:
    """``st_weight [rows, K]`` in [0, 1]: red = the entity relies on the Spatial-then-Temporal
    path, blue = Temporal-then-Spatial, white = an even mix. A line is drawn above each row
    index in ``separators`` (e.g. between the overall row, group rows and class rows)."""
    st_weight = np.asarray(st_weight, float)
    rows, k = st_weight.shape
    fig = new_figure((1.3 * k + 3.0, 0.34 * rows + 1.6))
    ax = fig.subplots()
    image = ax.imshow(st_weight, cmap='coolwarm', vmin=0, vmax=1, aspect='auto')
    bar = fig.colorbar(image, ax=ax, shrink=0.9)
    bar.set_label('ST weight (TS = 1 - ST)', fontsize=8)
    labels = [f'{n} (n={c})' for n, c in zip(row_names, counts)] if counts is not None \
        else list(row_names)
    ax.set_yticks(range(rows), labels, fontsize=7)
    ax.set_xticks(range(k), [e.replace('_', '\n') for e in entity_names], fontsize=8)
    for tick, name in zip(ax.get_xticklabels(), entity_names):
        tick.set_color(np.array(entity_rgb(name)) / 255)
    for i in range(rows):
        for j in range(k):
            if np.isfinite(st_weight[i, j]):
                ax.text(j, i, f'{st_weight[i, j]:.2f}', ha='center', va='center', fontsize=7)
    for row in separators:
        if 0 < row < rows:
            ax.axhline(row - 0.5, color='black', lw=1.2)
    ax.set_title(title, fontsize=10)
    return save_png(fig, path)
