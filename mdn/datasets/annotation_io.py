"""Read and write skeleton annotation files.

Two on-disk formats:

* mmaction2/PYSKL pickle: ``dict(split={name: [frame_dir, ...]}, annotations=[clip, ...])``
  with each clip ``dict(frame_dir, label, total_frames, img_shape, keypoint [M,T,V,2],
  keypoint_score [M,T,V], ...)``. Read with a restricted unpickler (numpy + containers only).
* stacked npz (``../shared/data``): ``data (sum_T,V,C)``, ``offsets (N+1,)``, ``labels (N,)``,
  ``label_names`` and per-clip fields usable as a split (``is_train``, ``view``, ...).
"""
import os.path as osp
import pickle
import zipfile
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from mdn.utils.io import atomic_write
from mdn.utils.safe_pickle import safe_pickle_load

Annotation = Dict[str, Any]


def check_file(path: str, what: str = 'annotation file') -> None:
    if not osp.isfile(path):
        raise FileNotFoundError(f'{what} not found: {path}')


def load_pickle_annotations(path: str, split: Optional[str] = None
                            ) -> Tuple[List[Annotation], Dict[str, Any]]:
    """Clips of ``split`` (all clips when None) and the file's extra metainfo."""
    check_file(path)
    content = safe_pickle_load(path)
    if isinstance(content, list):  # old PYSKL format: a bare list of clips
        content = dict(annotations=content)
    if not isinstance(content, dict) or 'annotations' not in content:
        raise ValueError(f'{path}: expected a dict with "split" and "annotations" (mmaction2/'
                         f'PYSKL skeleton format), got {type(content).__name__}')
    annotations = check_clip_list(path, content['annotations'])
    meta = {k: v for k, v in content.items() if k not in ('annotations', 'split')}
    if split is None:
        return list(annotations), meta
    splits = content.get('split') or {}
    if not isinstance(splits, dict):
        raise ValueError(f'{path}: "split" must be a dict {{name: [frame_dir, ...]}}, got '
                         f'{type(splits).__name__}')
    if split not in splits:
        raise KeyError(f'{path}: split "{split}" not found; available: {sorted(splits)}')
    wanted = set(splits[split])
    return [a for a in annotations if a['frame_dir'] in wanted], meta


def check_clip_list(path: str, annotations: Any) -> List[Annotation]:
    """``annotations`` must be a list of clip dicts, each with a ``frame_dir``."""
    if isinstance(annotations, dict):
        keys = sorted(map(str, annotations))[:5]
        raise ValueError(f'{path}: "annotations" is a dict (keys {keys}); the mmaction2/PYSKL '
                         'format needs a list of clip dicts: '
                         'dict(split={name: [frame_dir, ...]}, annotations=[clip, ...])')
    if not isinstance(annotations, (list, tuple)):
        raise ValueError(f'{path}: "annotations" must be a list of clip dicts, got '
                         f'{type(annotations).__name__}')
    for i, clip in enumerate(annotations):
        if not isinstance(clip, dict):
            raise ValueError(f'{path}: annotation #{i} is a {type(clip).__name__}, not a clip '
                             'dict(frame_dir, label, keypoint, ...)')
        if 'frame_dir' not in clip:
            raise ValueError(f'{path}: annotation #{i} has no "frame_dir" (the clip name); '
                             f'its keys: {sorted(map(str, clip))}')
    return list(annotations)


def load_npz_annotations(path: str, split: Optional[dict] = None, score_channel: bool = True
                         ) -> Tuple[List[Annotation], Dict[str, Any]]:
    """Clips of a stacked npz file.

    Args:
        split: ``dict(field='view', values=[1, 2])`` keeps clips whose ``field`` is in
            ``values``; None keeps all.
        score_channel: the last channel of ``data`` is a confidence/visibility score (Penn
            Action, iMiGUE); False means every channel is a coordinate (NW-UCLA x, y, z).
    """
    check_file(path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            # Read each array once: indexing an NpzFile decompresses on every access.
            arrays = {k: npz[k] for k in npz.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as err:
        raise ValueError(f'{path}: not a readable npz file (truncated or corrupt): {err}') from None
    for key in ('data', 'offsets', 'labels'):
        if key not in arrays:
            raise KeyError(f'{path}: stacked npz needs key "{key}"; found {sorted(arrays)}')
    data, offsets, labels = arrays['data'], arrays['offsets'], arrays['labels']
    num = len(labels)
    if len(offsets) != num + 1:
        raise ValueError(f'{path}: offsets has {len(offsets)} entries for {num} clips')
    keep = np.ones(num, dtype=bool)
    if split is not None:
        field, values = split['field'], split['values']
        if field not in arrays:
            raise KeyError(f'{path}: split field "{field}" not found; per-clip fields: '
                           f'{sorted(k for k, v in arrays.items() if len(v) == num)}')
        keep = np.isin(arrays[field], np.asarray(values))
    ids = arrays.get('seq_id', np.array([f'{i:06d}' for i in range(num)]))
    if labels.dtype.kind == 'f':
        wrong = np.flatnonzero(~np.isfinite(labels) | (labels != np.round(labels)))
        if len(wrong):
            raise ValueError(f'{path}: clip {ids[wrong[0]]}: label {labels[wrong[0]]} is not '
                             f'an integer class index ({len(wrong)} such label(s))')
    elif labels.dtype.kind not in 'iub':
        raise ValueError(f'{path}: "labels" must hold integer class indices, got dtype '
                         f'{labels.dtype}')
    image_hw = arrays.get('image_hw')
    annotations = []
    for i in np.flatnonzero(keep):
        clip = np.array(data[offsets[i]:offsets[i + 1]], dtype=np.float32)  # copy, not a view
        if score_channel:
            keypoint, score = clip[None, ..., :-1], clip[None, ..., -1]
        else:
            keypoint, score = clip[None], np.ones(clip.shape[:2], np.float32)[None]
        ann = dict(frame_dir=str(ids[i]), label=int(labels[i]), total_frames=len(clip),
                   keypoint=keypoint, keypoint_score=score)
        if image_hw is not None:
            ann['img_shape'] = tuple(int(v) for v in image_hw[i])
        annotations.append(ann)
    meta = {}
    if 'label_names' in arrays:
        meta['classes'] = tuple(str(n) for n in arrays['label_names'])
    return annotations, meta


def load_annotations(path: str, split: Any = None, score_channel: bool = True
                     ) -> Tuple[List[Annotation], Dict[str, Any]]:
    """Dispatch on the extension: ``.pkl``/``.pickle`` or ``.npz``."""
    if path.endswith('.npz'):
        return load_npz_annotations(path, split, score_channel)
    if path.endswith(('.pkl', '.pickle')):
        return load_pickle_annotations(path, split)
    raise ValueError(f'{path}: unknown annotation format; expected .pkl (mmaction2/PYSKL) '
                     'or .npz (stacked)')


def save_pickle_annotations(path: str, annotations: List[Annotation],
                            split: Optional[Dict[str, List[str]]] = None, **meta: Any) -> None:
    """Write the mmaction2/PYSKL format atomically (temp file + rename)."""
    content = dict(split=split or {}, annotations=annotations, **meta)
    with atomic_write(path) as f:
        pickle.dump(content, f, protocol=4)
