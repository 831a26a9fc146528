"""Keypoint layouts and their entity partitions, described as data.

A layout names its keypoints, their left/right partners, the edges of its skeleton graph (the
single source of topology: bone vectors and the ST-GCN baseline's adjacency both derive from
it), and one or more *entity sets*: anatomical groups of keypoints (overlap allowed) that become
the tokens of Micro-DualNet.
"""
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Dict, List, Mapping, Sequence, Tuple

import numpy as np

from mdn.registry import LAYOUTS

# Canonical entity order (the paper's six); every layout defines all of them.
ENTITY_ORDER = ('face', 'head', 'torso', 'left_hand', 'right_hand', 'lower_body')
# The legs one by one; a layout defines them to support the 'limbs6' set.
LEG_ENTITIES = ('left_leg', 'right_leg')
# The two entity sets of the paper: 6 entities on MA-52, 5 on iMiGUE (seated behind a desk);
# 'limbs6' is for whole-body *actions* (NW-UCLA, Penn Action, NTU-like data): the classic
# five-part body split plus the head, with each leg its own token, because there the legs
# move apart (walking, kicking), and without a face token, which on body-only layouts is one
# joint already in the head.
ENTITY_SETS = {
    'body6': ENTITY_ORDER,
    'body5': ENTITY_ORDER[:5],
    'limbs6': ('head', 'torso', 'left_hand', 'right_hand') + LEG_ENTITIES,
}
# Entities an entity set leaves out on purpose, with the reason: their keypoints (those in no
# other entity of the set) are deliberately unused, not forgotten.
ENTITY_SET_OMISSIONS = {
    'body5': {'lower_body': 'iMiGUE subjects sit behind a desk: the lower body is not visible'},
    'limbs6': {'face': 'whole-body actions: facial detail does not tell them apart'},
}


@dataclass(frozen=True)
class EntityPartition:
    """The entities of one layout: names and keypoint indices; ``mask`` is ``[K, V]`` 0/1."""
    names: Tuple[str, ...]
    indices: Tuple[Tuple[int, ...], ...]
    num_keypoints: int

    @property
    def num_entities(self) -> int:
        return len(self.names)

    @property
    def mask(self) -> np.ndarray:
        mask = np.zeros((self.num_entities, self.num_keypoints), dtype=np.float32)
        for k, idx in enumerate(self.indices):
            mask[k, list(idx)] = 1.0
        return mask

    @property
    def flip_permutation(self) -> List[int]:
        """Entity order after a left/right flip (left_hand <-> right_hand)."""
        swapped = [n.replace('left', '@').replace('right', 'left').replace('@', 'right')
                   for n in self.names]
        return [self.names.index(n) for n in swapped]


@dataclass(frozen=True)
class KeypointLayout:
    """A keypoint layout: names, flip partners, skeleton edges and entity groups.

    Attributes:
        center_joints: joints whose mean is the clip centre (mid-shoulder).
        shoulder_pair / hip_pair: joints that give the normalisation scale.
        edges: undirected skeleton edges; the first joint of ``root`` side is the tree root.
        entities: entity name -> keypoint indices (each of the six canonical entities).
            Every keypoint belongs to at least one entity, or is listed in ``left_out``:
            a keypoint in no entity would change no token and never train.
        left_out: keypoint index -> why it is deliberately in no entity.
    """
    name: str
    keypoint_names: Tuple[str, ...]
    flip_pairs: Tuple[Tuple[int, int], ...]
    center_joints: Tuple[int, ...]
    shoulder_pair: Tuple[int, int]
    hip_pair: Tuple[int, int]
    edges: Tuple[Tuple[int, int], ...]
    entities: Mapping[str, Tuple[int, ...]] = field(default_factory=dict)
    root: int = 0
    left_out: Mapping[int, str] = field(default_factory=dict)

    def __post_init__(self):
        num = len(self.keypoint_names)
        for a, b in list(self.flip_pairs) + list(self.edges):
            if not (0 <= a < num and 0 <= b < num):
                raise ValueError(f'layout {self.name}: index pair ({a}, {b}) outside 0..{num-1}')
        missing = set(ENTITY_ORDER) - set(self.entities)
        if missing:
            raise ValueError(f'layout {self.name}: entities {sorted(missing)} are not defined')
        unknown = set(self.entities) - set(ENTITY_ORDER) - set(LEG_ENTITIES)
        if unknown:
            raise ValueError(f'layout {self.name}: unknown entities {sorted(unknown)}; known: '
                             f'{list(ENTITY_ORDER + LEG_ENTITIES)}')
        for ent, idx in self.entities.items():
            if not idx or min(idx) < 0 or max(idx) >= num:
                raise ValueError(f'layout {self.name}: entity {ent} has indices outside '
                                 f'0..{num-1} or is empty')
        orphans = self.uncovered_keypoints(ENTITY_ORDER)
        if orphans:
            raise ValueError(f'layout {self.name}: keypoints {self._named(orphans)} belong to '
                             'no entity; add them to one or list them in left_out with the '
                             'reason')

    def _named(self, indices: Sequence[int]) -> List[str]:
        return [f'{v} ({self.keypoint_names[v]})' for v in indices]

    def uncovered_keypoints(self, entity_set: 'str | Sequence[str]') -> List[int]:
        """Keypoints in no entity of ``entity_set`` and not deliberately left out (by the
        layout's ``left_out`` or the set's :data:`ENTITY_SET_OMISSIONS`). Should be empty."""
        names = ENTITY_SETS[entity_set] if isinstance(entity_set, str) else tuple(entity_set)
        omitted = ENTITY_SET_OMISSIONS.get(entity_set, {}) if isinstance(entity_set, str) else {}
        covered = set(self.left_out)
        for name in tuple(names) + tuple(omitted):
            covered.update(self.entities.get(name, ()))
        return [v for v in range(len(self.keypoint_names)) if v not in covered]

    @property
    def num_keypoints(self) -> int:
        return len(self.keypoint_names)

    @property
    def flip_index(self) -> np.ndarray:
        """``flip_index[v]`` is the keypoint that ``v`` becomes after a horizontal flip."""
        index = np.arange(self.num_keypoints)
        for a, b in self.flip_pairs:
            index[a], index[b] = b, a
        return index

    @property
    def parents(self) -> np.ndarray:
        """Parent of each joint in a BFS tree of ``edges`` from ``root`` (root -> itself)."""
        parents = np.full(self.num_keypoints, -1)
        parents[self.root] = self.root
        neighbours: Dict[int, List[int]] = {v: [] for v in range(self.num_keypoints)}
        for a, b in self.edges:
            neighbours[a].append(b)
            neighbours[b].append(a)
        queue = [self.root]
        while queue:
            v = queue.pop(0)
            for u in neighbours[v]:
                if parents[u] < 0:
                    parents[u] = v
                    queue.append(u)
        parents[parents < 0] = np.flatnonzero(parents < 0)  # disconnected joints: own parent
        return parents

    def adjacency(self) -> np.ndarray:
        """Symmetric 0/1 adjacency ``[V, V]`` without self loops."""
        adj = np.zeros((self.num_keypoints, self.num_keypoints), dtype=np.float32)
        for a, b in self.edges:
            adj[a, b] = adj[b, a] = 1.0
        return adj

    def partition(self, entity_set: 'str | Sequence[str]') -> EntityPartition:
        """The entities of ``entity_set`` ('body6', 'body5', 'limbs6' or a list of names)."""
        if isinstance(entity_set, str):
            if entity_set not in ENTITY_SETS:
                raise KeyError(f'unknown entity set "{entity_set}"; known: '
                               f'{sorted(ENTITY_SETS)} or a list of {list(self.entities)}')
            names = ENTITY_SETS[entity_set]
        else:
            names = tuple(entity_set)
        unknown = [n for n in names if n not in self.entities]
        if unknown or not names:
            raise KeyError(f'entities {unknown} are not defined by layout {self.name}; it '
                           f'defines: {list(self.entities)}')
        return EntityPartition(tuple(names), tuple(tuple(self.entities[n]) for n in names),
                               self.num_keypoints)


@lru_cache(maxsize=None)
def get_layout(name: str) -> KeypointLayout:
    """Build (once) the registered layout ``name``; unknown names list the known ones."""
    import mdn.layouts  # noqa: F401  (registers the built-in layouts)
    if isinstance(name, KeypointLayout):
        return name
    builder = LAYOUTS.get(name)
    if builder is None:
        raise KeyError(f'unknown keypoint layout "{name}"; registered layouts: '
                       f'{sorted(LAYOUTS.module_dict)}')
    return builder()


def names_to_indices(names: Sequence[str], all_names: Sequence[str]) -> Tuple[int, ...]:
    """Indices of ``names`` in ``all_names`` (entities written by name, not by integer)."""
    lookup = {n: i for i, n in enumerate(all_names)}
    missing = [n for n in names if n not in lookup]
    if missing:
        raise KeyError(f'unknown keypoint names {missing}')
    return tuple(lookup[n] for n in names)
