"""Checkpoint checks: refuse weights that do not fit the model, naming what differs."""
import re
from typing import Dict, Iterable, List

import torch
from torch import nn

from mdn.utils.checkpoint_compat import register_checkpoint_safe_globals

from .cli_base import CheckpointMismatchError, unsafe_load_message  # noqa: F401 (re-exported)


# Training-only state that may be in a checkpoint or not without changing the predictions:
# class weights of the classification loss (set by ClassBalancedLossHook, persistent in
# checkpoints written before it became a non-persistent buffer).
_TRAINING_ONLY_KEY = re.compile(r'(^|\.)loss\.class_weight$')


def load_checkpoint_file(path: str) -> dict:
    """``torch.load`` with weights_only, with clear errors for missing/unsafe/corrupt files."""
    register_checkpoint_safe_globals()  # MMEngine's own checkpoint types
    try:
        return torch.load(path, map_location='cpu')
    except FileNotFoundError:
        raise FileNotFoundError(f'checkpoint not found: {path}') from None
    except Exception as err:  # corrupt file, refused global, ...
        unsafe = unsafe_load_message(path, err)
        if unsafe:
            raise CheckpointMismatchError(unsafe) from None
        raise CheckpointMismatchError(f'{path}: not a readable checkpoint: '
                                      f'{type(err).__name__}: {str(err)[:300]}') from None


def load_state_dict_file(path: str) -> Dict[str, torch.Tensor]:
    """The ``state_dict`` of an MMEngine (or plain) checkpoint, loaded with weights_only."""
    content = load_checkpoint_file(path)
    state = content.get('state_dict', content) if isinstance(content, dict) else None
    if not isinstance(state, dict):
        raise CheckpointMismatchError(f'{path}: no state_dict inside')
    return state


def _significant(keys: Iterable[str]) -> List[str]:
    return sorted(k for k in keys if not _TRAINING_ONLY_KEY.search(k))


def check_checkpoint_matches(model: nn.Module, path: str) -> None:
    """Raise if ``path`` has missing/unexpected keys or differently shaped tensors.
    Training-only loss state (``*.loss.class_weight``) may differ: inference never uses it."""
    model = getattr(model, 'module', model)  # DDP / MMEngine wrappers
    state = load_state_dict_file(path)
    own = model.state_dict()
    missing = _significant(set(own) - set(state))
    unexpected = _significant(set(state) - set(own))
    shapes = [f'{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(own[k].shape)}'
              for k in _significant(set(own) & set(state))
              if hasattr(state[k], 'shape') and state[k].shape != own[k].shape]
    if missing or unexpected or shapes:
        parts = []
        if shapes:
            parts.append(f'{len(shapes)} shape mismatch(es), e.g. ' + '; '.join(shapes[:3]))
        if missing:
            parts.append(f'{len(missing)} weight(s) missing, e.g. {missing[:3]}')
        if unexpected:
            parts.append(f'{len(unexpected)} unexpected weight(s), e.g. {unexpected[:3]}')
        raise CheckpointMismatchError(
            f'{path} does not fit the model built from the config (was it trained with '
            f'another architecture, layout or class count?): ' + ' | '.join(parts))
