# The built-in default: Micro-DualNet on synthetic whole-body micro-actions, a few minutes on
# a CPU. Position classes (hand on face, arms crossed, ...) vs motion classes (leg shaking,
# nodding, ...): after training, routing should show which entities lean to ST vs TS.
_base_ = [
    '../_base_/models/micro_dualnet.py',
    '../_base_/datasets/synthetic.py',
    '../_base_/schedules/adamw_cosine_12e.py',
    '../_base_/default_runtime.py',
]

model = dict(
    layout='coco_wholebody_133', entity_set='body6', num_classes=8, in_channels=5,
    embed_dim=64,
    path=dict(depth=2, num_heads=4, dropout=0.0),
    global_stream=dict(embed_dim=64))

default_hooks = dict(logger=dict(interval=10))
