"""One recording -> its timeline folder: the whole ``tools/demo.py`` pipeline as a function.

    from mdn.apis.recording import TimelineOptions, run_recording
    report = run_recording('interview.mp4', 'work_dirs/interview', config=CONFIG,
                           checkpoint=CHECKPOINT, options=TimelineOptions(threshold=0.6))
    # or, for many recordings, build the model once and pass it: run_recording(..., model=model)

A video is pose-extracted on every n-th frame (``pose_fps``, default 10 frames/s; see
``docs/benchmarks.md`` for what that costs in accuracy) in parallel chunks, with decoding
ahead on its own thread, while the model is loaded; the poses are filled back to every frame
(``mdn/pose/resample.py``), so frame numbers, windows and segments are in the video's own
frames whatever the pose rate. The overlay reuses the decoded frames (no second decoding).
``report`` is what ``segments.json`` holds; see the glossary in ``docs/inference.md``.
"""
import csv
import io
import json
import os
import os.path as osp
import resource
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from mdn.utils.io import atomic_write

from .timeline import Segment, WindowScores, per_minute_note, summarize

DEFAULT_POSE_FPS = 10.0
DEFAULT_POSE_WORKERS = max(1, min(2, os.cpu_count() or 1))  # more graphs than cores: no gain


@dataclass
class TimelineOptions:
    """The settings of one timeline; the same meaning as ``tools/demo.py``'s flags."""
    window_s: float = 2.0
    stride_s: float = 0.5
    threshold: float = 0.5
    min_duration_s: float = 0.5
    max_gap_s: float = 0.5
    background: Sequence[str] = ()
    topk: int = 3
    batch_size: int = 64
    fps: Optional[float] = None  # a skeleton file without one
    backend: Dict[str, Any] = field(default_factory=lambda: dict(type='mediapipe'))
    pose_stride: Optional[int] = None  # None: from pose_fps
    pose_fps: float = DEFAULT_POSE_FPS
    pose_workers: int = DEFAULT_POSE_WORKERS
    overlay: str = 'mp4'  # mp4 | png | none
    overlay_start: float = 0.0
    overlay_seconds: float = 30.0
    overlay_size: int = 640
    reference: Optional[str] = None


@dataclass
class Recording:
    """A recording's skeleton at its own frame rate, and how its poses were found.

    ``pose_stride``: the pose model ran on every n-th frame (1 for a skeleton file that has
    every frame); ``coverage``: entity -> fraction of pose frames in which it was found.
    """
    skeleton: Any  # mdn.apis.inference.Skeleton
    coverage: Dict[str, float]
    pose_stride: int = 1
    pose_frames: int = 0
    pose_s: float = 0.0
    is_video: bool = False
    overlay_frames: Optional['OverlayFrames'] = None


class OverlayFrames:
    """Video frames of the overlay span, kept JPEG-compressed at the overlay size while the
    pose stage decodes them, so the overlay needs no second decoding of the video."""

    def __init__(self, first: int, last: int, height: int, width: int, max_side: int):
        self.first, self.last = first, last
        scale = max_side / max(height, width)
        self.size = (max(16, int(round(width * scale)) // 2 * 2),
                     max(16, int(round(height * scale)) // 2 * 2))
        self.frames: Dict[int, bytes] = {}

    def __call__(self, index: int, frame: np.ndarray) -> None:
        if self.first <= index < self.last:
            small = cv2.resize(frame, self.size, interpolation=cv2.INTER_LINEAR)  # cheap
            ok, data = cv2.imencode('.jpg', small, [cv2.IMWRITE_JPEG_QUALITY, 90])
            if ok:
                self.frames[index] = data.tobytes()

    @property
    def indices(self) -> List[int]:
        return sorted(self.frames)

    def get(self, index: int) -> Optional[np.ndarray]:
        data = self.frames.get(index)
        return None if data is None else cv2.imdecode(np.frombuffer(data, np.uint8),
                                                      cv2.IMREAD_COLOR)


class _Cancelled(Exception):
    """The pose stage was stopped because the model could not be loaded."""


# --------------------------------------------------------------------------- inputs
class Background:
    """``fn(*args)`` on a daemon thread, started at once; :meth:`result` waits for it and
    returns its value or re-raises its exception on the calling thread."""

    def __init__(self, fn, *args, name: str = 'mdn-background'):
        self._box: Dict[str, Any] = {}

        def run() -> None:
            try:
                self._box['value'] = fn(*args)
            except BaseException as err:  # handed to the caller of result()
                self._box['error'] = err

        self._thread = threading.Thread(target=run, daemon=True, name=name)
        self._thread.start()

    def join(self) -> None:
        self._thread.join()

    def result(self) -> Any:
        self._thread.join()
        if 'error' in self._box:
            raise self._box['error']
        return self._box['value']


def load_recording(source: str, options: Optional[TimelineOptions] = None,
                   entities: Optional[Sequence[str]] = None, progress: bool = False,
                   cancel: Optional[threading.Event] = None) -> Recording:
    """The skeleton of a video (poses extracted) or of a skeleton file, at the recording's own
    frame rate, with its pose coverage over ``entities`` (default: the layout's body6)."""
    from mdn.pose.inputs import is_video
    options = options or TimelineOptions()
    if is_video(source):
        return _video_recording(source, options, entities, progress, cancel)
    return _file_recording(source, options, entities)


def _coverage(score: np.ndarray, layout: Optional[str], entities) -> Dict[str, float]:
    from mdn.pose.coverage import entity_coverage
    if not layout:
        return {}
    try:
        return entity_coverage(score, layout, entities)
    except (KeyError, ValueError):  # a layout without these entities
        return {}


def _video_recording(video: str, options: TimelineOptions, entities, progress: bool,
                     cancel: Optional[threading.Event]) -> Recording:
    from mdn.pose import build_backend
    from mdn.pose.backends import LAYOUT
    from mdn.pose.extract import NoPersonError, person_found
    from mdn.pose.resample import fill_strided, stride_for_rate
    from mdn.pose.strided import extract_strided
    from mdn.pose.video import probe_video
    start = time.perf_counter()
    info = probe_video(video)
    stride = options.pose_stride or stride_for_rate(info.fps, options.pose_fps)
    keeper = None
    if options.overlay != 'none' and info.fps > 0:
        first = int(options.overlay_start * info.fps)
        if info.frame_count:
            first = min(first, max(info.frame_count - 1, 0))
        first -= first % stride  # a pose frame
        keeper = OverlayFrames(first, first + max(1, int(options.overlay_seconds * info.fps)),
                               info.height, info.width, options.overlay_size)

    def on_frame(index: int, frame: np.ndarray) -> None:
        if cancel is not None and cancel.is_set():
            raise _Cancelled()
        if keeper is not None:
            keeper(index, frame)

    backend = build_backend(dict(options.backend))
    result = extract_strided(video, backend, stride, options.pose_workers, progress=progress,
                             on_frame=on_frame)
    pose = result.pose
    if not person_found(pose.keypoint_score, 0.3).any():
        raise NoPersonError(f'{video}: no person found in any of its {pose.num_frames} '
                            'frames (body keypoint score > 0.3)')
    coverage = _coverage(pose.keypoint_score, LAYOUT, entities)
    total = max(result.num_frames, (pose.num_frames - 1) * stride + 1)
    keypoint, score = fill_strided(pose.keypoint, pose.keypoint_score, stride, total)
    from .inference import as_skeleton  # torch: after the pose stage, which does not need it
    skeleton = as_skeleton(keypoint, score, info.fps, name=osp.splitext(osp.basename(video))[0],
                           layout=LAYOUT)
    skeleton.source, skeleton.img_shape = video, (info.height, info.width)
    skeleton.frame_stride = 1  # filled: skeleton frame t is video frame t
    return Recording(skeleton, coverage, stride, pose.num_frames,
                     round(time.perf_counter() - start, 3), True, keeper)


def _file_recording(path: str, options: TimelineOptions, entities) -> Recording:
    """A skeleton file; one extracted on every n-th frame (``frame_stride``) is filled back
    to the video's frames, so frame numbers are the video's."""
    from mdn.pose.resample import fill_strided

    from .inference import load_skeleton
    skeleton = load_skeleton(path, fps=options.fps)
    layout = skeleton.layout or ('coco_wholebody_133' if skeleton.keypoint.shape[2] == 133
                                 else None)
    coverage = _coverage(skeleton.keypoint_score, layout, entities)
    stride = max(1, int(skeleton.frame_stride))
    frames = skeleton.num_frames
    if stride > 1:
        total = (frames - 1) * stride + 1
        skeleton.keypoint, skeleton.keypoint_score = fill_strided(
            skeleton.keypoint, skeleton.keypoint_score, stride, total)
        skeleton.fps, skeleton.frame_stride = skeleton.fps * stride, 1
    return Recording(skeleton, coverage, stride, frames)


# --------------------------------------------------------------------------- pipeline
def class_ids(names: Sequence[str], classes: Sequence[str]) -> List[int]:
    """Background classes given by name or id -> ids; unknown ones are an error."""
    ids = []
    for name in names:
        name = str(name)
        if name in classes:
            ids.append(list(classes).index(name))
        elif name.isdigit() and int(name) < len(classes):
            ids.append(int(name))
        else:
            raise ValueError(f'--background {name}: not a class of the checkpoint; classes: '
                             f'{list(classes)}')
    return ids


def _load_with_model(source: str, options: TimelineOptions, model, config, checkpoint,
                     device: str, cfg_options, progress: bool) -> Tuple[Any, Recording]:
    """Load the model while the pose stage runs on its own threads (they release the GIL).
    The settings are checked against the model (background classes) before the input is
    waited for."""
    from mdn.pose.inputs import is_video
    if model is not None or not is_video(source):
        from .inference import entity_names, init_recognizer
        if model is None:
            model = init_recognizer(config, checkpoint, device, cfg_options)
        class_ids(options.background, model.dataset_meta['classes'])
        return model, load_recording(source, options, entity_names(model) or None, progress)
    cancel = threading.Event()
    pose = Background(load_recording, source, options, None, progress, cancel,
                      name='mdn-pose-stage')
    try:  # torch and MMEngine are imported here, while the pose stage runs
        from .inference import entity_names, init_recognizer
        model = init_recognizer(config, checkpoint, device, cfg_options)
        class_ids(options.background, model.dataset_meta['classes'])
        import mdn.visualization  # noqa: F401  (matplotlib: while the pose stage runs)
    except BaseException:
        cancel.set()
        pose.join()
        raise
    recording = pose.result()
    used = entity_names(model)
    if used:  # coverage over the model's own entities
        from mdn.pose.backends import LAYOUT
        from mdn.pose.resample import pose_frame_indices
        rows = pose_frame_indices(recording.skeleton.num_frames, recording.pose_stride)
        recording.coverage = _coverage(recording.skeleton.keypoint_score[:, rows], LAYOUT,
                                       used) or recording.coverage
    return model, recording


def run_recording(source: str, out: str, model=None, config=None, checkpoint=None,
                  options: Optional[TimelineOptions] = None, device: str = 'cpu',
                  cfg_options: Optional[dict] = None, progress: bool = True,
                  verbose: bool = True) -> Dict[str, Any]:
    """Run the timeline pipeline on one video or skeleton file and write its folder ``out``.

    Give a built ``model`` (``init_recognizer``; reused across recordings) or ``config`` and
    ``checkpoint``. Returns the report written to ``out/segments.json``.

    Raises ``ValueError`` (with the file's name) for an unusable video, a video without a
    person, or an unknown background class; ``LayoutMismatchError`` for keypoints of another
    layout than the checkpoint's.
    """
    from mdn.pose.video import VideoError
    options = options or TimelineOptions()
    start, cpu = time.perf_counter(), [_cpu_s()]
    try:
        model, recording = _load_with_model(source, options, model, config, checkpoint,
                                            device, cfg_options, progress)
    except VideoError as err:  # a missing/corrupt video or one without a person: one line
        raise ValueError(str(err)) from None
    from .inference import entity_names, recognize_timeline  # loaded by now
    classes = model.dataset_meta['classes']
    background = class_ids(options.background, classes)
    skeleton = recording.skeleton
    loaded = time.perf_counter()
    cpu.append(_cpu_s())
    windows = recognize_timeline(model, skeleton, window_s=options.window_s,
                                 stride_s=options.stride_s, batch_size=options.batch_size,
                                 progress=progress)
    scored = time.perf_counter()
    cpu.append(_cpu_s())
    segments = windows.segments(options.threshold, options.min_duration_s, options.max_gap_s,
                                background)
    duration = skeleton.duration
    kept = [c for i, c in enumerate(classes) if i not in set(background)]
    summary = summarize(segments, duration, kept)
    from mdn.pose.coverage import coverage_warnings
    warnings = coverage_warnings(recording.coverage, entity_names(model),
                                 where=skeleton.name)
    files = write_results(out, options, recording, model, windows, segments, summary,
                          background)
    elapsed = time.perf_counter() - start
    cpu.append(_cpu_s())
    run = dict(wall_s=round(elapsed, 2), input_s=round(loaded - start, 2),
               pose_s=recording.pose_s, timeline_s=round(scored - loaded, 2),
               output_s=round(elapsed - (scored - start), 2), windows=int(len(windows.bounds)),
               realtime_factor=round(duration / elapsed, 3) if elapsed > 0 else None,
               cpu_s=dict(input=round(cpu[1] - cpu[0], 2), timeline=round(cpu[2] - cpu[1], 2),
                          output=round(cpu[3] - cpu[2], 2), total=round(cpu[3] - cpu[0], 2)),
               peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1))
    report = dict(input=source, config=config if isinstance(config, str) else None,
                  checkpoint=checkpoint, fps=skeleton.fps, num_frames=skeleton.num_frames,
                  duration_s=round(duration, 3), frame_numbers='video',
                  pose=dict(stride=recording.pose_stride, frames=recording.pose_frames,
                            fps=round(skeleton.fps / recording.pose_stride, 3),
                            filled=recording.pose_stride > 1,
                            backend=dict(options.backend) if recording.is_video else None),
                  coverage=recording.coverage, coverage_warnings=warnings,
                  window_s=options.window_s, stride_s=options.stride_s,
                  threshold=options.threshold, min_duration_s=options.min_duration_s,
                  max_gap_s=options.max_gap_s, background=[classes[i] for i in background],
                  segments=[s.to_dict() for s in segments], summary=summary,
                  per_minute_note=per_minute_note(duration), run=run, files=files)
    with atomic_write(osp.join(out, 'segments.json'), 'w') as f:
        json.dump(report, f, indent=1)
    if verbose:
        print(format_report(report, skeleton.name, out))
    return report


def _cpu_s() -> float:
    """CPU seconds of this process so far, all threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def format_report(report: Dict[str, Any], name: str, out: str) -> str:
    """What the demo prints: segments, per-label counts, coverage and its warnings, time."""
    run = report['run']
    lines = [f'{name}: {len(report["segments"])} micro-action segments in '
             f'{report["duration_s"]:.1f} s ({report["num_frames"]} frames, '
             f'pose on every {report["pose"]["stride"]} frame(s), {run["windows"]} windows)']
    for row in report['summary']:
        if row['count']:
            rate = (f'{row["per_minute"]:.2f}/min' if row['per_minute'] is not None
                    else 'rate: recording < 1 min')
            lines.append(f'  {row["label"]}: {row["count"]} x, {row["total_s"]:.1f} s, {rate}')
    if report['coverage']:
        lines.append('pose coverage: ' + ', '.join(
            f'{k} {v:.2f}' for k, v in report['coverage'].items()))
    lines += [f'WARNING: {w}' for w in report['coverage_warnings']]
    lines.append(f'time {run["wall_s"]} s (pose {run["pose_s"]} s, timeline '
                 f'{run["timeline_s"]} s, outputs {run["output_s"]} s), '
                 f'{run["realtime_factor"]}x real time, peak memory {run["peak_rss_mb"]} MB; '
                 f'results in {out}')
    return '\n'.join(lines)


# --------------------------------------------------------------------------- outputs
def write_csv(path: str, header: Sequence[str], rows: Sequence[Sequence]) -> str:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator='\n')
    writer.writerow(header)
    writer.writerows(rows)
    with atomic_write(path, 'w') as f:
        f.write(text.getvalue())
    return path


def write_windows(path: str, windows: WindowScores, k: int) -> str:
    """``windows.csv``: per window its span, person fraction, top-k and ST weight per entity."""
    from .inference import top_k
    index, values = top_k(windows.scores, k)
    names = list(windows.class_names)
    entities = list(windows.entity_names)
    header = ['start', 'end', 'start_frame', 'end_frame', 'person']
    for i in range(index.shape[1]):
        header += [f'top{i + 1}_label', f'top{i + 1}_score']
    header += [f'st_{e}' for e in entities]
    person = windows.extra.get('person_fraction', np.ones(len(windows.bounds)))
    rows = []
    for w, (start, end) in enumerate(windows.bounds):
        row = [round(start / windows.fps, 3), round(end / windows.fps, 3), int(start),
               int(end), round(float(person[w]), 3)]
        for i in range(index.shape[1]):
            scored = index[w, i] >= 0
            row += [names[index[w, i]] if scored else '', round(float(values[w, i]), 4)
                    if scored else '']
        row += [round(float(v), 4) if np.isfinite(v) else '' for v in
                windows.entity_weights[w, :, 0]]
        rows.append(row)
    return write_csv(path, header, rows)


def read_reference(path: str, fps: float) -> List[Segment]:
    """Known segments: an npz with ``start_end_frame`` (inclusive frames) or a CSV with
    ``start,end`` in seconds (and optionally ``label``)."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'reference segments not found: {path}')
    if path.endswith('.npz'):
        with np.load(path, allow_pickle=False) as npz:
            if 'start_end_frame' not in npz.files:
                raise KeyError(f'{path}: no "start_end_frame" array; found {npz.files}')
            bounds = npz['start_end_frame']
        return [Segment(round(s / fps, 3), round((e + 1) / fps, 3), -1, 'annotated', 1.0,
                        int(s), int(e) + 1) for s, e in bounds]
    with open(path, encoding='utf-8') as f:
        rows = list(csv.DictReader(f))
    if not rows or not {'start', 'end'} <= set(rows[0]):
        raise ValueError(f'{path}: expected a CSV with "start" and "end" columns (seconds)')
    return [Segment(float(r['start']), float(r['end']), -1, r.get('label') or 'annotated',
                    1.0, int(float(r['start']) * fps), int(float(r['end']) * fps))
            for r in rows]


def frame_captions(segments: Sequence[Segment], frames: np.ndarray, fps: float) -> List[str]:
    """``'12.3 s  label (0.83)'`` inside a segment, else ``'12.3 s  no micro-action'``."""
    captions = []
    for t in frames:
        current = next((s for s in segments if s.start_frame <= t < s.end_frame), None)
        what = f'{current.label_name} ({current.score:.2f})' if current else 'no micro-action'
        captions.append(f'{t / fps:6.1f} s  {what}')
    return captions


def write_overlay(out: str, options: TimelineOptions, recording: Recording, model,
                  segments: Sequence[Segment]) -> List[str]:
    """``overlay.png`` (and ``overlay.mp4``). On a video the overlay shows the frames the pose
    model ran on (at the pose frame rate), kept while decoding; else a blank canvas."""
    from mdn.visualization import SkeletonPainter, save_frame_png, write_skeleton_video
    skeleton = recording.skeleton
    keeper = recording.overlay_frames
    first = min(int(options.overlay_start * skeleton.fps), skeleton.num_frames - 1)
    last = min(skeleton.num_frames, first + max(1, int(options.overlay_seconds * skeleton.fps)))
    frames_idx = np.arange(first, last)
    if keeper is not None:
        kept = [t for t in keeper.indices if t < skeleton.num_frames]
        frames_idx = np.asarray(kept or [first], np.int64)
    painter = SkeletonPainter(skeleton.keypoint, skeleton.keypoint_score, model.layout.name,
                              getattr(model, 'entity_names', ()),
                              img_shape=skeleton.img_shape if keeper is not None else None,
                              max_side=options.overlay_size)
    captions = frame_captions(segments, frames_idx, skeleton.fps)
    inside = [s for s in segments if s.start_frame < frames_idx[-1] + 1
              and s.end_frame > frames_idx[0]]
    snap = (inside[0].start_frame + inside[0].end_frame) // 2 if inside else \
        int(frames_idx[len(frames_idx) // 2])
    pick = int(np.abs(frames_idx - snap).argmin())
    frame = keeper.get(int(frames_idx[pick])) if keeper is not None else None
    written = [save_frame_png(osp.join(out, 'overlay.png'), painter.draw(
        int(frames_idx[pick]), frame, captions[pick]))]
    if options.overlay == 'mp4':
        video_fps = skeleton.fps / (recording.pose_stride if keeper is not None else 1)
        frames = (keeper.get(int(t)) for t in frames_idx) if keeper is not None else None
        written.append(write_skeleton_video(osp.join(out, 'overlay.mp4'), painter,
                                            frames_idx, video_fps, captions, frames))
    return written


def write_results(out: str, options: TimelineOptions, recording: Recording, model,
                  windows: WindowScores, segments: Sequence[Segment], summary: Sequence[dict],
                  background: Sequence[int]) -> Dict[str, str]:
    """Every file of the timeline folder but ``segments.json``; their paths by kind."""
    from mdn.visualization import plot_timeline
    skeleton = recording.skeleton
    files = dict(
        segments_csv=write_csv(osp.join(out, 'segments.csv'),
                               ['start', 'end', 'label', 'score', 'start_frame', 'end_frame'],
                               [[s.start, s.end, s.label_name, s.score, s.start_frame,
                                 s.end_frame] for s in segments]),
        summary_csv=write_csv(osp.join(out, 'summary.csv'), list(summary[0]) if summary
                              else ['label'],
                              [['' if v is None else v for v in r.values()] for r in summary]),
        windows_csv=write_windows(osp.join(out, 'windows.csv'), windows, options.topk))
    reference = read_reference(options.reference, skeleton.fps) if options.reference else ()
    overlay = None
    if options.overlay != 'none':  # OpenCV's drawing and encoding release the GIL: the
        # overlay is written on its own thread while matplotlib draws the timeline
        overlay = Background(write_overlay, out, options, recording, model, segments,
                             name='mdn-overlay')
    try:
        files['timeline_png'] = plot_timeline(
            osp.join(out, 'timeline.png'), windows, segments, options.threshold, reference,
            background, title=f'{skeleton.name}: {len(segments)} micro-action segments')
    except BaseException:
        if overlay is not None:
            overlay.join()  # no thread left writing into ``out``
        raise
    if overlay is not None:
        written = overlay.result()
        files['overlay_png'] = written[0]
        if len(written) > 1:
            files['overlay_mp4'] = written[1]
    return files


__all__ = ['TimelineOptions', 'Recording', 'OverlayFrames', 'load_recording', 'run_recording',
           'class_ids', 'write_results', 'write_windows', 'write_csv', 'read_reference',
           'frame_captions', 'format_report', 'DEFAULT_POSE_FPS']
