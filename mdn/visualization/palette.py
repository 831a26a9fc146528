"""One colour per entity, shared by the skeleton overlay and the routing plots, so a reader
who learns "orange = left hand" in one picture can read the others."""
from typing import Dict, List, Sequence, Tuple

import numpy as np

from mdn.layouts import get_layout

# RGB in [0, 255]; mostly the colour-blind-safe Okabe-Ito set.
ENTITY_RGB: Dict[str, Tuple[int, int, int]] = {
    'face': (0, 114, 178),        # blue
    'head': (86, 180, 233),       # sky blue
    'torso': (0, 158, 115),       # green
    'left_hand': (230, 159, 0),   # orange
    'right_hand': (204, 121, 167),  # pink
    'lower_body': (117, 60, 170),  # purple
    'left_leg': (117, 60, 170),   # purple (the lower body's colour: the two never meet)
    'right_leg': (213, 94, 0),    # vermillion
}
OTHER_RGB = (150, 150, 150)


def entity_rgb(name: str) -> Tuple[int, int, int]:
    return ENTITY_RGB.get(name, OTHER_RGB)


def keypoint_colors(layout: str, entities: Sequence[str]) -> np.ndarray:
    """``[V, 3]`` BGR uint8 colour of each keypoint: its entity's (a keypoint shared by two
    entities, e.g. the wrist, takes the later one), grey when in none."""
    lay = get_layout(layout)
    colors = np.tile(np.array(OTHER_RGB[::-1], np.uint8), (lay.num_keypoints, 1))
    for name in entities:
        colors[list(lay.entities[name])] = entity_rgb(name)[::-1]
    return colors


def edge_colors(layout: str, colors: np.ndarray) -> List[Tuple[int, int, int]]:
    """BGR colour of each layout edge: the shared colour of its ends, else grey."""
    lay = get_layout(layout)
    grey = OTHER_RGB[::-1]
    return [tuple(int(c) for c in colors[a]) if (colors[a] == colors[b]).all() else grey
            for a, b in lay.edges]


def label_rgb(index: int) -> Tuple[float, float, float]:
    """A distinct matplotlib colour (0-1 RGB) for class ``index`` (tab20, then repeats)."""
    from matplotlib import colormaps
    return tuple(colormaps['tab20'](index % 20)[:3])
