"""Speed, memory, parameters and FLOPs of recognisers built from configs (the logic behind
``tools/benchmark.py``).

Per model, on random clips of shape ``[B, 1, T, V, C]``:

* training throughput: clips/s of ``model.train_step`` (data preprocessor, forward, loss,
  backward, the config's optimiser wrapper with its gradient clipping and step);
* inference latency: ms per clip at batch 1, ``model.eval()``, ``torch.no_grad()``, mode
  'tensor'; inference throughput: clips/s at ``batch_infer``;
* ``amp=True`` (CUDA only): inference under fp16 autocast and training through MMEngine's
  AmpOptimWrapper, as ``tools/train.py --amp`` trains;
* peak memory: growth of the process's peak RSS (``ru_maxrss``) during the phase on CPU, or
  ``torch.cuda.max_memory_allocated`` above what was allocated before it on CUDA;
* parameters, and FLOPs per clip by ``mmengine.analysis.FlopAnalyzer`` on the 'tensor'
  forward (one multiply-add counts as one FLOP, fvcore's convention).

Each timing is ``warmup`` untimed calls then ``repeats`` timed ones; the median is reported.
Inference and training of each model run in fresh subprocesses, so each peak-memory
high-water mark belongs to one model and one phase. All models of a run are measured
phase by phase (every model's inference, then every model's training).
"""
import copy
import gc
import json
import os
import os.path as osp
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch

PHASES = ('infer', 'train')


@dataclass
class BenchmarkSettings:
    """What to measure. ``clip_len`` / ``num_keypoints`` / ``layout`` override the config's
    clip length and keypoint layout (``num_keypoints`` picks the registered layout with that
    many keypoints); ``threads`` sets ``torch.set_num_threads`` (None: torch's default)."""
    clip_len: Optional[int] = None
    layout: Optional[str] = None
    num_keypoints: Optional[int] = None
    batch_train: int = 16
    batch_infer: int = 32
    repeats: int = 5
    warmup: int = 1
    device: str = 'cpu'
    threads: Optional[int] = None
    amp: bool = False

    def __post_init__(self):
        for key in ('batch_train', 'batch_infer', 'repeats'):
            if getattr(self, key) < 1:
                raise ValueError(f'{key} must be >= 1, got {getattr(self, key)}')
        if self.warmup < 0:
            raise ValueError(f'warmup must be >= 0, got {self.warmup}')
        if self.device not in ('cpu', 'cuda'):
            raise ValueError(f"device must be 'cpu' or 'cuda', got {self.device!r}")
        if self.amp and self.device != 'cuda':
            raise ValueError('amp=True measures CUDA mixed precision (fp16 autocast, '
                             "AmpOptimWrapper); it needs device='cuda'")


# ----------------------------------------------------------------------------- building
def layout_with_keypoints(num_keypoints: int) -> str:
    """The registered layout with ``num_keypoints`` keypoints (it must be unique)."""
    from mdn.layouts import get_layout
    from mdn.registry import LAYOUTS
    names = [n for n in sorted(LAYOUTS.module_dict)
             if get_layout(n).num_keypoints == num_keypoints]
    if len(names) != 1:
        raise ValueError(f'{len(names)} registered layouts have {num_keypoints} keypoints '
                         f'({names}); name one with --layout')
    return names[0]


def build_model(config: str, settings: BenchmarkSettings):
    """Build the config's model with the settings' overrides.

    Returns ``(model, cfg, (T, V, C))``; T from ``settings.clip_len`` or the config's
    ``clip_len``, V from the (overridden) layout, C from ``model.in_channels``."""
    from mdn.apis.config import load_config
    from mdn.layouts import get_layout
    from mdn.registry import MODELS
    from mdn.utils import register_all_modules
    register_all_modules()
    cfg = load_config(config)
    layout = settings.layout
    if layout is None and settings.num_keypoints is not None:
        current = cfg.model.get('layout')
        if current is None or get_layout(current).num_keypoints != settings.num_keypoints:
            layout = layout_with_keypoints(settings.num_keypoints)
    if layout is not None:
        cfg.model.layout = layout
    if 'layout' not in cfg.model:
        raise ValueError(f'{config}: model has no "layout"; give one with --layout')
    V = get_layout(cfg.model.layout).num_keypoints
    if settings.num_keypoints is not None and settings.num_keypoints != V:
        raise ValueError(f'layout {cfg.model.layout} has {V} keypoints, not '
                         f'{settings.num_keypoints}')
    T = settings.clip_len or cfg.get('clip_len', 32)
    C = cfg.model.get('in_channels', 3)
    return MODELS.build(cfg.model), cfg, (T, V, C)


def make_batch(shape: Tuple[int, int, int], batch: int, num_classes: int,
               device: str) -> dict:
    """A random batch in the data loader's format: ``inputs [B, 1, T, V, C]`` + samples."""
    from mdn.structures import MicroActionDataSample
    inputs = torch.randn(batch, 1, *shape, device=device)
    samples = [MicroActionDataSample().set_gt_label(i % num_classes) for i in range(batch)]
    return dict(inputs=inputs, data_samples=samples)


# ----------------------------------------------------------------------------- counting
def _sdpa_flop_jit(inputs: List, outputs: List) -> int:
    """``scaled_dot_product_attention``: ``q k^T`` and ``attn v`` multiply-adds."""
    from mmengine.analysis.jit_handles import get_shape
    q, k, v = (get_shape(x) for x in inputs[:3])
    batch = 1
    for s in q[:-2]:
        batch *= s
    return batch * q[-2] * k[-2] * (q[-1] + v[-1])


def count_flops(model: torch.nn.Module, shape: Tuple[int, int, int], device: str) -> int:
    """Multiply-adds of one clip through ``model(x, mode='tensor')``."""
    from mmengine.analysis import FlopAnalyzer
    x = torch.randn(1, 1, *shape, device=device)
    analyzer = FlopAnalyzer(model.eval(), (x,))
    analyzer.set_op_handle('aten::scaled_dot_product_attention', _sdpa_flop_jit)
    analyzer.unsupported_ops_warnings(False)
    analyzer.uncalled_modules_warnings(False)
    with torch.no_grad():
        return int(analyzer.total())


# ----------------------------------------------------------------------------- timing
def _sync(device: str) -> None:
    if device == 'cuda':
        torch.cuda.synchronize()


def time_calls(fn: Callable[[], object], warmup: int, repeats: int,
               device: str = 'cpu') -> List[float]:
    """Seconds of each of ``repeats`` calls of ``fn`` after ``warmup`` untimed ones."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        _sync(device)
        start = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - start)
    return times


class PeakMemory:
    """Context manager: ``.mb`` is the peak memory the block added (see module docstring)."""

    def __init__(self, device: str):
        self.device, self.mb = device, 0.0

    def __enter__(self):
        gc.collect()
        if self.device == 'cuda':
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            self._base = torch.cuda.memory_allocated()
        else:
            self._base = _maxrss_bytes()
        return self

    def __exit__(self, *exc):
        if self.device == 'cuda':
            torch.cuda.synchronize()
            peak = torch.cuda.max_memory_allocated()
        else:
            peak = _maxrss_bytes()
        self.mb = (peak - self._base) / 2 ** 20


def _maxrss_bytes() -> int:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss if sys.platform == 'darwin' else rss * 1024  # Linux reports KiB


# ----------------------------------------------------------------------------- phases
def measure_inference(model, shape, settings: BenchmarkSettings) -> Dict:
    """Batch-1 latency and ``batch_infer`` throughput, peak memory of each, params, FLOPs."""
    device = settings.device
    model.eval()
    num_classes = _num_classes(model)
    results = {}
    autocast = torch.autocast('cuda', enabled=settings.amp)
    with torch.no_grad(), autocast:
        for key, batch in (('latency', 1), ('infer', settings.batch_infer)):
            x = make_batch(shape, batch, num_classes, device)['inputs']
            with PeakMemory(device) as mem:
                times = time_calls(lambda: model(x, mode='tensor'), settings.warmup,
                                   settings.repeats, device)
            results[f'{key}_times_s'] = times
            results[f'mem_{key}_mb'] = mem.mb
            del x
    median = statistics.median
    results['latency_ms'] = 1e3 * median(results['latency_times_s'])
    results['infer_clips_per_s'] = settings.batch_infer / median(results['infer_times_s'])
    results['params'] = sum(p.numel() for p in model.parameters())
    results['flops'] = count_flops(model, shape, device)
    return results


def measure_training(model, cfg, shape, settings: BenchmarkSettings) -> Dict:
    """Clips/s of ``train_step`` with the config's optimiser wrapper, and its peak memory."""
    from mmengine.optim import build_optim_wrapper

    from mdn.apis.config import use_amp_optim_wrapper
    device = settings.device
    model.train()
    optim_cfg = copy.deepcopy(cfg.optim_wrapper)
    if settings.amp:  # what ``tools/train.py --amp`` does
        use_amp_optim_wrapper(optim_cfg)
    optim_wrapper = build_optim_wrapper(model, optim_cfg)
    data = make_batch(shape, settings.batch_train, _num_classes(model), device)
    with PeakMemory(device) as mem:
        times = time_calls(lambda: model.train_step(data, optim_wrapper), settings.warmup,
                           settings.repeats, device)
    return dict(train_times_s=times, mem_train_mb=mem.mb,
                train_clips_per_s=settings.batch_train / statistics.median(times))


def _num_classes(model) -> int:
    return model.head.num_classes


def run_phase(config: str, phase: str, settings: BenchmarkSettings) -> Dict:
    """Build the model and measure one phase, in this process."""
    if phase not in PHASES:
        raise ValueError(f'phase must be one of {PHASES}, got {phase!r}')
    if settings.threads:
        torch.set_num_threads(settings.threads)
    if settings.device == 'cuda' and not torch.cuda.is_available():
        raise RuntimeError('--device cuda requested but CUDA is not available')
    torch.manual_seed(0)
    model, cfg, shape = build_model(config, settings)
    model.to(settings.device)
    out = dict(shape=list(shape), layout=cfg.model.layout)
    if phase == 'infer':
        out.update(measure_inference(model, shape, settings))
    else:
        out.update(measure_training(model, cfg, shape, settings))
    return out


def _worker_main() -> None:
    """Subprocess entry: ``argv = [spec.json, result.json]``."""
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    result = run_phase(spec['config'], spec['phase'], BenchmarkSettings(**spec['settings']))
    with open(sys.argv[2], 'w') as f:
        json.dump(result, f)


def run_phase_subprocess(config: str, phase: str, settings: BenchmarkSettings) -> Dict:
    """``run_phase`` in a fresh Python process (its own peak-RSS high-water mark)."""
    root = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(p for p in (root, env.get('PYTHONPATH')) if p)
    with tempfile.TemporaryDirectory(prefix='mdn_bench_') as tmp:
        spec, result = osp.join(tmp, 'spec.json'), osp.join(tmp, 'result.json')
        with open(spec, 'w') as f:
            json.dump(dict(config=config, phase=phase, settings=asdict(settings)), f)
        code = 'from mdn.apis.benchmark import _worker_main; _worker_main()'
        proc = subprocess.run([sys.executable, '-c', code, spec, result], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f'benchmark of {config} ({phase}) failed:\n{proc.stdout[-4000:]}')
        with open(result) as f:
            return json.load(f)


# ----------------------------------------------------------------------------- a run
def benchmark(configs: Sequence[str], settings: BenchmarkSettings,
              log: Callable[[str], None] = print) -> Dict:
    """Measure every config (phase by phase); ratios compare ``configs[0]`` with each other.

    Returns ``dict(settings, env, models=[...], ratios=[...])`` (JSON-serialisable)."""
    env = dict(torch=torch.__version__, python=platform.python_version(),
               device=_device_name(settings.device), threads=settings.threads or
               torch.get_num_threads(), loadavg_start=_loadavg())
    models = [dict(name=osp.splitext(osp.basename(c))[0], config=c) for c in configs]
    for phase in PHASES:
        for model in models:
            log(f'[benchmark] {model["name"]}: {phase} ...')
            model.update(run_phase_subprocess(model['config'], phase, settings))
    env['loadavg_end'] = _loadavg()
    ref = models[0]
    ratios = [dict(model=ref['name'], baseline=other['name'],
                   train_clips_per_s_ratio=ref['train_clips_per_s'] / other['train_clips_per_s'],
                   latency_ratio=ref['latency_ms'] / other['latency_ms'],
                   infer_clips_per_s_ratio=ref['infer_clips_per_s'] / other['infer_clips_per_s'])
              for other in models[1:]]
    return dict(settings=asdict(settings), env=env, models=models, ratios=ratios)


def format_report(report: Dict) -> str:
    """The run as a table plus one line per ratio."""
    s = report['settings']
    mem = 'CUDA alloc' if s['device'] == 'cuda' else 'RSS'
    header = ['model', 'T x V x C', 'params (M)', 'GFLOPs/clip',
              f'train clips/s (B={s["batch_train"]})', 'latency ms (B=1)',
              f'infer clips/s (B={s["batch_infer"]})', f'train peak MB ({mem})',
              f'infer peak MB ({mem})']
    rows = [[m['name'], 'x'.join(map(str, m['shape'])), f'{m["params"] / 1e6:.2f}',
             f'{m["flops"] / 1e9:.2f}', f'{m["train_clips_per_s"]:.2f}',
             f'{m["latency_ms"]:.1f}', f'{m["infer_clips_per_s"]:.2f}',
             f'{m["mem_train_mb"]:.0f}', f'{m["mem_infer_mb"]:.0f}'] for m in report['models']]
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]

    def line(row):
        return '| ' + ' | '.join(c.ljust(w) for c, w in zip(row, widths)) + ' |'

    out = [line(header), '|' + '|'.join('-' * (w + 2) for w in widths) + '|']
    out += [line(r) for r in rows]
    e = report['env']
    precision = 'fp16 AMP' if s.get('amp') else 'fp32'
    out.append(f'{e["device"]} ({precision}), {e["threads"]} threads, torch {e["torch"]}; '
               f'load average {e["loadavg_start"]} -> {e["loadavg_end"]}; '
               f'medians of {s["repeats"]} after {s["warmup"]} warm-up')
    for r in report['ratios']:
        out.append(f'{r["model"]} vs {r["baseline"]}: train clips/s x'
                   f'{r["train_clips_per_s_ratio"]:.2f}, batch-1 latency x'
                   f'{r["latency_ratio"]:.3f}, infer clips/s x'
                   f'{r["infer_clips_per_s_ratio"]:.2f}')
    return '\n'.join(out)


def _loadavg() -> Optional[float]:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def _device_name(device: str) -> str:
    if device == 'cuda' and torch.cuda.is_available():
        return torch.cuda.get_device_name()
    try:
        with open('/proc/cpuinfo') as f:
            for row in f:
                if row.startswith('model name'):
                    return row.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or 'cpu'
