"""Batch pose extraction: videos -> one mmaction2/PYSKL skeleton annotation file.

Every video is processed on its own: a missing, corrupt or empty video, or one without a
person, is recorded with its reason and skipped, and the batch carries on. Finished videos are
saved as parts (see ``parts.py``), so ``resume=True`` skips them after a crash or kill; the
final file is merged from the parts in input order and written atomically. The result is the
same whether a run was interrupted or not.
"""
import math
import multiprocessing as mp
import os
import time
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Sequence, Union

import numpy as np
from tqdm import tqdm

from mdn.datasets.annotation_io import save_pickle_annotations

from .backends import LAYOUT, PoseBackend, build_backend
from .inputs import VideoItem, check_unique_names
from .parts import PartStore, parts_dir_for
from .video import VideoError, iter_frames, prefetch, probe_video

Annotation = Dict[str, Any]
BackendLike = Union[PoseBackend, Dict[str, Any]]


class NoPersonError(VideoError):
    """A video in which the backend found nobody."""


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
    return dict(frame_dir=item.name, label=int(item.label), img_shape=shape,
                original_shape=shape, total_frames=int(pose.num_frames),
                fps=float(info.fps / stride), frame_stride=int(stride),
                keypoint=pose.keypoint, keypoint_score=pose.keypoint_score)


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
    frames: int = 0
    seconds: float = 0.0
    output: Optional[str] = None

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    def format(self) -> str:
        lines = [f'{self.total} videos: {len(self.done)} extracted, {len(self.resumed)} already '
                 f'done (resume), {len(self.failed)} failed; {self.frames} frames in '
                 f'{self.seconds:.1f} s ({self.fps:.1f} frames/s)']
        lines += [f'  FAILED {f.name}: {f.reason}' for f in self.failed]
        lines.append(f'written: {self.output}' if self.output else 'no annotation file written')
        return '\n'.join(lines)


def backend_settings(backend: BackendLike) -> Dict[str, Any]:
    """What produced the keypoints: a spec as given, or a built backend's ``describe()``."""
    if isinstance(backend, PoseBackend):
        return backend.describe()
    spec = dict(backend)
    return dict(backend=spec.pop('type', None), **spec)


# One backend per worker process, built by the pool initializer.
_WORKER: Dict[str, Any] = {}


def _init_worker(spec: Dict[str, Any], threads: int) -> None:
    import torch
    torch.set_num_threads(threads)
    _WORKER['backend'] = build_backend(spec)


def _run_one(item: VideoItem, backend: PoseBackend, store: PartStore, options: Dict[str, Any]
             ) -> tuple:
    """(item, frames, failure reason or None); the part is saved on success."""
    try:
        annotation = extract_video(item, backend, **options)
    except Exception as err:  # reported per video; the batch carries on
        reason = str(err) if isinstance(err, VideoError) else f'{type(err).__name__}: {err}'
        return item, 0, reason
    store.save(item.name, annotation)
    return item, annotation['total_frames'], None


def _run_in_worker(args) -> tuple:
    item, directory, options = args
    return _run_one(item, _WORKER['backend'], PartStore(directory), options)


def extract_videos(items: Sequence[VideoItem], backend: BackendLike, out_path: str,
                   resume: bool = False, workers: int = 1, stride: int = 1,
                   max_people: int = 1, min_score: float = 0.3, progress: bool = True,
                   split: Optional[Dict[str, List[str]]] = None, **meta: Any) -> Summary:
    """Extract every item into ``out_path``; returns the :class:`Summary` (also printed by CLI).

    Args:
        backend: a built backend, or its spec ``dict(type=..., ...)`` (needed for workers > 1:
            each worker process builds its own).
        workers: processes for many videos (each gets ``cpus // workers`` torch threads).
        split / meta: stored in the output file (e.g. the official split and class names).
    """
    check_unique_names(list(items))
    if workers > 1 and not isinstance(backend, dict):
        raise ValueError('workers > 1 needs the backend as a spec dict(type=...), not an object')
    settings = backend_settings(backend)
    store = PartStore(parts_dir_for(out_path))
    store.prepare(dict(settings, stride=stride, max_people=max_people, min_score=min_score),
                  resume)
    summary = Summary(total=len(items))
    summary.resumed = [item.name for item in items if resume and store.has(item.name)]
    resumed = set(summary.resumed)
    todo = [item for item in items if item.name not in resumed]
    options = dict(stride=stride, max_people=max_people, min_score=min_score)
    if todo and workers <= 1 and isinstance(backend, dict):
        backend = build_backend(backend)  # before the clock starts: frames/s is extraction
    start = time.perf_counter()
    with tqdm(total=len(items), initial=len(summary.resumed), desc='videos', unit='video',
              disable=not progress, position=0) as bar:
        for item, frames, reason in _run_all(todo, backend, store, options, workers, progress):
            if reason is None:
                summary.done.append(item.name)
                summary.frames += frames
            else:
                summary.failed.append(Failure(item.name, item.path, reason))
                tqdm.write(f'FAILED {item.name}: {reason}')
            bar.update(1)
    summary.seconds = time.perf_counter() - start  # wall clock, so workers count once
    finished = [item for item in items if store.has(item.name)]
    if finished:
        annotations = [store.load(item.name) for item in finished]
        meta.setdefault('keypoint_layout', LAYOUT)
        meta.setdefault('pose_backend', str(settings['backend']))
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
