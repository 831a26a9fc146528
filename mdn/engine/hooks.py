"""Training hooks."""
import random

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from mdn.models.losses import class_balanced_weights
from mdn.registry import HOOKS


@HOOKS.register_module()
class ClassBalancedLossHook(Hook):
    """Before training, set the head loss's class weights from the training set's label
    counts (class-balanced "effective number" weights, for long-tailed MA-52)."""

    def __init__(self, beta: float = 0.999):
        if not 0 < beta < 1:
            raise ValueError(f'ClassBalancedLossHook beta must be in (0, 1), got {beta}')
        self.beta = beta

    def before_train(self, runner) -> None:
        dataset = runner.train_dataloader.dataset
        counts = dataset.label_counts()
        weights = class_balanced_weights(counts, self.beta)
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        loss = model.head.loss
        loss.set_class_weight(weights)
        # Training-only state, recomputed from the data by this hook on every (re)start: keep
        # it out of checkpoints, so they load into the model the config builds for inference.
        if isinstance(getattr(loss, '_buffers', {}).get('class_weight'), torch.Tensor):
            loss.register_buffer('class_weight', loss.class_weight, persistent=False)
        print_log(f'class-balanced loss weights (beta={self.beta}): min {weights.min():.3f}, '
                  f'max {weights.max():.3f} over {len(weights)} classes', logger='current')


@HOOKS.register_module()
class ValRngIsolationHook(Hook):
    """Validation must not change training: building the validation iterator draws a seed from
    torch's global generator (and a test pipeline may draw from numpy's), so without this the
    weights after epoch N depended on ``val_interval``. Save every generator's state before
    validation and put it back after, so a seed fixes the run whatever the validation schedule.
    """

    priority = 'VERY_HIGH'

    def before_val(self, runner) -> None:
        self._states = dict(torch=torch.get_rng_state(), numpy=np.random.get_state(),
                            python=random.getstate(),
                            cuda=torch.cuda.get_rng_state_all() if torch.cuda.is_available()
                            else None)

    def after_val(self, runner) -> None:
        states = getattr(self, '_states', None)
        if states is None:
            return
        torch.set_rng_state(states['torch'])
        np.random.set_state(states['numpy'])
        random.setstate(states['python'])
        if states['cuda'] is not None:
            torch.cuda.set_rng_state_all(states['cuda'])
        self._states = None
