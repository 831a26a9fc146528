"""Import MMPose on a machine with mmcv-lite (no compiled ops) and without torchvision.

mmpose 1.3.2 imports, at module level and for every model, two things that top-down RTMPose /
RTMW / DWPose never use:

* ``from mmcv.ops import MultiScaleDeformableAttention`` (``edpose_head.py``,
  ``deformable_detr_layers.py``): needs full mmcv with its compiled ``mmcv._ext``;
* ``from torchvision.transforms import ToPILImage`` (``visualization/simcc_vis.py``).

:func:`import_mmpose` imports ``mmpose.apis`` normally when those packages work. Only when they
do not, it puts *temporary* stand-ins into ``sys.modules`` for the duration of the import, and
removes them again afterwards, so later imports see the real state of ``mmcv.ops`` and
``torchvision``. A stand-in raises a clear error if something actually calls it. mmpose also
imports pure-Python parts of mmdet (``mmdet.utils``, ``mmdet.structures``); those modules stay
loaded and keep a stand-in for any op they named. ``mmdet.apis`` is blocked meanwhile, so mmpose
records "no mmdet detector" (its inferencers then need ``det_model='whole_image'``);
:func:`detector_available` tells whether the real detector stack works.
"""
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types
from contextlib import contextmanager
from typing import Dict, Iterator, Optional

_STUB_FLAG = '__mdn_stub__'
_STATE: Dict[str, Optional[bool]] = {'mmcv_ops': None, 'torchvision': None}


def _module_works(name: str) -> bool:
    """True if ``import name`` succeeds (a broken install counts as missing)."""
    if name in sys.modules and sys.modules[name] is not None:
        return _STUB_FLAG not in vars(sys.modules[name])
    try:
        importlib.import_module(name)
        return True
    except Exception:  # ImportError, or OSError/RuntimeError from a broken binary
        return False


def mmcv_ops_available() -> bool:
    """Whether full mmcv with compiled ops is installed (needed by the mmdet detector)."""
    if _STATE['mmcv_ops'] is None:
        _STATE['mmcv_ops'] = _module_works('mmcv.ops')
    return bool(_STATE['mmcv_ops'])


def torchvision_available() -> bool:
    if _STATE['torchvision'] is None:
        _STATE['torchvision'] = _module_works('torchvision')
    return bool(_STATE['torchvision'])


def _missing(package: str, name: str, hint: str) -> type:
    """A class that fails loudly when instantiated or called."""

    def fail(*args, **kwargs):
        raise RuntimeError(f'{package}.{name} is not available: {hint}. mdn.pose.mmpose_compat '
                           'let mmpose import without it because RTMPose does not use it.')

    return type(name, (), {'__init__': fail, '__call__': fail, _STUB_FLAG: True})


def _stub_module(name: str, hint: str, package: bool = False) -> types.ModuleType:
    module = types.ModuleType(name, f'mdn stand-in for {name} ({hint})')
    setattr(module, _STUB_FLAG, True)
    module.__spec__ = importlib.machinery.ModuleSpec(name, None, is_package=package)
    if package:
        module.__path__ = []

    def __getattr__(attr: str):
        if attr.startswith('__'):
            raise AttributeError(attr)
        value = _missing(name, attr, hint)
        setattr(module, attr, value)
        return value

    module.__getattr__ = __getattr__
    return module


class _StubFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serves ``mmcv.ops.<anything>`` (e.g. ``mmcv.ops.nms``) as a stand-in submodule."""

    def __init__(self, prefix: str, hint: str):
        self.prefix, self.hint = prefix, hint
        self.created = []

    def find_spec(self, fullname, path=None, target=None):
        if fullname.startswith(self.prefix + '.'):
            return importlib.machinery.ModuleSpec(fullname, self)
        return None

    def create_module(self, spec):
        self.created.append(spec.name)
        return _stub_module(spec.name, self.hint)

    def exec_module(self, module):
        pass


@contextmanager
def _temporary_stubs() -> Iterator[None]:
    """Stand-ins for what is missing, inside the ``with`` block only."""
    added, finders = {}, []
    if not mmcv_ops_available():
        hint = 'install full mmcv (not mmcv-lite)'
        added['mmcv.ops'] = _stub_module('mmcv.ops', hint, package=True)
        finders.append(_StubFinder('mmcv.ops', hint))
        if 'mmdet.apis' not in sys.modules:
            # mmpose needs pure-Python parts of mmdet (utils, structures, the CSPNeXt backbone)
            # but must not think the detector works: `import mmdet.apis` fails meanwhile.
            added['mmdet.apis'] = None
    if not torchvision_available():
        hint = 'install torchvision'
        added['torchvision'] = _stub_module('torchvision', hint, package=True)
        added['torchvision.transforms'] = _stub_module('torchvision.transforms', hint)
    saved = {name: sys.modules[name] for name in added if name in sys.modules}
    sys.modules.update(added)
    sys.meta_path[:0] = finders
    try:
        yield
    finally:
        for finder in finders:
            sys.meta_path.remove(finder)
            for name in finder.created:
                sys.modules.pop(name, None)
        for name in added:
            sys.modules.pop(name, None)
        sys.modules.update(saved)


def import_mmpose() -> types.ModuleType:
    """Return ``mmpose.apis`` with the model code RTMPose needs (mmpose + mmdet models).

    RTMPose's CSPNeXt backbone is registered in ``mmdet.models``, which mmengine would import
    lazily while building the model, after the stand-ins are gone; so it is imported here.
    """
    if 'mmpose.apis' in sys.modules and 'mmdet.models' in sys.modules:
        return sys.modules['mmpose.apis']
    with _temporary_stubs():
        apis = importlib.import_module('mmpose.apis')
        importlib.import_module('mmdet.models')
    return apis


def detector_available() -> bool:
    """Whether the mmdet person detector can run (mmdet + full mmcv ops)."""
    return mmcv_ops_available() and importlib.util.find_spec('mmdet') is not None
