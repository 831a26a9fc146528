# Micro-DualNet on Penn Action (13 joints; face/hands map to the nearest joints), official
# split. About 10 minutes on a 2-core CPU.
_base_ = [
    '../_base_/models/micro_dualnet.py',
    '../_base_/datasets/penn_action.py',
    '../_base_/schedules/adamw_cosine_30e.py',
    '../_base_/default_runtime.py',
]
model = dict(layout='penn_action_13', entity_set='limbs6', num_classes=15, in_channels=5,
             embed_dim=64, path=dict(depth=2, num_heads=4, dropout=0.1),
             global_stream=dict(embed_dim=64),
             mac_loss=dict(class_aware_negatives=True))
# limbs6: whole-body action data on a body-only skeleton (no face or finger joints), so the
# tokens go to the limbs: head, torso, two arms/hands, each leg its own token (body6 would
# spend one on a one-joint "face" and put both legs in one). Batch 16: twice the optimiser
# steps of the base schedule in the same epochs. MAC without same-class negatives (10 / 15
# classes: many same-class pairs per batch). docs/benchmarks.md, fourth round.
train_dataloader = dict(batch_size=16)
