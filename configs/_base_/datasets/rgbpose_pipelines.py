# Pipelines of the RGB + pose models (the paper's input: T = 8 RGB frames at 224 plus
# keypoints). Names do not collide with the pose dataset bases, so an experiment lists this file
# next to its pose config and takes the pipelines with {{_base_.rgbpose_train_pipeline}}.
# The pose part is the pose configs' (48 frames, joint + score + motion); of each clip's 48
# sampled pose frames, the 8 at the centres of 8 equal stretches are read from the video
# (DecodeVideoFrames), so a box and its frame are one video frame. Boxes are made for the six
# canonical entities from pixel keypoints before normalisation; the model keeps its own.
# Videos: each clip's `video` field (the converters write it) under the dataset's
# data_prefix=dict(video=...).
rgbpose_clip_len = 48
rgbpose_feats = ('joint', 'score', 'motion')
rgbpose_frames = 8
rgbpose_train_pipeline = [
    dict(type='EntityBoxes', padding=0.1, min_size=32),
    dict(type='NormalizeSkeleton'),
    dict(type='UniformSampleFrames', clip_len=rgbpose_clip_len),
    dict(type='RandomAffine2D', scale=(0.9, 1.1), max_rotation=10, max_shift=0.05),
    dict(type='RandomFlip', prob=0.5),
    dict(type='JointDropout', prob=0.02),
    dict(type='GenSkeletonFeatures', feats=rgbpose_feats),
    dict(type='DecodeVideoFrames', num_frames=rgbpose_frames),
    dict(type='FramesResizeCrop', scale=256, crop_size=224, random_crop=True),
    dict(type='FramesFlip'),  # follows RandomFlip: pixels, boxes and keypoints flip together
    dict(type='PackRGBPoseInputs'),
]
# One clip at test (the pose configs average 5): 5 x 8 frames through a ResNet-101 is 5x the
# cost for the RGB stream; raise num_clips here for test-time averaging.
rgbpose_test_pipeline = [
    dict(type='EntityBoxes', padding=0.1, min_size=32),
    dict(type='NormalizeSkeleton'),
    dict(type='UniformSampleFrames', clip_len=rgbpose_clip_len, num_clips=1, test_mode=True),
    dict(type='GenSkeletonFeatures', feats=rgbpose_feats),
    dict(type='DecodeVideoFrames', num_frames=rgbpose_frames),
    dict(type='FramesResizeCrop', scale=256, crop_size=224, random_crop=False),
    dict(type='PackRGBPoseInputs'),
]
# The RGB stream (paper: ResNet-101 + TSM, D = 256); an experiment merges it into its model.
rgbpose_model = dict(
    type='RGBPoseMicroDualNet',
    modality='both',  # 'both' | 'rgb' | 'pose'
    rgb_encoder=dict(
        type='RGBEntityEncoder', num_frames=rgbpose_frames, roi_stage=2, roi_size=7,
        sampling_ratio=2, global_dim=256,
        backbone=dict(type='ResNetTSM', depth=101, shift_div=8, norm_eval=False,
                      pretrained='https://download.pytorch.org/models/resnet101-63fe2227.pth')),
    token_fusion=dict(type='EntityTokenFusion', mode='sum'),
    data_preprocessor=dict(type='RGBPoseDataPreprocessor'))
