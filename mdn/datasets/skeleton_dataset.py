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
            unlabelled clip (e.g. the MA-52 test split, scored by the online server).
        classes: class names (defaults to the file's ``label_names`` / ``classes``).
        score_channel: npz only, the last data channel is a score (see annotation_io).
        nan_policy: NaN/inf keypoints are 'zero'ed (coordinates and score -> 0, the joint
            counts as missing) or 'raise' an error naming the file and clip.
    """

    def __init__(self, ann_file: str, layout: str, pipeline: Sequence = (), split: Any = None,
                 num_classes: Optional[int] = None, classes: Optional[Sequence[str]] = None,
                 score_channel: bool = True, nan_policy: str = 'zero', **kwargs):
        if nan_policy not in NAN_POLICIES:
            raise ValueError(f'nan_policy must be one of {NAN_POLICIES}, got {nan_policy!r}')
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
        data_list, skipped = [], []
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
        if not data_list:
            raise ValueError(f'{self.ann_file}: no usable clips in split {self.split!r} '
                             f'(skipped: {skipped[:3]})')
        return data_list

    def read_annotations(self) -> 'tuple[List[Annotation], dict]':
        """Clips and metainfo from ``ann_file``; subclasses may generate them instead."""
        return load_annotations(self.ann_file, self.split, self.score_channel)

    def _check_clip(self, ann: Annotation) -> Optional[str]:
        """Validate one clip in place; return why it must be skipped, or raise on bad data."""
        name = f'{self.ann_file}: clip {ann.get("frame_dir", "?")}'
        kp = ann.get('keypoint')
        if kp is None or kp.ndim != 4:
            raise ValueError(f'{name}: keypoint must be [M,T,V,C], got '
                             f'{None if kp is None else kp.shape}')
        if kp.shape[2] != self.layout.num_keypoints:
            raise ValueError(f'{name}: {kp.shape[2]} keypoints per frame, but layout '
                             f'"{self.layout.name}" has {self.layout.num_keypoints}; pick the '
                             'layout that matches the data')
        if kp.shape[1] == 0:
            return 'zero frames'
        score = ann.get('keypoint_score')
        if score is None:
            score = np.ones(kp.shape[:3], np.float32)
        label = ann.get('label')
        if label is not None and int(label) != -1 and self.num_classes is not None and not (
                0 <= int(label) < self.num_classes):
            raise ValueError(f'{name}: label {label} outside [0, {self.num_classes})')
        bad = ~np.isfinite(kp).all(-1) | ~np.isfinite(score)
        if bad.any():
            if self.nan_policy == 'raise':
                raise ValueError(f'{name}: {int(bad.sum())} keypoint(s) are NaN or inf '
                                 '(nan_policy="raise"; use "zero" to treat them as missing)')
            kp, score = kp.copy(), score.copy()
            kp[bad], score[bad] = 0.0, 0.0
        ann['keypoint'] = kp.astype(np.float32, copy=False)
        ann['keypoint_score'] = score.astype(np.float32, copy=False)
        return None

    # ------------------------------------------------------------------ helpers
    def get_data_info(self, idx: int) -> dict:
        info = super().get_data_info(idx)
        return copy.copy(info)

    def label_counts(self) -> np.ndarray:
        """Clips per class, for class-balanced loss weights."""
        labels = [self.get_data_info(i)['label'] for i in range(len(self))]
        size = self.num_classes or (max(labels) + 1)
        return np.bincount(np.asarray(labels, dtype=int), minlength=size)
