# Penn Action (Zhang et al., ICCV 2013): 2326 clips, 15 classes, 13 hand-annotated 2D joints;
# official split (is_train: 1258 train / 1068 test). data/ -> ../shared/data (see README).
dataset_type = 'SkeletonDataset'
ann_file = 'data/skeleton/penn_action.npz'
layout = 'penn_action_13'
clip_len = 32
feats = ('joint', 'score', 'motion')

train_pipeline = [
    # Penn's invisible joints still carry annotated positions: keep them.
    dict(type='NormalizeSkeleton', zero_missing=False, missing_thr=-1),
    dict(type='UniformSampleFrames', clip_len=clip_len),
    dict(type='RandomAffine2D', scale=(0.9, 1.1), max_rotation=10, max_shift=0.1),
    dict(type='RandomFlip', prob=0.5),
    dict(type='GenSkeletonFeatures', feats=feats),
    dict(type='PackMicroActionInputs'),
]
test_pipeline = [
    dict(type='NormalizeSkeleton', zero_missing=False, missing_thr=-1),
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
    dataset=dict(type=dataset_type, ann_file=ann_file, layout=layout, num_classes=15,
                 split=dict(field='is_train', values=[True]), pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=64, num_workers=1, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, ann_file=ann_file, layout=layout, num_classes=15,
                 split=dict(field='is_train', values=[False]), pipeline=test_pipeline,
                 test_mode=True))
test_dataloader = val_dataloader
val_evaluator = dict(type='AccMetric')
test_evaluator = val_evaluator
