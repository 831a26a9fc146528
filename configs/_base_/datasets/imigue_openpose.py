# iMiGUE (Liu et al., CVPR 2021): 32 classes (31 micro-gestures + "other"), OpenPose 137
# whole-body skeletons, cross-subject protocol (37 train / 35 test subjects).
# Built by tools/data/imigue_converter.py (docs/data_preparation.md).
dataset_type = 'SkeletonDataset'
ann_file = 'data/skeleton/imigue_openpose.pkl'
layout = 'openpose_137'
clip_len = 48
feats = ('joint', 'score', 'motion')

train_pipeline = [
    dict(type='NormalizeSkeleton'),
    dict(type='UniformSampleFrames', clip_len=clip_len),
    dict(type='RandomAffine2D', scale=(0.9, 1.1), max_rotation=10, max_shift=0.05),
    dict(type='RandomFlip', prob=0.5),
    dict(type='JointDropout', prob=0.02),
    dict(type='GenSkeletonFeatures', feats=feats),
    dict(type='PackMicroActionInputs'),
]
test_pipeline = [
    dict(type='NormalizeSkeleton'),
    dict(type='UniformSampleFrames', clip_len=clip_len, num_clips=5, test_mode=True),
    dict(type='GenSkeletonFeatures', feats=feats),
    dict(type='PackMicroActionInputs'),
]
common = dict(type=dataset_type, ann_file=ann_file, layout=layout, num_classes=32)
train_dataloader = dict(
    batch_size=32, num_workers=4, persistent_workers=True, pin_memory=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(**common, split='train', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=32, num_workers=4, persistent_workers=True, pin_memory=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(**common, split='test', pipeline=test_pipeline, test_mode=True))
test_dataloader = val_dataloader
val_evaluator = dict(type='AccMetric', topk=(1, 5))
test_evaluator = val_evaluator
