# Ablation: both paths and the router, without the MAC consistency loss (lambda = 0).
_base_ = './mdn_imigue.py'
model = dict(mac_loss=dict(loss_weight=0.0))
