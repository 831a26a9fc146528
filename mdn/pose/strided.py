"""Fast pose extraction of one long video: every n-th frame, in parallel chunks, decoded ahead.

Pose estimation is almost all the time of a timeline (MediaPipe Holistic: about 50 ms of CPU
per frame, whatever the frame size). So this runs the pose model on every ``stride``-th frame
only (``resample.fill_strided`` fills the frames between), and splits the video into
``workers`` contiguous chunks processed at once, each by its own pose graph on its own
thread, with decoding on a thread of its own ahead of it (OpenCV and MediaPipe release the GIL,
so threads use all cores). A chunk starts a fresh tracker, which only costs one detection.
Chunks need exact seeking; where the container cannot seek to the frame, or the backend is not
safe to run twice at once, one chunk is used.

``on_frame(video_frame_index, bgr)`` sees every decoded pose frame (e.g. to keep overlay
frames without decoding the video again).
"""
import math
import threading
from dataclasses import dataclass
from typing import Callable, Iterator, List, Optional

import cv2
import numpy as np
from tqdm import tqdm

from .backends import PoseBackend, VideoPose
from .video import VideoError, open_video, prefetch, probe_video, read_strided

FrameHook = Callable[[int, np.ndarray], None]
MIN_CHUNK_POSE_FRAMES = 45  # shorter chunks are not worth a second tracker start


@dataclass
class StridedPose:
    """Poses of frames ``0, stride, 2*stride, ...`` of a video, plus what the container says."""
    pose: VideoPose
    stride: int
    num_frames: int  # video frames covered: decoded frames (stride included), not the header's
    fps: float
    height: int
    width: int
    frame_count: int  # what the container lists
    workers: int


class _SeekError(RuntimeError):
    """The container did not land on the frame asked for."""


def _iter_chunk(path: str, start: int, stride: int, count: Optional[int],
                counter: List[int], on_frame: Optional[FrameHook] = None
                ) -> Iterator[np.ndarray]:
    """Frames ``start, start+stride, ...`` (``count`` of them, or up to the end); ``counter[0]``
    counts the video frames passed (read or skipped); ``on_frame`` sees each frame here, on
    the decoding thread."""
    cap = open_video(path)
    try:
        if start:
            cap.set(cv2.CAP_PROP_POS_FRAMES, start)
            if int(round(cap.get(cv2.CAP_PROP_POS_FRAMES))) != start:
                raise _SeekError(f'{path}: cannot seek to frame {start}')
        for i, frame in enumerate(read_strided(cap, stride, count, counter)):
            if on_frame is not None:
                on_frame(start + i * stride, frame)
            yield frame
    finally:
        cap.release()


def _chunk_starts(frame_count: int, stride: int, workers: int) -> List[int]:
    """Start frames (multiples of ``stride``) of up to ``workers`` chunks of equal pose work."""
    pose_frames = math.ceil(frame_count / stride) if frame_count > 0 else 0
    workers = max(1, min(workers, pose_frames // MIN_CHUNK_POSE_FRAMES))
    per = math.ceil(pose_frames / workers) if pose_frames else 0
    return [i * per * stride for i in range(workers)] if per else [0]


def extract_strided(path: str, backend: PoseBackend, stride: int = 1, workers: int = 1,
                    max_people: int = 1, progress: bool = False,
                    on_frame: Optional[FrameHook] = None) -> StridedPose:
    """Poses of every ``stride``-th frame of ``path`` (see the module docstring).

    Raises :class:`VideoError` for a missing, unreadable or empty video.
    """
    if stride < 1:
        raise ValueError(f'pose stride must be >= 1, got {stride}')
    info = probe_video(path)
    parallel = workers > 1 and getattr(backend, 'thread_safe', False)
    starts = _chunk_starts(info.frame_count, stride, workers if parallel else 1)
    try:
        results = _run_chunks(path, backend, stride, starts, max_people, progress, on_frame,
                              info)
    except _SeekError:
        starts = [0]
        results = _run_chunks(path, backend, stride, starts, max_people, progress, on_frame,
                              info)
    keypoints, scores, frames = [], [], 0
    for start, (pose, passed) in zip(starts, results):
        if pose is None:  # a chunk past the real end of a video shorter than its header
            break
        keypoints.append(pose.keypoint)
        scores.append(pose.keypoint_score)
        frames = start + passed
    if not keypoints or sum(k.shape[1] for k in keypoints) == 0:
        raise VideoError(f'{path}: no frame could be decoded (empty or corrupt video)')
    pose = VideoPose(np.concatenate(keypoints, 1), np.concatenate(scores, 1))
    return StridedPose(pose, stride, frames, info.fps, info.height, info.width,
                       info.frame_count, len(starts))


def _run_chunks(path: str, backend: PoseBackend, stride: int, starts: List[int],
                max_people: int, progress: bool, on_frame: Optional[FrameHook], info) -> List:
    """``[(VideoPose or None, video frames passed)]`` per chunk, in order."""
    frame_count, width, height = info.frame_count, info.width, info.height
    ends = starts[1:] + [None]
    counts = [None if e is None else (e - s) // stride for s, e in zip(starts, ends)]
    results: List = [None] * len(starts)
    errors: List = [None] * len(starts)
    total = math.ceil(frame_count / stride) if frame_count else None
    bar = tqdm(total=total, desc='pose', unit='frame', disable=not progress, leave=False)
    lock = threading.Lock()

    def work(i: int) -> None:
        counter = [0]
        try:
            frames = prefetch(_iter_chunk(path, starts[i], stride, counts[i], counter,
                                          on_frame), 16)

            def counted() -> Iterator[np.ndarray]:
                for frame in frames:
                    with lock:
                        bar.update(1)
                    yield frame
            pose = backend.process_video(counted(), width, height, max_people)
            results[i] = (pose if pose.num_frames else None, counter[0])
        except BaseException as err:  # re-raised on the calling thread
            errors[i] = err

    with bar:
        if len(starts) == 1:
            work(0)
        else:
            threads = [threading.Thread(target=work, args=(i,), daemon=True,
                                        name=f'mdn-pose-{i}') for i in range(len(starts))]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
    for i, err in enumerate(errors):
        if err is None:
            continue
        if isinstance(err, _SeekError):
            raise err
        short = any(results[j] is not None and counts[j] is not None
                    and results[j][0].num_frames < counts[j] for j in range(i))
        if isinstance(err, VideoError) and short:  # past the real end: drop this chunk
            results[i] = (None, 0)
            continue
        raise err
    return [r if r is not None else (None, 0) for r in results]
