"""Names of a package imported on first use (PEP 562), so importing the package stays cheap."""
import importlib
from typing import Callable, Dict, List, Tuple


def lazy_exports(package: str, where: Dict[str, str]
                 ) -> Tuple[Callable[[str], object], Callable[[], List[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package`` whose public name ``n`` lives in its
    submodule ``where[n]``; the submodule is imported when ``n`` is first asked for."""
    def __getattr__(name: str):
        if name in where:
            return getattr(importlib.import_module(f'.{where[name]}', package), name)
        raise AttributeError(f'module {package!r} has no attribute {name!r}')

    def __dir__() -> List[str]:
        return sorted(where)
    return __getattr__, __dir__
