from .config import check_config, enable_amp, init_cpu_distributed, load_config

__all__ = ['load_config', 'check_config', 'enable_amp', 'init_cpu_distributed']
