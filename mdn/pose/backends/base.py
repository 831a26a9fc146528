"""What every pose backend returns, so the rest of the pipeline does not care which one ran."""
import abc
from dataclasses import dataclass
from typing import Any, Dict, Iterable, Optional

import numpy as np

LAYOUT = 'coco_wholebody_133'
NUM_KEYPOINTS = 133


@dataclass
class VideoPose:
    """Whole-body poses of one video: ``keypoint [M,T,133,2]`` pixels, ``keypoint_score [M,T,133]``.

    A keypoint the backend did not find has score 0 (and coordinates 0).
    """
    keypoint: np.ndarray
    keypoint_score: np.ndarray

    def __post_init__(self):
        self.keypoint = np.asarray(self.keypoint, np.float32)
        self.keypoint_score = np.asarray(self.keypoint_score, np.float32)
        m, t, v, c = self.keypoint.shape
        if c != 2 or self.keypoint_score.shape != (m, t, v):
            raise ValueError(f'VideoPose: keypoint {self.keypoint.shape} and keypoint_score '
                             f'{self.keypoint_score.shape} do not match [M,T,V,2] / [M,T,V]')

    @property
    def num_frames(self) -> int:
        return self.keypoint.shape[1]


class PoseBackend(abc.ABC):
    """Turns the frames of one video into a :class:`VideoPose` in the COCO-WholeBody layout."""

    name = 'base'
    layout = LAYOUT

    @abc.abstractmethod
    def process_video(self, frames: Iterable[np.ndarray], width: int, height: int,
                      max_people: int = 1) -> VideoPose:
        """Poses of the BGR ``frames`` (an iterator, read once) of a ``width x height`` video."""

    def describe(self) -> dict:
        """Settings that change the output; stored with partial results so --resume can check."""
        return dict(backend=self.name)

    def clip_fields(self) -> Dict[str, Any]:
        """Extra fields stored in every clip this backend extracts (e.g. which weights)."""
        return {}

    def max_people_problem(self, max_people: int) -> Optional[str]:
        """Why this backend cannot keep ``max_people`` people per video (None: it can)."""
        if max_people > 1:
            return (f'--max-people {max_people}: the {self.name} backend tracks one person per '
                    'video; use --max-people 1, or --backend mmpose with a person detector '
                    '(needs mmdet and full mmcv)')
        return None

    def check_max_people(self, max_people: int) -> None:
        problem = self.max_people_problem(max_people)
        if problem:
            raise ValueError(problem)
