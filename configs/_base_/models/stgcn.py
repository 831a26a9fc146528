# ST-GCN baseline (Yan et al., AAAI 2018): 10 blocks, channels 64x4 / 128x3 / 256x3, temporal
# kernel 9, stride 2 at the first 128 and 256 blocks, 3-partition spatial graph with learnable
# edge importance, global average pooling + linear classifier.
# Experiment configs override layout / num_classes / in_channels, as for Micro-DualNet.
model = dict(
    type='SkeletonGCN',
    layout='coco_wholebody_133',
    num_classes=52,
    in_channels=3,
    backbone=dict(type='STGCN', base_channels=64, stage_blocks=(4, 3, 3), strategy='spatial',
                  edge_importance=True, kernel_size=9, dropout=0.0),
    head=dict(type='GCNClsHead', dropout=0.0,
              loss=dict(type='MicroActionCELoss', label_smoothing=0.0)),
    data_preprocessor=dict(type='MicroActionDataPreprocessor'))
# BatchNorm statistics shared across GPUs in distributed training (ignored in one process;
# on CPU gloo processes mdn keeps per-process statistics and says so).
sync_bn = 'torch'
