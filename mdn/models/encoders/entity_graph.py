"""Joint-level mixing inside each entity, before the entity token is formed.

A micro-action is made of fine detail inside one entity (finger shape, a twitch of the lips).
A single linear map from an entity's joints to its token sees that detail only through one
projection; these blocks first let every joint exchange information with its skeleton
neighbours *inside its entities* and with its own recent past, as a GCN does, so each joint
feature carries local shape and motion when it is pooled.
"""
from typing import Optional

import numpy as np
import torch
from torch import Tensor, nn

from mdn.layouts.base import EntityPartition, KeypointLayout


def entity_subgraph_edges(layout: KeypointLayout, partition: EntityPartition) -> np.ndarray:
    """``[E, 2]`` directed edges (both directions) of the layout graph whose two joints share
    an entity of ``partition``; edges between entities are dropped, so messages stay inside
    the anatomical group (entities meet only through the joints they share)."""
    groups = [set(idx) for idx in partition.indices]
    kept = [(a, b) for a, b in layout.edges if any(a in g and b in g for g in groups)]
    if not kept:
        return np.zeros((0, 2), dtype=np.int64)
    edges = np.asarray(kept, dtype=np.int64)
    return np.concatenate([edges, edges[:, ::-1]])


def entity_subgraph_adjacency(layout: KeypointLayout, partition: EntityPartition) -> np.ndarray:
    """``[V, V]`` symmetric-normalised adjacency with self loops, ``D^-1/2 (A + I) D^-1/2``,
    of the entity subgraphs (:func:`entity_subgraph_edges`)."""
    V = layout.num_keypoints
    adj = np.eye(V, dtype=np.float32)
    edges = entity_subgraph_edges(layout, partition)
    adj[edges[:, 0], edges[:, 1]] = 1.0
    inv_sqrt = 1.0 / np.sqrt(adj.sum(1))
    return adj * inv_sqrt[:, None] * inv_sqrt[None, :]


class EntityGraphBlock(nn.Module):
    """One joint-level block on channels-first features ``[B, C, T, V]`` (ST-GCN's layout, so
    both convolutions are single native kernels):

    * graph convolution inside the entities: ``h @ (A * importance)`` over the joint axis
      (``A`` from :func:`entity_subgraph_adjacency`, ``importance`` learnable on its edges like
      ST-GCN's edge importance), a 1x1 convolution, GroupNorm, GELU, residual;
    * depthwise temporal convolution per joint and channel, a 1x1 convolution, GroupNorm,
      GELU, residual: each joint's local motion.

    Missing joints (``present`` False) send no message to their neighbours. GroupNorm, not
    BatchNorm: the result does not depend on how the batch is split across processes.
    """

    def __init__(self, adjacency: np.ndarray, channels: int, temporal_kernel: int = 9,
                 dropout: float = 0.0):
        super().__init__()
        if temporal_kernel < 1 or temporal_kernel % 2 == 0:
            raise ValueError(f'temporal_kernel must be odd and >= 1, got {temporal_kernel}')
        adjacency = torch.as_tensor(adjacency, dtype=torch.float32)
        self.register_buffer('adjacency', adjacency, persistent=False)
        self.importance = nn.Parameter(torch.ones_like(adjacency))
        self.spatial = nn.Sequential(nn.Conv2d(channels, channels, 1),
                                     nn.GroupNorm(1, channels), nn.GELU())
        self.temporal = nn.Sequential(
            nn.Conv2d(channels, channels, (temporal_kernel, 1),
                      padding=(temporal_kernel // 2, 0), groups=channels),
            nn.Conv2d(channels, channels, 1), nn.GroupNorm(1, channels), nn.GELU())
        self.drop = nn.Dropout(dropout)

    def forward(self, h: Tensor, present: Optional[Tensor] = None) -> Tensor:
        """``h [B, C, T, V]``, ``present [B, T, V]`` bool -> ``[B, C, T, V]``."""
        messages = h if present is None else h * present[:, None].to(h.dtype)
        h = h + self.drop(self.spatial(torch.matmul(messages,
                                                    self.adjacency * self.importance)))
        return h + self.drop(self.temporal(h))


class EntityGraphStem(nn.Module):
    """``[B, T, V, C]`` keypoint features -> ``[B, T, V, D]`` joint features mixed inside their
    entities by ``num_blocks`` :class:`EntityGraphBlock` at a small width ``channels`` (the
    joint axis is 133 long on whole-body layouts, so the width is what sets the cost)."""

    def __init__(self, layout: KeypointLayout, partition: EntityPartition, in_channels: int,
                 out_dim: int, num_blocks: int = 2, channels: int = 32,
                 temporal_kernel: int = 9, dropout: float = 0.0):
        super().__init__()
        adjacency = entity_subgraph_adjacency(layout, partition)
        self.num_edges = int((adjacency > 0).sum() - layout.num_keypoints) // 2
        self.stem = nn.Conv2d(in_channels, channels, 1)
        self.blocks = nn.ModuleList([EntityGraphBlock(adjacency, channels, temporal_kernel,
                                                      dropout) for _ in range(num_blocks)])
        self.out = nn.Linear(channels, out_dim)

    def forward(self, x: Tensor, present: Optional[Tensor] = None) -> Tensor:
        """Shape: ``[B, T, V, C] -> [B, T, V, D]``. Missing joints (``present [B, T, V]``
        False) enter as zeros, so whatever value they carry reaches no statistic (GroupNorm
        normalises over all joints of a clip)."""
        if present is not None:
            x = x * present[..., None].to(x.dtype)
        h = self.stem(x.permute(0, 3, 1, 2))
        for block in self.blocks:
            h = block(h, present)
        return self.out(h.permute(0, 2, 3, 1))
