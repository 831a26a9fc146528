"""Matplotlib figures without pyplot: the Agg canvas directly, so plotting never changes a
user's interactive backend and works on machines without a display."""
import io
from typing import Tuple

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from mdn.utils.io import atomic_write


def new_figure(size: Tuple[float, float] = (8.0, 4.0)) -> Figure:
    fig = Figure(figsize=size, layout='constrained')
    FigureCanvasAgg(fig)
    return fig


def save_png(fig: Figure, path: str, dpi: int = 100) -> str:
    """Write ``fig`` to ``path`` atomically (a killed run never leaves half a PNG)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format='png', dpi=dpi)
    with atomic_write(path) as f:
        f.write(buffer.getvalue())
    return path
