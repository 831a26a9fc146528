# ST-GCN baseline on NW-UCLA cross-view: same data, pipeline and 30 epochs as
# configs/micro_dualnet/mdn_nw_ucla.py (equal epochs; batch 32 here, 16 there).
_base_ = [
    '../_base_/models/stgcn.py',
    '../_base_/datasets/nw_ucla.py',
    '../_base_/schedules/adamw_cosine_30e.py',
    '../_base_/default_runtime.py',
]
model = dict(layout='kinect_20', num_classes=10, in_channels=6)
