# Ablation: only the Temporal-then-Spatial path (no router, no MAC).
_base_ = './mdn_penn_action.py'
model = dict(paths='ts')
