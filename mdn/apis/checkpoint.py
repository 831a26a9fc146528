"""Checkpoint checks: refuse weights that do not fit the model, naming what differs."""
from typing import Dict

import torch
from torch import nn


class CheckpointMismatchError(ValueError):
    """The checkpoint was trained for another architecture or configuration."""


def load_state_dict_file(path: str) -> Dict[str, torch.Tensor]:
    """The ``state_dict`` of an MMEngine (or plain) checkpoint, loaded with weights_only."""
    try:
        content = torch.load(path, map_location='cpu')
    except FileNotFoundError:
        raise FileNotFoundError(f'checkpoint not found: {path}') from None
    except Exception as err:  # corrupt file, refused global, ...
        raise CheckpointMismatchError(f'{path}: not a readable checkpoint: '
                                      f'{type(err).__name__}: {str(err)[:300]}') from None
    state = content.get('state_dict', content) if isinstance(content, dict) else None
    if not isinstance(state, dict):
        raise CheckpointMismatchError(f'{path}: no state_dict inside')
    return state


def check_checkpoint_matches(model: nn.Module, path: str) -> None:
    """Raise if ``path`` has missing/unexpected keys or differently shaped tensors."""
    state = load_state_dict_file(path)
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = [f'{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(own[k].shape)}'
              for k in sorted(set(own) & set(state)) if state[k].shape != own[k].shape]
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
