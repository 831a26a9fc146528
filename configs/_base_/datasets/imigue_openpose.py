# iMiGUE (Liu et al., CVPR 2021): 32 classes (31 micro-gestures + "other"), OpenPose 137
# whole-body skeletons, cross-subject protocol (37 train / 35 test subjects).
# Built by tools/data/imigue_converter.py (docs/data_preparation.md).
_base_ = './wholebody_micro_action.py'
data = dict(ann_file='data/skeleton/imigue_openpose.pkl', layout='openpose_137',
            num_classes=32)
train_dataloader = dict(dataset=dict(**data, split='train'))
val_dataloader = dict(dataset=dict(**data, split='test'))
test_dataloader = val_dataloader
