# ST-GCN baseline on Penn Action: same data, pipeline and 30 epochs as
# configs/micro_dualnet/mdn_penn_action.py, compared at equal epochs (batch 32 here, 16 there).
_base_ = [
    '../_base_/models/stgcn.py',
    '../_base_/datasets/penn_action.py',
    '../_base_/schedules/adamw_cosine_30e.py',
    '../_base_/default_runtime.py',
]
model = dict(layout='penn_action_13', num_classes=15, in_channels=5)
