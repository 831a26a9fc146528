# Ablation: both paths averaged 50/50 instead of the entity-level router.
_base_ = './mdn_imigue.py'
model = dict(fusion='mean')
