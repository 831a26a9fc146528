"""Per-video partial results in a work folder next to the output, so ``--resume`` works.

Each finished video is one pickle written atomically (temp file + rename): a run killed at any
moment leaves only complete parts. ``settings.json`` records what produced them; resuming with
different settings is refused rather than mixing two kinds of keypoints in one file.
"""
import json
import os
import os.path as osp
import pickle
from typing import Any, Dict, Optional

from mdn.utils.io import atomic_write
from mdn.utils.safe_pickle import safe_pickle_load

SETTINGS = 'settings.json'


def parts_dir_for(out_path: str) -> str:
    """``ma52_train.pkl`` -> ``ma52_train_parts/`` (same folder)."""
    stem = osp.splitext(osp.abspath(out_path))[0]
    return stem + '_parts'


class PartStore:
    """The work folder of one output file."""

    def __init__(self, directory: str):
        self.directory = directory

    def path(self, name: str) -> str:
        return osp.join(self.directory, name + '.pkl')

    def has(self, name: str) -> bool:
        return osp.isfile(self.path(name))

    def save(self, name: str, annotation: Dict[str, Any]) -> None:
        with atomic_write(self.path(name)) as f:
            pickle.dump(annotation, f, protocol=4)

    def load(self, name: str) -> Dict[str, Any]:
        content = safe_pickle_load(self.path(name))
        if not isinstance(content, dict) or 'keypoint' not in content:
            raise ValueError(f'{self.path(name)}: not a clip annotation (delete it and rerun)')
        return content

    def prepare(self, settings: Dict[str, Any], resume: bool) -> None:
        """Create the folder; on resume check the settings, otherwise drop stale parts."""
        os.makedirs(self.directory, exist_ok=True)
        settings = json.loads(json.dumps(settings, default=str))  # as it will read back
        settings_path = osp.join(self.directory, SETTINGS)
        previous = self._read_settings(settings_path)
        if resume and previous is not None and previous != settings:
            changed = sorted(k for k in set(previous) | set(settings)
                             if previous.get(k) != settings.get(k))
            raise ValueError(f'{self.directory}: its partial results were made with other '
                             f'settings ({", ".join(changed)} differ: {previous} vs {settings}); '
                             'rerun with the same settings, or without --resume to start over')
        if not resume:
            for entry in os.listdir(self.directory):
                if entry.endswith('.pkl'):
                    os.remove(osp.join(self.directory, entry))
        with atomic_write(settings_path, 'w') as f:
            json.dump(settings, f, indent=1, sort_keys=True)

    @staticmethod
    def _read_settings(path: str) -> Optional[Dict[str, Any]]:
        if not osp.isfile(path):
            return None
        with open(path, encoding='utf-8') as f:
            return json.load(f)
