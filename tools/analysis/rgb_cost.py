"""Cost per clip of the RGB + pose Micro-DualNet (the paper's model), by backbone depth.

    python tools/analysis/rgb_cost.py [--config CFG] [--depths 18 50] [--frames 8]
        [--size 224] [--batch 1] [--repeats 3] [--warmup 1] [--threads 1] [--device cpu]
        [--roi-stage 2] [--amp] [--out-json F]

Builds the config's model (default ``configs/micro_dualnet/mdn_ma52_rgbpose.py``: D = 256,
48 pose frames, 6 entities) with a random-weight ResNet-TSM of each depth, and times, on random
inputs of ``--batch`` clips with ``--frames`` RGB frames of ``--size`` pixels:

* ``forward``: inference (eval mode, no autograd), the whole model;
* ``train``: forward + backward of the training loss (train mode), the whole model;
* ``backbone``: the ResNet-TSM forward alone, and ``roi``: ROIAlign of the 6 boxes of every
  frame from the chosen stage (forward), to show where the time goes.

Medians over ``--repeats`` after ``--warmup`` untimed runs, in ms per clip. No data loading
(video decoding is separate: ``DecodeVideoFrames``).
"""
import argparse
import json
import os.path as osp
import platform
import statistics
import sys
import time
from typing import Callable, Dict, List

import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)

from mdn.apis.cli import run_cli  # noqa: E402
from mdn.utils.io import atomic_write  # noqa: E402

DEFAULT_CONFIG = osp.join(REPO, 'configs/micro_dualnet/mdn_ma52_rgbpose.py')


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--config', default=DEFAULT_CONFIG, help='an RGB + pose config')
    p.add_argument('--depths', type=int, nargs='+', default=[18, 50], help='ResNet depths')
    p.add_argument('--frames', type=int, default=8, help='RGB frames per clip (T)')
    p.add_argument('--size', type=int, default=224, help='frame side, pixels')
    p.add_argument('--batch', type=int, default=1, help='clips per forward pass')
    p.add_argument('--repeats', type=int, default=3, help='timed runs (median reported)')
    p.add_argument('--warmup', type=int, default=1, help='untimed runs first')
    p.add_argument('--threads', type=int, default=1, help='torch threads (CPU)')
    p.add_argument('--device', default='cpu')
    p.add_argument('--roi-stage', type=int, default=2, choices=[2, 3],
                   help='stage the boxes are pooled from (2: stride 16, 3: stride 32)')
    p.add_argument('--amp', action='store_true', help='autocast to float16 (CUDA)')
    p.add_argument('--out-json', help='write the results here (atomic)')
    args = p.parse_args(argv)
    if min(args.frames, args.size, args.batch, args.repeats, args.threads) < 1:
        p.error('--frames, --size, --batch, --repeats and --threads must be >= 1')
    return args


def median_ms(fn: Callable[[], None], repeats: int, warmup: int, device: str,
              amp: bool = False) -> float:
    if amp:
        inner = fn

        def fn():
            with torch.autocast(device.split(':')[0], dtype=torch.float16):
                inner()
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        if device.startswith('cuda'):
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if device.startswith('cuda'):
            torch.cuda.synchronize()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def build(cfg, depth: int, args):
    from mdn.registry import MODELS
    from mmengine.registry import DefaultScope
    model_cfg = cfg.model.copy()
    enc = model_cfg.rgb_encoder
    enc.num_frames, enc.roi_stage = args.frames, args.roi_stage
    enc.backbone.depth, enc.backbone.pretrained = depth, None
    with DefaultScope.overwrite_default_scope('mdn'):
        return MODELS.build(model_cfg).to(args.device)


def random_batch(model, cfg, args) -> Dict:
    from mdn.structures import MicroActionDataSample
    pipeline = {t['type']: t for t in cfg.test_dataloader.dataset.pipeline}
    clip_len = pipeline['UniformSampleFrames']['clip_len']
    channels = cfg.model.in_channels
    B, T, S = args.batch, args.frames, args.size
    boxes = torch.tensor([0.2, 0.2, 0.5, 0.6]) * S  # a box of a fifth of the frame
    inputs = [dict(keypoint=torch.randn(1, clip_len, model.layout.num_keypoints, channels),
                   imgs=torch.randint(0, 256, (1, T, 3, S, S), dtype=torch.uint8),
                   boxes=boxes.expand(1, T, 6, 4).clone(),
                   box_valid=torch.ones(1, T, 6, dtype=torch.bool)) for _ in range(B)]
    samples = [MicroActionDataSample().set_gt_label(i % 2) for i in range(B)]
    return dict(inputs=inputs, data_samples=samples)


def measure(cfg, depth: int, args) -> Dict[str, float]:
    model = build(cfg, depth, args)
    data = model.data_preprocessor(random_batch(model, cfg, args), training=True)
    inputs, samples = data['inputs'], data['data_samples']
    enc = model.rgb_encoder
    frames = inputs['imgs'].flatten(0, 2)  # [B*T, 3, S, S]
    B = args.batch

    def forward():
        with torch.no_grad():
            model(inputs, samples, mode='predict')

    def train():
        losses = model(inputs, samples, mode='loss')
        sum(v for k, v in losses.items() if k.startswith('loss')).backward()
        model.zero_grad(set_to_none=True)

    def backbone():
        with torch.no_grad():
            enc.backbone(frames)

    with torch.no_grad():
        fmap = enc.backbone(frames)[0]
    rois = inputs['boxes'].flatten(0, 1)[:, :, enc.box_index].flatten(0, 1)  # [B*T, K, 4]

    def roi():
        with torch.no_grad():
            enc.roi_align(fmap, rois)

    result = {}
    model.eval()
    result['forward_ms'] = median_ms(forward, args.repeats, args.warmup, args.device, args.amp) / B
    result['backbone_ms'] = median_ms(backbone, args.repeats, args.warmup, args.device, args.amp) / B
    result['roi_ms'] = median_ms(roi, args.repeats, args.warmup, args.device, args.amp) / B
    model.train()
    result['train_ms'] = median_ms(train, args.repeats, args.warmup, args.device, args.amp) / B
    result['params_m'] = sum(p.numel() for p in model.parameters()) / 1e6
    result['roi_map'] = list(fmap.shape[1:])
    return {k: round(v, 1) if isinstance(v, float) else v for k, v in result.items()}


def main(argv=None) -> dict:
    args = parse_args(argv)
    from mdn.apis.config import load_config
    from mdn.utils.setup_env import register_all_modules
    register_all_modules(init_default_scope=False)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    cfg = load_config(args.config)
    if cfg.model.get('type') != 'RGBPoseMicroDualNet':
        raise ValueError(f'{args.config}: not an RGB + pose config (model.type is '
                         f'{cfg.model.get("type")})')
    rows: List[dict] = []
    for depth in args.depths:
        row = dict(depth=depth, **measure(cfg, depth, args))
        rows.append(row)
        print(f'R{depth}: forward {row["forward_ms"]:.0f} ms/clip, forward+backward '
              f'{row["train_ms"]:.0f} ms/clip (backbone forward {row["backbone_ms"]:.0f}, '
              f'ROIAlign {row["roi_ms"]:.1f}), {row["params_m"]:.1f} M parameters, '
              f'ROI map {row["roi_map"]}')
    report = dict(config=args.config, frames=args.frames, size=args.size, batch=args.batch,
                  repeats=args.repeats, threads=args.threads, device=args.device,
                  roi_stage=args.roi_stage, amp=args.amp, torch=torch.__version__,
                  cpu=platform.processor() or platform.machine(), results=rows)
    if args.out_json:
        with atomic_write(args.out_json, 'w') as f:
            json.dump(report, f, indent=1)
    return report


if __name__ == '__main__':
    sys.exit(run_cli(main))
