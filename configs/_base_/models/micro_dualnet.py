# Pose-based Micro-DualNet (paper: D=256, 3 layers, 8 heads, router per entity, MAC lambda 0.1).
# Experiment configs override layout / entity_set / num_classes / in_channels and sizes.
model = dict(
    type='MicroDualNet',
    layout='coco_wholebody_133',
    entity_set='body6',
    num_classes=52,
    in_channels=3,
    embed_dim=256,
    paths='dual',            # 'dual' | 'st' | 'ts'
    fusion='route',          # 'route' | 'mean'
    encoder=dict(type='EntityEncoder', max_frames=256),
    path=dict(type='FactorisedPath', depth=3, num_heads=8, mlp_ratio=2.0, dropout=0.1),
    router=dict(type='EntityRouter', hidden=64, temperature=1.0, per_frame=False),
    # class_aware_negatives=True leaves same-class clips out of MAC's negatives (docs/method.md)
    mac_loss=dict(type='MACLoss', proj_dim=64, temperature=0.1, loss_weight=0.1,
                  class_aware_negatives=False),
    global_stream=dict(type='GlobalPoseStream', embed_dim=128, depth=2),
    # temporal_segments: pool 4 stretches of the clip separately so the head keeps the order
    # of phases (+0.9 to +2.3 top-1 on NW-UCLA / Penn Action, docs/benchmarks.md)
    head=dict(type='MicroActionHead', hidden=256, dropout=0.3, temporal_segments=4,
              loss=dict(type='MicroActionCELoss', label_smoothing=0.0)),
    data_preprocessor=dict(type='MicroActionDataPreprocessor'))
