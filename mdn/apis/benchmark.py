"""Speed, memory, parameters and FLOPs of recognisers built from configs (the logic behind
``tools/benchmark.py``).

Per model, on random clips of shape ``[B, 1, T, V, C]``:

* training throughput: clips/s of ``model.train_step`` (data preprocessor, forward, loss,
  backward, the config's optimiser wrapper with its gradient clipping and step);
* inference latency: ms per clip at batch 1, ``model.eval()``, ``torch.no_grad()``, mode
  'tensor'; inference throughput: clips/s at ``batch_infer``;
* ``amp=True`` (CUDA only): inference under autocast and training through MMEngine's
  AmpOptimWrapper, as ``tools/train.py --amp`` trains (bf16 where the GPU supports it, else
  fp16; ``amp_dtype`` picks one);
* ``compile`` (a mode name, True or ``torch.compile`` arguments): the recogniser's tensor core
  compiled as ``tools/train.py --compile`` does (``mdn.models.recognizers.compiled_core``);
  warm-up is raised to at least 3 calls so compilation (and CUDA-graph recording) is never
  timed, and its cost is reported as ``*_warmup_s``;
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
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.hooks import Hook

PHASES = ('infer', 'train')
#: untimed calls before timing a compiled model: compilation, then CUDA-graph warm-up and
#: recording ('reduce-overhead' records on the second/third call)
MIN_COMPILE_WARMUP = 3


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
    amp_dtype: str = 'auto'
    compile: Union[None, bool, str, Dict] = None

    def __post_init__(self):
        for key in ('batch_train', 'batch_infer', 'repeats'):
            if getattr(self, key) < 1:
                raise ValueError(f'{key} must be >= 1, got {getattr(self, key)}')
        if self.warmup < 0:
            raise ValueError(f'warmup must be >= 0, got {self.warmup}')
        if self.device not in ('cpu', 'cuda'):
            raise ValueError(f"device must be 'cpu' or 'cuda', got {self.device!r}")
        if self.amp and self.device != 'cuda':
            raise ValueError('amp=True measures CUDA mixed precision (bf16/fp16 autocast, '
                             "AmpOptimWrapper); it needs device='cuda'")
        from mdn.apis.config import AMP_DTYPES
        from mdn.models.recognizers.compiled_core import normalise_compile
        if self.amp_dtype not in AMP_DTYPES:
            raise ValueError(f'amp_dtype must be one of {AMP_DTYPES}, got {self.amp_dtype!r}')
        normalise_compile(self.compile, 'compile')  # refuse a bad mode before any work
        if self.compile_options is not None:
            self.warmup = max(self.warmup, MIN_COMPILE_WARMUP)

    @property
    def compile_options(self) -> Optional[Dict]:
        """``torch.compile`` arguments, or None (eager)."""
        from mdn.models.recognizers.compiled_core import normalise_compile
        return normalise_compile(self.compile, 'compile')

    def autocast_dtype(self) -> Optional[torch.dtype]:
        """The autocast dtype of an AMP run (None without AMP)."""
        from mdn.apis.config import resolve_amp_dtype
        return getattr(torch, resolve_amp_dtype(self.amp_dtype)) if self.amp else None


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
               device: str = 'cpu', warmup_log: Optional[List[float]] = None) -> List[float]:
    """Seconds of each of ``repeats`` calls of ``fn`` after ``warmup`` untimed ones (their
    seconds are appended to ``warmup_log`` when given: the compilation cost)."""
    for _ in range(warmup):
        _sync(device)
        start = time.perf_counter()
        fn()
        _sync(device)
        if warmup_log is not None:
            warmup_log.append(time.perf_counter() - start)
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
    results = dict(params=sum(p.numel() for p in model.parameters()),
                   flops=_eager_flops(model, shape, device))
    _set_compile(model, settings)
    dtype = settings.autocast_dtype()
    autocast = torch.autocast('cuda', dtype=dtype or torch.float16, enabled=settings.amp)
    with torch.no_grad(), autocast:
        for key, batch in (('latency', 1), ('infer', settings.batch_infer)):
            x = make_batch(shape, batch, num_classes, device)['inputs']
            warm: List[float] = []
            with PeakMemory(device) as mem:
                times = time_calls(lambda: model(x, mode='tensor'), settings.warmup,
                                   settings.repeats, device, warm)
            results[f'{key}_times_s'] = times
            results[f'{key}_warmup_s'] = sum(warm)
            results[f'mem_{key}_mb'] = mem.mb
            del x
    median = statistics.median
    results['latency_ms'] = 1e3 * median(results['latency_times_s'])
    results['infer_clips_per_s'] = settings.batch_infer / median(results['infer_times_s'])
    return results


def _eager_flops(model, shape, device: str) -> int:
    """FLOPs of the eager model (the JIT-trace counter cannot see into compiled code)."""
    opts = getattr(model, '_compile_opts', None)
    if opts is not None:
        model._compile_opts = None
    try:
        return count_flops(model, shape, device)
    finally:
        if opts is not None:
            model._compile_opts = opts


def _set_compile(model, settings: BenchmarkSettings) -> None:
    """Compile the model's tensor core as the settings ask (tools' ``--compile``)."""
    opts = settings.compile_options
    if opts is None:
        return
    if hasattr(model, 'set_compile'):
        model.set_compile(opts)
    else:
        raise ValueError(f'{type(model).__name__} has no compile switch (set_compile)')


def build_train_optim_wrapper(model, cfg, settings: BenchmarkSettings):
    """The config's optimiser wrapper, made AMP as ``tools/train.py --amp`` does."""
    from mmengine.optim import build_optim_wrapper

    from mdn.apis.config import use_amp_optim_wrapper
    optim_cfg = copy.deepcopy(cfg.optim_wrapper)
    if settings.amp:
        use_amp_optim_wrapper(optim_cfg, settings.amp_dtype)
    return build_optim_wrapper(model, optim_cfg)


def measure_training(model, cfg, shape, settings: BenchmarkSettings) -> Dict:
    """Clips/s of ``train_step`` with the config's optimiser wrapper, and its peak memory."""
    device = settings.device
    model.train()
    _set_compile(model, settings)
    optim_wrapper = build_train_optim_wrapper(model, cfg, settings)
    data = make_batch(shape, settings.batch_train, _num_classes(model), device)
    warm: List[float] = []
    with PeakMemory(device) as mem:
        times = time_calls(lambda: model.train_step(data, optim_wrapper), settings.warmup,
                           settings.repeats, device, warm)
    return dict(train_times_s=times, mem_train_mb=mem.mb, train_warmup_s=sum(warm),
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
    out_settings = asdict(settings)
    if settings.amp:
        from mdn.apis.config import resolve_amp_dtype
        out_settings['amp_dtype_used'] = resolve_amp_dtype(settings.amp_dtype)
    return dict(settings=out_settings, env=env, models=models, ratios=ratios)


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
    precision = f'{s.get("amp_dtype_used") or "fp16"} AMP' if s.get('amp') else 'fp32'
    if s.get('compile'):
        precision += f', compiled ({s["compile"]})'
    out.append(f'{e["device"]} ({precision}), {e["threads"]} threads, torch {e["torch"]}; '
               f'load average {e["loadavg_start"]} -> {e["loadavg_end"]}; '
               f'medians of {s["repeats"]} after {s["warmup"]} warm-up')
    for r in report['ratios']:
        out.append(f'{r["model"]} vs {r["baseline"]}: train clips/s x'
                   f'{r["train_clips_per_s_ratio"]:.2f}, batch-1 latency x'
                   f'{r["latency_ratio"]:.3f}, infer clips/s x'
                   f'{r["infer_clips_per_s_ratio"]:.2f}')
    return '\n'.join(out)


# ----------------------------------------------------------------------------- op counts
#: aten ops that only make views or metadata (no kernel): left out of the op counts
VIEW_OPS = frozenset(
    'aten::' + n for n in (
        'empty', 'empty_like', 'empty_strided', 'view', 'reshape', '_reshape_alias',
        '_unsafe_view', 'as_strided', 't', 'transpose', 'permute', 'expand', 'expand_as',
        'unsqueeze', 'squeeze', 'slice', 'select', 'alias', 'detach', 'resolve_conj',
        'resolve_neg', 'lift_fresh', 'unflatten', 'flatten', 'split', 'unbind', 'narrow',
        'chunk', 'view_as', 'size', 'stride', 'result_type', 'contiguous', 'dropout',
        '_has_compatible_shallow_copy_type', 'is_nonzero', 'item', '_local_scalar_dense'))


def count_step_ops(config: str, settings: BenchmarkSettings,
                   sections: Sequence[str] = ('forward', 'backward', 'optimizer', 'infer')
                   ) -> Dict[str, Dict[str, int]]:
    """Ops of one training step (``batch_train``; forward incl. losses, backward, optimiser
    step) and of one batch-1 inference, counted with ``torch.profiler`` after warm-up.

    Per section: ``aten_ops``, the aten operators the Python code dispatches (top level, not
    counting ops nested in another aten op, nor pure view/metadata ops, nor no-op dropouts);
    ``compiled_kernels``, kernels inductor generated (CPU: its C++ kernels, recorded with
    ``cpp.enable_kernel_profile``); ``device_kernels`` on CUDA, the GPU kernels launched.
    A compiled model calls aten only for the extern kernels (matmuls, attention) it keeps.
    """
    from torch.profiler import ProfilerActivity, profile, record_function
    if settings.threads:
        torch.set_num_threads(settings.threads)
    import torch._inductor.config as inductor_config
    inductor_config.cpp.enable_kernel_profile = True
    torch.manual_seed(0)
    model, cfg, shape = build_model(config, settings)
    model.to(settings.device)
    _set_compile(model, settings)
    activities = [ProfilerActivity.CPU]
    if settings.device == 'cuda':
        activities.append(ProfilerActivity.CUDA)
    results: Dict[str, Dict[str, int]] = {}
    model.train()
    wrapper = build_train_optim_wrapper(model, cfg, settings)
    data = make_batch(shape, settings.batch_train, _num_classes(model), settings.device)

    def step():
        with record_function('forward'):
            batch = model.data_preprocessor(data, True)
            with wrapper.optim_context(model):
                losses = model._run_forward(batch, mode='loss')
            loss, _ = model.parse_losses(losses)
        with record_function('backward'):
            wrapper.backward(loss)
        with record_function('optimizer'):
            wrapper.step()
            wrapper.zero_grad()
        _sync(settings.device)

    for _ in range(max(settings.warmup, 2)):
        step()
    with profile(activities=activities) as prof:
        step()
    results.update(_count_sections(prof, [s for s in sections if s != 'infer']))
    if 'infer' in sections:
        model.eval()
        x = make_batch(shape, 1, _num_classes(model), settings.device)['inputs']
        dtype = settings.autocast_dtype()
        with torch.no_grad(), torch.autocast('cuda', dtype=dtype or torch.float16,
                                             enabled=settings.amp):
            for _ in range(max(settings.warmup, 2)):
                model(x, mode='tensor')
            _sync(settings.device)
            with profile(activities=activities) as prof:
                with record_function('infer'):
                    model(x, mode='tensor')
                _sync(settings.device)
        results.update(_count_sections(prof, ['infer']))
    return results


def _count_sections(prof, sections: Sequence[str]) -> Dict[str, Dict[str, int]]:
    events = list(prof.events())
    spans = {e.name: e.time_range for e in events if e.name in sections}
    out = {}
    for name in sections:
        span = spans[name]

        def inside(e):
            return span.start <= e.time_range.start and e.time_range.end <= span.end
        cpu = [e for e in events if inside(e) and e.device_type.name == 'CPU']
        aten = [e for e in cpu if e.name.startswith('aten::') and e.name not in VIEW_OPS
                and not (e.cpu_parent is not None and e.cpu_parent.name.startswith('aten::'))]
        compiled = [e for e in cpu if 'cpp_fused' in e.name or e.name.startswith('triton_')]
        counts = dict(aten_ops=len(aten), compiled_kernels=len(compiled))
        kernels = [e for e in events if e.device_type.name == 'CUDA']
        if kernels:  # GPU kernels run later than their launch: count launches in the span
            launches = [e for e in cpu if e.name in ('cudaLaunchKernel', 'cuLaunchKernel',
                                                      'cudaLaunchKernelExC', 'cudaGraphLaunch')]
            counts['device_kernels'] = len(launches)
        out[name] = counts
    return out


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


# ----------------------------------------------------------------------------- time to accuracy
class TimeToAccuracyHook(Hook):
    """Runner hook: after every validation, the training seconds so far (training epochs
    only, device-synchronised) and the wall seconds since training began (validation
    included), with the metric; stops training once ``metric >= target`` if ``stop``."""

    priority = 'VERY_LOW'

    def __init__(self, target: float, metric: str = 'acc/top1', stop: bool = True):
        self.target, self.metric, self.stop = target, metric, stop
        self.records: List[Dict] = []
        self.reached: Optional[Dict] = None
        self.train_s = 0.0

    def _now(self, runner) -> float:
        if next(runner.model.parameters()).is_cuda:
            torch.cuda.synchronize()
        return time.perf_counter()

    def before_train(self, runner) -> None:
        self.start = self._now(runner)

    def before_train_epoch(self, runner) -> None:
        self.epoch_start = self._now(runner)

    def after_train_epoch(self, runner) -> None:
        self.train_s += self._now(runner) - self.epoch_start

    def after_val_epoch(self, runner, metrics: Optional[Dict[str, float]] = None) -> None:
        if not metrics or self.metric not in metrics:
            raise KeyError(f'time to accuracy: validation gave no "{self.metric}" (got '
                           f'{sorted(metrics or {})}); pick one with --metric')
        record = dict(epoch=runner.epoch, value=float(metrics[self.metric]),
                      train_s=self.train_s, wall_s=self._now(runner) - self.start)
        self.records.append(record)
        if self.reached is None and record['value'] >= self.target:
            self.reached = record
            if self.stop:
                runner.train_loop.stop_training = True


def time_to_accuracy(config: str, target: float, work_dir: str,
                     cfg_options: Optional[dict] = None, metric: str = 'acc/top1',
                     stop_at_target: bool = True, gpu: bool = False, amp: bool = False,
                     compile=None) -> Dict:
    """Train ``config`` (as ``tools/train.py`` would, with ``--gpu`` / ``--amp`` /
    ``--compile``) until validation's ``metric`` reaches ``target`` (or the schedule ends),
    validating every epoch. Returns the seconds it took: ``train_s`` (training epochs only)
    and ``wall_s`` (validation and compilation included), the epoch, and every validation.
    """
    from mmengine.runner import Runner

    from mdn.apis.config import (apply_compile, apply_gpu_recipe, check_config, enable_amp,
                                 load_config)
    cfg = load_config(config, cfg_options)
    cfg.work_dir = work_dir
    cfg.train_cfg.val_interval = 1
    if gpu:
        apply_gpu_recipe(cfg)
    amp_dtype = enable_amp(cfg) if amp else False
    opts = apply_compile(cfg, compile)
    check_config(cfg)
    runner = Runner.from_cfg(cfg)
    hook = TimeToAccuracyHook(target, metric, stop_at_target)
    runner.register_hook(hook, priority='VERY_LOW')
    runner.train()
    device = 'cuda' if next(runner.model.parameters()).is_cuda else 'cpu'
    best = max(hook.records, key=lambda r: r['value']) if hook.records else None
    return dict(config=config, target=target, metric=metric, reached=hook.reached is not None,
                epoch=(hook.reached or {}).get('epoch'),
                train_s=(hook.reached or {}).get('train_s'),
                wall_s=(hook.reached or {}).get('wall_s'), best=best, records=hook.records,
                device=_device_name(device), gpu_recipe=gpu, amp=amp_dtype or False,
                compile=opts, torch=torch.__version__,
                batch_size=cfg.train_dataloader.batch_size)
