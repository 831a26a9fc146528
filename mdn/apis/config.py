"""Config loading and checks shared by the tools: fail early with a message naming the
config and the bad value, instead of a traceback from deep inside a build."""
import os.path as osp
from typing import Optional

import torch
from mmengine.config import Config
from mmengine.logging import print_log

from mdn.layouts import ENTITY_SETS, get_layout
from mdn.utils.setup_env import register_all_modules


class ConfigError(ValueError):
    """A config file that cannot be used, with the file and the problem in the message."""


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
        cfg.merge_from_dict(options)
    return cfg


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


def use_amp_optim_wrapper(optim_wrapper: dict) -> dict:
    """Turn an ``optim_wrapper`` config into MMEngine's AmpOptimWrapper (fp16 autocast,
    dynamic loss scale unless the config sets one), in place; returned for chaining."""
    optim_wrapper['type'] = 'AmpOptimWrapper'
    optim_wrapper.setdefault('loss_scale', 'dynamic')
    return optim_wrapper


def enable_amp(cfg: Config) -> bool:
    """Switch the optimiser wrapper to MMEngine's AmpOptimWrapper on CUDA. On a CPU-only
    machine, say so and train in full precision (fp16 autocast is a CUDA feature)."""
    if not torch.cuda.is_available():
        print_log('--amp requested but CUDA is not available: mixed precision is a CUDA '
                  'feature; training in float32 instead.', logger='current', level=30)
        return False
    use_amp_optim_wrapper(cfg.optim_wrapper)
    return True


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
