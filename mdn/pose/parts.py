"""Per-video partial results in a work folder next to the output, so ``--resume`` works.

Each finished video is one pickle written atomically (temp file + rename): a run killed at any
moment leaves only complete parts. ``settings.json`` records what produced them; resuming with
different settings is refused rather than mixing two kinds of keypoints in one file. Finished
parts are never deleted unless asked for (``overwrite=True``): a run that is neither resumed nor
overwriting refuses to start where an earlier run left finished videos.
"""
import json
import os
import os.path as osp
import pickle
from typing import Any, Dict, List, Optional

from mdn.utils.io import atomic_write
from mdn.utils.safe_pickle import safe_pickle_load

SETTINGS = 'settings.json'


class PartError(ValueError):
    """A partial result (or the folder's settings) that cannot be read."""


class PartsExistError(ValueError):
    """Finished parts of an earlier run, and neither resume nor overwrite was asked for."""


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

    def finished(self) -> List[str]:
        """Names of the finished videos in the folder (sorted)."""
        if not osp.isdir(self.directory):
            return []
        return sorted(entry[:-4] for entry in os.listdir(self.directory)
                      if entry.endswith('.pkl') and not entry.startswith('.'))

    def load(self, name: str) -> Dict[str, Any]:
        path = self.path(name)
        try:
            content = safe_pickle_load(path)
        except ValueError:  # safe_pickle_load: truncated or not a pickle
            raise PartError(f'{path}: a truncated or corrupt partial result; delete this file '
                            'and rerun with --resume to extract that video again') from None
        if not isinstance(content, dict) or 'keypoint' not in content:
            raise PartError(f'{path}: not a clip annotation; delete this file and rerun with '
                            '--resume to extract that video again')
        return content

    def prepare(self, settings: Dict[str, Any], resume: bool, overwrite: bool = False) -> None:
        """Create the folder and record ``settings``.

        resume: keep the finished parts (refused if they were made with other settings).
        overwrite: delete the finished parts and start over.
        Neither: refused if finished parts exist, so an earlier run's work is never lost by
        accident.
        """
        if resume and overwrite:
            raise ValueError('--resume and --overwrite contradict each other: --resume keeps '
                             'the finished videos, --overwrite deletes them; choose one')
        os.makedirs(self.directory, exist_ok=True)
        settings = json.loads(json.dumps(settings, default=str))  # as it will read back
        settings_path = osp.join(self.directory, SETTINGS)
        previous = self._read_settings(settings_path)
        if resume and previous is not None and previous != settings:
            changed = sorted(k for k in set(previous) | set(settings)
                             if previous.get(k) != settings.get(k))
            raise ValueError(f'{self.directory}: its partial results were made with other '
                             f'settings ({", ".join(changed)} differ: {previous} vs {settings}); '
                             'rerun with the same settings, or with --overwrite (instead of '
                             '--resume) to delete them and start over')
        finished = self.finished()
        if finished and not resume:
            if not overwrite:
                raise PartsExistError(
                    f'{len(finished)} finished videos in {self.directory} (e.g. '
                    f'{finished[:3]}): rerun with --resume, or --overwrite to start over')
            for name in finished:
                os.remove(self.path(name))
        with atomic_write(settings_path, 'w') as f:
            json.dump(settings, f, indent=1, sort_keys=True)

    def _read_settings(self, path: str) -> Optional[Dict[str, Any]]:
        if not osp.isfile(path):
            return None
        try:
            with open(path, encoding='utf-8') as f:
                return json.load(f)
        except (ValueError, OSError) as err:
            raise PartError(f'{path}: unreadable ({err}); it records how the partial results '
                            'were made: rerun with --overwrite to start over') from None
