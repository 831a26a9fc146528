# Micro-DualNet (paper sizes) on iMiGUE OpenPose 137 skeletons, 5 entities (no lower body:
# the players sit behind a desk), cross-subject split.
_base_ = [
    '../_base_/models/micro_dualnet.py',
    '../_base_/datasets/imigue_openpose.py',
    '../_base_/schedules/adamw_cosine_30e.py',
    '../_base_/default_runtime.py',
]
model = dict(layout='openpose_137', entity_set='body5', num_classes=32, in_channels=5,
             head=dict(loss=dict(label_smoothing=0.1)))
