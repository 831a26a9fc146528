# ST-GCN baseline on the synthetic whole-body micro-actions (COCO-WholeBody 133): same data,
# pipeline and 12-epoch schedule as configs/micro_dualnet/mdn_synthetic.py. Also the reference
# model of tools/benchmark.py.
_base_ = [
    '../_base_/models/stgcn.py',
    '../_base_/datasets/synthetic.py',
    '../_base_/schedules/adamw_cosine_12e.py',
    '../_base_/default_runtime.py',
]
model = dict(layout='coco_wholebody_133', num_classes=8, in_channels=5)

default_hooks = dict(logger=dict(interval=10))
