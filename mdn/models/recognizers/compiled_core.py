"""``torch.compile`` of a recogniser's tensor core, not of its Python around it.

MMEngine's own ``cfg.compile`` compiles ``model.train_step`` as a whole: the data samples
(Python objects), the loss dict and the optimiser wrapper's backward/step all sit inside it,
so Dynamo breaks the graph there and validation/testing are not compiled at all. The mdn
recognisers instead route their tensor-only work through :meth:`CompiledCoreMixin._core`:

* training: ``inputs [B, N, T, V, C]``, ``labels [B]`` -> the loss dict (forward and every
  loss in one graph; AOTAutograd compiles the backward of that graph too);
* inference: ``inputs`` -> logits (and routing weights for Micro-DualNet).

Those two graphs have static shapes (``dynamic=False`` by default: a fixed clip length and a
``drop_last`` loader give one shape per phase), so ``mode='reduce-overhead'`` can capture each
as a CUDA graph. The model's parameters, buffers and ``state_dict`` are untouched: a compiled
model loads and saves the same checkpoints as an eager one.
"""
import inspect
from typing import Any, Callable, Dict, Optional, Union

import torch

# ``torch.compile`` modes (``torch._inductor.list_mode_options``; ``None`` is 'default'), one
# list for the command-line flags and the model
from mdn.apis.cli_base import COMPILE_MODES
_COMPILE_KWARGS = ('fullgraph', 'dynamic', 'backend', 'mode', 'options', 'disable')

CompileSpec = Union[None, bool, str, Dict[str, Any]]


def normalise_compile(spec: CompileSpec, where: str = 'compile') -> Optional[Dict[str, Any]]:
    """``torch.compile`` keyword arguments for a compile switch, or None when it is off.

    ``spec`` is False/None (off), True (defaults), a mode name (see :data:`COMPILE_MODES`) or
    a dict of ``torch.compile`` arguments. ``dynamic`` defaults to False: every input shape
    gets its own specialised graph, which is what lets CUDA graphs capture it.

    Raises ValueError naming ``where`` for an unknown mode, backend or argument.
    """
    if spec is None or spec is False:
        return None
    if spec is True:
        opts: Dict[str, Any] = {}
    elif isinstance(spec, str):
        opts = dict(mode=spec)
    elif isinstance(spec, dict):
        opts = dict(spec)
    else:
        raise ValueError(f'{where}: expected a bool, a mode name or a dict of torch.compile '
                         f'arguments, got {type(spec).__name__} {spec!r}')
    unknown = sorted(set(opts) - set(_COMPILE_KWARGS))
    if unknown:
        raise ValueError(f'{where}: torch.compile takes no argument(s) {unknown}; '
                         f'known: {list(_COMPILE_KWARGS)}')
    if opts.get('mode') not in (None,) + COMPILE_MODES:
        raise ValueError(f'{where}: unknown torch.compile mode {opts["mode"]!r}; choose one of '
                         f'{list(COMPILE_MODES)}')
    if opts.get('mode') == 'default':
        opts.pop('mode')
    backend = opts.get('backend', 'inductor')
    if isinstance(backend, str):
        import torch._dynamo
        known = set(torch._dynamo.list_backends(exclude_tags=())) | {'inductor'}
        if backend not in known:
            raise ValueError(f'{where}: unknown torch.compile backend {backend!r}; known: '
                             f'{sorted(known)}')
        if backend != 'inductor' and 'mode' in opts:
            raise ValueError(f'{where}: mode {opts["mode"]!r} is an inductor option; the '
                             f'{backend!r} backend takes none')
    if opts.pop('disable', False):
        return None
    opts.setdefault('dynamic', False)
    return opts


def uses_cudagraphs(opts: Optional[Dict[str, Any]]) -> bool:
    """Whether these options make inductor capture CUDA graphs."""
    if not opts:
        return False
    return (opts.get('mode') in ('reduce-overhead', 'max-autotune')
            or bool((opts.get('options') or {}).get('triton.cudagraphs')))


class CompiledCoreMixin:
    """Mixin for :class:`mmengine.model.BaseModel` recognisers: ``self._core(name)`` returns
    the method ``name`` of the class, compiled when :meth:`set_compile` switched it on.

    The compiled function takes the module as its first argument (it is compiled from the
    unbound method), so a ``copy.deepcopy`` of the model (EMA, SWA) never calls into the
    original: Dynamo's guard on the module fails and it compiles for the copy.
    """

    _compile_opts: Optional[Dict[str, Any]] = None

    def set_compile(self, spec: CompileSpec = True) -> 'CompiledCoreMixin':
        """Switch compilation of the tensor core on (``spec``: see :func:`normalise_compile`)
        or off (False/None). Returns the model."""
        self._compile_opts = normalise_compile(spec, f'{type(self).__name__}.set_compile')
        self._compiled_fns: Dict[str, Callable] = {}
        return self

    @property
    def compile_options(self) -> Optional[Dict[str, Any]]:
        """The ``torch.compile`` arguments in use, or None (eager)."""
        return None if self._compile_opts is None else dict(self._compile_opts)

    def _core(self, name: str) -> Callable:
        """``fn(*args)`` running ``type(self).<name>(self, *args)``, compiled or eager."""
        method = getattr(type(self), name)
        if self._compile_opts is None:
            return lambda *args: method(self, *args)
        fn = self._compiled_fns.get(name)
        if fn is None:
            fn = self._compiled_fns[name] = torch.compile(method, **self._compile_opts)
        cudagraphs = uses_cudagraphs(self._compile_opts)

        def call(*args):
            if cudagraphs:  # one training/inference step per call: outputs of the previous
                torch.compiler.cudagraph_mark_step_begin()  # replay may be overwritten
            return fn(self, *args)
        return call


def accepts_compile(cls: type) -> bool:
    """Whether a recogniser class takes the ``compile_cfg`` argument."""
    try:
        return 'compile_cfg' in inspect.signature(cls.__init__).parameters
    except (TypeError, ValueError):
        return False
