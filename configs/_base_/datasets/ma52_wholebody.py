# MA-52 (Guo et al., TCSVT 2024): 52 actions in 7 body groups, one seated person.
# Skeletons: COCO-WholeBody 133 from tools/extract_pose.py + tools/data/ma52_converter.py
# (docs/data_preparation.md). Official splits: train 11,250 / val 5,586 / test 5,586 (test
# labels withheld: submit tools/analysis/ma52_submission.py output to the server).
dataset_type = 'SkeletonDataset'
ann_file = 'data/skeleton/ma52_wholebody.pkl'
layout = 'coco_wholebody_133'
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
common = dict(type=dataset_type, ann_file=ann_file, layout=layout, num_classes=52)
train_dataloader = dict(
    batch_size=32, num_workers=4, persistent_workers=True, pin_memory=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(**common, split='train', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=32, num_workers=4, persistent_workers=True, pin_memory=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(**common, split='val', pipeline=test_pipeline, test_mode=True))
test_dataloader = dict(
    batch_size=32, num_workers=4, persistent_workers=True, pin_memory=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(**common, split='test', pipeline=test_pipeline, test_mode=True))
val_evaluator = dict(type='MA52Metric')
test_evaluator = val_evaluator
