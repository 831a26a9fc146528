# configs/micro_dualnet/mdn_nw_ucla.py for one GPU: the same model, data and schedule, with
# the data side of mdn.apis.config.apply_gpu_recipe (tools/train.py --gpu) spelt out, so a GPU
# step does not wait for the CPU. Numerics are those of the CPU config (drop_last drops the
# last 12 of 1020 training clips per epoch at batch 16; fused AdamW is AdamW in one kernel).
_base_ = ['./mdn_nw_ucla.py']
gpu_loader = dict(num_workers=8, pin_memory=True, persistent_workers=True, prefetch_factor=4,
                  collate_fn=dict(type='default_collate'))
train_dataloader = dict(**gpu_loader, drop_last=True)  # one batch shape: CUDA graphs
val_dataloader = dict(**gpu_loader)
test_dataloader = dict(**gpu_loader)
env_cfg = dict(cudnn_benchmark=True)
optim_wrapper = dict(optimizer=dict(fused=True))
model = dict(data_preprocessor=dict(type='MicroActionDataPreprocessor', non_blocking=True))
