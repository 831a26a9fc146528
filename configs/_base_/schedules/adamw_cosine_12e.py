# The 30-epoch AdamW + cosine schedule, shortened to 12 epochs.
_base_ = './adamw_cosine_30e.py'
max_epochs = 12
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, eta_min=0, by_epoch=True, begin=1,
         end=max_epochs, convert_to_iter_based=True),
]
