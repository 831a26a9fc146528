# Ablation: only the Temporal-then-Spatial path (no router, no MAC).
_base_ = './mdn_nw_ucla.py'
model = dict(paths='ts')
