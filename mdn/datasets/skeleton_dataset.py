"""The skeleton dataset: one class for both annotation formats, with input validation."""
import copy
from typing import Any, List, Optional, Sequence

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from mdn.layouts import get_layout
from mdn.registry import DATASETS

from .annotation_io import Annotation, load_annotations

NAN_POLICIES = ('zero', 'raise')
MAX_ABS_COORD = 1e6  # pixels go to a few thousand, Kinect metres to ~10: 1e6 is corrupt data


@DATASETS.register_module()
class SkeletonDataset(BaseDataset):
    """Micro-action clips as skeletons, from a PYSKL pickle or a stacked npz file.

    Each clip dict carries ``keypoint [M,T,V,C]``, ``keypoint_score [M,T,V]``, ``label``,
    ``total_frames`` and ``layout`` (the layout name, read by layout-aware transforms, so
    pipelines never repeat it).

    Args:
        ann_file: ``.pkl`` or ``.npz`` path (relative to ``data_root`` if given).
        layout: keypoint layout name; its keypoint count must match the data.
        split: pickle: a split name; npz: ``dict(field=..., values=[...])``; None: all clips.
        num_classes: if given, every label must lie in ``[0, num_classes)``; -1 marks an
            unlabelled clip (e.g. the MA-52 test split, scored by the online server); it is
            refused unless ``test_mode=True``: training needs labels. Labels must be integers
            (integral floats such as ``3.0`` are accepted, ``1.5`` or ``'walk'`` are not).
        classes: class names (defaults to the file's ``label_names`` / ``classes``).
        score_channel: npz only, the last data channel is a score (see annotation_io).
        nan_policy: NaN/inf keypoints, and keypoints with a coordinate (or score) beyond
            ``max_abs_coord``, are 'zero'ed (coordinates and score -> 0, the joint counts as
            missing; one warning names the file, the clips and the counts) or 'raise' an
            error naming the file, the clip and the count.
        max_abs_coord: largest plausible ``|coordinate|`` (default 1e6; pixels reach a few
            thousand, Kinect metres about 10); None disables the check.

    Clips with zero frames, or with no valid keypoint at all (every coordinate NaN/inf,
    implausible or 0), are skipped with a warning naming them; a file
    or split where no clip is usable is an error. Malformed clips (no ``label`` or
    ``frame_dir``, a non-integer label, object-dtype or 1-channel keypoints, a
    ``keypoint_score`` of the wrong shape) raise a ``ValueError`` naming file and clip.
    """

    def __init__(self, ann_file: str, layout: str, pipeline: Sequence = (), split: Any = None,
                 num_classes: Optional[int] = None, classes: Optional[Sequence[str]] = None,
                 score_channel: bool = True, nan_policy: str = 'zero',
                 max_abs_coord: Optional[float] = MAX_ABS_COORD, **kwargs):
        if nan_policy not in NAN_POLICIES:
            raise ValueError(f'nan_policy must be one of {NAN_POLICIES}, got {nan_policy!r}')
        if max_abs_coord is not None and not max_abs_coord > 0:
            raise ValueError(f'max_abs_coord must be > 0 or None, got {max_abs_coord!r}')
        self.max_abs_coord = max_abs_coord
        self.layout = get_layout(layout)
        self.split, self.num_classes, self.score_channel = split, num_classes, score_channel
        self.nan_policy, self._classes = nan_policy, classes
        super().__init__(ann_file=ann_file, pipeline=list(pipeline), **kwargs)

    # ------------------------------------------------------------------ loading
    def load_data_list(self) -> List[dict]:
        annotations, meta = self.read_annotations()
        classes = self._classes or meta.get('classes') or meta.get('label_names')
        if classes is not None:
            self._metainfo['classes'] = tuple(classes)
            if self.num_classes is None:
                self.num_classes = len(classes)
        if not annotations:
            raise ValueError(f'{self.ann_file}: split {self.split!r} contains no clips')
        data_list, skipped, self._zeroed = [], [], []
        for ann in annotations:
            problem = self._check_clip(ann)
            if problem is not None:
                skipped.append(f'{ann.get("frame_dir", "?")}: {problem}')
                continue
            ann = dict(ann, layout=self.layout.name)
            ann.setdefault('total_frames', ann['keypoint'].shape[1])
            data_list.append(ann)
        if skipped:
            print_log(f'{self.ann_file}: skipped {len(skipped)} clip(s): ' + '; '.join(
                skipped[:10]) + (' ...' if len(skipped) > 10 else ''), logger='current',
                level=30)
        if self._zeroed:
            bound = f'{self.max_abs_coord:g}' if self.max_abs_coord else 'max_abs_coord'
            clips = [f'{n} ({k} NaN/inf, {h} with |value| > {bound})'
                     for n, k, h in self._zeroed]
            print_log(f'{self.ann_file}: treated {sum(k + h for _, k, h in self._zeroed)} '
                      f'keypoint(s) in {len(clips)} clip(s) as missing (nan_policy="zero"): '
                      + '; '.join(clips[:10]) + (' ...' if len(clips) > 10 else ''),
                      logger='current', level=30)
        if not data_list:
            raise ValueError(f'{self.ann_file}: no usable clips in split {self.split!r}: all '
                             f'{len(skipped)} clip(s) were skipped, e.g. {skipped[:3]}')
        return data_list

    def read_annotations(self) -> 'tuple[List[Annotation], dict]':
        """Clips and metainfo from ``ann_file``; subclasses may generate them instead."""
        return load_annotations(self.ann_file, self.split, self.score_channel)

    def _check_clip(self, ann: Annotation) -> Optional[str]:
        """Validate one clip in place; return why it must be skipped, or raise on bad data."""
        if not isinstance(ann, dict):
            raise ValueError(f'{self.ann_file}: a clip is a {type(ann).__name__}, not a dict')
        if 'frame_dir' not in ann:
            raise ValueError(f'{self.ann_file}: a clip has no "frame_dir" (the clip name); '
                             f'its keys: {sorted(map(str, ann))}')
        name = f'{self.ann_file}: clip {ann["frame_dir"]}'
        ann['label'] = self._check_label(name, ann)
        if ann.get('keypoint') is None:
            raise ValueError(f'{name}: no "keypoint" array')
        kp = numeric_array(name, 'keypoint', ann['keypoint'])
        if kp.ndim != 4:
            raise ValueError(f'{name}: keypoint must be [M,T,V,C], got {kp.shape}')
        if kp.shape[-1] not in (2, 3):
            raise ValueError(f'{name}: keypoint has {kp.shape[-1]} channel(s) per joint; need '
                             '2 (x, y) or 3 (x, y, z)')
        if kp.shape[2] != self.layout.num_keypoints:
            raise ValueError(f'{name}: {kp.shape[2]} keypoints per frame, but layout '
                             f'"{self.layout.name}" has {self.layout.num_keypoints}; pick the '
                             'layout that matches the data')
        if kp.shape[1] == 0:
            return 'zero frames'
        score = ann.get('keypoint_score')
        if score is None:
            score = np.ones(kp.shape[:3], np.float32)
        score = numeric_array(name, 'keypoint_score', score)
        if score.shape != kp.shape[:3]:
            raise ValueError(f'{name}: keypoint_score has shape {score.shape}; it must be '
                             f'[M,T,V] = {kp.shape[:3]} like the keypoints')
        with np.errstate(over='ignore', invalid='ignore'):  # float64 beyond float32 -> inf
            kp, score = kp.astype(np.float32), score.astype(np.float32)
        nonfinite = ~np.isfinite(kp).all(-1) | ~np.isfinite(score)
        huge = np.zeros_like(nonfinite)
        if self.max_abs_coord is not None:
            with np.errstate(invalid='ignore'):
                huge = ~nonfinite & ((np.abs(kp) > self.max_abs_coord).any(-1)
                                     | (np.abs(score) > self.max_abs_coord))
        num_nonfinite, num_huge = int(nonfinite.sum()), int(huge.sum())
        if num_nonfinite and self.nan_policy == 'raise':
            raise ValueError(f'{name}: {num_nonfinite} keypoint(s) are NaN or inf '
                             '(nan_policy="raise"; use "zero" to treat them as missing)')
        if num_huge and self.nan_policy == 'raise':
            raise ValueError(f'{name}: {num_huge} keypoint(s) have a |coordinate| or score '
                             f'above {self.max_abs_coord:g} (implausible: corrupt data?) '
                             '(nan_policy="raise"; use "zero" to treat them as missing, or '
                             'raise max_abs_coord)')
        if num_nonfinite or num_huge:
            bad = nonfinite | huge
            kp[bad], score[bad] = 0.0, 0.0
            self._zeroed.append((ann['frame_dir'], num_nonfinite, num_huge))
        # Not the score: Penn Action marks all joints of some annotated clips invisible (0).
        if not (kp != 0).any():
            return 'no valid keypoint (every coordinate is NaN/inf, implausible or 0)'
        ann['keypoint'], ann['keypoint_score'] = kp, score
        return None

    def _check_label(self, name: str, ann: Annotation) -> int:
        if 'label' not in ann:
            raise ValueError(f'{name}: no "label" (an integer class index; -1 marks an '
                             'unlabelled test clip)')
        label = ann['label']
        if isinstance(label, np.ndarray) and label.size == 1:
            label = label.reshape(-1)[0]
        if isinstance(label, (bool, np.bool_)) or not isinstance(
                label, (int, np.integer, float, np.floating)):
            raise ValueError(f'{name}: label {label!r} is a {type(label).__name__}; labels '
                             'must be integer class indices')
        if isinstance(label, (float, np.floating)):
            if not np.isfinite(label) or label != round(label):
                raise ValueError(f'{name}: label {label!r} is not an integer class index')
        label = int(label)
        if label == -1 and not self.test_mode:
            raise ValueError(f'{name} has label -1 (unlabelled); training needs labels '
                             '(unlabelled test splits need test_mode=True)')
        if label < -1 or (self.num_classes is not None and label >= self.num_classes):
            upper = self.num_classes if self.num_classes is not None else 'num_classes'
            raise ValueError(f'{name}: label {label} outside [0, {upper})')
        return label

    # ------------------------------------------------------------------ helpers
    def get_data_info(self, idx: int) -> dict:
        info = copy.copy(super().get_data_info(idx))
        if self.data_prefix.get('video'):  # RGB stream: where the clips' videos lie
            info.setdefault('video_root', self.data_prefix['video'])
        return info

    def label_counts(self) -> np.ndarray:
        """Clips per class, for class-balanced loss weights."""
        labels = [self.get_data_info(i)['label'] for i in range(len(self))]
        size = self.num_classes or (max(labels) + 1)
        return np.bincount(np.asarray(labels, dtype=int), minlength=size)


def numeric_array(name: str, field: str, value: Any) -> np.ndarray:
    """``value`` as a numeric array (lists are converted); object/str dtypes are refused."""
    if not isinstance(value, np.ndarray):
        try:
            value = np.asarray(value)
        except ValueError as err:  # ragged nested lists
            raise ValueError(f'{name}: {field} is a ragged {type(value).__name__}, not a '
                             f'numeric array: {err}') from None
    if value.dtype.kind not in 'fiub':
        raise ValueError(f'{name}: {field} has dtype {value.dtype} (object or text, e.g. '
                         'ragged lists or None entries); expected a numeric array')
    return value
