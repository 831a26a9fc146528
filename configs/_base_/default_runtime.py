# Runtime shared by every experiment: MMEngine hooks, logging, checkpoints, seed.
default_scope = 'mdn'

default_hooks = dict(
    runtime_info=dict(type='RuntimeInfoHook'),
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=20, ignore_last=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2, save_best='auto'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    sync_buffers=dict(type='SyncBuffersHook'),
    # NaN/inf loss or gradients stop the run naming epoch, iteration and clips (policy='skip'
    # drops such steps instead); a checkpoint holding NaN/inf weights is never saved.
    nonfinite=dict(type='NonFiniteGuardHook', policy='raise'),
    # validation leaves every random generator as it found it: a seed fixes the training run
    # whatever val_interval is.
    val_rng=dict(type='ValRngIsolationHook'))

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'))

log_processor = dict(type='LogProcessor', window_size=20, by_epoch=True)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='Visualizer', vis_backends=vis_backends)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)
# torch.compile of the model's tensor core (tools/train.py and tools/test.py --compile [MODE]
# override it): False, True, a mode ('reduce-overhead': CUDA graphs) or torch.compile
# arguments. Off by default: on a CPU it does not pay for every model (docs/benchmarks.md).
compile = False
