"""Decoding, inputs, box tracking and partial results of mdn.pose (fast, no pose model)."""
import numpy as np
import pytest

from mdn.pose.inputs import VideoItem, collect_videos, parse_list_line
from mdn.pose.parts import PartStore, parts_dir_for
from mdn.pose.tracking import (IoUTracker, KeypointBoxTracker, Track, box_iou, keypoint_box,
                               select_tracks, tracks_to_arrays)
from mdn.pose.video import VideoError, iter_frames, prefetch, probe_video

from .video_fixtures import moving_box_frames, write_corrupt, write_video


def test_iter_frames_stride_and_probe(tmp_path):
    path = write_video(tmp_path / 'a.mp4', moving_box_frames(7, 64, 48))
    info = probe_video(str(path))
    assert (info.width, info.height, info.frame_count) == (64, 48, 7)
    assert len(list(iter_frames(str(path)))) == 7
    assert len(list(iter_frames(str(path), stride=3))) == 3  # frames 0, 3, 6
    assert len(list(prefetch(iter_frames(str(path), stride=2), size=2))) == 4


def test_unusable_videos_name_the_file(tmp_path):
    with pytest.raises(VideoError, match='missing.mp4: no such file'):
        list(iter_frames(str(tmp_path / 'missing.mp4')))
    bad = write_corrupt(tmp_path / 'bad.mp4')
    with pytest.raises(VideoError, match='bad.mp4: OpenCV cannot open'):
        probe_video(str(bad))
    empty = write_video(tmp_path / 'empty.avi', [])  # an AVI header, zero frames
    with pytest.raises(VideoError, match='empty.avi'):
        list(prefetch(iter_frames(str(empty))))


def test_collect_videos_folder_list_and_duplicates(tmp_path):
    (tmp_path / 'sub').mkdir()
    for name in ('b.mp4', 'a.mp4', 'sub/c.avi', 'notes.txt'):
        (tmp_path / name).write_bytes(b'x')
    assert [i.name for i in collect_videos(str(tmp_path))] == ['a', 'b', 'c']
    lst = tmp_path / 'list.txt'
    lst.write_text('# comment\na.mp4 3\nsub/c.avi\n\nmy video.mp4 7\n')
    items = collect_videos(str(lst))
    assert [(i.name, i.label) for i in items] == [('a', 3), ('c', -1), ('my video', 7)]
    assert items[0].path == str(tmp_path / 'a.mp4')
    assert parse_list_line('x.mp4 -1') == ('x.mp4', -1)
    (tmp_path / 'dup').mkdir()
    (tmp_path / 'dup' / 'a.mp4').write_bytes(b'x')
    with pytest.raises(ValueError, match='more than once'):
        collect_videos(str(tmp_path))
    with pytest.raises(FileNotFoundError, match='nowhere'):
        collect_videos(str(tmp_path / 'nowhere'))


def test_keypoint_box_tracker_follows_and_resets():
    tracker = KeypointBoxTracker(200, 100, score_thr=0.3, margin=0.0)
    assert tracker.box.tolist() == [0, 0, 200, 100]
    kpt = np.array([[50, 20], [80, 20], [50, 60], [80, 60], [0, 0]], np.float32)
    score = np.array([0.9, 0.9, 0.9, 0.9, 0.0], np.float32)
    assert tracker.update(kpt, score).tolist() == [50, 20, 80, 60]
    tracker.update(kpt, np.zeros(5, np.float32))  # person lost -> whole frame again
    assert tracker.box.tolist() == [0, 0, 200, 100]
    assert keypoint_box(kpt, score, 0.95) is None


def test_iou_tracks_keep_the_main_person():
    width, height = 640, 480
    tracker = IoUTracker(iou_thr=0.3)
    main = np.array([200, 100, 440, 470], np.float32)    # large, central
    side = np.array([0, 300, 80, 470], np.float32)       # small, in a corner
    for t in range(6):
        boxes = [side + [t, 0, t, 0], main + [2 * t, 0, 2 * t, 0]]
        ids = tracker.update(t, np.stack(boxes))
        for i, box in zip(ids, boxes):
            tracker.tracks[i].payload[t] = (np.full((3, 2), box[0]), np.full(3, 0.9))
    assert len(tracker.tracks) == 2
    best = select_tracks(tracker.tracks, width, height, 1)
    assert best[0].boxes[0].tolist() == main.tolist()
    kpt, score = tracks_to_arrays(select_tracks(tracker.tracks, width, height, 2), 8, 3)
    assert kpt.shape == (2, 8, 3, 2) and score.shape == (2, 8, 3)
    assert kpt[0, 5, 0, 0] == main[0] + 10 and kpt[1, 5, 0, 0] == side[0] + 5
    assert (score[:, 6:] == 0).all()  # frames without a pose stay missing
    assert box_iou(main, main)[0, 0] == pytest.approx(1.0)
    assert tracks_to_arrays([], 4, 3)[0].shape == (1, 4, 3, 2)
    assert Track(0, {3: main}).last_frame == 3


def test_parts_refuse_resume_with_other_settings(tmp_path):
    out = tmp_path / 'poses.pkl'
    store = PartStore(parts_dir_for(str(out)))
    assert store.directory.endswith('poses_parts')
    store.prepare(dict(backend='mediapipe', stride=1), resume=False)
    store.save('clip', dict(frame_dir='clip', keypoint=np.zeros((1, 2, 133, 2), np.float32)))
    assert store.has('clip') and store.load('clip')['frame_dir'] == 'clip'
    store.prepare(dict(backend='mediapipe', stride=1), resume=True)
    assert store.has('clip')
    with pytest.raises(ValueError, match='stride'):
        store.prepare(dict(backend='mediapipe', stride=2), resume=True)
    with pytest.raises(ValueError, match='1 finished videos'):  # never deleted silently
        store.prepare(dict(backend='mediapipe', stride=2), resume=False)
    assert store.has('clip')
    store.prepare(dict(backend='mediapipe', stride=2), resume=False, overwrite=True)  # start over
    assert not store.has('clip')


def test_video_item_name_checks():
    assert VideoItem('/x/0003_01_0001.mp4').name == '0003_01_0001'
    with pytest.raises(ValueError):
        VideoItem('/x/clip.mp4', name='a/b')
