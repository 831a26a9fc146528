"""The errors and constants the command lines need before any model code: kept free of torch
and MMEngine so a command can parse its arguments and start work (e.g. the pose stage of
``tools/demo.py``) while the heavy imports are still to come."""
import pickle
import re
from typing import Optional

AMP_DTYPES = ('auto', 'bfloat16', 'float16')
COMPILE_MODES = ('default', 'reduce-overhead', 'max-autotune', 'max-autotune-no-cudagraphs')


class ConfigError(ValueError):
    """A config file that cannot be used, with the file and the problem in the message."""


class CheckpointMismatchError(ValueError):
    """The checkpoint was trained for another architecture or configuration."""


def unsafe_load_message(path: str, err: BaseException) -> Optional[str]:
    """A clear message for a file that ``torch.load(weights_only=True)`` refused: the offending
    global for a checkpoint that asks for code, without PyTorch's advice to re-run with
    ``weights_only=False`` (which would run it). None if ``err`` is not such a refusal."""
    text = str(err)
    if not isinstance(err, pickle.UnpicklingError) or 'weights only' not in text.lower():
        return None
    found = re.search(r'GLOBAL\s+([\w.]+)', text)
    if found:
        return (f'{path}: refused to load an unsafe checkpoint: it asks for the global '
                f'"{found.group(1)}", which is not a weight type. Nothing from it was run; the '
                'file may be malicious. Only use checkpoints from a source you trust.')
    detail = re.search(r'(?:WeightsUnpickler error:\s*|\n\n)([^\n]+)', text.strip())
    detail = f': {detail.group(1).strip()[:200]}' if detail else ''
    return f'{path}: not a readable checkpoint (corrupt, or not a PyTorch checkpoint){detail}'
