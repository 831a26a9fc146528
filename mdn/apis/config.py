"""Config loading and checks shared by the tools: fail early with a message naming the
config and the bad value, instead of a traceback from deep inside a build."""
import os.path as osp
from typing import Optional, Union

import torch
from mmengine.config import Config
from mmengine.logging import print_log

from mdn.layouts import ENTITY_SETS, get_layout
from mdn.utils.setup_env import register_all_modules


from .cli_base import AMP_DTYPES, ConfigError  # noqa: F401 (re-exported)


def load_config(path: str, options: Optional[dict] = None) -> Config:
    if not osp.isfile(path):
        raise ConfigError(f'config file not found: {path}')
    try:
        cfg = Config.fromfile(path)
    except SyntaxError as err:
        raise ConfigError(f'config {path} is malformed: {err.msg} (line {err.lineno})') from None
    except Exception as err:  # mmengine wraps import/base errors in several types
        raise ConfigError(f'config {path} could not be read: {type(err).__name__}: {err}'
                          ) from None
    if options:
        check_cfg_options(cfg, options, path)
        cfg.merge_from_dict(options)
    return cfg


# Top-level keys MMEngine's Runner and the tools read (besides what the config defines).
_RUNNER_KEYS = ('launcher', 'work_dir', 'resume', 'load_from', 'randomness', 'env_cfg',
                'log_level', 'default_scope', 'auto_scale_lr', 'sync_bn', 'experiment_name',
                'cfg', 'find_unused_parameters', 'custom_hooks', 'default_hooks',
                'visualizer', 'log_processor', 'model_wrapper_cfg', 'compile', 'classes')
# Loop configs without a ``type``: MMEngine builds them as these loops.
_LOOP_KWARGS = {
    'train_cfg': ('type', 'by_epoch', 'max_epochs', 'val_begin', 'val_interval',
                  'dynamic_intervals', 'max_iters'),
    'val_cfg': ('type', 'fp16'), 'test_cfg': ('type', 'fp16'),
}


def _registered_class(type_name):
    """The class a registry-built dict's ``type`` names, searched in all mdn registries."""
    if not isinstance(type_name, str):
        return type_name if callable(type_name) else None
    from mmengine.registry import Registry
    import mdn.registry as registries
    for registry in vars(registries).values():
        if isinstance(registry, Registry):
            try:
                found = registry.get(type_name)
            except Exception:  # noqa: BLE001 - a scope that cannot be imported here
                found = None
            if found is not None:
                return found
    return None


def _accepted_kwargs(cls):
    """The keyword arguments ``cls(...)`` accepts; None if it takes ``**kwargs``/unknown."""
    import inspect
    target = cls.__init__ if inspect.isclass(cls) else cls
    try:
        params = inspect.signature(target).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind == p.VAR_KEYWORD for p in params):
        return None
    return {p.name for p in params} | {'type', '_scope_'}


def check_cfg_options(cfg: Config, options: dict, name: str = '<config>') -> None:
    """Refuse ``--cfg-options`` keys that are probably misspelt, suggesting the close match.

    A key that adds a new entry is refused when its parent exists and the entry is not there,
    unless the parent is built from a registry ``type`` whose ``__init__`` takes that keyword
    (or ``**kwargs``), or is a loop config that takes it. In a plain dict without ``type``
    a new key is refused only when it is close to an existing one (a likely typo); new
    top-level keys are refused unless MMEngine's Runner reads them.
    """
    import difflib
    register_all_modules(init_default_scope=False)
    for key in options:
        parts = str(key).split('.')
        node, trail = cfg._cfg_dict if hasattr(cfg, '_cfg_dict') else cfg, []
        for part in parts:
            if isinstance(node, (list, tuple)):
                if not part.lstrip('-').isdigit() or not -len(node) <= int(part) < len(node):
                    raise ConfigError(f'{name}: --cfg-options {key}: {".".join(trail) or "it"} '
                                      f'is a list of {len(node)}; "{part}" is not an index in it')
                node, trail = node[int(part)], trail + [part]
                continue
            if not isinstance(node, dict):
                break  # replacing a value by a dict: MMEngine's merge decides
            if part in node:
                node, trail = node[part], trail + [part]
                continue
            where = '.'.join(trail)
            existing = [str(k) for k in node]
            accepted = None
            if not trail:
                from mmengine.runner import Runner
                runner_keys = set(_RUNNER_KEYS) | (_accepted_kwargs(Runner) or set())
                allowed = runner_keys | {'test_pipeline', 'clip_len'}
                candidates = existing + sorted(runner_keys)
            elif 'type' in node:
                cls = _registered_class(node['type'])
                accepted = _accepted_kwargs(cls) if cls is not None else None
                allowed = accepted if accepted is not None else None
                candidates = existing + sorted(accepted or ())
            elif len(trail) == 1 and trail[0] in _LOOP_KWARGS:
                allowed = set(_LOOP_KWARGS[trail[0]])
                candidates = existing + list(allowed)
            else:  # a plain dict: only a near-miss of an existing key is refused
                allowed = None if not difflib.get_close_matches(part, existing, 1, 0.8) \
                    else set()
                candidates = existing
            if allowed is None or part in allowed:
                break
            close = difflib.get_close_matches(part, candidates, n=1, cutoff=0.6)
            hint = f'; did you mean "{".".join(trail + [close[0]])}"?' if close else ''
            parent = f'"{where}"' if where else 'the config'
            what = f' ({node["type"]} takes no such argument)' if accepted is not None \
                else ''
            raise ConfigError(f'{name}: --cfg-options {key}: {parent} has no key "{part}"'
                              f'{what}{hint}')


def check_config(cfg: Config, train: bool = True) -> None:
    """Check the values mdn can check without building anything."""
    register_all_modules(init_default_scope=False)
    from mdn.registry import MODELS
    name = getattr(cfg, 'filename', None) or '<config>'
    model = cfg.get('model')
    if not isinstance(model, dict) or 'type' not in model:
        raise ConfigError(f'{name}: needs a "model" dict with a "type"')
    if MODELS.get(model['type']) is None:
        raise ConfigError(f'{name}: unknown model type "{model["type"]}"; registered: '
                          f'{sorted(MODELS.module_dict)}')
    try:
        if 'layout' in model:
            layout = get_layout(model['layout'])
            entity_set = model.get('entity_set', 'body6')
            if isinstance(entity_set, str) and entity_set not in ENTITY_SETS:
                raise KeyError(f'unknown entity set "{entity_set}"; known: {sorted(ENTITY_SETS)}')
            layout.partition(entity_set)
    except KeyError as err:
        raise ConfigError(f'{name}: {err.args[0]}') from None
    for key, allowed in (('paths', ('dual', 'st', 'ts')), ('fusion', ('route', 'mean'))):
        if key in model and model[key] not in allowed:
            raise ConfigError(f'{name}: model.{key} must be one of {allowed}, got '
                              f'{model[key]!r}')
    if 'num_classes' in model and (not isinstance(model['num_classes'], int)
                                   or model['num_classes'] < 2):
        raise ConfigError(f'{name}: model.num_classes must be an int >= 2, got '
                          f'{model["num_classes"]!r}')
    loaders = ['train_dataloader'] if train else ['test_dataloader']
    for key in loaders:
        loader = cfg.get(key)
        if loader is None:
            raise ConfigError(f'{name}: missing {key}')
        if loader.get('batch_size', 1) < 1:
            raise ConfigError(f'{name}: {key}.batch_size must be >= 1')
    if train:
        epochs = cfg.get('train_cfg', {}).get('max_epochs', 1)
        if epochs is not None and epochs < 1:
            raise ConfigError(f'{name}: train_cfg.max_epochs must be >= 1, got {epochs}')


def resolve_amp_dtype(dtype: str = 'auto') -> str:
    """'bfloat16' or 'float16' for ``dtype``; 'auto' picks bf16 where the GPU supports it
    (Ampere and newer): same exponent range as fp32, so no loss scaling and no scaler
    synchronisation each step; else fp16 with a dynamic loss scale."""
    if dtype not in AMP_DTYPES:
        raise ValueError(f'AMP dtype must be one of {AMP_DTYPES}, got {dtype!r}')
    if dtype != 'auto':
        return dtype
    bf16 = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    return 'bfloat16' if bf16 else 'float16'


def use_amp_optim_wrapper(optim_wrapper: dict, dtype: str = 'auto') -> dict:
    """Turn an ``optim_wrapper`` config into MMEngine's AmpOptimWrapper, in place; returned
    for chaining. fp16: dynamic loss scale unless the config sets one. bf16: the loss scaler
    is disabled (``GradScaler(enabled=False)``): bf16 needs none, and a live scaler costs an
    unscale pass and an inf check with a host synchronisation every step."""
    dtype = resolve_amp_dtype(dtype)
    optim_wrapper['type'] = 'AmpOptimWrapper'
    if dtype == 'bfloat16':
        optim_wrapper['dtype'] = dtype
        optim_wrapper.setdefault('loss_scale', dict(enabled=False))
    else:  # AmpOptimWrapper's default autocast dtype is fp16
        optim_wrapper.pop('dtype', None)
        optim_wrapper.setdefault('loss_scale', 'dynamic')
    return optim_wrapper


def enable_amp(cfg: Config, dtype: str = 'auto') -> Union[str, bool]:
    """Switch the optimiser wrapper to MMEngine's AmpOptimWrapper on CUDA (``dtype``: see
    :func:`resolve_amp_dtype`); returns the dtype used ('bfloat16' or 'float16'). On a
    CPU-only machine, say so and train in full precision (returns False)."""
    if dtype not in AMP_DTYPES:
        raise ConfigError(f'AMP dtype must be one of {AMP_DTYPES}, got {dtype!r}')
    if not torch.cuda.is_available():
        print_log('--amp requested but CUDA is not available: mixed precision is a CUDA '
                  'feature; training in float32 instead.', logger='current', level=30)
        return False
    dtype = resolve_amp_dtype(dtype)
    use_amp_optim_wrapper(cfg.optim_wrapper, dtype)
    return dtype


# ----------------------------------------------------------------------------- test-time
def apply_test_time_augmentation(cfg: Config) -> None:
    """``tools/test.py --tta``: test with the config's ``tta_pipeline`` (several clips per
    video and their mirror images, scores averaged by the model) instead of its
    ``test_pipeline``. Raises ConfigError where the config defines none."""
    name = getattr(cfg, 'filename', None) or '<config>'
    pipeline = cfg.get('tta_pipeline')
    if not pipeline:
        raise ConfigError(f'{name}: --tta needs a "tta_pipeline" in the config (e.g. '
                          'configs/_base_/datasets/nw_ucla.py)')
    cfg.test_dataloader.dataset.pipeline = pipeline


# ----------------------------------------------------------------------------- compile
def apply_compile(cfg: Config, spec=None) -> Optional[dict]:
    """Resolve the compile switch: ``spec`` (the ``--compile`` flag; None: the config's
    top-level ``compile`` key, default False) becomes the model's ``compile_cfg``, which
    compiles the recogniser's tensor core for training, validation and testing alike
    (:mod:`mdn.models.recognizers.compiled_core`). ``cfg.compile`` is then set to False, so
    MMEngine does not compile ``train_step`` on top (it would only cover training, and breaks
    its graph at the data samples and the optimiser). A model type without ``compile_cfg``
    keeps MMEngine's own ``cfg.compile``. Returns the ``torch.compile`` arguments, or None.

    Raises ConfigError for an unknown mode, backend or argument.
    """
    from mdn.models.recognizers.compiled_core import accepts_compile, normalise_compile
    register_all_modules(init_default_scope=False)
    from mdn.registry import MODELS
    name = getattr(cfg, 'filename', None) or '<config>'
    if spec is None:
        spec = cfg.get('compile', False)
        where = f'{name}: compile'
    else:
        where = '--compile'
    if hasattr(spec, 'to_dict'):
        spec = spec.to_dict()
    try:
        opts = normalise_compile(spec, where)
    except ValueError as err:
        raise ConfigError(str(err)) from None
    model = cfg.get('model') or {}
    cls = MODELS.get(model.get('type')) if isinstance(model.get('type'), str) else None
    if cls is not None and accepts_compile(cls):
        if opts is not None:
            model['compile_cfg'] = opts
        cfg.compile = False
    elif opts is not None:
        cfg.compile = opts
    return opts


# ----------------------------------------------------------------------------- GPU recipe
#: What ``--gpu`` (tools/train.py, tools/test.py) sets on top of a config, and what the
#: ``*_gpu.py`` configs spell out: enough workers that a GPU step never waits for the data
#: (the H200 run spent half of each iteration in the single worker), pinned memory and
#: non-blocking copies, batches stacked by the workers (one host-to-device copy per batch),
#: a fixed training batch (``drop_last``: one shape, so a compiled step is captured once),
#: cuDNN autotuning and the single-kernel ("fused") AdamW.
GPU_LOADER = dict(num_workers=8, pin_memory=True, persistent_workers=True, prefetch_factor=4,
                  collate_fn=dict(type='default_collate'))
GPU_TRAIN_LOADER = dict(GPU_LOADER, drop_last=True)


def apply_gpu_recipe(cfg: Config, num_workers: Optional[int] = None) -> Config:
    """Set :data:`GPU_LOADER` on every data loader of ``cfg`` (:data:`GPU_TRAIN_LOADER` on
    the training one), ``env_cfg.cudnn_benchmark``, a non-blocking data preprocessor and
    ``fused=True`` for Adam/AdamW/SGD optimisers, in place. ``num_workers`` defaults to
    ``min(8, CPU cores - 1)``. Leaves CPU configs alone unless called (tools' ``--gpu``)."""
    import os
    if num_workers is None:
        num_workers = max(1, min(GPU_LOADER['num_workers'], (os.cpu_count() or 2) - 1))
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(key)
        if not loader:
            continue
        loader.update(GPU_TRAIN_LOADER if key == 'train_dataloader' else GPU_LOADER)
        loader['collate_fn'] = dict(GPU_LOADER['collate_fn'])
        loader['num_workers'] = num_workers
    cfg.setdefault('env_cfg', {})['cudnn_benchmark'] = True
    model = cfg.get('model')
    if isinstance(model, dict):
        pre = model.get('data_preprocessor') or dict(type='MicroActionDataPreprocessor')
        pre['non_blocking'] = True
        model['data_preprocessor'] = pre
    optimizer = (cfg.get('optim_wrapper') or {}).get('optimizer') or {}
    if optimizer.get('type') in ('Adam', 'AdamW', 'SGD'):
        optimizer['fused'] = True
    return cfg


def init_cpu_distributed(cfg: Config) -> None:
    """Start the gloo process group for ``--launcher pytorch`` on a machine without CUDA.

    MMEngine's pytorch launcher calls ``torch.cuda.set_device`` unconditionally, which fails on
    CPU-only builds; torchrun's environment variables are all gloo needs. With CUDA present,
    MMEngine's own ``init_dist`` runs as usual.
    """
    import torch.distributed as dist
    if cfg.get('launcher', 'none') != 'pytorch' or torch.cuda.is_available():
        return
    if cfg.get('sync_bn'):
        print_log(f'sync_bn={cfg.sync_bn!r} needs CUDA; CPU processes keep per-process '
                  'BatchNorm statistics', logger='current', level=30)
        cfg.sync_bn = None
    cfg.setdefault('model_wrapper_cfg', dict(
        type='mdn.CPUDistributedDataParallel', broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False)))
    if not dist.is_initialized():
        cfg.env_cfg.setdefault('dist_cfg', {})['backend'] = 'gloo'
        dist.init_process_group(backend='gloo')
