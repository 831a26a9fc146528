# Experiment (not the default): Micro-DualNet on NW-UCLA with mirroring, and a joint-level stem
# in the entity encoder: two graph-convolution blocks over each entity's own joints (its
# subgraph of the layout's edges, shared across frames) before the entity token is formed.
# Measured in docs/benchmarks.md: within one seed's spread of the default, at half the speed.
_base_ = './mdn_nw_ucla_flip.py'
model = dict(encoder=dict(graph_blocks=2))
