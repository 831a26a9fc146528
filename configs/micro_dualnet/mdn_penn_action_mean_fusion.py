# Ablation: both paths averaged 50/50 instead of the entity-level router.
_base_ = './mdn_penn_action.py'
model = dict(fusion='mean')
