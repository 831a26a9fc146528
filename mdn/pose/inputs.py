"""What to extract: one video, a folder of videos, or a list file (``path [label]`` per line)."""
import os
import os.path as osp
from collections import Counter
from dataclasses import dataclass
from typing import List, Optional

VIDEO_EXTS = ('.mp4', '.avi', '.mkv', '.mov', '.webm', '.m4v', '.mpg', '.mpeg', '.wmv', '.flv')


@dataclass(frozen=True)
class VideoItem:
    """A video to process; ``name`` becomes the clip's ``frame_dir`` (default: the file stem)."""
    path: str
    label: int = -1
    name: str = ''

    def __post_init__(self):
        if not self.name:
            object.__setattr__(self, 'name', osp.splitext(osp.basename(self.path))[0])
        if not self.name or '/' in self.name or self.name in ('.', '..'):
            raise ValueError(f'{self.path}: "{self.name}" cannot name a clip')


def is_video(path: str) -> bool:
    return path.lower().endswith(VIDEO_EXTS)


def parse_list_line(line: str) -> Optional[tuple]:
    """``(path, label)`` of one list line; None for blank or ``#`` lines; label -1 if absent."""
    line = line.strip()
    if not line or line.startswith('#'):
        return None
    parts = line.rsplit(maxsplit=1)
    if len(parts) == 2 and parts[1].lstrip('-').isdigit():
        return parts[0], int(parts[1])
    return line, -1


def read_list_file(path: str, video_root: Optional[str] = None) -> List[VideoItem]:
    """Items of a list file; relative paths are under ``video_root`` (default: its folder)."""
    root = video_root if video_root is not None else osp.dirname(osp.abspath(path))
    items = []
    with open(path, encoding='utf-8') as f:
        for number, line in enumerate(f, 1):
            try:
                parsed = parse_list_line(line)
            except ValueError as err:
                raise ValueError(f'{path}:{number}: {err}') from None
            if parsed is not None:
                video, label = parsed
                items.append(VideoItem(osp.join(root, video), label))
    return items


def find_videos(folder: str) -> List[VideoItem]:
    """Every video under ``folder`` (recursively), sorted by path."""
    found = []
    for directory, subdirs, files in os.walk(folder):
        subdirs.sort()
        found += [osp.join(directory, f) for f in sorted(files) if is_video(f)]
    return [VideoItem(p) for p in found]


def collect_videos(source: str, video_root: Optional[str] = None) -> List[VideoItem]:
    """Items from a video file, a folder or a list file (anything that is not a video)."""
    if osp.isdir(source):
        items = find_videos(source)
    elif is_video(source):
        items = [VideoItem(source)]  # a missing single video is reported like any other
    elif osp.isfile(source):
        items = read_list_file(source, video_root)
    else:
        raise FileNotFoundError(f'{source}: no such video, folder or list file')
    check_unique_names(items, source)
    return items


def check_unique_names(items: List[VideoItem], source: str = 'input') -> None:
    """Clip names key the partial results and the split; two videos may not share one."""
    counts = Counter(item.name for item in items)
    dupes = sorted(n for n, c in counts.items() if c > 1)
    if dupes:
        paths = [item.path for item in items if item.name in set(dupes[:3])]
        raise ValueError(f'{source}: {len(dupes)} clip names occur more than once, e.g. '
                         f'{dupes[:3]} ({paths}); give each video a unique file name')
