"""MA-52: videos + official split lists -> one whole-body annotation file with split and labels.

    python tools/data/ma52_converter.py --video-root MA-52/videos --list-dir MA-52/annotations \\
        --out data/skeleton/ma52_wholebody.pkl [--backend mmpose --model rtmpose-m ...]
        [--workers 2] [--resume]
    python tools/data/ma52_converter.py --pose-ann poses.pkl --list-dir ... --out ...

The lists are ``train_list_videos.txt``, ``val_list_videos.txt`` and ``test_list_videos.txt``
(``PPPP_BB_NNNN.mp4 <label>``; the test list may come without labels, they get -1); the ones
present are used. A video is looked for at ``VIDEO_ROOT/<name>`` and ``VIDEO_ROOT/<split>/
<name>``. Poses are extracted with ``mdn.pose`` (resumable, failures reported), or taken from an
annotation file that ``tools/extract_pose.py`` already wrote (``--pose-ann``). Each clip gets
``label`` (52 actions) and ``body_label`` (7 body-level groups, the official mapping of
``mdn.evaluation.functional.ma52_fine_to_coarse``) and ``video`` (its video relative to the
video root, for the RGB stream: ``data_prefix=dict(video=ROOT)`` in an RGB config); the file
gets ``split`` and ``classes``.
"""
import argparse
import os.path as osp
import sys
from typing import Dict, List, Optional, Tuple

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mdn.datasets import annotation_io  # noqa: E402
from mdn.evaluation.functional import MA52_BODY_NAMES, ma52_fine_to_coarse  # noqa: E402
from mdn.pose.extract import extract_videos  # noqa: E402
from mdn.pose.inputs import VideoItem, parse_list_line  # noqa: E402

SPLITS = ('train', 'val', 'test')
NUM_CLASSES = 52


def read_split_lists(list_dir: str) -> Dict[str, List[Tuple[str, int]]]:
    """split -> [(video file name, label)] for each official list present in ``list_dir``."""
    lists = {}
    for split in SPLITS:
        path = osp.join(list_dir, f'{split}_list_videos.txt')
        if not osp.isfile(path):
            continue
        entries = []
        with open(path, encoding='utf-8') as f:
            for number, line in enumerate(f, 1):
                parsed = parse_list_line(line)
                if parsed is None:
                    continue
                if not -1 <= parsed[1] < NUM_CLASSES:
                    raise ValueError(f'{path}:{number}: label {parsed[1]} outside 0..51')
                entries.append(parsed)
        lists[split] = entries
    if not lists:
        raise FileNotFoundError(f'{list_dir}: none of {[s + "_list_videos.txt" for s in SPLITS]}')
    seen: Dict[str, str] = {}
    for split, entries in lists.items():
        for video, _ in entries:
            if video in seen:
                raise ValueError(f'{list_dir}: {video} is listed in both {seen[video]} and '
                                 f'{split}_list_videos.txt')
            seen[video] = f'{split}_list_videos.txt'
    return lists


def read_class_names(list_dir: str) -> Optional[Tuple[str, ...]]:
    """``label_name.txt`` (``id<TAB>name`` per line) when it is there."""
    path = osp.join(list_dir, 'label_name.txt')
    if not osp.isfile(path):
        return None
    with open(path, encoding='utf-8') as f:
        rows = [line.rstrip('\n').split('\t', 1) for line in f if line.strip()]
    return tuple(name for _, name in sorted(rows, key=lambda r: int(r[0])))


def locate(video_root: str, split: str, name: str) -> str:
    for candidate in (osp.join(video_root, name), osp.join(video_root, split, name)):
        if osp.isfile(candidate):
            return candidate
    return osp.join(video_root, name)  # reported as missing by the extraction


def build_items(video_root: str, lists: Dict[str, List[Tuple[str, int]]]
                ) -> Tuple[List[VideoItem], Dict[str, List[str]]]:
    items, split = [], {}
    for name, entries in lists.items():
        split[name] = []
        for video, label in entries:
            item = VideoItem(locate(video_root, name, video), label)
            items.append(item)
            split[name].append(item.name)
    return items, split


def video_field(video_root: Optional[str], split: str, name: str) -> str:
    """The clip's video relative to the video root (the RGB stream reads it): where it was
    found under ``video_root``, else the list's file name."""
    if video_root:
        return osp.relpath(locate(video_root, split, name), video_root)
    return name


def add_labels(annotations: List[dict], lists: Dict[str, List[Tuple[str, int]]],
               video_root: Optional[str] = None
               ) -> Tuple[List[dict], Dict[str, List[str]], List[str]]:
    """Set ``label`` / ``body_label`` from the lists and ``video`` (relative to the video
    root); keep clips in list order; report missing."""
    by_name = {a['frame_dir']: a for a in annotations}
    mapping = ma52_fine_to_coarse()
    clips, split, missing = [], {}, []
    for name, entries in lists.items():
        split[name] = []
        for video, label in entries:
            stem = osp.splitext(osp.basename(video))[0]
            if stem not in by_name:
                missing.append(f'{name}/{stem}')
                continue
            clip = dict(by_name[stem], label=int(label),
                        body_label=int(mapping[label]) if label >= 0 else -1)
            clip.setdefault('video', video_field(video_root, name, video))
            clips.append(clip)
            split[name].append(stem)
    return clips, split, missing


def finish(pose_file: str, out: str, lists, classes, video_root: Optional[str] = None
           ) -> List[str]:
    annotations, meta = annotation_io.load_pickle_annotations(pose_file)
    clips, split, missing = add_labels(annotations, lists, video_root)
    if not clips:
        raise RuntimeError(f'{pose_file}: none of the listed MA-52 videos has poses')
    meta.update(classes=classes or tuple(str(i) for i in range(NUM_CLASSES)),
                body_classes=MA52_BODY_NAMES, dataset='MA-52')
    annotation_io.save_pickle_annotations(out, clips, split=split, **meta)
    return missing


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--list-dir', required=True, help='folder with the *_list_videos.txt files')
    p.add_argument('--out', required=True)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument('--video-root', help='MA-52 video folder (extract poses now)')
    src.add_argument('--pose-ann', help='annotation file from tools/extract_pose.py')
    return p.parse_known_args(argv)


def main(argv=None) -> int:
    """Exit status; an input error or refusal is one ``error:`` line and 2 (``run_cli``)."""
    from mdn.apis.cli import run_cli
    return run_cli(lambda: convert(argv))


def convert(argv=None) -> int:
    args, extract_argv = parse_args(argv)
    lists = read_split_lists(args.list_dir)
    classes = read_class_names(args.list_dir)
    status = 0
    pose_file = args.pose_ann
    if args.video_root:
        # Remaining flags (--backend, --model, --workers, --resume, ...) go to extract_pose.
        sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
        import extract_pose
        items, _ = build_items(args.video_root, lists)
        options = extract_pose.parse_args([args.video_root, '--out', args.out] + extract_argv)
        if options.threads:
            import torch
            torch.set_num_threads(options.threads)
        pose_file = osp.splitext(args.out)[0] + '_poses.pkl'
        summary = extract_videos(items, extract_pose.backend_spec(options), pose_file,
                                 resume=options.resume, overwrite=options.overwrite,
                                 workers=options.workers,
                                 stride=options.stride, max_people=options.max_people,
                                 min_score=options.min_score, progress=not options.no_progress)
        print(summary.format())
        status = 1 if summary.failed else 0
        if summary.output is None:
            return 1
    elif extract_argv:
        raise SystemExit(f'unknown arguments with --pose-ann: {extract_argv}')
    missing = finish(pose_file, args.out, lists, classes, args.video_root)
    if missing:
        print(f'{len(missing)} listed videos have no poses, e.g. {missing[:5]}')
    print(f'written: {args.out} ({", ".join(f"{k}: {len(v)}" for k, v in lists.items())} '
          'listed)')
    return status


if __name__ == '__main__':
    sys.exit(main())
