# ST-GCN baseline on NW-UCLA with mirroring and a random 3D rotation added to training
# (rotate_train_pipeline of configs/_base_/datasets/nw_ucla.py).
# Pair: configs/micro_dualnet/mdn_nw_ucla_rot.py (same pipeline and epochs).
_base_ = './stgcn_nw_ucla.py'
train_dataloader = dict(dataset=dict(pipeline={{_base_.rotate_train_pipeline}}))
