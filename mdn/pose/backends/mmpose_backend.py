"""MMPose top-down whole-body backend (RTMPose / RTMW / DWPose), batched over frames.

mmpose's own ``inference_topdown`` / ``MMPoseInferencer`` run the network once per frame. Here
the person crops of ``batch_size`` frames go through the network in one call, flip test is off
unless asked for, and decoding runs ahead on another thread (see ``mdn/pose/video.py``).

Person boxes: with a detector (``MMDetPersonDetector`` or any callable ``frames -> [N,5]
boxes``), detections are linked into IoU tracks and the ``max_people`` main tracks are kept.
Without one, the first frame is probed with the whole frame, and each batch of frames uses the
box that the keypoints of the previous batch span (a seated micro-action subject moves little
within a batch), falling back to the whole frame when the keypoints are unreliable.
"""
import sys
import warnings
from itertools import islice
from typing import (Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple,
                    Union)

import numpy as np
import torch

from ..mmpose_compat import detector_available, import_mmpose
from ..tracking import IoUTracker, KeypointBoxTracker, select_tracks, tracks_to_arrays
from .base import NUM_KEYPOINTS, PoseBackend, VideoPose
from .mmpose_models import fetch_weights, resolve_pose_model

Detector = Callable[[Sequence[np.ndarray]], List[np.ndarray]]

RANDOM_WEIGHTS = 'random (--checkpoint none)'


def weights_note(checkpoint: Optional[str]) -> str:
    """What a clip records as ``pose_model_weights``."""
    return RANDOM_WEIGHTS if checkpoint is None else str(checkpoint)


def warn_random_weights(model: str, stream=None) -> None:
    """The loud stderr warning of ``--checkpoint none``."""
    print(f'WARNING: pose model {model} has RANDOM weights (--checkpoint none): its keypoints '
          'are meaningless (only for tests and speed benchmarks); the output records '
          f"pose_model_weights='{RANDOM_WEIGHTS}'", file=stream or sys.stderr, flush=True)


def no_detector_problem(detector: Any, max_people: int) -> Optional[str]:
    """Why ``detector`` (a setting or a built one; None = none) cannot give ``max_people``."""
    if max_people <= 1:
        return None
    if detector == 'auto':
        if detector_available():
            return None
        why = ('--detector auto found no working detector (mmdet and full mmcv with compiled '
               'ops are not installed)')
    elif detector is None:
        why = 'the detector is off (--detector none)'
    else:
        return None
    return (f'--max-people {max_people} needs a person detector, but {why}; without one the '
            'mmpose backend tracks one person. Install mmdet and full mmcv, or use '
            '--max-people 1')


def chunked(iterable: Iterable, size: int) -> Iterator[list]:
    iterator = iter(iterable)
    while True:
        chunk = list(islice(iterator, size))
        if not chunk:
            return
        yield chunk


def init_pose_model(model: str = 'rtmpose-m', checkpoint: Optional[str] = 'default',
                    device: str = 'cpu', flip_test: bool = False, seed: int = 0):
    """An mmpose top-down model from a name or config; ``checkpoint=None`` = random weights.

    Random weights are drawn from ``seed`` (without touching the global RNG) so that two
    processes build the same model: tests and ``--resume`` compare outputs across runs.
    """
    config, weights = resolve_pose_model(model, checkpoint)
    weights = fetch_weights(weights)  # before the (slow) import: fail fast when offline
    apis = import_mmpose()
    from mmengine.registry import DefaultScope
    options = dict(model=dict(test_cfg=dict(flip_test=flip_test)))
    with DefaultScope.overwrite_default_scope('mmpose'), torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        with warnings.catch_warnings():
            warnings.filterwarnings('ignore', message='The metainfo config file')
            return apis.init_model(config, weights, device=device, cfg_options=options)


class MMPoseBackend(PoseBackend):
    """Batched MMPose top-down whole-body pose.

    Args:
        model: a name of :data:`mdn.pose.backends.mmpose_models.POSE_MODELS` or a config path.
        checkpoint: 'default' (model-zoo URL), a path/URL, or None (random weights).
        batch_size: person crops per network call.
        detector: 'auto' (RTMDet when mmdet + full mmcv are installed, else none), None, a
            name of ``DETECTORS``, or a callable ``frames -> list of [N,5] boxes``.
        kpt_thr: keypoint score that counts as found, for the detector-free box tracking.
        max_candidates: detections per frame that get a pose (the best by detector score).
    """

    name = 'mmpose'

    def __init__(self, model: str = 'rtmpose-m', checkpoint: Optional[str] = 'default',
                 device: str = 'cpu', batch_size: int = 16, flip_test: bool = False,
                 detector: Union[str, Detector, None] = 'auto',
                 det_checkpoint: Optional[str] = 'default', bbox_thr: float = 0.5,
                 kpt_thr: float = 0.3, max_candidates: int = 3, seed: int = 0):
        self.settings = dict(model=model, checkpoint=checkpoint, flip_test=flip_test,
                             kpt_thr=kpt_thr, seed=seed)
        if checkpoint is None:
            warn_random_weights(model)
        self.model = init_pose_model(model, checkpoint, device, flip_test, seed)
        from mmengine.dataset import Compose
        from mmengine.registry import DefaultScope
        with DefaultScope.overwrite_default_scope('mmpose'):
            self.pipeline = Compose(self.model.cfg.test_dataloader.dataset.pipeline)
        self.batch_size, self.kpt_thr, self.max_candidates = batch_size, kpt_thr, max_candidates
        self.detector = self._build_detector(detector, det_checkpoint, device, bbox_thr)
        self.settings['detector'] = (detector if isinstance(detector, str) or detector is None
                                     else type(detector).__name__)

    @staticmethod
    def _build_detector(detector, checkpoint, device, bbox_thr) -> Optional[Detector]:
        if detector is None or callable(detector):
            return detector
        if detector == 'auto':
            if not detector_available():
                return None
            detector = 'rtmdet-m'
        from .mmdet_detector import MMDetPersonDetector
        return MMDetPersonDetector(detector, checkpoint, device, score_thr=bbox_thr)

    def describe(self) -> dict:
        return dict(backend=self.name, **self.settings)

    def clip_fields(self) -> Dict[str, Any]:
        return dict(pose_model_weights=weights_note(self.settings['checkpoint']))

    def max_people_problem(self, max_people: int) -> Optional[str]:
        return no_detector_problem(self.detector, max_people)

    def estimate(self, frames: Sequence[np.ndarray], boxes: Sequence[np.ndarray]
                 ) -> Tuple[np.ndarray, np.ndarray]:
        """Pose in each ``boxes[i]`` (xyxy) of ``frames[i]``: ``[N,133,2]``, ``[N,133]``."""
        from mmengine.dataset import pseudo_collate
        meta = self.model.dataset_meta
        data = [self.pipeline(dict(img=frame, bbox=np.asarray(box, np.float32)[None, :4],
                                   bbox_score=np.ones(1, np.float32), **meta))
                for frame, box in zip(frames, boxes)]
        keypoints, scores = [], []
        for start in range(0, len(data), self.batch_size):
            with torch.inference_mode():
                results = self.model.test_step(pseudo_collate(data[start:start + self.batch_size]))
            for result in results:
                keypoints.append(result.pred_instances.keypoints[0])
                scores.append(result.pred_instances.keypoint_scores[0])
        if not keypoints:
            return (np.zeros((0, NUM_KEYPOINTS, 2), np.float32),
                    np.zeros((0, NUM_KEYPOINTS), np.float32))
        return np.stack(keypoints).astype(np.float32), np.stack(scores).astype(np.float32)

    def process_video(self, frames: Iterable[np.ndarray], width: int, height: int,
                      max_people: int = 1) -> VideoPose:
        if self.detector is None:
            self.check_max_people(max_people)  # refused: it would silently keep one person
            return self._track_from_keypoints(frames, width, height)
        return self._track_detections(frames, width, height, max_people)

    def _track_from_keypoints(self, frames, width, height) -> VideoPose:
        tracker = KeypointBoxTracker(width, height, score_thr=self.kpt_thr)
        keypoints, scores = [], []
        for i, chunk in enumerate(chunked(frames, self.batch_size)):
            if i == 0:  # probe the first frame with the whole frame to find the person
                tracker.update(*self.estimate(chunk[:1], [tracker.box]))
            kpt, score = self.estimate(chunk, [tracker.box] * len(chunk))
            tracker.update(kpt, score)
            keypoints.append(kpt)
            scores.append(score)
        if not keypoints:
            return VideoPose(np.zeros((1, 0, NUM_KEYPOINTS, 2)), np.zeros((1, 0, NUM_KEYPOINTS)))
        return VideoPose(np.concatenate(keypoints)[None], np.concatenate(scores)[None])

    def _track_detections(self, frames, width, height, max_people) -> VideoPose:
        tracker = IoUTracker()
        num_frames = 0
        for chunk in chunked(frames, self.batch_size):
            crops, where = [], []
            for offset, (frame, dets) in enumerate(zip(chunk, self.detector(chunk))):
                dets = np.asarray(dets, np.float32).reshape(-1, 5)
                dets = dets[np.argsort(-dets[:, 4], kind='stable')[:self.max_candidates]]
                ids = tracker.update(num_frames + offset, dets[:, :4])
                crops += [(frame, box) for box in dets[:, :4]]
                where += [(track_id, num_frames + offset) for track_id in ids]
            if crops:
                kpt, score = self.estimate([c[0] for c in crops], [c[1] for c in crops])
                for (track_id, t), k, s in zip(where, kpt, score):
                    tracker.tracks[track_id].payload[t] = (k, s)
            num_frames += len(chunk)
        kept = select_tracks(tracker.tracks, width, height, max_people)
        return VideoPose(*tracks_to_arrays(kept, num_frames, NUM_KEYPOINTS))
