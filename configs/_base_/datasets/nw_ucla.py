# Northwestern-UCLA Multiview Action3D (Kinect v1, 20 joints, x/y/z metres): 1484 clips,
# 10 classes; standard cross-view split: train on views 1 and 2, test on view 3 (1020 / 464).
dataset_type = 'SkeletonDataset'
ann_file = 'data/skeleton/nw_ucla.npz'
layout = 'kinect_20'
clip_len = 32
feats = ('joint', 'motion')  # x, y, z and their frame differences: 6 channels

train_pipeline = [
    dict(type='NormalizeSkeleton', scale_by='max'),
    dict(type='AlignYaw', vertical_axis=1),  # same facing from every camera view
    dict(type='UniformSampleFrames', clip_len=clip_len),
    dict(type='RandomAffine2D', scale=(0.9, 1.1), max_rotation=10, max_shift=0.1),
    dict(type='GenSkeletonFeatures', feats=feats),
    dict(type='PackMicroActionInputs'),
]
# The same with left/right mirroring right after AlignYaw (the shoulder line then lies on x,
# so negating x and swapping left/right joints is a true mirror); the *_nw_ucla_flip.py
# experiments train with it.
flip_train_pipeline = train_pipeline[:2] + [dict(type='RandomFlip', prob=0.5)] + train_pipeline[2:]
# Mirroring plus a random 3D rotation of each sampled clip (up to 15 degrees about every axis):
# the test camera sits at another yaw and elevation; the *_nw_ucla_rot.py experiments use it.
rotate_train_pipeline = (flip_train_pipeline[:4] + [dict(type='RandomRotate3D', max_angles=15)]
                         + flip_train_pipeline[4:])
test_pipeline = [
    dict(type='NormalizeSkeleton', scale_by='max'),
    dict(type='AlignYaw', vertical_axis=1),
    dict(type='UniformSampleFrames', clip_len=clip_len, test_mode=True),
    dict(type='GenSkeletonFeatures', feats=feats),
    dict(type='PackMicroActionInputs'),
]
# tools/test.py --tta: 10 clips per video and the mirror image of each, scores averaged
tta_pipeline = (test_pipeline[:2]
                + [dict(type='UniformSampleFrames', clip_len=clip_len, num_clips=10,
                        test_mode=True), dict(type='FlipTestClips')] + test_pipeline[3:])
common = dict(type=dataset_type, ann_file=ann_file, layout=layout, num_classes=10,
              score_channel=False)
train_dataloader = dict(
    batch_size=32, num_workers=1, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(**common, split=dict(field='view', values=[1, 2]), pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=64, num_workers=1, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(**common, split=dict(field='view', values=[3]), pipeline=test_pipeline,
                 test_mode=True))
test_dataloader = val_dataloader
val_evaluator = dict(type='AccMetric')
test_evaluator = val_evaluator
