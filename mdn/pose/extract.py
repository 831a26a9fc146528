"""Batch pose extraction: videos -> one mmaction2/PYSKL skeleton annotation file.

Every video is processed on its own: a missing, corrupt or empty video, or one without a
person, is recorded with its reason and skipped, and the batch carries on. Finished videos are
saved as parts (see ``parts.py``), so ``resume=True`` skips them after a crash or kill; the
final file is merged from the parts in input order and written atomically. The result is the
same whether a run was interrupted or not. Finished parts are deleted only with
``overwrite=True``. A video that decodes to fewer frames than its container lists (truncated)
is kept, and reported as ``read N of M frames`` in the summary and in the clip
(``decode_warning``).
"""
import math
import multiprocessing as mp
import os
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Sequence, Union

import numpy as np
from tqdm import tqdm

from .backends import (LAYOUT, PoseBackend, build_backend, fetch_spec_weights,
                       max_people_problem)
from .coverage import entity_coverage, format_coverage_table
from .inputs import VideoItem, check_unique_names
from .parts import PartStore, parts_dir_for
from .video import VideoError, iter_frames, prefetch, probe_video

Annotation = Dict[str, Any]
BackendLike = Union[PoseBackend, Dict[str, Any]]


class NoPersonError(VideoError):
    """A video in which the backend found nobody."""


class TruncatedVideoWarning(UserWarning):
    """A video that decoded to fewer frames than its container lists."""


def frames_shortfall(read: int, frame_count: int, stride: int = 1) -> Optional[str]:
    """``'read N of M frames ...'`` when fewer frames decoded than the container lists (a
    truncated or damaged file); None when the count matches (within one frame: some containers
    only estimate it) or is unknown."""
    if frame_count <= 0:
        return None
    expected = math.ceil(frame_count / stride)
    if expected - read <= 1:
        return None
    every = f' (every {stride}th)' if stride > 1 else ''
    return (f'read {read} of {expected} frames{every} that the container lists: the video is '
            'probably truncated or damaged, so its clip ends early')


def person_found(keypoint_score: np.ndarray, min_score: float, min_points: int = 4
                 ) -> np.ndarray:
    """``[M, T]`` whether each pose has ``min_points`` body keypoints (0-22) above ``min_score``."""
    return (keypoint_score[..., :23] > min_score).sum(-1) >= min_points


def extract_video(item: VideoItem, backend: PoseBackend, stride: int = 1, max_people: int = 1,
                  min_score: float = 0.3, progress: bool = False) -> Annotation:
    """The annotation of one video; raises :class:`VideoError` for a video that cannot be used."""
    info = probe_video(item.path)
    frames: Iterable[np.ndarray] = prefetch(iter_frames(item.path, stride))
    expected = math.ceil(info.frame_count / stride) if info.frame_count else None
    with tqdm(frames, total=expected, desc=item.name, unit='frame', leave=False,
              disable=not progress, position=1) as bar:
        pose = backend.process_video(bar, info.width, info.height, max_people)
    if pose.num_frames == 0:
        raise VideoError(f'{item.path}: no frame could be decoded')
    if not person_found(pose.keypoint_score, min_score).any():
        raise NoPersonError(f'{item.path}: no person found in any of its {pose.num_frames} '
                            f'frames (body keypoint score > {min_score})')
    shape = (info.height, info.width)
    clip = dict(frame_dir=item.name, label=int(item.label), img_shape=shape,
                original_shape=shape, total_frames=int(pose.num_frames),
                fps=float(info.fps / stride), frame_stride=int(stride),
                keypoint=pose.keypoint, keypoint_score=pose.keypoint_score)
    clip['coverage'] = entity_coverage(pose.keypoint_score, LAYOUT, min_score=min_score)
    clip.update(getattr(backend, 'clip_fields', dict)())
    shortfall = frames_shortfall(pose.num_frames, info.frame_count, stride)
    if shortfall:
        clip['decode_warning'] = shortfall
        warnings.warn(f'{item.path}: {shortfall}', TruncatedVideoWarning)
    return clip


@dataclass
class Failure:
    name: str
    path: str
    reason: str


@dataclass
class Summary:
    """What a batch run did; ``format()`` is the report printed at the end."""
    total: int = 0
    done: List[str] = field(default_factory=list)
    resumed: List[str] = field(default_factory=list)
    failed: List[Failure] = field(default_factory=list)
    warnings: List[Failure] = field(default_factory=list)  # kept, but e.g. truncated
    notes: List[str] = field(default_factory=list)  # about the whole run (random weights)
    frames: int = 0
    seconds: float = 0.0
    output: Optional[str] = None
    coverage: Dict[str, Dict[str, float]] = field(default_factory=dict)  # video -> entity

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    def format(self) -> str:
        lines = [f'{self.total} videos: {len(self.done)} extracted, {len(self.resumed)} already '
                 f'done (resume), {len(self.failed)} failed; {self.frames} frames in '
                 f'{self.seconds:.1f} s ({self.fps:.1f} frames/s)']
        lines += [f'  FAILED {f.name}: {f.reason}' for f in self.failed]
        lines += [f'  WARNING {w.name}: {w.reason}' for w in self.warnings]
        lines += [f'WARNING: {note}' for note in self.notes]
        if self.coverage:
            lines.append(format_coverage_table(self.coverage))
            low = sorted({e for cov in self.coverage.values() for e, v in cov.items()
                          if v < 0.5})
            if low:
                lines.append(f'WARNING: {", ".join(low)} found in fewer than half of the frames '
                             'of some videos (*): a model sees those entities as missing there, '
                             'so micro-actions made with them are under-detected')
        lines.append(f'written: {self.output}' if self.output else 'no annotation file written')
        return '\n'.join(lines)


def backend_settings(backend: BackendLike) -> Dict[str, Any]:
    """What produced the keypoints: a spec as given, or a built backend's ``describe()``."""
    if isinstance(backend, PoseBackend):
        return backend.describe()
    spec = dict(backend)
    return dict(backend=spec.pop('type', None), **spec)


def uses_random_weights(settings: Dict[str, Any]) -> bool:
    return settings.get('backend') == 'mmpose' and settings.get('checkpoint', 'default') is None


# One backend per worker process, built by the pool initializer.
_WORKER: Dict[str, Any] = {}


def _init_worker(spec: Dict[str, Any], threads: int) -> None:
    import torch
    torch.set_num_threads(threads)
    try:
        _WORKER['backend'] = build_backend(spec)
    except Exception as err:  # an initializer that raises makes the pool respawn it forever
        _WORKER['error'] = f'the pose backend could not be built: {type(err).__name__}: {err}'


def _run_one(item: VideoItem, backend: PoseBackend, store: PartStore, options: Dict[str, Any]
             ) -> tuple:
    """(item, frames, failure reason or None, warning or None); the part is saved on success."""
    try:
        with warnings.catch_warnings():  # reported in the summary instead
            warnings.simplefilter('ignore', TruncatedVideoWarning)
            annotation = extract_video(item, backend, **options)
    except Exception as err:  # reported per video; the batch carries on
        reason = str(err) if isinstance(err, VideoError) else f'{type(err).__name__}: {err}'
        return item, 0, reason, None
    store.save(item.name, annotation)
    return item, annotation['total_frames'], None, annotation.get('decode_warning')


def _run_in_worker(args) -> tuple:
    item, directory, options = args
    if 'error' in _WORKER:
        return item, 0, _WORKER['error'], None
    return _run_one(item, _WORKER['backend'], PartStore(directory), options)


def extract_videos(items: Sequence[VideoItem], backend: BackendLike, out_path: str,
                   resume: bool = False, workers: int = 1, stride: int = 1,
                   max_people: int = 1, min_score: float = 0.3, progress: bool = True,
                   split: Optional[Dict[str, List[str]]] = None, overwrite: bool = False,
                   **meta: Any) -> Summary:
    """Extract every item into ``out_path``; returns the :class:`Summary` (also printed by CLI).

    Args:
        backend: a built backend, or its spec ``dict(type=..., ...)`` (needed for workers > 1:
            each worker process builds its own).
        resume: keep the finished videos of an earlier run (same settings) and do the rest.
        overwrite: delete the finished videos of an earlier run and start over. With neither,
            an earlier run's finished videos make this refuse (``PartsExistError``).
        workers: processes for many videos (each gets ``cpus // workers`` torch threads).
        split / meta: stored in the output file (e.g. the official split and class names).

    Raises:
        ValueError: duplicate clip names, finished parts without resume/overwrite, other
            settings on resume, a corrupt part, ``max_people`` the backend cannot give.
        FileNotFoundError: pose weights that are missing or cannot be downloaded.
    """
    check_unique_names(list(items))
    if workers > 1 and not isinstance(backend, dict):
        raise ValueError('workers > 1 needs the backend as a spec dict(type=...), not an object')
    problem = max_people_problem(backend, max_people)
    if problem:
        raise ValueError(problem)
    settings = backend_settings(backend)
    store = PartStore(parts_dir_for(out_path))
    store.prepare(dict(settings, stride=stride, max_people=max_people, min_score=min_score),
                  resume, overwrite)
    summary = Summary(total=len(items))
    summary.resumed = [item.name for item in items if resume and store.has(item.name)]
    for name in summary.resumed:  # a damaged part is refused now, not after hours of work
        warning = store.load(name).get('decode_warning')
        if warning:
            summary.warnings.append(Failure(name, store.path(name), warning))
    resumed = set(summary.resumed)
    todo = [item for item in items if item.name not in resumed]
    options = dict(stride=stride, max_people=max_people, min_score=min_score)
    if todo and isinstance(backend, dict):
        if workers <= 1:
            backend = build_backend(backend)  # before the clock starts: frames/s is extraction
        else:
            fetch_spec_weights(backend)  # once, here: the workers find them cached
    if uses_random_weights(settings):
        summary.notes.append('the pose model has RANDOM weights (--checkpoint none): these '
                             'keypoints are meaningless; clips record pose_model_weights='
                             "'random (--checkpoint none)'")
    start = time.perf_counter()
    with tqdm(total=len(items), initial=len(summary.resumed), desc='videos', unit='video',
              disable=not progress, position=0) as bar:
        for item, frames, reason, warning in _run_all(todo, backend, store, options, workers,
                                                      progress):
            if reason is None:
                summary.done.append(item.name)
                summary.frames += frames
                if warning:
                    summary.warnings.append(Failure(item.name, item.path, warning))
                    tqdm.write(f'WARNING {item.name}: {warning}')
            else:
                summary.failed.append(Failure(item.name, item.path, reason))
                tqdm.write(f'FAILED {item.name}: {reason}')
            bar.update(1)
    summary.seconds = time.perf_counter() - start  # wall clock, so workers count once
    finished = [item for item in items if store.has(item.name)]
    if finished:
        annotations = [store.load(item.name) for item in finished]
        for clip in annotations:  # parts of an older run may lack it
            clip.setdefault('coverage', entity_coverage(clip['keypoint_score'], LAYOUT,
                                                        min_score=min_score))
            summary.coverage[str(clip['frame_dir'])] = clip['coverage']
        meta.setdefault('keypoint_layout', LAYOUT)
        meta.setdefault('pose_backend', str(settings['backend']))
        from mdn.datasets.annotation_io import save_pickle_annotations  # (MMEngine, torch)
        save_pickle_annotations(out_path, annotations, split=split, **meta)
        summary.output = out_path
    return summary


def _run_all(todo: List[VideoItem], backend: BackendLike, store: PartStore,
             options: Dict[str, Any], workers: int, progress: bool):
    if not todo:
        return
    if workers <= 1:
        for item in todo:
            yield _run_one(item, backend, store, dict(options, progress=progress))
        return
    threads = max(1, (os.cpu_count() or 1) // workers)
    context = mp.get_context('spawn')  # torch and OpenCV threads do not survive fork
    with context.Pool(workers, _init_worker, (backend, threads)) as pool:
        args = [(item, store.directory, options) for item in todo]
        yield from pool.imap_unordered(_run_in_worker, args)
        pool.close()  # let the workers exit on their own rather than be terminated
        pool.join()
