# Ablation: only the Temporal-then-Spatial path (no router, no MAC).
_base_ = './mdn_ma52.py'
model = dict(paths='ts')
