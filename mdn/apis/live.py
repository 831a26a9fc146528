"""Live recognition: a camera, a stream or a video file, pose by pose, window by window.

    summary = run_live('0', model, 'work_dirs/live', LiveOptions(), display=True)

Frames come from a reader thread. A video file is played at its own frame rate, like a camera:
when pose estimation falls behind, the reader keeps only the newest frame and the skipped ones
are counted as dropped (their poses are filled in, so the time axis stays the video's own
frames). The pose model runs on every n-th frame (``tools/demo.py``'s pose rate) and the frames
between are filled by the demo's rule. ``every_frame=True`` processes every frame of a file as
fast as possible instead: deterministic, and then the segments are those ``tools/demo.py``
finds on the same file (with one pose chunk, ``--pose-workers 1``).

Windows are scored as the frames arrive, with the same bounds as
:func:`mdn.apis.timeline.window_bounds` (the tail window is added at the end of the stream),
and :class:`SegmentCloser` hands out a segment as soon as no later window can change it, so
the segments written live are exactly those :func:`mdn.apis.timeline.merge_windows` gives for
the whole recording.
"""
import csv
import json
import os
import os.path as osp
import sys
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Callable, Deque, Iterator, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from mdn.utils.io import atomic_write

from .inference import Skeleton, recognize_timeline
from .timeline import (NO_ACTION, Segment, merge_windows, window_cells, window_decisions)

SEGMENT_HEADER = ['start', 'end', 'label', 'score', 'start_frame', 'end_frame']


@dataclass
class LiveOptions:
    """Window and segment settings; the same meaning as ``tools/demo.py``'s flags."""
    window_s: float = 2.0
    stride_s: float = 0.5
    threshold: float = 0.5
    min_duration_s: float = 0.5
    max_gap_s: float = 0.5
    background: Sequence[int] = ()
    min_person: float = 0.5


def background_ids(names: Sequence[str], classes: Sequence[str]) -> List[int]:
    """``--background`` class names or ids -> ids (the rule of ``tools/demo.py``); an
    unknown one is an error that lists the classes."""
    ids = []
    for name in names:
        if name in classes:
            ids.append(list(classes).index(name))
        elif str(name).isdigit() and int(name) < len(classes):
            ids.append(int(name))
        else:
            raise ValueError(f'--background {name}: not a class of the checkpoint; classes: '
                             f'{list(classes)}')
    return ids


# --------------------------------------------------------------------------- segments
class SegmentCloser:
    """Turns windows that arrive in time order into final segments, as early as possible.

    After each window the windows so far are merged (``merge_windows``); a segment is final
    once it ends more than ``max_gap`` frames before the cell of the newest window starts:
    later windows only change that cell's end and add cells after it, so they can neither
    extend such a segment nor bridge a gap to it. Windows that can no longer matter (before a
    settled stretch of "no micro-action") are forgotten, so a long session stays cheap.
    """

    def __init__(self, fps: float, options: LiveOptions, class_names: Sequence[str]):
        self.fps, self.options, self.class_names = float(fps), options, tuple(class_names)
        self.max_gap = int(round(options.max_gap_s * fps))
        self.bounds: List[Tuple[int, int]] = []
        self.scores: List[np.ndarray] = []
        self.emitted = 0  # segments of the current window list already handed out
        self.total_windows = 0

    def _merge(self, num_frames: int) -> List[Segment]:
        o = self.options
        return merge_windows(np.array(self.bounds), np.stack(self.scores), num_frames, self.fps,
                             o.threshold, o.min_duration_s, o.max_gap_s, o.background,
                             self.class_names)

    def add(self, start: int, end: int, scores: np.ndarray) -> List[Segment]:
        """Add window ``[start, end)`` (after every earlier one); the segments it closes."""
        if self.bounds and (start + end) < sum(self.bounds[-1]):
            raise ValueError(f'window [{start}, {end}) arrives after a later one '
                             f'{list(self.bounds[-1])}')
        self.bounds.append((int(start), int(end)))
        self.scores.append(np.asarray(scores, np.float32))
        self.total_windows += 1
        if len(self.bounds) < 2:
            return []
        bounds = np.array(self.bounds)
        last_cell_start = int(window_cells(bounds, int(end))[-1, 0])
        segments = self._merge(int(end))
        final = [s for s in segments if s.end_frame + self.max_gap < last_cell_start]
        closed = final[self.emitted:]
        self.emitted = len(final)
        self._forget(bounds)
        return closed

    def finish(self, num_frames: int) -> List[Segment]:
        """The segments still open at the end of a stream of ``num_frames`` frames."""
        if not self.bounds:
            return []
        closed = self._merge(num_frames)[self.emitted:]
        self.emitted += len(closed)
        return closed

    def pending(self) -> List[Segment]:
        """Segments seen but not final yet (for the display: they can still change)."""
        if not self.bounds:
            return []
        return self._merge(self.bounds[-1][1])[self.emitted:]

    def _forget(self, bounds: np.ndarray) -> None:
        """Drop the windows before the latest "no micro-action" window ``i`` whose cell ends
        more than ``max_gap`` after every earlier accepted cell: nothing before it can join a
        segment after it, and kept as the first window its cell (extended to frame 0) is still
        "no micro-action". Only done when every segment before it was handed out."""
        if len(bounds) < 8:
            return
        o = self.options
        labels, _ = window_decisions(np.stack(self.scores), o.threshold, o.background)
        cells = window_cells(bounds, int(bounds[-1, 1]))
        accepted_end = np.maximum.accumulate(np.where(labels != NO_ACTION, cells[:, 1], -10**9))
        for i in range(len(bounds) - 2, 0, -1):
            if labels[i] == NO_ACTION and cells[i, 1] - accepted_end[i - 1] > self.max_gap:
                before = [s for s in self._merge(int(bounds[-1, 1]))
                          if s.end_frame <= cells[i, 0]]
                if len(before) > self.emitted:
                    return  # not all handed out yet (cannot happen; kept for safety)
                self.bounds, self.scores = self.bounds[i:], self.scores[i:]
                self.emitted -= len(before)
                return


# --------------------------------------------------------------------------- rolling windows
class RollingRecognizer:
    """Keeps the last window of poses and scores a window every stride.

    Window bounds are those of ``window_bounds`` for the recording so far; each window goes
    through :func:`recognize_timeline` on its own (so the test pipeline, the person check and
    the model are exactly the offline ones).
    """

    def __init__(self, model, fps: float, options: LiveOptions, name: str = 'live',
                 img_shape: Optional[Tuple[int, int]] = None):
        from mdn.pose.backends import LAYOUT
        self.model, self.fps, self.options, self.name = model, float(fps), options, name
        self.img_shape, self.layout = img_shape, LAYOUT
        self.win = max(1, int(round(options.window_s * fps)))
        self.step = max(1, int(round(options.stride_s * fps)))
        self.keypoints: Deque[np.ndarray] = deque(maxlen=self.win)
        self.scores: Deque[np.ndarray] = deque(maxlen=self.win)
        self.num_frames = 0
        self.last_start = -1  # start of the last scored window
        self.closer = SegmentCloser(fps, options, model.dataset_meta['classes'])
        self.current: Tuple[str, float] = ('', 0.0)  # the newest window's decision

    def push(self, keypoint: np.ndarray, score: np.ndarray) -> List[Segment]:
        """Add one frame's ``[V,2]`` keypoints and ``[V]`` scores; the segments that close."""
        self.keypoints.append(np.asarray(keypoint, np.float32))
        self.scores.append(np.asarray(score, np.float32))
        self.num_frames += 1
        start = self.num_frames - self.win
        if start >= 0 and start % self.step == 0:
            return self._score(start, self.num_frames)
        return []

    def finish(self) -> List[Segment]:
        """End of stream: the tail window (as ``window_bounds`` adds it), then every segment
        still open."""
        closed: List[Segment] = []
        if self.num_frames and (self.num_frames < self.win
                                or self.last_start + self.win < self.num_frames):
            closed += self._score(max(0, self.num_frames - self.win), self.num_frames)
        return closed + self.closer.finish(self.num_frames)

    def _score(self, start: int, end: int) -> List[Segment]:
        n = end - start
        kp = np.stack(list(self.keypoints)[-n:])[None]
        sc = np.stack(list(self.scores)[-n:])[None]
        bad = ~np.isfinite(kp).all(-1) | ~np.isfinite(sc)  # as as_skeleton does
        kp[bad], sc[bad] = 0.0, 0.0
        skeleton = Skeleton(kp, sc, self.fps, name=f'{self.name}', layout=self.layout,
                            img_shape=self.img_shape)
        windows = recognize_timeline(self.model, skeleton, window_s=self.options.window_s,
                                     stride_s=self.options.stride_s,
                                     min_person=self.options.min_person, progress=False)
        row = windows.scores[0]
        labels, top = window_decisions(row[None], self.options.threshold,
                                       self.options.background)
        names = self.model.dataset_meta['classes']
        self.current = ((names[labels[0]] if labels[0] != NO_ACTION else ''), float(top[0]))
        self.last_start = start
        return self.closer.add(start, end, row)


# --------------------------------------------------------------------------- sources
class SourceError(ValueError):
    """A camera, stream or file that cannot be opened."""


@dataclass
class FrameSource:
    """Where frames come from: ``kind`` is 'camera', 'stream' or 'file'."""
    source: str
    kind: str
    fps: float
    width: int
    height: int
    name: str

    @staticmethod
    def kind_of(source: str) -> str:
        """'camera' for an index ('0'), 'stream' for a URL ('rtsp://...'), else 'file'."""
        if source.isdigit():
            return 'camera'
        return 'stream' if '://' in source else 'file'

    @classmethod
    def open(cls, source: str) -> Tuple['FrameSource', 'cv2.VideoCapture']:
        """Open a camera index ('0'), a stream URL ('rtsp://...') or a video file."""
        kind = cls.kind_of(source)
        if kind == 'file' and not osp.isfile(source):
            raise FileNotFoundError(f'{source}: no such video file (nor a camera index or a '
                                    'stream URL)')
        cap = cv2.VideoCapture(int(source) if kind == 'camera' else source)
        if not cap.isOpened():
            cap.release()
            raise SourceError(f'{source}: OpenCV cannot open this {kind}')
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        if not 0 < fps < 1000:
            fps = 30.0  # many cameras do not say; 30 is the usual rate
        name = osp.splitext(osp.basename(source))[0] if kind == 'file' else f'{kind}{source}'
        return cls(source, kind, fps, int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
                   int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)), name), cap


class FrameReader:
    """Reads a capture on a thread. ``realtime``: a file is paced at its frame rate and only
    the newest frame is kept (a live source paces itself); otherwise every frame is queued.
    Only frames ``0, every, 2*every, ...`` are decoded and handed out (the others are grabbed,
    which skips decoding).

    Iterating yields ``(index, frame)``; ``frames_read`` counts every frame of the source.
    """

    def __init__(self, cap: 'cv2.VideoCapture', fps: float, realtime: bool, pace: bool,
                 max_frames: Optional[int] = None, queue_size: int = 8, every: int = 1):
        self.cap, self.fps, self.realtime, self.pace = cap, fps, realtime, pace
        self.every = max(1, int(every))
        self.max_frames = max_frames
        self.items: Deque[Tuple[int, np.ndarray]] = deque()
        self.queue_size = queue_size
        self.cond = threading.Condition()
        self.done = False
        self.stop = threading.Event()
        self.frames_read = 0
        self.error: Optional[BaseException] = None
        self.thread = threading.Thread(target=self._run, daemon=True, name='mdn-live-read')

    def _run(self) -> None:
        try:
            start = time.perf_counter()
            index = 0
            while not self.stop.is_set() and (self.max_frames is None
                                              or index < self.max_frames):
                if self.pace:
                    delay = start + index / self.fps - time.perf_counter()
                    if delay > 0:
                        time.sleep(delay)
                if index % self.every:
                    if not self.cap.grab():
                        break
                    with self.cond:
                        self.frames_read = index + 1
                    index += 1
                    continue
                ok, frame = self.cap.read()
                if not ok or frame is None:
                    break
                with self.cond:
                    if self.realtime:
                        self.items.clear()  # the unprocessed frame is dropped
                    else:
                        while len(self.items) >= self.queue_size and not self.stop.is_set():
                            self.cond.wait(0.1)
                    self.items.append((index, frame))
                    self.frames_read = index + 1
                    self.cond.notify_all()
                index += 1
        except BaseException as err:  # handed to the consumer
            self.error = err
        finally:
            with self.cond:
                self.done = True
                self.cond.notify_all()

    def __iter__(self) -> Iterator[Tuple[int, np.ndarray]]:
        self.thread.start()
        while True:
            with self.cond:
                while not self.items and not self.done:
                    self.cond.wait(0.1)
                if not self.items:
                    break
                item = self.items.popleft()
                self.cond.notify_all()
            yield item
        if self.error is not None:
            raise self.error

    def close(self) -> None:
        self.stop.set()
        with self.cond:
            self.cond.notify_all()
        if self.thread.is_alive():
            self.thread.join(timeout=5)
        self.cap.release()


# --------------------------------------------------------------------------- pose
class FramePoser:
    """MediaPipe Holistic frame by frame, mapped to COCO-WholeBody 133 exactly as the offline
    backend (``mdn/pose/backends/mediapipe_backend.py``) maps a whole video."""

    def __init__(self, spec: Optional[dict] = None):
        from mdn.pose import build_backend
        spec = dict(spec or dict(type='mediapipe'))
        if spec.get('type') != 'mediapipe':
            raise ValueError(f'live mode runs the offline MediaPipe backend, not '
                             f'"{spec.get("type")}"')
        backend = build_backend(spec)
        self.graph = backend.holistic.Holistic(**backend.options)

    def __call__(self, frame: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        from mdn.pose.mediapipe_to_coco_wholebody import (holistic_to_coco_wholebody,
                                                          landmarks_to_array)
        h, w = frame.shape[:2]
        result = self.graph.process(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
        return holistic_to_coco_wholebody(
            landmarks_to_array(result.pose_landmarks, with_visibility=True),
            landmarks_to_array(result.face_landmarks),
            landmarks_to_array(result.left_hand_landmarks),
            landmarks_to_array(result.right_hand_landmarks), w, h)

    def close(self) -> None:
        self.graph.close()


def default_pose_fps() -> float:
    """The pose frame rate ``tools/demo.py`` uses by default (every frame where the pipeline
    has no such setting)."""
    try:
        from .recording import DEFAULT_POSE_FPS
    except ImportError:
        return 1000.0
    return float(DEFAULT_POSE_FPS)


def fill_between(before: Optional[Tuple[np.ndarray, np.ndarray]],
                 after: Tuple[np.ndarray, np.ndarray], gap: int
                 ) -> List[Tuple[np.ndarray, np.ndarray]]:
    """The ``gap - 1`` frames between two pose frames ``gap`` apart, by the demo's rule
    (``fill_strided``: linear where both sides see a keypoint, else the nearer side); before
    the first pose frame, that pose repeated."""
    if gap <= 1:
        return []
    if before is None:
        return [after] * (gap - 1)
    from mdn.pose.resample import fill_strided
    kp = np.stack([before[0], after[0]])[None]
    sc = np.stack([before[1], after[1]])[None]
    kp, sc = fill_strided(kp, sc, gap, gap + 1)
    return [(kp[0, t], sc[0, t]) for t in range(1, gap)]


# --------------------------------------------------------------------------- outputs
class SegmentLog:
    """``segments.csv`` written as segments close: one row each, flushed to disk at once, so
    a crash loses nothing that was already recognised."""

    def __init__(self, path: str):
        os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
        self.path = path
        self.file = open(path, 'w', newline='', encoding='utf-8')
        self.writer = csv.writer(self.file, lineterminator='\n')
        self.count = 0
        self._write(SEGMENT_HEADER)

    def _write(self, row: Sequence) -> None:
        self.writer.writerow(row)
        self.file.flush()
        os.fsync(self.file.fileno())

    def append(self, segments: Sequence[Segment]) -> None:
        for s in segments:
            self._write([s.start, s.end, s.label_name, s.score, s.start_frame, s.end_frame])
            self.count += 1

    def close(self) -> None:
        self.file.close()


class LiveView:
    """The picture of the live window: the frame with the skeleton, the current micro-action
    and a timeline of the last ``history_s`` seconds (final segments solid, open ones
    hatched)."""

    def __init__(self, layout: str, entities: Sequence[str], class_names: Sequence[str],
                 img_shape: Tuple[int, int], max_side: int = 640, history_s: float = 20.0):
        from mdn.visualization import SkeletonPainter
        self.class_names = list(class_names)
        self.history_s = history_s
        from mdn.pose.backends import NUM_KEYPOINTS as v
        self.painter = SkeletonPainter(np.zeros((1, 1, v, 2), np.float32),
                                       np.zeros((1, 1, v), np.float32), layout, entities,
                                       img_shape=img_shape, max_side=max_side)

    def color(self, label: str) -> Tuple[int, int, int]:
        from mdn.visualization.palette import label_rgb
        index = self.class_names.index(label) if label in self.class_names else 0
        r, g, b = label_rgb(index)
        return int(b * 255), int(g * 255), int(r * 255)

    def render(self, frame: Optional[np.ndarray], keypoint: np.ndarray, score: np.ndarray,
               now_s: float, current: Tuple[str, float], closed: Sequence[Segment],
               pending: Sequence[Segment], status: str = '') -> np.ndarray:
        self.painter.keypoint = keypoint[None, None]
        self.painter.score = score[None, None]
        label, top = current
        caption = (f'{now_s:6.1f} s  {label} ({top:.2f})' if label
                   else f'{now_s:6.1f} s  no micro-action')
        image = self.painter.draw(0, frame, caption)
        strip = self._timeline(image.shape[1], now_s, closed, pending, status)
        return np.concatenate([image, strip], axis=0)

    def _timeline(self, width: int, now_s: float, closed: Sequence[Segment],
                  pending: Sequence[Segment], status: str) -> np.ndarray:
        height = 70
        strip = np.full((height, width, 3), 245, np.uint8)
        span = min(self.history_s, max(now_s, 5.0))  # grows to history_s, then scrolls
        t0 = max(0.0, now_s - span)
        scale = width / span

        def x(t: float) -> int:
            return int(round((t - t0) * scale))
        tick = 1 if span <= 10 else 5
        for second in range(int(np.ceil(t0)), int(now_s) + 1):
            if second % tick == 0:
                cv2.line(strip, (x(second), 40), (x(second), 46), (120, 120, 120), 1)
                cv2.putText(strip, f'{second}s', (x(second) + 2, 60), cv2.FONT_HERSHEY_SIMPLEX,
                            0.35, (90, 90, 90), 1, cv2.LINE_AA)
        for segments, solid in ((closed, True), (pending, False)):
            for s in segments:
                if s.end < t0:
                    continue
                a, b = max(0, x(s.start)), max(x(s.start) + 1, x(s.end))
                color = self.color(s.label_name)
                if solid:
                    cv2.rectangle(strip, (a, 8), (b, 36), color, -1)
                else:
                    cv2.rectangle(strip, (a, 8), (b, 36), color, 1)
                cv2.putText(strip, s.label_name, (a + 2, 26), cv2.FONT_HERSHEY_SIMPLEX, 0.35,
                            (30, 30, 30), 1, cv2.LINE_AA)
        cv2.line(strip, (x(now_s) - 1, 4), (x(now_s) - 1, 40), (0, 0, 200), 2)
        if status:
            cv2.putText(strip, status, (4, height - 2), cv2.FONT_HERSHEY_SIMPLEX, 0.3,
                        (60, 60, 60), 1, cv2.LINE_AA)
        return strip


# --------------------------------------------------------------------------- the loop
@dataclass
class LiveSummary:
    """What ``live_summary.json`` holds."""
    source: str
    kind: str
    source_fps: float
    frames: int = 0  # frames of the source up to where it stopped (processed + dropped)
    frames_processed: int = 0  # frames through the pipeline: posed, or filled between two
    frames_dropped: int = 0  # frames lost because processing fell behind (filled in too)
    fps: float = 0.0  # processed frames per second of wall clock
    pose_stride: int = 1  # the pose model ran on every pose_stride-th frame
    pose_frames: int = 0  # frames the pose model ran on
    pose_fps: float = 0.0  # pose model runs per second of wall clock
    wall_s: float = 0.0
    duration_s: float = 0.0  # of the source, frames / source_fps
    windows: int = 0
    segments: int = 0
    stopped: str = 'end of stream'
    every_frame: bool = False
    options: dict = field(default_factory=dict)
    files: dict = field(default_factory=dict)


def run_live(source: str, model, out: str, options: Optional[LiveOptions] = None,
             display: bool = False, every_frame: bool = False,
             max_seconds: Optional[float] = None, snapshot: Optional[str] = None,
             pose: Optional[dict] = None, on_segment: Optional[Callable] = None,
             poser: Optional[Callable] = None, pose_stride: Optional[int] = None,
             pose_fps: Optional[float] = None, view_size: int = 640) -> LiveSummary:
    """Recognise micro-actions on ``source`` until it ends, ``max_seconds`` of it have been
    read, the window is closed (q / Esc) or Ctrl-C; every path flushes ``segments.csv`` and
    writes ``live_summary.json`` in ``out``.

    The pose model runs on every ``pose_stride``-th frame (default: from ``pose_fps``, by
    default the rate ``tools/demo.py`` uses) and the frames between are filled exactly as the
    demo fills them (``mdn.pose.resample.fill_strided``), one pose frame late.
    ``pose``: the MediaPipe backend's options; ``poser``: any ``frame -> (keypoint [V,2],
    score [V])`` callable instead (tests). Raises ``ValueError`` (``every_frame`` on a camera
    or stream), ``FileNotFoundError`` and :class:`SourceError`.
    """
    options = options or LiveOptions()
    if display and sys.platform.startswith('linux') and not (
            os.environ.get('DISPLAY') or os.environ.get('WAYLAND_DISPLAY')):
        raise ValueError('no display to open the live window on (DISPLAY is not set); use '
                         '--headless (and --snapshot PNG for a picture)')
    kind = FrameSource.kind_of(source)
    if every_frame and kind != 'file':
        raise ValueError(f'{source}: --every-frame is for video files; a {kind} cannot wait '
                         'for processing')
    info, cap = FrameSource.open(source)
    max_frames = int(round(max_seconds * info.fps)) if max_seconds else None
    from mdn.pose.resample import stride_for_rate
    stride = pose_stride or stride_for_rate(info.fps, pose_fps or default_pose_fps())
    reader = FrameReader(cap, info.fps, realtime=not every_frame,
                         pace=info.kind == 'file' and not every_frame, max_frames=max_frames,
                         every=stride)
    img_shape = (info.height, info.width)
    recognizer = RollingRecognizer(model, info.fps, options, info.name, img_shape)
    summary = LiveSummary(source, info.kind, info.fps, every_frame=every_frame,
                          pose_stride=stride,
                          options=dict(asdict(options), background=list(options.background)))
    os.makedirs(out, exist_ok=True)
    log = SegmentLog(osp.join(out, 'segments.csv'))
    try:
        poser = poser or FramePoser(pose)
    except BaseException:
        log.close()
        cap.release()
        raise
    view = (LiveView(recognizer.layout, getattr(model, 'entity_names', ()),
                     model.dataset_meta['classes'], img_shape, max_side=view_size)
            if display or snapshot else None)
    closed: List[Segment] = []
    last_pose: Optional[Tuple[np.ndarray, np.ndarray]] = None
    last_index = -1
    last_frame: Optional[np.ndarray] = None

    def emit(segments: Sequence[Segment]) -> None:
        log.append(segments)
        closed.extend(segments)
        if on_segment is not None:
            for s in segments:
                on_segment(s)

    started = time.perf_counter()
    try:
        for index, frame in reader:
            pose_now = poser(frame)
            summary.pose_frames += 1
            gap = index - last_index
            summary.frames_dropped += max(0, gap - stride) if last_pose is not None else index
            for kp, sc in fill_between(last_pose, pose_now, gap):
                emit(recognizer.push(kp, sc))
            emit(recognizer.push(*pose_now))
            last_pose, last_index, last_frame = pose_now, index, frame
            if display:
                image = view.render(frame, *last_pose, recognizer.num_frames / info.fps,
                                    recognizer.current, closed, recognizer.closer.pending(),
                                    f'{recognizer.num_frames - summary.frames_dropped} '
                                    f'processed, {summary.frames_dropped} dropped')
                try:
                    cv2.imshow('mdn live (q: quit)', image)
                except cv2.error as err:  # an OpenCV build without GUI (opencv-headless)
                    raise ValueError(f'OpenCV cannot open a window here ({err.err}); use '
                                     '--headless') from None
                if cv2.waitKey(1) & 0xFF in (ord('q'), 27):
                    summary.stopped = 'window closed'
                    break
    except KeyboardInterrupt:
        summary.stopped = 'interrupted'
    finally:
        reader.close()
        if hasattr(poser, 'close'):
            poser.close()
        if display:
            cv2.destroyAllWindows()
        wall = time.perf_counter() - started
        try:
            if last_pose is not None and summary.stopped == 'end of stream':
                for _ in range(reader.frames_read - recognizer.num_frames):  # the tail
                    emit(recognizer.push(*last_pose))  # repeats the last pose, as the demo's
            emit(recognizer.finish())
        finally:
            log.close()
        summary.frames = recognizer.num_frames
        summary.frames_processed = summary.frames - summary.frames_dropped
        summary.wall_s = round(wall, 3)
        summary.fps = round(summary.frames_processed / wall, 2) if wall > 0 else 0.0
        summary.pose_fps = round(summary.pose_frames / wall, 2) if wall > 0 else 0.0
        summary.duration_s = round(recognizer.num_frames / info.fps, 3)
        summary.windows = recognizer.closer.total_windows
        summary.segments = log.count
        summary.files = dict(segments_csv=log.path,
                             live_summary_json=osp.join(out, 'live_summary.json'))
        if snapshot and view is not None and recognizer.num_frames:
            from mdn.visualization import save_frame_png
            image = view.render(last_frame, *(last_pose or (np.zeros((133, 2), np.float32),
                                                            np.zeros(133, np.float32))),
                                recognizer.num_frames / info.fps,
                                recognizer.current, closed, [],
                                f'{summary.frames_processed} processed, '
                                f'{summary.frames_dropped} dropped')
            summary.files['snapshot_png'] = save_frame_png(snapshot, image)
        with atomic_write(summary.files['live_summary_json'], 'w') as f:
            json.dump(asdict(summary), f, indent=1)
    return summary


__all__ = ['LiveOptions', 'background_ids', 'SegmentCloser', 'RollingRecognizer',
           'FrameSource', 'FrameReader', 'FramePoser', 'fill_between', 'default_pose_fps',
           'SegmentLog', 'LiveView', 'LiveSummary', 'SourceError', 'run_live']
