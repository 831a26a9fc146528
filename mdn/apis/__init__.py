from .config import check_config, enable_amp, init_cpu_distributed, load_config

__all__ = ['load_config', 'check_config', 'enable_amp', 'init_cpu_distributed']
from .inference import (ClipResult, LayoutMismatchError, Skeleton, extract_skeleton,  # noqa: E402
                        init_recognizer, load_skeleton, recognize_clip, recognize_timeline,
                        recognize_video)
from .timeline import Segment, WindowScores, merge_windows, summarize  # noqa: E402

__all__ += ['init_recognizer', 'recognize_clip', 'recognize_video', 'recognize_timeline',
            'extract_skeleton', 'load_skeleton', 'Skeleton', 'ClipResult', 'LayoutMismatchError',
            'Segment', 'WindowScores', 'merge_windows', 'summarize']
