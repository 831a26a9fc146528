# Micro-DualNet RGB + pose, the paper's model (METHOD.md Sec. 2), on MA-52: ResNet-101 + TSM on
# 8 frames at 224, ROIAlign of the 6 entity boxes from the stride-16 stage, RGB and pose tokens
# summed per entity (EntityTokenFusion), f_CNN joins the head. Needs the MA-52 videos under
# data/ma52/videos (the clips' `video` field, tools/data/ma52_converter.py).
# Not trained here (no GPU): see docs/benchmarks.md "RGB entity stream".
_base_ = ['./mdn_ma52.py', '../_base_/datasets/rgbpose_pipelines.py']
model = {{_base_.rgbpose_model}}
video_prefix = dict(data_prefix=dict(video='data/ma52/videos'))
train_dataloader = dict(batch_size=8, dataset=dict(pipeline={{_base_.rgbpose_train_pipeline}},
                                                   **video_prefix))
val_dataloader = dict(batch_size=8, dataset=dict(pipeline={{_base_.rgbpose_test_pipeline}},
                                                 **video_prefix))
test_dataloader = val_dataloader
optim_wrapper = dict(optimizer=dict(lr=2e-4))  # pretrained backbone: a smaller step
