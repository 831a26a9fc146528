"""Micro-action timeline of a video or a skeleton file: which micro-actions, when, how often.

    python tools/demo.py INPUT CONFIG CHECKPOINT --out DIR [--window 2.0] [--stride 0.5]
        [--threshold 0.5] [--min-duration 0.5] [--max-gap 0.5] [--background NAME ...]
        [--topk 3] [--batch-size 64] [--fps FPS] [--backend mediapipe|mmpose]
        [--pose-checkpoint PATH|URL|default|none] [--pose-stride 1] [--overlay mp4|png|none]
        [--overlay-start S] [--overlay-seconds S]
        [--reference SEGMENTS] [--threads N] [--device cpu] [--cfg-options ...]

INPUT is a video (poses are extracted with ``--backend``), a ``.pkl`` annotation file with
one clip, or an ``.npz`` with ``keypoints (T,V,3)`` (``--fps`` if the file has none). Sliding
windows of ``--window`` seconds every ``--stride`` seconds are scored in batches; a window
whose top score is below ``--threshold`` or whose top class is a ``--background`` class is
"no micro-action"; the rest merge into segments (see ``mdn/apis/timeline.py``).

Writes to DIR: ``segments.csv`` / ``segments.json`` (start, end, label, score; the JSON also
holds the settings, the summary and the run's time and peak memory), ``summary.csv`` (per
label: count, total and mean duration, rate per minute), ``windows.csv`` (top-k scores and ST
routing weight per entity of each window), ``timeline.png`` and the skeleton overlay
(``overlay.mp4`` and ``overlay.png``). ``--reference`` draws known segments on the timeline:
a CSV with ``start,end`` columns in seconds, or an npz with ``start_end_frame``.
"""
import argparse
import csv
import io
import json
import os.path as osp
import resource
import sys
import time
from typing import List, Optional, Sequence

import numpy as np

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a checkout

from mmengine.config import DictAction  # noqa: E402

from mdn.apis.cli import run_cli  # noqa: E402
from mdn.apis.inference import (Skeleton, extract_skeleton, init_recognizer,  # noqa: E402
                                load_skeleton, recognize_timeline, top_k)
from mdn.apis.timeline import Segment, WindowScores, summarize  # noqa: E402
from mdn.utils.io import atomic_write  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('input', help='video, .pkl annotation file (one clip) or .npz skeleton')
    p.add_argument('config')
    p.add_argument('checkpoint', help='path or URL')
    p.add_argument('--out', required=True, help='output folder')
    p.add_argument('--window', type=float, default=2.0, help='window length, seconds')
    p.add_argument('--stride', type=float, default=0.5, help='window step, seconds')
    p.add_argument('--threshold', type=float, default=0.5,
                   help='top score a window needs to count as a micro-action')
    p.add_argument('--min-duration', type=float, default=0.5, help='shortest segment, s')
    p.add_argument('--max-gap', type=float, default=0.5,
                   help='join same-label segments separated by at most this many seconds')
    p.add_argument('--background', nargs='+', default=[],
                   help='class names (or ids) that mean "no micro-action"')
    p.add_argument('--topk', type=int, default=3, help='scores per window in windows.csv')
    p.add_argument('--batch-size', type=int, default=64,
                   help='clips per forward pass (bounds memory; a window of a k-clip test '
                   'pipeline counts k)')
    p.add_argument('--fps', type=float, help='frame rate of a skeleton file without one')
    p.add_argument('--backend', choices=['mediapipe', 'mmpose'],
                   help='pose backend for a video input (default: mediapipe, or mmpose when '
                   '--pose-checkpoint is given)')
    p.add_argument('--pose-checkpoint',
                   help="mmpose backend weights: a local file (works offline), a URL, "
                   "'default' (model-zoo URL) or 'none' (random weights, meaningless poses)")
    p.add_argument('--pose-stride', type=int, default=1, help='video: keep every n-th frame')
    p.add_argument('--overlay', choices=['mp4', 'png', 'none'], default='mp4',
                   help='skeleton overlay as a video (plus one PNG frame), a PNG only, or none')
    p.add_argument('--overlay-start', type=float, default=0.0, help='overlay start, seconds')
    p.add_argument('--overlay-seconds', type=float, default=30.0,
                   help='overlay length, seconds (long recordings: a preview)')
    p.add_argument('--overlay-size', type=int, default=640,
                   help='longest side of the overlay frames, pixels')
    p.add_argument('--reference', help='known segments to draw on the timeline')
    p.add_argument('--device', default='cpu')
    p.add_argument('--threads', type=int, help='torch threads')
    p.add_argument('--no-progress', action='store_true')
    p.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = p.parse_args(argv)
    if args.topk < 1 or args.batch_size < 1:
        p.error('--topk and --batch-size must be >= 1')
    if args.pose_checkpoint is not None and args.backend == 'mediapipe':
        p.error('--pose-checkpoint is for --backend mmpose (MediaPipe ships its own models)')
    if args.backend is None:
        args.backend = 'mmpose' if args.pose_checkpoint is not None else 'mediapipe'
    return args


def pose_backend_spec(args) -> dict:
    """The pose backend for a video input: ``--backend`` plus ``--pose-checkpoint``."""
    spec = dict(type=args.backend)
    if args.pose_checkpoint is not None:
        checkpoint = args.pose_checkpoint
        spec['checkpoint'] = None if checkpoint.lower() in ('none', 'null', 'random') \
            else checkpoint
    return spec


# --------------------------------------------------------------------------- inputs
def read_input(args) -> Skeleton:
    from mdn.pose.inputs import is_video
    from mdn.pose.video import VideoError
    if not is_video(args.input):
        return load_skeleton(args.input, fps=args.fps)
    try:  # a missing/corrupt video or one without a person: one clear line, no traceback
        return extract_skeleton(args.input, pose_backend_spec(args), stride=args.pose_stride,
                                progress=not args.no_progress)
    except VideoError as err:
        raise ValueError(str(err)) from None


def class_ids(names: Sequence[str], classes: Sequence[str]) -> List[int]:
    """Background classes given by name or id -> ids; unknown ones are an error."""
    ids = []
    for name in names:
        if name in classes:
            ids.append(list(classes).index(name))
        elif name.isdigit() and int(name) < len(classes):
            ids.append(int(name))
        else:
            raise ValueError(f'--background {name}: not a class of the checkpoint; classes: '
                             f'{list(classes)}')
    return ids


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
    index, values = top_k(windows.scores, k)
    names = list(windows.class_names)
    entities = list(windows.entity_names)
    header = ['start', 'end', 'person']
    for i in range(index.shape[1]):
        header += [f'top{i + 1}_label', f'top{i + 1}_score']
    header += [f'st_{e}' for e in entities]
    person = windows.extra.get('person_fraction', np.ones(len(windows.bounds)))
    rows = []
    for w, (start, end) in enumerate(windows.bounds):
        row = [round(start / windows.fps, 3), round(end / windows.fps, 3),
               round(float(person[w]), 3)]
        for i in range(index.shape[1]):
            scored = index[w, i] >= 0
            row += [names[index[w, i]] if scored else '', round(float(values[w, i]), 4)
                    if scored else '']
        row += [round(float(v), 4) if np.isfinite(v) else '' for v in
                windows.entity_weights[w, :, 0]]
        rows.append(row)
    return write_csv(path, header, rows)


def frame_captions(segments: Sequence[Segment], frames: np.ndarray, fps: float) -> List[str]:
    """``'12.3 s  label (0.83)'`` inside a segment, else ``'12.3 s  no micro-action'``."""
    captions = []
    for t in frames:
        current = next((s for s in segments if s.start_frame <= t < s.end_frame), None)
        what = f'{current.label_name} ({current.score:.2f})' if current else 'no micro-action'
        captions.append(f'{t / fps:6.1f} s  {what}')
    return captions


def write_overlay(args, skeleton: Skeleton, model, segments: Sequence[Segment]) -> List[str]:
    from mdn.visualization import SkeletonPainter, save_frame_png, write_skeleton_video
    first = min(int(args.overlay_start * skeleton.fps), skeleton.num_frames - 1)
    last = min(skeleton.num_frames, first + max(1, int(args.overlay_seconds * skeleton.fps)))
    frames_idx = np.arange(first, last)
    captions = frame_captions(segments, frames_idx, skeleton.fps)
    from_video = skeleton.source.lower().endswith(_video_exts())
    painter = SkeletonPainter(skeleton.keypoint, skeleton.keypoint_score, model.layout.name,
                              model.entity_names if hasattr(model, 'entity_names') else (),
                              img_shape=skeleton.img_shape if from_video else None,
                              max_side=args.overlay_size)
    written = []
    inside = [s for s in segments if s.start_frame < last and s.end_frame > first]
    snap = (inside[0].start_frame + inside[0].end_frame) // 2 if inside else (first + last) // 2
    snap = int(np.clip(snap, first, last - 1))
    snap_frame = _video_frame(skeleton, snap) if from_video else None
    written.append(save_frame_png(osp.join(args.out, 'overlay.png'), painter.draw(
        snap, snap_frame, captions[snap - first])))
    if args.overlay == 'mp4':
        frames = _video_frames(skeleton, first, last) if from_video else None
        written.append(write_skeleton_video(osp.join(args.out, 'overlay.mp4'), painter,
                                            frames_idx, skeleton.fps, captions, frames))
    return written


def _video_exts():
    from mdn.pose.inputs import VIDEO_EXTS
    return VIDEO_EXTS


def _video_frames(skeleton: Skeleton, first: int, last: int):
    """The video frames that match skeleton frames ``first..last-1`` (same stride)."""
    from itertools import islice

    from mdn.pose.video import iter_frames
    return islice(iter_frames(skeleton.source, skeleton.frame_stride), first, last)


def _video_frame(skeleton: Skeleton, t: int) -> Optional[np.ndarray]:
    return next(iter(_video_frames(skeleton, t, t + 1)), None)


# --------------------------------------------------------------------------- main
def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.threads:
        import torch
        torch.set_num_threads(args.threads)
    start = time.perf_counter()
    model = init_recognizer(args.config, args.checkpoint, args.device, args.cfg_options)
    classes = model.dataset_meta['classes']
    background = class_ids(args.background, classes)
    skeleton = read_input(args)
    loaded = time.perf_counter()
    windows = recognize_timeline(model, skeleton, window_s=args.window, stride_s=args.stride,
                                 batch_size=args.batch_size, progress=not args.no_progress)
    scored = time.perf_counter()
    segments = windows.segments(args.threshold, args.min_duration, args.max_gap, background)
    duration = skeleton.duration
    kept = [c for i, c in enumerate(classes) if i not in set(background)]
    summary = summarize(segments, duration, kept)
    files = write_results(args, skeleton, model, windows, segments, summary, background)
    elapsed = time.perf_counter() - start
    run = dict(wall_s=round(elapsed, 2), timeline_s=round(scored - loaded, 2),
               input_s=round(loaded - start, 2), windows=int(len(windows.bounds)),
               peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1))
    report = dict(input=args.input, config=args.config, checkpoint=args.checkpoint,
                  fps=skeleton.fps, num_frames=skeleton.num_frames, duration_s=round(duration, 3),
                  window_s=args.window, stride_s=args.stride, threshold=args.threshold,
                  min_duration_s=args.min_duration, max_gap_s=args.max_gap,
                  background=[classes[i] for i in background],
                  segments=[s.to_dict() for s in segments], summary=summary, run=run,
                  files=files)
    path = osp.join(args.out, 'segments.json')
    with atomic_write(path, 'w') as f:
        json.dump(report, f, indent=1)
    print(f'{skeleton.name}: {len(segments)} micro-action segments in {duration:.1f} s '
          f'({skeleton.num_frames} frames, {len(windows.bounds)} windows)')
    for row in summary:
        if row['count']:
            print(f'  {row["label"]}: {row["count"]} x, {row["total_s"]:.1f} s, '
                  f'{row["per_minute"]:.2f}/min')
    print(f'time {run["wall_s"]} s (timeline {run["timeline_s"]} s), '
          f'peak memory {run["peak_rss_mb"]} MB; results in {args.out}')
    return report


def write_results(args, skeleton: Skeleton, model, windows: WindowScores,
                  segments: Sequence[Segment], summary: Sequence[dict],
                  background: Sequence[int]) -> dict:
    from mdn.visualization import plot_timeline
    out = args.out
    files = dict(
        segments_csv=write_csv(osp.join(out, 'segments.csv'),
                               ['start', 'end', 'label', 'score', 'start_frame', 'end_frame'],
                               [[s.start, s.end, s.label_name, s.score, s.start_frame,
                                 s.end_frame] for s in segments]),
        summary_csv=write_csv(osp.join(out, 'summary.csv'), list(summary[0]) if summary
                              else ['label'], [list(r.values()) for r in summary]),
        windows_csv=write_windows(osp.join(out, 'windows.csv'), windows, args.topk))
    reference = read_reference(args.reference, skeleton.fps) if args.reference else ()
    files['timeline_png'] = plot_timeline(
        osp.join(out, 'timeline.png'), windows, segments, args.threshold, reference, background,
        title=f'{skeleton.name}: {len(segments)} micro-action segments')
    if args.overlay != 'none':
        overlay = write_overlay(args, skeleton, model, segments)
        files['overlay_png'] = overlay[0]
        if len(overlay) > 1:
            files['overlay_mp4'] = overlay[1]
    return files


if __name__ == '__main__':
    sys.exit(run_cli(main))
