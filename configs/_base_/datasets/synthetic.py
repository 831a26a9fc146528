# Built-in synthetic micro-actions (COCO-WholeBody 133, 8 classes: 4 position, 4 motion);
# generated in code, no files needed.
dataset_type = 'SyntheticMicroActionDataset'
clip_len = 32
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
    dict(type='UniformSampleFrames', clip_len=clip_len, test_mode=True),
    dict(type='GenSkeletonFeatures', feats=feats),
    dict(type='PackMicroActionInputs'),
]
# tools/test.py --tta: 10 clips per video and the mirror image of each, scores averaged
tta_pipeline = (test_pipeline[:1]
                + [dict(type='UniformSampleFrames', clip_len=clip_len, num_clips=10,
                        test_mode=True), dict(type='FlipTestClips')] + test_pipeline[2:])
train_dataloader = dict(
    batch_size=32, num_workers=1, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, split='train', num_per_class=80, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=64, num_workers=1, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, split='val', num_per_class=30, pipeline=test_pipeline,
                 test_mode=True))
test_dataloader = dict(
    batch_size=64, num_workers=1, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, split='test', num_per_class=30, pipeline=test_pipeline,
                 test_mode=True))
val_evaluator = dict(type='AccMetric')
test_evaluator = val_evaluator
