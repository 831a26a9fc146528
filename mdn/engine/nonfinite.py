"""Stop (or skip) a training step whose loss or gradients are NaN/inf, before the optimiser
can write NaN into the weights, and refuse to save a checkpoint holding non-finite values.

MMEngine's ``BaseModel.train_step`` runs forward, ``optim_wrapper.update_params(loss)``
(backward, step, zero_grad) in one call, so a hook that looks at ``outputs`` in
``after_train_iter`` comes too late: the weights are already NaN. The hook therefore wraps the
runner's optimiser wrapper(s) once, before training:

* ``backward(loss)``: a non-finite loss raises at once (``policy='raise'``), or marks the step
  to be skipped (``policy='skip'``; backward still runs so that DDP ranks stay in step);
* ``step()``: a non-finite gradient (checked before clipping and the optimiser update) raises or
  skips the update; ``update_params`` then zeroes the gradients as usual. With
  ``AmpOptimWrapper`` the gradients are scaled and may be inf by design: its ``GradScaler``
  already skips those updates, so only the loss is checked.

Errors (``NonFiniteError``, a ``FloatingPointError`` and ``ValueError``) name the epoch, the
iteration and the batch's clips (``frame_dir`` from the data samples' metainfo). The hook also
refuses to save a checkpoint (latest or best) whose weights hold NaN/inf, and a validation
whose metrics are NaN/inf never reaches ``CheckpointHook``'s "best" choice.
"""
from typing import Dict, List, Optional, Sequence

import torch
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.optim import AmpOptimWrapper, OptimWrapperDict

from mdn.registry import HOOKS

POLICIES = ('raise', 'skip')


class NonFiniteError(FloatingPointError, ValueError):
    """NaN/inf in a training step, the weights or the metrics. A ``ValueError`` too, so the
    command-line tools print ``error: <message>`` (exit 2) instead of a traceback."""


def non_finite_tensors(named: Dict[str, torch.Tensor]) -> List[str]:
    """Names of the floating-point tensors holding NaN or inf."""
    names, checks = [], []
    for name, value in named.items():
        if isinstance(value, torch.Tensor) and value.is_floating_point():
            names.append(name)
            checks.append(torch.isfinite(value).all())
    if not checks:
        return []
    ok = torch.stack(checks).cpu().tolist()  # one device sync for all tensors
    return [n for n, good in zip(names, ok) if not good]


def batch_clip_names(data_batch) -> List[str]:
    """``frame_dir`` of each clip in an MMEngine data batch (where the samples carry it)."""
    samples = data_batch.get('data_samples') if isinstance(data_batch, dict) else None
    names = []
    for s in samples or ():
        meta = getattr(s, 'metainfo', None) or (s if isinstance(s, dict) else {})
        if meta.get('frame_dir') is not None:
            names.append(str(meta['frame_dir']))
    return names


@HOOKS.register_module()
class NonFiniteGuardHook(Hook):
    """Guard training against NaN/inf losses and gradients (see the module docstring).

    Args:
        policy: ``'raise'`` (default) stops the run with a ``FloatingPointError`` naming epoch,
            iteration and clips; ``'skip'`` drops the step (no optimiser update, gradients
            zeroed, BatchNorm-style buffers restored) and warns with a running count.
        max_clips: clip names listed in a message.
    """
    priority = 'HIGHEST'  # before RuntimeInfoHook logs the (possibly NaN) losses

    def __init__(self, policy: str = 'raise', max_clips: int = 8):
        if policy not in POLICIES:
            raise ValueError(f'NonFiniteGuardHook policy must be one of {POLICIES}, '
                             f'got {policy!r}')
        self.policy, self.max_clips = policy, max_clips
        self.skipped = 0
        self._runner = None
        self._batch, self._batch_idx = None, 0
        self._skip_this_iter = False
        self._buffers: Optional[Dict[str, torch.Tensor]] = None
        self._param_names: Dict[int, str] = {}

    # ------------------------------------------------------------------ wiring
    def before_train(self, runner) -> None:
        self._runner = runner
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        self._model = model
        self._param_names = {id(p): n for n, p in model.named_parameters()}
        wrappers = runner.optim_wrapper
        wrappers = (list(wrappers.values()) if isinstance(wrappers, OptimWrapperDict)
                    else [wrappers])
        for wrapper in wrappers:
            self._wrap(wrapper)

    def _wrap(self, wrapper) -> None:
        if getattr(wrapper, '_mdn_nonfinite_guard', None) is self:
            return
        backward, step = wrapper.backward, wrapper.step
        amp = isinstance(wrapper, AmpOptimWrapper)

        def guarded_backward(loss, **kwargs):
            if isinstance(loss, torch.Tensor) and not bool(torch.isfinite(loss).all()):
                self._fault(f'loss is {loss.detach().float().cpu().tolist()}')
            return backward(loss, **kwargs)

        def guarded_step(**kwargs):
            if not amp and not self._skip_this_iter:
                params = {self._param_names.get(id(p), f'param{i}'): p.grad
                          for i, p in enumerate(p for g in wrapper.optimizer.param_groups
                                                for p in g['params']) if p.grad is not None}
                bad = non_finite_tensors(params)
                if bad:
                    self._fault(f'{len(bad)} parameter gradient(s) are NaN/inf, e.g. '
                                f'{bad[:3]}')
            if self._skip_this_iter and not amp:
                return None  # update_params zeroes the gradients next
            return step(**kwargs)

        wrapper.backward, wrapper.step = guarded_backward, guarded_step
        wrapper._mdn_nonfinite_guard = self

    # ------------------------------------------------------------------ faults
    def where(self) -> str:
        runner = self._runner
        clips = batch_clip_names(self._batch)
        text = (f'epoch {runner.epoch + 1}, iteration {runner.iter + 1} '
                f'(batch {self._batch_idx + 1} of the epoch)')
        if clips:
            extra = len(clips) - self.max_clips
            more = f' and {extra} more' if extra > 0 else ''
            text += f', clips {clips[:self.max_clips]}{more}'
        return text

    def _fault(self, problem: str) -> None:
        if self.policy == 'raise':
            raise NonFiniteError(
                f'non-finite training step at {self.where()}: {problem}. The weights were not '
                'updated. Check these clips for huge or corrupt keypoints, lower the learning '
                'rate, or set NonFiniteGuardHook(policy="skip") to drop such steps')
        if not self._skip_this_iter:
            self._skip_this_iter = True
            self.skipped += 1
            print_log(f'NonFiniteGuardHook: skipped the step at {self.where()}: {problem} '
                      f'({self.skipped} step(s) skipped so far)', logger='current', level=30)

    # ------------------------------------------------------------------ hooks
    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        self._batch, self._batch_idx, self._skip_this_iter = data_batch, batch_idx, False
        if self.policy == 'skip':  # forward passes update running statistics: keep a copy
            self._buffers = {n: b.detach().clone() for n, b in self._model.named_buffers()
                             if b.is_floating_point()}

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        if self._skip_this_iter:
            if self._buffers:
                with torch.no_grad():
                    for name, buf in self._model.named_buffers():
                        if name in self._buffers:
                            buf.copy_(self._buffers[name])
            if isinstance(outputs, dict):  # keep NaN out of the logged running means
                for key in [k for k, v in outputs.items() if isinstance(v, torch.Tensor)
                            and not bool(torch.isfinite(v).all())]:
                    outputs.pop(key)
        self._batch, self._buffers = None, None

    def after_train(self, runner) -> None:
        if self.skipped:
            print_log(f'NonFiniteGuardHook: {self.skipped} training step(s) were skipped '
                      'for NaN/inf loss or gradients', logger='current', level=30)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Never write a checkpoint (latest or best) whose weights hold NaN/inf."""
        bad = non_finite_tensors(checkpoint.get('state_dict') or {})
        if bad:
            meta = checkpoint.get('meta') or {}
            raise NonFiniteError(
                f'refusing to save a checkpoint at epoch {meta.get("epoch", runner.epoch)}, '
                f'iteration {meta.get("iter", runner.iter)}: {len(bad)} weight tensor(s) '
                f'hold NaN/inf, e.g. {bad[:3]}')

    def after_val_epoch(self, runner, metrics: Optional[Dict[str, float]] = None) -> None:
        """Runs before CheckpointHook (lowest priority): a NaN metric never picks a "best"."""
        bad = _non_finite_metrics(metrics or {})
        if bad:
            raise NonFiniteError(
                f'validation at epoch {runner.epoch} gave non-finite metrics {bad}; not '
                'saving a best checkpoint from it')


def _non_finite_metrics(metrics: Dict[str, float]) -> Sequence[str]:
    out = []
    for key, value in metrics.items():
        try:
            if not torch.isfinite(torch.as_tensor(value, dtype=torch.float64)).all():
                out.append(key)
        except (TypeError, ValueError, RuntimeError):
            continue
    return out
