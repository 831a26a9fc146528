# Ablation: both paths averaged 50/50 instead of the entity-level router.
_base_ = './mdn_nw_ucla.py'
model = dict(fusion='mean')
