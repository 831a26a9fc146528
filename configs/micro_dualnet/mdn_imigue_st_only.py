# Ablation: only the Spatial-then-Temporal path (no router, no MAC).
_base_ = './mdn_imigue.py'
model = dict(paths='st')
