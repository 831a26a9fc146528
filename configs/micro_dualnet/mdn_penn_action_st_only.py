# Ablation: only the Spatial-then-Temporal path (no router, no MAC).
_base_ = './mdn_penn_action.py'
model = dict(paths='st')
