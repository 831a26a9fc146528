"""iMiGUE: OpenPose per-frame JSON + labels CSV -> one mmaction2/PYSKL annotation file.

    python tools/data/imigue_converter.py --json-root RAW --labels labels_20200831.csv \\
        --out data/skeleton/imigue_openpose.pkl [--videos 298 ...] [--workers 2]

RAW holds one folder per video id with OpenPose's ``<video>_<frame:012d>_keypoints.json``
(BODY_25 + face 70 + hands 2 x 21 = 137 keypoints, layout ``openpose_137``). Each labelled
micro-gesture becomes a clip of frames ``start_frame..end_frame`` (inclusive; the CSV's
frame numbers are the JSON frame numbers; each clip's ``video`` (``--video-template``) and
``video_frame_offset`` = start frame let the RGB stream read the same frames). Classes: CSV
ids 1-31 -> labels 0-30, 99 (not a listed micro-gesture) -> 31, the usual 32-class protocol.
Split: cross-subject, 37 training / 35 test subjects, the ids listed in the official protocol
(``evaluation_protocol.pdf``, section 1): 13,935 / 4,563 clips of the 18,498 in
``labels_20200831.csv`` (the PDF says 13,936 training samples; the CSV has one sample fewer in
total).

Frames with several people keep the one with the largest summed BODY_25 confidence (the
subject faces the camera, reporters behind are small and blurred). A missing JSON frame or a
frame without people stays zero (score 0); a clip without any person is reported and skipped.
"""
import argparse
import csv
import json
import os
import os.path as osp
import re
import sys
from collections import defaultdict
from multiprocessing import get_context
from typing import Dict, List, Optional, Tuple

import numpy as np

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mdn.datasets.annotation_io import save_pickle_annotations  # noqa: E402

NUM_KEYPOINTS = 137
PARTS = (('pose_keypoints_2d', 25), ('face_keypoints_2d', 70), ('hand_left_keypoints_2d', 21),
         ('hand_right_keypoints_2d', 21))
TRAIN_SUBJECTS = (2, 4, 5, 6, 9, 10, 12, 13, 14, 15, 17, 18, 20, 21, 22, 23, 25, 28, 29, 30, 31,
                  35, 36, 38, 39, 41, 42, 43, 44, 46, 47, 48, 52, 53, 59, 61, 62)
TEST_SUBJECTS = (1, 3, 7, 8, 11, 16, 19, 24, 26, 27, 32, 33, 34, 37, 40, 45, 49, 50, 51, 54, 55,
                 56, 57, 58, 60, 63, 64, 65, 66, 67, 68, 69, 70, 71, 72)
OTHER_CLASS_ID = 99
NUM_CLASSES = 32
CLASSES = tuple(f'MG{i}' for i in range(1, 32)) + ('non-MG (99)',)
VIDEO_TEMPLATE = '{video_id}.mp4'  # a video id's file under the video root (RGB stream)
FRAME_RE = re.compile(r'_(\d+)_keypoints\.json$')


def class_to_label(class_id: int) -> int:
    """CSV class id -> 0-based label of the 32-class protocol."""
    if class_id == OTHER_CLASS_ID:
        return NUM_CLASSES - 1
    if not 1 <= class_id <= NUM_CLASSES - 1:
        raise ValueError(f'iMiGUE class id {class_id} is neither 1-31 nor 99')
    return class_id - 1


def subject_split(subject_id: int) -> str:
    if subject_id in TRAIN_SUBJECTS:
        return 'train'
    if subject_id in TEST_SUBJECTS:
        return 'test'
    raise ValueError(f'subject {subject_id} is in neither split of the iMiGUE protocol')


def read_labels(path: str) -> Dict[int, List[dict]]:
    """video id -> its labelled segments (ints), in CSV order."""
    by_video: Dict[int, List[dict]] = defaultdict(list)
    with open(path, encoding='utf-8', newline='') as f:
        for line, row in enumerate(csv.DictReader(f), 2):
            try:
                seg = {k: int(row[k]) for k in ('video_id', 'label_id', 'start_frame',
                                                'end_frame', 'class', 'subject_id')}
            except (KeyError, ValueError) as err:
                raise ValueError(f'{path}:{line}: bad row {row}: {err}') from None
            if seg['end_frame'] < seg['start_frame']:
                raise ValueError(f'{path}:{line}: end_frame < start_frame')
            by_video[seg['video_id']].append(seg)
    return dict(by_video)


def person_array(person: dict) -> np.ndarray:
    """``[137, 3]`` (x, y, confidence) of one OpenPose person."""
    parts = []
    for key, count in PARTS:
        values = np.asarray(person.get(key) or [], np.float32)
        if values.size == 0:
            values = np.zeros(count * 3, np.float32)
        if values.size != count * 3:
            raise ValueError(f'{key} has {values.size} values, expected {count * 3}')
        parts.append(values.reshape(count, 3))
    return np.concatenate(parts)


def read_frame(path: str) -> np.ndarray:
    """The main person of one OpenPose JSON file, ``[137, 3]`` (zeros if nobody)."""
    with open(path, encoding='utf-8') as f:
        try:
            people = json.load(f).get('people') or []
        except json.JSONDecodeError as err:
            raise ValueError(f'{path}: not valid JSON: {err}') from None
    if not people:
        return np.zeros((NUM_KEYPOINTS, 3), np.float32)
    try:
        arrays = [person_array(p) for p in people]
    except ValueError as err:
        raise ValueError(f'{path}: {err}') from None
    return max(arrays, key=lambda a: float(a[:25, 2].sum()))


def index_frames(folder: str) -> Dict[int, str]:
    """frame number -> JSON path in one video folder."""
    frames = {}
    for name in os.listdir(folder):
        match = FRAME_RE.search(name)
        if match:
            frames[int(match.group(1))] = osp.join(folder, name)
    return frames


def convert_video(args: Tuple[str, List[dict], Optional[Tuple[int, int]], float, str]
                  ) -> Tuple[List[dict], List[str]]:
    """Clips of one video and the problems found;
    ``args = (folder, segments, shape, fps, video_template)``."""
    folder, segments, img_shape, fps, video_template = args
    if not osp.isdir(folder):
        return [], [f'{folder}: no OpenPose folder for this video (skipped '
                    f'{len(segments)} segments)']
    frames = index_frames(folder)
    needed = sorted({t for s in segments for t in range(s['start_frame'], s['end_frame'] + 1)})
    cache = {t: read_frame(frames[t]) for t in needed if t in frames}
    clips, problems = [], []
    for seg in segments:
        span = range(seg['start_frame'], seg['end_frame'] + 1)
        data = np.stack([cache.get(t, np.zeros((NUM_KEYPOINTS, 3), np.float32)) for t in span])
        name = f'{seg["video_id"]}_{seg["label_id"]}'
        if not (data[..., 2] > 0).any():
            problems.append(f'{name}: no person in frames {span.start}-{span.stop - 1} of '
                            f'{folder}')
            continue
        missing = sum(t not in frames for t in span)
        if missing:
            problems.append(f'{name}: {missing} of {len(span)} frames have no JSON (kept as '
                            'zeros)')
        clip = dict(frame_dir=name, label=class_to_label(seg['class']),
                    total_frames=len(span), fps=fps, keypoint=data[None, ..., :2].copy(),
                    keypoint_score=data[None, ..., 2].copy(), video_id=seg['video_id'],
                    subject_id=seg['subject_id'], class_id_raw=seg['class'],
                    start_frame=seg['start_frame'], end_frame=seg['end_frame'],
                    video=video_template.format(video_id=seg['video_id']),
                    video_frame_offset=seg['start_frame'])
        if img_shape is not None:
            clip['img_shape'] = clip['original_shape'] = tuple(img_shape)
        clips.append(clip)
    return clips, problems


def convert(json_root: str, labels: str, out: str, videos: Optional[List[int]] = None,
            workers: int = 1, img_shape: Optional[Tuple[int, int]] = None, fps: float = 25.0,
            video_template: str = VIDEO_TEMPLATE) -> List[str]:
    """Write ``out``; returns the problems found (missing folders or frames, empty clips)."""
    by_video = read_labels(labels)
    if videos:
        unknown = sorted(set(videos) - set(by_video))
        if unknown:
            raise ValueError(f'{labels}: no labelled segments for video ids {unknown}')
        by_video = {v: by_video[v] for v in videos}
    jobs = [(osp.join(json_root, str(v)), segs, img_shape, fps, video_template)
            for v, segs in sorted(by_video.items())]
    if workers > 1:
        with get_context('spawn').Pool(workers) as pool:
            results = pool.map(convert_video, jobs)
    else:
        results = [convert_video(job) for job in jobs]
    clips = [c for r in results for c in r[0]]
    problems = [p for r in results for p in r[1]]
    if not clips:
        raise RuntimeError(f'{json_root}: no clip could be built; problems: {problems[:5]}')
    split = {'train': [], 'test': []}
    for clip in clips:
        split[subject_split(clip['subject_id'])].append(clip['frame_dir'])
    save_pickle_annotations(out, clips, split=split, classes=CLASSES,
                            keypoint_layout='openpose_137', dataset='iMiGUE')
    return problems


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--json-root', required=True, help='folder with one subfolder per video id')
    p.add_argument('--labels', required=True, help='labels_20200831.csv')
    p.add_argument('--out', required=True, help='output .pkl')
    p.add_argument('--videos', type=int, nargs='+', help='only these video ids')
    p.add_argument('--workers', type=int, default=1)
    p.add_argument('--img-shape', type=int, nargs=2, metavar=('H', 'W'),
                   help='frame size to store as img_shape (OpenPose JSON does not record it)')
    p.add_argument('--fps', type=float, default=25.0)
    p.add_argument('--video-template', default=VIDEO_TEMPLATE,
                   help='file of a video id under the video root, stored as each clip\'s '
                   '"video" for the RGB stream (default: %(default)s)')
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    problems = convert(args.json_root, args.labels, args.out, args.videos, args.workers,
                       args.img_shape, args.fps, args.video_template)
    for problem in problems[:50]:
        print('WARNING', problem)
    if len(problems) > 50:
        print(f'... and {len(problems) - 50} more problems')
    print(f'written: {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
