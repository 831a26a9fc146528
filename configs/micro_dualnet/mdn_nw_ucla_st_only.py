# Ablation: only the Spatial-then-Temporal path (no router, no MAC).
_base_ = './mdn_nw_ucla.py'
model = dict(paths='st')
