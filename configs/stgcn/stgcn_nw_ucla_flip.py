# ST-GCN baseline on NW-UCLA with left/right mirroring added to training
# (flip_train_pipeline of configs/_base_/datasets/nw_ucla.py).
# Pair: configs/micro_dualnet/mdn_nw_ucla_flip.py (same pipeline and epochs).
_base_ = './stgcn_nw_ucla.py'
train_dataloader = dict(dataset=dict(pipeline={{_base_.flip_train_pipeline}}))
