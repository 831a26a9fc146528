# Micro-DualNet on NW-UCLA (Kinect 20 joints, x/y/z), cross-view: train views 1-2, test view 3.
_base_ = [
    '../_base_/models/micro_dualnet.py',
    '../_base_/datasets/nw_ucla.py',
    '../_base_/schedules/adamw_cosine_30e.py',
    '../_base_/default_runtime.py',
]
model = dict(layout='kinect_20', entity_set='limbs6', num_classes=10, in_channels=6,
             embed_dim=64, path=dict(depth=2, num_heads=4, dropout=0.1),
             global_stream=dict(embed_dim=64),
             mac_loss=dict(class_aware_negatives=True))
# limbs6: whole-body action data on a body-only skeleton (no face or finger joints), so the
# tokens go to the limbs: head, torso, two arms/hands, each leg its own token (body6 would
# spend one on a one-joint "face" and put both legs in one). Batch 16: twice the optimiser
# steps of the base schedule in the same epochs. MAC without same-class negatives (10 / 15
# classes: many same-class pairs per batch). docs/benchmarks.md, fourth round.
train_dataloader = dict(batch_size=16)
