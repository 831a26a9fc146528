"""A built-in synthetic micro-action dataset on the COCO-WholeBody 133 layout.

It is the embedded default for the main job (no download) and a routing sanity check. Its
classes come in two kinds:

* position-defined: a static configuration held through the clip (a hand covering the face),
  told apart by *where* keypoints are -> expected to lean to the ST path;
* motion-defined: a periodic movement around a neutral pose (leg shaking, head nodding), told
  apart only by *how keypoints move* -> expected to lean to the TS path.

Clips vary in person size, position and proportions, speed (frequency), amplitude, phase,
length, keypoint noise and detector misses.
"""
from typing import Dict, List, Tuple

import numpy as np

from mdn.layouts import get_layout
from mdn.registry import DATASETS

from .skeleton_dataset import SkeletonDataset

POSITION_CLASSES = ('cover_face', 'touch_chin', 'arms_crossed', 'hands_on_head')
MOTION_CLASSES = ('shake_leg', 'nod_head', 'shake_head', 'tap_fingers')
SYNTHETIC_CLASSES = POSITION_CLASSES + MOTION_CLASSES

FACE = slice(23, 91)
LEFT_HAND, RIGHT_HAND = slice(91, 112), slice(112, 133)
HEAD_POINTS = list(range(0, 5)) + list(range(23, 91))


def _template() -> np.ndarray:
    """A seated, frontal person, ``[133, 2]`` in units of shoulder width (y down)."""
    p = np.zeros((133, 2), np.float32)
    body = {0: (0, -0.9), 1: (-0.12, -1.0), 2: (0.12, -1.0), 3: (-0.25, -0.95), 4: (0.25, -0.95),
            5: (-0.5, -0.5), 6: (0.5, -0.5), 7: (-0.6, 0.05), 8: (0.6, 0.05),
            9: (-0.35, 0.45), 10: (0.35, 0.45), 11: (-0.3, 0.6), 12: (0.3, 0.6),
            13: (-0.35, 0.65), 14: (0.35, 0.65), 15: (-0.35, 1.3), 16: (0.35, 1.3),
            17: (-0.4, 1.4), 18: (-0.28, 1.4), 19: (-0.35, 1.33), 20: (0.4, 1.4),
            21: (0.28, 1.4), 22: (0.35, 1.33)}
    for k, xy in body.items():
        p[k] = xy
    # Sitting: knees come forward (towards the camera): shorten thighs in the image.
    p[13, 1] = p[14, 1] = 0.75
    # 68-point face on an ellipse around the nose.
    cx, cy, rx, ry = 0.0, -0.9, 0.28, 0.36
    t = np.linspace(np.pi * 1.05, -0.05 * np.pi, 17)
    face = [(cx + rx * np.cos(a), cy - 0.05 + ry * -np.sin(a) * -1) for a in t]  # jaw
    face = [(x, cy + abs(y - cy)) for x, y in face]
    face += [(cx - 0.2 + 0.04 * i, cy - 0.18) for i in range(5)]  # brows
    face += [(cx + 0.04 + 0.04 * i, cy - 0.18) for i in range(5)]
    face += [(cx, cy - 0.12 + 0.04 * i) for i in range(4)]  # nose bridge
    face += [(cx - 0.06 + 0.03 * i, cy + 0.04) for i in range(5)]  # nose base
    for ex in (-0.12, 0.12):  # eyes
        face += [(ex + 0.05 * np.cos(a), cy - 0.08 + 0.025 * np.sin(a))
                 for a in np.linspace(np.pi, -np.pi, 6, endpoint=False)]
    face += [(cx + 0.1 * np.cos(a), cy + 0.16 + 0.04 * np.sin(a))
             for a in np.linspace(np.pi, -np.pi, 12, endpoint=False)]  # outer lips
    face += [(cx + 0.06 * np.cos(a), cy + 0.16 + 0.015 * np.sin(a))
             for a in np.linspace(np.pi, -np.pi, 8, endpoint=False)]  # inner lips
    p[FACE] = np.asarray(face, np.float32)
    for hand, wrist, side in ((LEFT_HAND, 9, -1), (RIGHT_HAND, 10, 1)):
        p[hand] = _hand(p[wrist], side)
    return p


def _hand(wrist: np.ndarray, side: int, curl: float = 0.0) -> np.ndarray:
    """21 hand keypoints: root at the wrist, five fingers fanning downwards."""
    pts = [wrist.copy()]
    for f in range(5):
        angle = np.deg2rad(60 + 15 * f) if side < 0 else np.deg2rad(120 - 15 * f)
        direction = np.array([np.cos(angle), np.sin(angle)], np.float32)
        for j in range(1, 5):
            reach = 0.05 * j * (1.0 - 0.5 * curl * (j > 1))
            pts.append(wrist + direction * (0.05 + reach))
    return np.asarray(pts, np.float32)


def _place_hand(pose: np.ndarray, hand: slice, wrist: int, elbow: int, target: np.ndarray
                ) -> None:
    """Move a wrist (and its hand) to ``target``; the elbow goes halfway."""
    shift = target - pose[wrist]
    pose[hand] += shift
    pose[wrist] = target
    pose[elbow] += 0.5 * shift


class SyntheticClipGenerator:
    """Generates one clip ``[T, 133, 2]`` (+ scores) of a class, from a seeded RNG."""

    def __init__(self, fps: float = 30.0, frames: Tuple[int, int] = (45, 90),
                 noise: float = 0.005, miss_prob: float = 0.01):
        self.fps, self.frames, self.noise, self.miss_prob = fps, frames, noise, miss_prob
        self.template = _template()

    def __call__(self, label: int, rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
        name = SYNTHETIC_CLASSES[label]
        num_frames = int(rng.integers(*self.frames))
        t = np.arange(num_frames) / self.fps
        base = self._person(rng)
        if name in POSITION_CLASSES:
            self._static_pose(base, name, rng)
        else:
            self._neutral_hands(base, rng)
        clip = np.repeat(base[None], num_frames, axis=0)
        # idle sway shared by every class: slow, small, whole body
        sway = 0.03 * np.sin(2 * np.pi * rng.uniform(0.1, 0.4) * t + rng.uniform(0, 6.3))
        clip[..., 0] += sway[:, None]
        if name in MOTION_CLASSES:
            self._motion(clip, name, t, rng)
        clip += rng.normal(0, self.noise, clip.shape).astype(np.float32)
        # to pixels: a 1080x1296-ish frame, person ~300 px shoulder width
        scale = rng.uniform(180, 320)
        offset = np.array([rng.uniform(400, 700), rng.uniform(350, 550)], np.float32)
        clip = clip * scale + offset
        score = rng.uniform(0.6, 1.0, clip.shape[:2]).astype(np.float32)
        missing = rng.random(clip.shape[:2]) < self.miss_prob
        clip[missing], score[missing] = 0.0, 0.0
        return clip.astype(np.float32), score

    def _person(self, rng) -> np.ndarray:
        pose = self.template.copy()
        pose[:, 0] *= rng.uniform(0.85, 1.15)  # build
        pose[:, 1] *= rng.uniform(0.9, 1.1)    # height
        angle = np.deg2rad(rng.uniform(-5, 5))
        rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        return (pose @ rot.T).astype(np.float32)

    @staticmethod
    def _neutral_hands(pose, rng) -> None:
        """Hands rest somewhere neutral: on the lap, on the thighs or one on the armrest."""
        choice = rng.integers(3)
        lap = np.array([0.0, 0.55])
        if choice == 0:
            left, right = lap + [-0.1, 0], lap + [0.1, 0]
        elif choice == 1:
            left, right = pose[13] + [0, -0.15], pose[14] + [0, -0.15]
        else:
            left, right = pose[13] + [-0.3, -0.2], lap + [0.1, 0]
        jitter = lambda: rng.normal(0, 0.04, 2)  # noqa: E731
        _place_hand(pose, LEFT_HAND, 9, 7, np.asarray(left, np.float32) + jitter())
        _place_hand(pose, RIGHT_HAND, 10, 8, np.asarray(right, np.float32) + jitter())

    @staticmethod
    def _static_pose(pose, name, rng) -> None:
        j = lambda: rng.normal(0, 0.03, 2).astype(np.float32)  # noqa: E731
        nose = pose[0]
        if name == 'cover_face':
            _place_hand(pose, LEFT_HAND, 9, 7, nose + [-0.08, 0.15] + j())
            _place_hand(pose, RIGHT_HAND, 10, 8, nose + [0.08, 0.15] + j())
        elif name == 'touch_chin':
            _place_hand(pose, RIGHT_HAND, 10, 8, nose + [0.02, 0.4] + j())
            SyntheticClipGenerator._neutral_left(pose, rng)
        elif name == 'arms_crossed':
            _place_hand(pose, LEFT_HAND, 9, 7, pose[6] + [-0.05, 0.45] + j())
            _place_hand(pose, RIGHT_HAND, 10, 8, pose[5] + [0.05, 0.45] + j())
        elif name == 'hands_on_head':
            _place_hand(pose, LEFT_HAND, 9, 7, nose + [-0.2, -0.35] + j())
            _place_hand(pose, RIGHT_HAND, 10, 8, nose + [0.2, -0.35] + j())

    @staticmethod
    def _neutral_left(pose, rng) -> None:
        _place_hand(pose, LEFT_HAND, 9, 7,
                    np.array([-0.1, 0.55], np.float32) + rng.normal(0, 0.04, 2))

    @staticmethod
    def _motion(clip, name, t, rng) -> None:
        # Below ~4 Hz so a 32-frame sample of a 1.5-3 s clip does not alias the movement.
        freq = {'shake_leg': (2.0, 4.0), 'nod_head': (1.0, 2.0), 'shake_head': (1.0, 2.0),
                'tap_fingers': (2.0, 4.0)}[name]
        wave = np.sin(2 * np.pi * rng.uniform(*freq) * t + rng.uniform(0, 6.3))[:, None]
        amp = rng.uniform(0.7, 1.3)
        if name == 'shake_leg':
            legs = [[13, 15, 17, 18, 19], [14, 16, 20, 21, 22]][rng.integers(2)]
            clip[:, legs, 1] += 0.12 * amp * wave
        elif name == 'nod_head':
            clip[:, HEAD_POINTS, 1] += 0.1 * amp * wave
        elif name == 'shake_head':
            clip[:, HEAD_POINTS, 0] += 0.1 * amp * wave
        else:
            hand = [LEFT_HAND, RIGHT_HAND][rng.integers(2)]
            tips = np.arange(hand.start, hand.stop)[[6, 7, 8, 10, 11, 12, 14, 15, 16]]
            clip[:, tips, 1] += 0.1 * amp * wave


@DATASETS.register_module()
class SyntheticMicroActionDataset(SkeletonDataset):
    """Synthetic micro-actions generated in code (see module docstring); needs no file.

    Args:
        num_per_class: clips per class in this split.
        split: 'train', 'val' or 'test' (different seeds, so splits never share clips).
        seed: base seed; the same seed and split always give the same clips.
    """
    SPLIT_SEEDS: Dict[str, int] = {'train': 0, 'val': 1, 'test': 2}

    def __init__(self, num_per_class: int = 60, split: str = 'train', seed: int = 0,
                 pipeline=(), generator: dict = None, **kwargs):
        if split not in self.SPLIT_SEEDS:
            raise ValueError(f'synthetic split must be one of {list(self.SPLIT_SEEDS)}, '
                             f'got {split!r}')
        self.num_per_class, self.seed = num_per_class, seed
        self.generator = SyntheticClipGenerator(**(generator or {}))
        kwargs.setdefault('layout', 'coco_wholebody_133')
        super().__init__(ann_file='', pipeline=pipeline, split=split,
                         num_classes=len(SYNTHETIC_CLASSES), classes=SYNTHETIC_CLASSES,
                         **kwargs)

    def read_annotations(self) -> Tuple[List[dict], dict]:
        if get_layout(self.layout.name).num_keypoints != 133:
            raise ValueError('the synthetic dataset is generated on coco_wholebody_133')
        rng = np.random.default_rng([self.seed, self.SPLIT_SEEDS[self.split]])
        annotations = []
        for i in range(self.num_per_class * len(SYNTHETIC_CLASSES)):
            label = i % len(SYNTHETIC_CLASSES)
            keypoint, score = self.generator(label, rng)
            annotations.append(dict(
                frame_dir=f'synthetic_{self.split}_{i:05d}', label=label,
                keypoint=keypoint[None], keypoint_score=score[None],
                total_frames=len(keypoint), img_shape=(1080, 1296), fps=self.generator.fps))
        return annotations, dict(classes=SYNTHETIC_CLASSES)
