"""Decode videos with OpenCV, on a background thread, with a frame stride.

Decoding runs ahead of the pose model in a thread (OpenCV releases the GIL while it decodes),
so the model never waits for the next frame. Every failure names the file and the problem,
because a batch run reports them per video and carries on.
"""
import os.path as osp
import queue
import threading
from dataclasses import dataclass
from typing import Iterable, Iterator, Optional, TypeVar

import cv2
import numpy as np

T = TypeVar('T')


class VideoError(RuntimeError):
    """A video that cannot be used: missing, unreadable, corrupt or without frames."""


@dataclass(frozen=True)
class VideoInfo:
    """What the container says about a video (frame count can be approximate)."""
    path: str
    height: int
    width: int
    fps: float
    frame_count: int


def open_video(path: str) -> 'cv2.VideoCapture':
    if not osp.exists(path):
        raise VideoError(f'{path}: no such file')
    if not osp.isfile(path):
        raise VideoError(f'{path}: not a file')
    cap = cv2.VideoCapture(path)
    if not cap.isOpened():
        cap.release()
        raise VideoError(f'{path}: OpenCV cannot open it (corrupt file or unknown codec)')
    return cap


def probe_video(path: str) -> VideoInfo:
    """Size, fps and frame count from the container, without decoding the frames."""
    cap = open_video(path)
    try:
        info = VideoInfo(path, int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
                         int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
                         float(cap.get(cv2.CAP_PROP_FPS) or 0.0),
                         max(int(cap.get(cv2.CAP_PROP_FRAME_COUNT)), 0))
    finally:
        cap.release()
    if info.height <= 0 or info.width <= 0:
        raise VideoError(f'{path}: no video stream (frame size {info.width}x{info.height})')
    return info


def iter_frames(path: str, stride: int = 1, max_frames: Optional[int] = None
                ) -> Iterator[np.ndarray]:
    """BGR frames ``0, stride, 2*stride, ...``; raises :class:`VideoError` if none decodes.

    Skipped frames are ``grab()``-bed, not decoded, so a stride saves decoding time as well.
    """
    if stride < 1:
        raise ValueError(f'frame stride must be >= 1, got {stride}')
    cap = open_video(path)
    count = 0
    try:
        for frame in read_strided(cap, stride, max_frames):
            count += 1
            yield frame
    finally:
        cap.release()
    if count == 0:
        raise VideoError(f'{path}: no frame could be decoded (empty or corrupt video)')


def read_strided(cap: cv2.VideoCapture, stride: int, count: Optional[int] = None,
                 passed: Optional[list] = None) -> Iterator[np.ndarray]:
    """Every ``stride``-th frame from ``cap``'s position (``count`` of them, or to the end);
    the frames between are ``grab()``-bed, not decoded. ``passed[0]``, when given, counts the
    video frames passed so far (read or skipped)."""
    index = yielded = 0
    while count is None or yielded < count:
        if index % stride:
            if not cap.grab():
                return
        else:
            ok, frame = cap.read()
            if not ok or frame is None:
                return
            yielded += 1
            yield frame
        index += 1
        if passed is not None:
            passed[0] = index


_DONE = object()


def prefetch(iterable: Iterable[T], size: int = 32) -> Iterator[T]:
    """Run ``iterable`` on a background thread, ``size`` items ahead; re-raise its errors here."""
    items: 'queue.Queue' = queue.Queue(maxsize=max(size, 1))
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                items.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce():
        try:
            for item in iterable:
                if not put(item):
                    return
            put(_DONE)
        except BaseException as err:  # handed over to the consumer
            put(err)

    thread = threading.Thread(target=produce, daemon=True, name='mdn-decode')
    thread.start()
    try:
        while True:
            item = items.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)
