"""Import every mdn module so its registries are filled, and optionally make 'mdn' the scope."""
import datetime
import warnings

from mmengine import DefaultScope


def register_all_modules(init_default_scope: bool = True) -> None:
    """Register mdn's modules; with ``init_default_scope`` build calls resolve in 'mdn'.
    Also allow-lists MMEngine's checkpoint types for ``torch.load`` (resume, ``load_from``)."""
    from .checkpoint_compat import register_checkpoint_safe_globals
    register_checkpoint_safe_globals()
    import mdn.datasets  # noqa: F401,F811
    import mdn.engine  # noqa: F401,F811
    import mdn.evaluation  # noqa: F401,F811
    import mdn.layouts  # noqa: F401,F811
    import mdn.models  # noqa: F401,F811
    if not init_default_scope:
        return
    current = DefaultScope.get_current_instance()
    if current is None or current.scope_name != 'mdn':
        if current is not None:
            warnings.warn(f'The current default scope "{current.scope_name}" is not "mdn"; '
                          'a new scope "mdn" is created.')
        name = f'mdn-{datetime.datetime.now()}'
        DefaultScope.get_instance(name, scope_name='mdn')
