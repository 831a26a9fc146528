"""Entity encoder: keypoints -> one token per anatomical entity per frame (the pose analogue
of the paper's Spatial Entity Module)."""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mdn.layouts import get_layout
from mdn.registry import MODELS

from .entity_graph import EntityGraphStem
from .entity_joint_attention import EntityJointAttentionStem


@MODELS.register_module()
class EntityEncoder(nn.Module):
    """``[B, T, V, C]`` keypoint features -> ``[B, T, K, D]`` entity tokens.

    Per frame and entity, two complementary poolings of the entity's joints are summed:

    * attention pooling of per-joint embeddings (linear + learnable joint embedding; each
      entity has its own query and attends only to its *present* joints, so a missed joint
      does not dilute the token; an entity with no present joint in a frame falls back to
      its learned "absent" embedding);
    * an entity-wise linear map of the concatenated joint features (weights zero outside the
      entity), which sees the joints' *relative configuration* (finger shape, hand-on-face).

    With ``graph_blocks > 0`` a joint-level stem (:class:`.entity_graph.EntityGraphStem`) adds
    to every joint embedding the output of that many blocks of graph convolution over each
    entity's own subgraph of the layout's edges and depthwise temporal convolution per joint,
    so the fine detail inside a hand or a face (finger shape, local motion) is in each joint
    feature before pooling. ``joint_attention=dict(num_blocks=..., channels=..., num_heads=...)``
    adds instead (or as well) :class:`.entity_joint_attention.EntityJointAttentionStem`:
    attention among the joints of each entity per frame and along each joint's trajectory.

    A residual MLP mixes the result; entity and time position embeddings are added. With
    ``temporal_kernel > 0`` a residual depthwise convolution over time (per entity, per
    channel) then gives every token its local motion context, which attention over frames
    does not have a built-in bias for (ST-GCN gets it from its temporal convolutions).

    Args:
        layout / entity_set: which keypoints form which entity (see ``mdn.layouts``).
        in_channels: C, channels per joint (e.g. x, y, score = 3).
        embed_dim: D.
        max_frames: longest T the time embedding supports.
        temporal_kernel: odd kernel of the depthwise temporal convolution (0: none).
        graph_blocks: joint-level graph/temporal blocks before pooling (0: none).
        graph_channels: their width (small: it is paid per joint and frame).
        graph_temporal_kernel: odd temporal kernel of those blocks.
        joint_attention: keyword arguments of the joint-attention stem (None: none).
    """

    def __init__(self, layout: str, entity_set='body6', in_channels: int = 3,
                 embed_dim: int = 128, max_frames: int = 256, dropout: float = 0.0,
                 temporal_kernel: int = 0, graph_blocks: int = 0, graph_channels: int = 32,
                 graph_temporal_kernel: int = 9, joint_attention: Optional[dict] = None):
        super().__init__()
        if temporal_kernel < 0 or (temporal_kernel and temporal_kernel % 2 == 0):
            raise ValueError(f'temporal_kernel must be 0 or odd, got {temporal_kernel}')
        self.layout = get_layout(layout)
        self.partition = self.layout.partition(entity_set)
        V, K, D, C = (self.layout.num_keypoints, self.partition.num_entities, embed_dim,
                      in_channels)
        self.in_channels, self.embed_dim, self.max_frames = C, D, max_frames
        self.register_buffer('entity_mask', torch.from_numpy(self.partition.mask),
                             persistent=False)
        # the same as bool, so the forward does not recompute ``mask > 0`` every step
        self.register_buffer('entity_keep', self.entity_mask > 0, persistent=False)
        self.joint_proj = nn.Linear(C, D)
        self.joint_embed = nn.Parameter(torch.zeros(V, D))
        self.graph_stem = (EntityGraphStem(self.layout, self.partition, C, D, graph_blocks,
                                           graph_channels, graph_temporal_kernel, dropout)
                           if graph_blocks else None)
        self.attention_stem = (EntityJointAttentionStem(
            self.layout, self.partition, C, D, max_frames=max_frames, dropout=dropout,
            **joint_attention) if joint_attention else None)
        self.joint_value = nn.Linear(D, D)
        self.entity_query = nn.Parameter(torch.zeros(K, D))
        # entity-wise linear: weight [K, V, C, D], masked to the entity's joints
        self.entity_linear = nn.Parameter(torch.zeros(K, V, C, D))
        self.entity_bias = nn.Parameter(torch.zeros(K, D))
        self.norm = nn.LayerNorm(D)
        self.mix = nn.Sequential(nn.Linear(D, 2 * D), nn.GELU(), nn.Dropout(dropout),
                                 nn.Linear(2 * D, D))
        self.entity_embed = nn.Parameter(torch.zeros(K, D))
        self.time_embed = nn.Parameter(torch.zeros(max_frames, D))
        self.temporal_conv = None
        if temporal_kernel:
            self.temporal_conv = nn.Sequential(
                nn.Conv1d(D, D, temporal_kernel, padding=temporal_kernel // 2, groups=D),
                nn.GELU(), nn.Conv1d(D, D, 1))
        self._init_weights()

    def _init_weights(self) -> None:
        for p in (self.joint_embed, self.entity_query, self.entity_embed, self.time_embed):
            nn.init.trunc_normal_(p, std=0.02)
        sizes = self.entity_mask.sum(1).clamp(min=1)  # joints per entity: fan-in = size * C
        with torch.no_grad():
            std = 1.0 / torch.sqrt(sizes * self.in_channels)
            self.entity_linear.normal_().mul_(std.view(-1, 1, 1, 1))

    @property
    def num_entities(self) -> int:
        return self.partition.num_entities

    def forward(self, x: Tensor, present: Optional[Tensor] = None) -> Tensor:
        """Shape: ``[B, T, V, C] -> [B, T, K, D]``.

        ``present [B, T, V]`` bool marks the joints that were detected; by default a joint
        whose features are all exactly 0 is missing (the pipeline zeroes missing joints).
        """
        B, T, V, C = x.shape
        if V != self.layout.num_keypoints or C != self.in_channels:
            raise ValueError(f'EntityEncoder for layout {self.layout.name} expects '
                             f'[B, T, {self.layout.num_keypoints}, {self.in_channels}] input, '
                             f'got {list(x.shape)}')
        if T > self.max_frames:
            raise ValueError(f'clip length {T} exceeds max_frames={self.max_frames}')
        mask = self.entity_mask  # [K, V]
        if present is None:
            present = x.detach().abs().amax(-1) > 0  # [B,T,V]
        # joint_proj's bias joins the joint embedding: one [B,T,V,D] pass fewer
        h = torch.matmul(x, self.joint_proj.weight.t()) + (self.joint_proj.bias
                                                           + self.joint_embed)
        if self.graph_stem is not None:
            h = h + self.graph_stem(x, present)
        if self.attention_stem is not None:
            h = h + self.attention_stem(x, present)
        h = torch.nn.functional.gelu(h)  # [B,T,V,D]
        K, D = self.num_entities, self.embed_dim
        keep = self.entity_keep & present[:, :, None, :]  # [B,T,K,V]
        keep = keep | ~keep.any(-1, keepdim=True) & self.entity_keep  # none present: all
        # attention pooling, all entities and frames in one fused SDPA call: per frame, K
        # queries (one per entity) over the V joint features, masked to the entity's present
        # joints; scale 1/sqrt(D). Rows sum to 1, so value(attn @ h) == attn @ value(h): the
        # value map runs on K, not V, tokens.
        joints = h.reshape(B * T, 1, V, D)
        pooled = F.scaled_dot_product_attention(
            self.entity_query.expand(B * T, 1, K, D), joints, joints,
            attn_mask=keep.reshape(B * T, 1, K, V))
        pooled = self.joint_value(pooled.view(B, T, K, D))
        weight = self.entity_linear * mask[:, :, None, None]
        config = torch.einsum('btvc,kvcd->btkd', x, weight) + self.entity_bias
        tokens = self.norm(pooled + config)
        tokens = tokens + self.mix(tokens)
        if self.temporal_conv is not None:  # [B,T,K,D] -> [B*K, D, T] and back
            h = tokens.permute(0, 2, 3, 1).reshape(B * self.num_entities, self.embed_dim, T)
            h = self.temporal_conv(h).view(B, self.num_entities, self.embed_dim, T)
            tokens = tokens + h.permute(0, 3, 1, 2)
        return tokens + self.entity_embed + self.time_embed[:T, None, :]
