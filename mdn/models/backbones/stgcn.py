"""ST-GCN baseline (Yan et al., AAAI 2018), written for mdn's layouts and axis order.

    x [B*N, T, V, C] -> data BN over V*C -> 10 x (graph conv -> temporal conv, residual)
        -> features [B*N, T/4, V, 4*base]

The graph comes from the layout (``KeypointLayout.edges``, the single source of topology) and
is split with ST-GCN's *spatial* strategy: for each joint ``w`` its neighbours (itself
included) form three partitions by hop distance to the layout's ``root`` joint: same distance
(root), closer (centripetal) and farther (centrifugal). Each partition is normalised by the
neighbourhood size of ``w``, and every block learns an edge-importance mask over it.
``strategy='uniform'`` uses a single normalised partition instead.
"""
from typing import Sequence

import numpy as np
import torch
from torch import Tensor, nn

from mdn.layouts import get_layout
from mdn.registry import MODELS

STRATEGIES = ('spatial', 'uniform')


def hop_distance(layout) -> np.ndarray:
    """Hops from ``layout.root`` to each joint along ``layout.edges`` (inf if unreachable)."""
    V = layout.num_keypoints
    neighbours = [[] for _ in range(V)]
    for a, b in layout.edges:
        neighbours[a].append(b)
        neighbours[b].append(a)
    dist = np.full(V, np.inf)
    dist[layout.root] = 0
    frontier = [layout.root]
    while frontier:
        nxt = []
        for v in frontier:
            for u in neighbours[v]:
                if np.isinf(dist[u]):
                    dist[u] = dist[v] + 1
                    nxt.append(u)
        frontier = nxt
    return dist


def graph_partitions(layout, strategy: str = 'spatial') -> np.ndarray:
    """Normalised adjacency partitions ``A [P, V, V]``; ``A[p, v, w]`` weighs joint ``v``'s
    feature in joint ``w``'s output, and ``A.sum((0, 1))`` is 1 for every ``w`` (mean over
    the neighbourhood). P = 3 for 'spatial', 1 for 'uniform'."""
    if strategy not in STRATEGIES:
        raise ValueError(f'strategy must be one of {STRATEGIES}, got {strategy!r}')
    V = layout.num_keypoints
    adj = layout.adjacency() + np.eye(V, dtype=np.float32)  # neighbourhood incl. self
    norm = adj / adj.sum(0, keepdims=True)  # column w sums to 1
    if strategy == 'uniform':
        return norm[None].astype(np.float32)
    dist = hop_distance(layout)
    d_v, d_w = dist[:, None], dist[None, :]  # neighbour v, centre w
    same = (d_v == d_w) | (np.isinf(d_v) & np.isinf(d_w))
    parts = [norm * same, norm * (d_v < d_w), norm * (d_v > d_w)]
    return np.stack(parts).astype(np.float32)


class GraphConv(nn.Module):
    """Spatial graph convolution: a 1x1 conv per partition, then aggregation over the graph
    weighted by ``A * edge_importance``. Shape: ``[N, C_in, T, V] -> [N, C_out, T, V]``."""

    def __init__(self, in_channels: int, out_channels: int, A: Tensor,
                 edge_importance: bool = True):
        super().__init__()
        self.num_parts = A.shape[0]
        self.out_channels = out_channels
        self.conv = nn.Conv2d(in_channels, self.num_parts * out_channels, 1)
        self.register_buffer('A', A.clone(), persistent=False)
        if edge_importance:
            self.importance = nn.Parameter(torch.ones_like(A))
        else:
            self.register_buffer('importance', torch.ones_like(A), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        N, _, T, V = x.shape
        x = self.conv(x).view(N, self.num_parts, self.out_channels, T, V)
        return torch.einsum('npctv,pvw->nctw', x, self.A * self.importance)


class _Zero(nn.Module):
    """A residual branch that is switched off."""

    def forward(self, x: Tensor) -> int:
        return 0


class STGCNBlock(nn.Module):
    """``relu(TCN(GCN(x)) + residual(x))``; TCN = BN, ReLU, (k x 1) conv with ``stride`` over
    time, BN, dropout. Shape: ``[N, C_in, T, V] -> [N, C_out, T / stride, V]``."""

    def __init__(self, in_channels: int, out_channels: int, A: Tensor, stride: int = 1,
                 residual: bool = True, kernel_size: int = 9, dropout: float = 0.0,
                 edge_importance: bool = True):
        super().__init__()
        self.gcn = GraphConv(in_channels, out_channels, A, edge_importance)
        self.tcn = nn.Sequential(
            nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, (kernel_size, 1), (stride, 1),
                      ((kernel_size - 1) // 2, 0)),
            nn.BatchNorm2d(out_channels), nn.Dropout(dropout))
        if not residual:
            self.residual = _Zero()
        elif in_channels == out_channels and stride == 1:
            self.residual = nn.Identity()
        else:
            self.residual = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, (stride, 1)),
                nn.BatchNorm2d(out_channels))
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        return self.relu(self.tcn(self.gcn(x)) + self.residual(x))


@MODELS.register_module()
class STGCN(nn.Module):
    """ST-GCN backbone. The default is the standard 10-block network: channels
    64,64,64,64,128,128,128,256,256,256, temporal stride 2 at the first 128 and the first 256
    block, residual connections everywhere but the first block.

    Args:
        layout: keypoint layout name; its edges give the graph.
        in_channels: C per joint.
        base_channels: width of the first stage; stage ``i`` has ``base * 2**i`` channels.
        stage_blocks: blocks per stage; the first block of every later stage has stride 2.
        strategy: 'spatial' (3 partitions by distance to the root joint) or 'uniform'.
        edge_importance: learn a per-block mask over the graph's edges.
        kernel_size: temporal kernel; dropout: after each temporal conv.
    """

    def __init__(self, layout: str, in_channels: int = 3, base_channels: int = 64,
                 stage_blocks: Sequence[int] = (4, 3, 3), strategy: str = 'spatial',
                 edge_importance: bool = True, kernel_size: int = 9, dropout: float = 0.0):
        super().__init__()
        self.layout = get_layout(layout)
        self.in_channels = in_channels
        V = self.layout.num_keypoints
        A = torch.from_numpy(graph_partitions(self.layout, strategy))
        self.data_bn = nn.BatchNorm1d(V * in_channels)
        blocks, c_in = [], in_channels
        for stage, num in enumerate(stage_blocks):
            c_out = base_channels * 2 ** stage
            for i in range(num):
                stride = 2 if stage > 0 and i == 0 else 1
                blocks.append(STGCNBlock(c_in, c_out, A, stride, residual=bool(blocks),
                                         kernel_size=kernel_size, dropout=dropout,
                                         edge_importance=edge_importance))
                c_in = c_out
        self.blocks = nn.ModuleList(blocks)
        self.out_channels = c_in

    def forward(self, x: Tensor) -> Tensor:
        """Shape: ``[B*N, T, V, C] -> [B*N, T', V, C']``, ``T' = T / 2**(stages - 1)``."""
        N, T, V, C = x.shape
        if V != self.layout.num_keypoints or C != self.in_channels:
            raise ValueError(f'STGCN for layout {self.layout.name} expects '
                             f'[N, T, {self.layout.num_keypoints}, {self.in_channels}] input, '
                             f'got {list(x.shape)}')
        x = self.data_bn(x.reshape(N, T, V * C).transpose(1, 2))  # [N, V*C, T]
        x = x.view(N, V, C, T).permute(0, 2, 3, 1).contiguous()  # [N, C, T, V]
        for block in self.blocks:
            x = block(x)
        return x.permute(0, 2, 3, 1)
