# Ablation: the RGB entity stream alone on iMiGUE (the paper's "RGB only", 71.54 top-1):
# tokens from the entity boxes only; the pose encoder and pose global stream are not built
# (keypoints still place the boxes).
_base_ = './mdn_imigue_rgbpose.py'
model = dict(modality='rgb')
