# Micro-DualNet RGB + pose on iMiGUE (5 entities, no lower body): as mdn_ma52_rgbpose.py. Needs
# the iMiGUE videos under data/imigue/videos, named as the clips' `video` field
# (tools/data/imigue_converter.py --video-template); a clip is read from its start_frame on.
_base_ = ['./mdn_imigue.py', '../_base_/datasets/rgbpose_pipelines.py']
model = {{_base_.rgbpose_model}}
video_prefix = dict(data_prefix=dict(video='data/imigue/videos'))
train_dataloader = dict(batch_size=8, dataset=dict(pipeline={{_base_.rgbpose_train_pipeline}},
                                                   **video_prefix))
val_dataloader = dict(batch_size=8, dataset=dict(pipeline={{_base_.rgbpose_test_pipeline}},
                                                 **video_prefix))
test_dataloader = val_dataloader
optim_wrapper = dict(optimizer=dict(lr=2e-4))
