"""Issue 14 plumbing on CPU: the compile switch (config key, CLI flags, bad input), bf16/fp16
AMP selection, the GPU data recipe and its configs, the benchmark's --compile / --count-ops,
and the time-to-accuracy entry that tools/cuda_speed_check.sh calls."""
import importlib.util
import json
import os.path as osp
import re
import subprocess

import pytest
import torch

from mdn.apis import benchmark as bench
from mdn.apis.benchmark import BenchmarkSettings, count_step_ops, time_to_accuracy
from mdn.apis.config import (ConfigError, apply_compile, apply_gpu_recipe, load_config,
                             resolve_amp_dtype, use_amp_optim_wrapper)
from mdn.models.recognizers.compiled_core import normalise_compile

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SYNTHETIC = osp.join(ROOT, 'configs/micro_dualnet/mdn_synthetic.py')
MDN_PENN = osp.join(ROOT, 'configs/micro_dualnet/mdn_penn_action.py')
STGCN_PENN = osp.join(ROOT, 'configs/stgcn/stgcn_penn_action.py')
# the synthetic default shrunk to seconds: 8 classes x 2 clips, 8 frames, no worker processes
TINY = {'train_dataloader.dataset.num_per_class': 2, 'val_dataloader.dataset.num_per_class': 1,
        'train_dataloader.batch_size': 8, 'train_dataloader.num_workers': 0,
        'train_dataloader.persistent_workers': False, 'val_dataloader.num_workers': 0,
        'val_dataloader.persistent_workers': False, 'clip_len': 8,
        'train_cfg.max_epochs': 3, 'default_hooks.logger.interval': 1}


def _tool(path):
    spec = importlib.util.spec_from_file_location(osp.basename(path)[:-3], osp.join(ROOT, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ----------------------------------------------------------------------------- compile switch
def test_normalise_compile_specs_and_errors():
    assert normalise_compile(False) is None and normalise_compile(None) is None
    assert normalise_compile(True) == dict(dynamic=False)
    assert normalise_compile('default') == dict(dynamic=False)
    assert normalise_compile('reduce-overhead') == dict(mode='reduce-overhead', dynamic=False)
    assert normalise_compile(dict(backend='eager', dynamic=True)) == dict(backend='eager',
                                                                          dynamic=True)
    assert normalise_compile(dict(disable=True)) is None
    with pytest.raises(ValueError, match="unknown torch.compile mode 'fastest'"):
        normalise_compile('fastest')
    with pytest.raises(ValueError, match="unknown torch.compile backend 'nope'"):
        normalise_compile(dict(backend='nope'))
    with pytest.raises(ValueError, match=r"no argument\(s\) \['fullgrph'\]"):
        normalise_compile(dict(fullgrph=True))
    with pytest.raises(ValueError, match='inductor option'):
        normalise_compile(dict(backend='eager', mode='max-autotune'))
    with pytest.raises(ValueError, match='expected a bool, a mode name or a dict'):
        normalise_compile(3)


def test_apply_compile_moves_the_switch_into_the_model():
    cfg = load_config(SYNTHETIC)
    assert cfg.compile is False  # the default runtime's key: off
    assert apply_compile(cfg) is None and 'compile_cfg' not in cfg.model
    cfg = load_config(SYNTHETIC, {'compile': True})
    assert apply_compile(cfg) == dict(dynamic=False)
    assert cfg.model.compile_cfg == dict(dynamic=False)
    assert cfg.compile is False  # MMEngine must not compile train_step on top
    cfg = load_config(SYNTHETIC)
    assert apply_compile(cfg, 'max-autotune') == dict(mode='max-autotune', dynamic=False)
    cfg = load_config(SYNTHETIC, {'compile': 'warp-speed'})
    with pytest.raises(ConfigError, match="compile: unknown torch.compile mode 'warp-speed'"):
        apply_compile(cfg)
    from mdn.registry import MODELS
    model = MODELS.build(load_config(STGCN_PENN, {'compile': 'reduce-overhead'}).model)
    assert model.compile_options is None  # the key alone does nothing without the tools
    cfg = load_config(STGCN_PENN)
    apply_compile(cfg, 'reduce-overhead')
    assert MODELS.build(cfg.model).compile_options == dict(mode='reduce-overhead',
                                                           dynamic=False)


@pytest.mark.parametrize('tool', ['tools/train.py', 'tools/test.py', 'tools/benchmark.py',
                                  'tools/analysis/time_to_accuracy.py'])
def test_compile_flag_parses_and_refuses_bad_modes(tool, capsys):
    module = _tool(tool)
    base = {'tools/train.py': [SYNTHETIC], 'tools/test.py': [SYNTHETIC, 'x.pth'],
            'tools/benchmark.py': [SYNTHETIC],
            'tools/analysis/time_to_accuracy.py': [SYNTHETIC, '--target', '0.5']}[tool]
    assert module.parse_args(base + ['--compile']).compile == 'default'
    assert module.parse_args(base + ['--compile', 'reduce-overhead']).compile == \
        'reduce-overhead'
    assert module.parse_args(base).compile is None
    with pytest.raises(SystemExit):
        module.parse_args(base + ['--compile', 'turbo'])
    assert "invalid choice: 'turbo'" in capsys.readouterr().err


def test_train_build_config_applies_gpu_amp_compile_flags(tmp_path):
    train = _tool('tools/train.py')
    args = train.parse_args([SYNTHETIC, '--gpu', '--compile', 'reduce-overhead',
                             '--work-dir', str(tmp_path)])
    cfg = train.build_config(args)
    assert cfg.model.compile_cfg == dict(mode='reduce-overhead', dynamic=False)
    assert cfg.train_dataloader.drop_last is True and cfg.train_dataloader.pin_memory is True
    assert cfg.optim_wrapper.optimizer.fused is True
    with pytest.raises(SystemExit):
        train.parse_args([SYNTHETIC, '--amp-dtype', 'bfloat16'])  # needs --amp


# ----------------------------------------------------------------------------- AMP
def test_amp_dtype_choice_and_bf16_wrapper():
    expected = 'bfloat16' if torch.cuda.is_available() and torch.cuda.is_bf16_supported() \
        else 'float16'
    assert resolve_amp_dtype('auto') == expected
    assert resolve_amp_dtype('float16') == 'float16'
    with pytest.raises(ValueError, match='AMP dtype must be one of'):
        resolve_amp_dtype('int8')
    bf16 = use_amp_optim_wrapper(dict(type='OptimWrapper'), 'bfloat16')
    # bf16 needs no loss scale: the scaler is off (no unscale pass, no inf-check sync)
    assert bf16 == dict(type='AmpOptimWrapper', dtype='bfloat16',
                        loss_scale=dict(enabled=False))
    fp16 = use_amp_optim_wrapper(dict(type='OptimWrapper', dtype='bfloat16'), 'float16')
    assert fp16 == dict(type='AmpOptimWrapper', loss_scale='dynamic')
    with pytest.raises(ValueError, match='amp_dtype must be one of'):
        BenchmarkSettings(amp_dtype='fp8')


# ----------------------------------------------------------------------------- GPU recipe
@pytest.mark.parametrize('cpu_config,gpu_config', [
    ('configs/micro_dualnet/mdn_nw_ucla.py', 'configs/micro_dualnet/mdn_nw_ucla_gpu.py'),
    ('configs/stgcn/stgcn_nw_ucla.py', 'configs/stgcn/stgcn_nw_ucla_gpu.py')])
def test_gpu_configs_are_the_recipe_and_leave_cpu_configs_alone(cpu_config, gpu_config):
    cpu = load_config(osp.join(ROOT, cpu_config))
    gpu = load_config(osp.join(ROOT, gpu_config))
    recipe = apply_gpu_recipe(load_config(osp.join(ROOT, cpu_config)), num_workers=8)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader', 'env_cfg',
                'optim_wrapper', 'model'):
        assert gpu[key] == recipe[key], key
    assert gpu.train_dataloader.drop_last and not gpu.val_dataloader.get('drop_last')
    assert gpu.train_dataloader.num_workers == 8 and gpu.val_dataloader.pin_memory
    # the model, data, schedule and batch are the CPU config's
    for key in ('train_cfg', 'param_scheduler', 'clip_len'):
        assert gpu[key] == cpu[key]
    assert gpu.train_dataloader.dataset == cpu.train_dataloader.dataset
    assert gpu.train_dataloader.batch_size == cpu.train_dataloader.batch_size
    strip = dict(gpu.model)
    strip.pop('data_preprocessor')
    assert strip == {k: v for k, v in cpu.model.items() if k != 'data_preprocessor'}
    # CPU defaults unchanged: one worker, no pinning, last batch kept, no compile
    assert cpu.train_dataloader.num_workers == 1 and 'pin_memory' not in cpu.train_dataloader
    assert 'drop_last' not in cpu.train_dataloader and cpu.compile is False
    assert 'fused' not in cpu.optim_wrapper.optimizer


# ----------------------------------------------------------------------------- benchmark
def test_benchmark_compiled_phases_and_settings(monkeypatch):
    settings = BenchmarkSettings(clip_len=8, batch_train=2, batch_infer=2, repeats=1,
                                 warmup=0, compile=dict(backend='aot_eager'))
    assert settings.warmup == bench.MIN_COMPILE_WARMUP  # compilation is never timed
    infer = bench.run_phase(MDN_PENN, 'infer', settings)
    assert infer['latency_ms'] > 0 and infer['flops'] > 0 and infer['latency_warmup_s'] > 0
    train = bench.run_phase(STGCN_PENN, 'train', settings)
    assert train['train_clips_per_s'] > 0 and train['train_warmup_s'] > 0
    with pytest.raises(ValueError, match="unknown torch.compile mode 'fast'"):
        BenchmarkSettings(compile='fast')


def test_benchmark_tool_compile_flag_reaches_the_report(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(bench, 'run_phase_subprocess', bench.run_phase)
    out = tmp_path / 'bench.json'
    # the CLI takes inductor modes; aot_eager keeps this test free of a C++ build
    monkeypatch.setattr(BenchmarkSettings, 'compile_options',
                        property(lambda self: dict(backend='aot_eager', dynamic=False)
                                 if self.compile else None))
    _tool('tools/benchmark.py').main([MDN_PENN, '--shape', '8', '13', '--batch-train', '2',
                                      '--batch-infer', '2', '--repeats', '1', '--compile',
                                      '--out-json', str(out)])
    assert 'compiled (default)' in capsys.readouterr().out
    report = json.loads(out.read_text())
    assert report['settings']['compile'] == 'default' and report['settings']['warmup'] == 3


def test_count_ops_eager_and_compiled():
    settings = BenchmarkSettings(clip_len=8, batch_train=2, warmup=1)
    eager = count_step_ops(MDN_PENN, settings)
    assert set(eager) == {'forward', 'backward', 'optimizer', 'infer'}
    assert all(eager[s]['aten_ops'] > 0 for s in eager)
    assert eager['infer']['compiled_kernels'] == 0
    compiled = count_step_ops(MDN_PENN, BenchmarkSettings(
        clip_len=8, batch_train=2, compile=dict(backend='aot_eager')), sections=('infer',))
    assert compiled['infer']['aten_ops'] > 0  # aot_eager runs the graph's aten ops


# ----------------------------------------------------------------------------- time to accuracy
@pytest.mark.parametrize('gpu', [False, True])
def test_time_to_accuracy_stops_at_the_target(tmp_path, gpu):
    """The entry tools/cuda_speed_check.sh runs, on CPU: target 0 is reached at the first
    validation and training stops there; --no-stop runs the whole schedule."""
    result = time_to_accuracy(SYNTHETIC, 0.0, str(tmp_path / 'a'), dict(TINY), gpu=gpu)
    assert result['reached'] and result['epoch'] == 1 and len(result['records']) == 1
    assert 0 < result['train_s'] <= result['wall_s']
    assert result['gpu_recipe'] is gpu and result['compile'] is None
    if not gpu:
        out = tmp_path / 'tta.json'
        _tool('tools/analysis/time_to_accuracy.py').main(
            [SYNTHETIC, '--target', '0', '--no-stop', '--metric', 'acc/top1', '--work-dir',
             str(tmp_path / 'b'), '--cfg-options'] + [f'{k}={v}' for k, v in TINY.items()]
            + ['--out-json', str(out)])
        result = json.loads(out.read_text())
        assert result['reached'] and result['epoch'] == 1 and len(result['records']) == 3
        assert [r['epoch'] for r in result['records']] == [1, 2, 3]
        times = [r['train_s'] for r in result['records']]
        assert times == sorted(times)


def test_time_to_accuracy_unknown_metric(tmp_path):
    with pytest.raises(KeyError, match='no "acc/top9"'):
        time_to_accuracy(SYNTHETIC, 0.5, str(tmp_path), dict(TINY, **{
            'train_cfg.max_epochs': 1}), metric='acc/top9')


# ----------------------------------------------------------------------------- the CUDA script
def test_cuda_speed_check_script_is_valid_and_uses_real_flags():
    script = osp.join(ROOT, 'tools/cuda_speed_check.sh')
    subprocess.run(['bash', '-n', script], check=True)
    text = open(script).read().replace('\\\n', ' ')  # join continued lines
    for tool in ('tools/benchmark.py', 'tools/analysis/time_to_accuracy.py'):
        assert tool in text
        module = _tool(tool)
        parser_flags = set(re.findall(r'--[a-z][a-z0-9-]*', _help(module)))
        for line in text.split('\n'):
            if tool in line:
                used = set(re.findall(r'(?<![\w-])--[a-z][a-z0-9-]*', line))
                assert used <= parser_flags | {'--help'}, (tool, used - parser_flags)
    for config in re.findall(r'configs/[\w/]+\.py', text):
        assert osp.isfile(osp.join(ROOT, config)), config


def _help(module) -> str:
    import contextlib
    import io
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), pytest.raises(SystemExit):
        module.parse_args(['--help'])
    return buf.getvalue()


def test_cudagraph_modes_mark_a_new_step_per_call(monkeypatch):
    """With a CUDA-graph mode each call of the compiled core starts a new cudagraph step
    (outputs of the previous replay may be overwritten); other modes do not."""
    from mdn.models.recognizers.compiled_core import uses_cudagraphs

    from .helpers import tiny_batch, tiny_model
    compiled_with, marks = [], []
    monkeypatch.setattr(torch, 'compile',
                        lambda fn, **kw: compiled_with.append(kw) or fn)
    monkeypatch.setattr(torch.compiler, 'cudagraph_mark_step_begin',
                        lambda: marks.append(1))
    model = tiny_model().set_compile('reduce-overhead')
    assert uses_cudagraphs(model.compile_options)
    x, data_samples = tiny_batch()
    model(x, data_samples, mode='loss')
    model(x, data_samples, mode='loss')
    model.eval()
    model(x, mode='tensor')
    assert compiled_with == [dict(mode='reduce-overhead', dynamic=False)] * 2  # loss, infer
    assert len(marks) == 3
    model.set_compile('max-autotune-no-cudagraphs')
    assert not uses_cudagraphs(model.compile_options)
    model(x, mode='tensor')
    assert len(marks) == 3
