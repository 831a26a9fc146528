# Micro-DualNet (paper sizes: D=256, 3 layers, 8 heads) on MA-52 whole-body skeletons,
# 6 entities, label smoothing and class-balanced loss for the long tail.
_base_ = [
    '../_base_/models/micro_dualnet.py',
    '../_base_/datasets/ma52_wholebody.py',
    '../_base_/schedules/adamw_cosine_30e.py',
    '../_base_/default_runtime.py',
]
model = dict(layout='coco_wholebody_133', entity_set='body6', num_classes=52, in_channels=5,
             head=dict(loss=dict(label_smoothing=0.1)))
custom_hooks = [dict(type='ClassBalancedLossHook', beta=0.999)]
default_hooks = dict(checkpoint=dict(save_best='ma52/F1_mean', rule='greater'))
