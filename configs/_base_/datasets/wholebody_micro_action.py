# Shared by the whole-body micro-action datasets (MA-52, iMiGUE): pipelines and loaders.
# A dataset file inherits this and names only its file, layout, classes and splits; the
# pipelines read the layout from each clip, so they are never repeated.
dataset_type = 'SkeletonDataset'
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
train_dataloader = dict(
    batch_size=32, num_workers=4, persistent_workers=True, pin_memory=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=32, num_workers=4, persistent_workers=True, pin_memory=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, pipeline=test_pipeline, test_mode=True))
test_dataloader = val_dataloader
val_evaluator = dict(type='AccMetric', topk=(1, 5))
test_evaluator = val_evaluator
