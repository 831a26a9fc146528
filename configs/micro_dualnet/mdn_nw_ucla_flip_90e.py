# Micro-DualNet on NW-UCLA with mirroring, trained 90 epochs instead of 30: about the CPU time
# the ST-GCN baseline needs for its 30 (equal wall-clock budget rather than equal epochs).
# Same optimiser, warm-up and cosine decay, stretched over 90 epochs.
_base_ = './mdn_nw_ucla_flip.py'
max_epochs = 90
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, eta_min=0, by_epoch=True, begin=1,
         end=max_epochs, convert_to_iter_based=True),
]
