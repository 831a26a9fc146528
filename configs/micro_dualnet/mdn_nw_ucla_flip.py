# Micro-DualNet on NW-UCLA with left/right mirroring added to training (after AlignYaw the
# shoulder line lies on x, so negating x and swapping left/right joints is a true mirror).
# Pair: configs/stgcn/stgcn_nw_ucla_flip.py (same pipeline and schedule).
_base_ = './mdn_nw_ucla.py'
train_pipeline = [
    dict(type='NormalizeSkeleton', scale_by='max'),
    dict(type='AlignYaw', vertical_axis=1),
    dict(type='RandomFlip', prob=0.5),
    dict(type='UniformSampleFrames', clip_len=32),
    dict(type='RandomAffine2D', scale=(0.9, 1.1), max_rotation=10, max_shift=0.1),
    dict(type='GenSkeletonFeatures', feats=('joint', 'motion')),
    dict(type='PackMicroActionInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
