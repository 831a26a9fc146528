"""Joint-level partitioned attention inside each entity, before the entity token is formed.

The graph stem (:mod:`.entity_graph`) mixes an entity's joints with fixed skeleton
neighbourhoods and a fixed temporal kernel. The leaders on skeleton benchmarks (SkateFormer,
and MMN on MA-52 which starts from it) instead keep joints as tokens and *attend* over
partitions of joints and time. This stem is that idea inside Micro-DualNet's structure: the
joint partition is the anatomical entity, so a joint attends to every joint of its own
entities in the same frame (any finger to any other finger, any lip point to an eyebrow) and
to its own trajectory over the clip; entities still meet only as tokens, in the two paths.
"""
from typing import Optional

import torch
from torch import Tensor, nn

from mdn.layouts.base import EntityPartition, KeypointLayout

from ..layers import Mlp
from ..layers.transformer import Attention


def same_entity_mask(partition: EntityPartition, num_keypoints: int) -> Tensor:
    """``[V, V]`` bool: True where two joints share at least one entity (self included, so a
    joint outside every entity still attends to itself)."""
    member = torch.as_tensor(partition.mask > 0)  # [K, V]
    pairs = (member[:, :, None] & member[:, None, :]).any(0)
    return pairs | torch.eye(num_keypoints, dtype=torch.bool)


class JointAttentionBlock(nn.Module):
    """Pre-norm transformer block on joint tokens ``[B, T, V, d]``:

    * spatial attention per frame, each joint over the *present* joints of its entities;
    * temporal attention per joint over the frames where that joint is present;
    * an MLP.

    LayerNorm (per token), not Group/BatchNorm: a missing joint's value reaches no statistic
    of another joint, and the result does not depend on how the batch is split.
    """

    def __init__(self, pairs: Tensor, dim: int, num_heads: int = 4, mlp_ratio: float = 2.0,
                 dropout: float = 0.0):
        super().__init__()
        self.register_buffer('pairs', pairs, persistent=False)
        self.norm_s, self.norm_t, self.norm_m = (nn.LayerNorm(dim) for _ in range(3))
        self.spatial, self.temporal = Attention(dim, num_heads), Attention(dim, num_heads)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), dropout=dropout)
        self.drop = nn.Dropout(dropout)

    def forward(self, h: Tensor, present: Tensor) -> Tensor:
        """``h [B, T, V, d]``, ``present [B, T, V]`` bool -> ``[B, T, V, d]``."""
        B, T, V, d = h.shape
        eye_v = torch.eye(V, dtype=torch.bool, device=h.device)
        spatial_mask = self.pairs & (present[:, :, None, :] | eye_v)  # [B, T, V, V]
        spatial = self.spatial(self.norm_s(h).reshape(B * T, V, d),
                               spatial_mask.reshape(B * T, 1, V, V))
        h = h + self.drop(spatial.view(B, T, V, d))
        by_joint = self.norm_t(h).transpose(1, 2).reshape(B * V, T, d)
        eye_t = torch.eye(T, dtype=torch.bool, device=h.device)
        seen = present.transpose(1, 2).reshape(B * V, 1, 1, T)
        temporal = self.temporal(by_joint, seen | eye_t)
        h = h + self.drop(temporal.view(B, V, T, d).transpose(1, 2))
        return h + self.drop(self.mlp(self.norm_m(h)))


class EntityJointAttentionStem(nn.Module):
    """``[B, T, V, C]`` keypoint features -> ``[B, T, V, D]`` joint features after
    ``num_blocks`` :class:`JointAttentionBlock` at a small width ``channels`` (133 joints on
    whole-body layouts: the width sets the cost). Missing joints (``present`` False) enter
    as zeros and are never attended to, so their value reaches no other joint."""

    def __init__(self, layout: KeypointLayout, partition: EntityPartition, in_channels: int,
                 out_dim: int, num_blocks: int = 2, channels: int = 32, num_heads: int = 4,
                 max_frames: int = 256, dropout: float = 0.0, scope: str = 'entity'):
        super().__init__()
        V = layout.num_keypoints
        if scope not in ('entity', 'body'):
            raise ValueError(f"scope must be 'entity' or 'body', got {scope!r}")
        # 'body': every joint attends to every joint of the frame (SkateFormer's distant-joint
        # partition); the entity tokens then no longer see only their own joints
        pairs = (same_entity_mask(partition, V) if scope == 'entity'
                 else torch.ones(V, V, dtype=torch.bool))
        self.stem = nn.Linear(in_channels, channels)
        self.joint_embed = nn.Parameter(torch.zeros(V, channels))
        self.time_embed = nn.Parameter(torch.zeros(max_frames, channels))
        nn.init.trunc_normal_(self.joint_embed, std=0.02)
        nn.init.trunc_normal_(self.time_embed, std=0.02)
        self.blocks = nn.ModuleList([JointAttentionBlock(pairs, channels, num_heads, 2.0, dropout)
                                     for _ in range(num_blocks)])
        self.norm = nn.LayerNorm(channels)
        self.out = nn.Linear(channels, out_dim)

    def forward(self, x: Tensor, present: Optional[Tensor] = None) -> Tensor:
        """Shape: ``[B, T, V, C] -> [B, T, V, D]``."""
        if present is None:
            present = x.detach().abs().amax(-1) > 0
        x = x * present[..., None].to(x.dtype)
        T = x.shape[1]
        h = self.stem(x) + self.joint_embed + self.time_embed[:T, None, :]
        for block in self.blocks:
            h = block(h, present)
        return self.out(self.norm(h))
