"""Dataset converters: MA-52 (lists + videos) and iMiGUE (OpenPose JSON + labels CSV)."""
import csv
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from mdn.datasets.annotation_io import load_annotations, save_pickle_annotations
from mdn.evaluation.functional import ma52_fine_to_coarse

from .video_fixtures import MA52_DEMO, downscale_clip

TOOLS = Path(__file__).resolve().parents[2] / 'tools' / 'data'
IMIGUE_CSV = 'annotations/imigue/labels_20200831.csv'
MA52_LISTS = 'annotations/ma52'


def load_tool(name):
    spec = importlib.util.spec_from_file_location(name, TOOLS / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


imigue = load_tool('imigue_converter')
ma52 = load_tool('ma52_converter')


# ----------------------------------------------------------------------------- iMiGUE
def openpose_json(people):
    """An OpenPose 1.3 JSON document; ``people`` are ``[137, 3]`` arrays."""
    def numbers(a):
        return '[' + ','.join('%.9g' % v for v in a.ravel().tolist()) + ']'

    docs = []
    for p in people:
        docs.append('{"person_id":[-1],"pose_keypoints_2d":%s,"face_keypoints_2d":%s,'
                    '"hand_left_keypoints_2d":%s,"hand_right_keypoints_2d":%s}' % (
                        numbers(p[:25]), numbers(p[25:95]), numbers(p[95:116]),
                        numbers(p[116:])))
    return '{"version":1.3,"people":[%s]}' % ','.join(docs)


def test_imigue_protocol_tables():
    assert len(imigue.TRAIN_SUBJECTS) == 37 and len(imigue.TEST_SUBJECTS) == 35
    assert sorted(imigue.TRAIN_SUBJECTS + imigue.TEST_SUBJECTS) == list(range(1, 73))
    assert imigue.class_to_label(1) == 0 and imigue.class_to_label(31) == 30
    assert imigue.class_to_label(99) == 31 and len(imigue.CLASSES) == 32
    with pytest.raises(ValueError):
        imigue.class_to_label(32)


def test_imigue_split_sizes_match_the_protocol(shared_data):
    by_video = imigue.read_labels(str(shared_data / IMIGUE_CSV))
    sizes = {'train': 0, 'test': 0}
    for segments in by_video.values():
        for seg in segments:
            sizes[imigue.subject_split(seg['subject_id'])] += 1
    assert sizes == {'train': 13935, 'test': 4563}  # protocol PDF: 13,936 / 4,563


def test_imigue_round_trip_video_298(tmp_path, shared_data):
    """Every frame of video 298 -> OpenPose JSON -> converter == the 56 labelled segments."""
    full = np.load(shared_data / 'skeleton' / 'imigue_video298_full.npz')
    segments = np.load(shared_data / 'skeleton' / 'imigue_video298_segments.npz')
    keypoints, frame_index, num_people = full['keypoints'], full['frame_index'], full['num_people']
    folder = tmp_path / 'raw' / '298'
    folder.mkdir(parents=True)
    for kpt, t, n in zip(keypoints, frame_index, num_people):
        people = [kpt] if n else []
        if n > 1:  # a small, less confident second person listed first must not win
            people.insert(0, np.concatenate([kpt[:, :2] * 0.3, kpt[:, 2:] * 0.5], 1))
        (folder / f'298_{t:012d}_keypoints.json').write_text(openpose_json(people))
    out = tmp_path / 'imigue.pkl'
    assert imigue.main(['--json-root', str(tmp_path / 'raw'), '--labels',
                        str(shared_data / IMIGUE_CSV), '--out', str(out), '--videos', '298']) == 0
    clips, meta = load_annotations(str(out), 'train')  # subject 22 is a training subject
    assert load_annotations(str(out), 'test')[0] == []
    assert meta['keypoint_layout'] == 'openpose_137' and len(meta['classes']) == 32
    raw = segments['class_id_raw']
    assert len(clips) == len(raw) == 56
    assert [c['label'] for c in clips] == [31 if c == 99 else c - 1 for c in raw]
    assert [c['class_id_raw'] for c in clips] == raw.tolist()
    offsets, data = segments['offsets'], segments['data']
    for i, clip in enumerate(clips):
        expected = data[offsets[i]:offsets[i + 1]]
        assert clip['frame_dir'] == f'298_{i + 1}'
        assert (clip['start_frame'], clip['end_frame']) == tuple(segments['start_end_frame'][i])
        assert clip['total_frames'] == len(expected)
        assert np.array_equal(clip['keypoint'][0], expected[..., :2])
        assert np.array_equal(clip['keypoint_score'][0], expected[..., 2])


def test_imigue_reports_missing_frames_and_folders(tmp_path):
    labels = tmp_path / 'labels.csv'
    with open(labels, 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['video_id', 'label_id', 'start_time', 'start_frame', 'end_time',
                         'end_frame', 'class', 'subject_id', 'subject_gender',
                         'subject_nationality', 'win_or_lose'])
        writer.writerow([7, 1, 0, 2, 0, 5, 99, 3, 'F', 'X', 'Win'])
        writer.writerow([7, 2, 0, 10, 0, 11, 4, 3, 'F', 'X', 'Win'])
        writer.writerow([8, 1, 0, 0, 0, 3, 5, 2, 'M', 'X', 'Lose'])
    folder = tmp_path / 'raw' / '7'
    folder.mkdir(parents=True)
    person = np.ones((137, 3), np.float32)
    for t in (2, 3, 5):  # frame 4 missing; frames 10-11 missing entirely
        (folder / f'7_{t:012d}_keypoints.json').write_text(openpose_json([person * t]))
    out = tmp_path / 'out.pkl'
    problems = imigue.convert(str(tmp_path / 'raw'), str(labels), str(out))
    assert any('7_1: 1 of 4 frames have no JSON' in p for p in problems)
    assert any('7_2: no person' in p for p in problems)
    assert any(p.endswith('8: no OpenPose folder for this video (skipped 1 segments)')
               for p in problems)
    clips, _ = load_annotations(str(out), 'test')  # subject 3 is a test subject
    assert [c['frame_dir'] for c in clips] == ['7_1'] and clips[0]['label'] == 31
    assert clips[0]['keypoint'][0, :, 0, 0].tolist() == [2, 3, 0, 5]
    # the RGB stream reads the clip from its video, from the clip's first frame on
    assert (clips[0]['video'], clips[0]['video_frame_offset']) == ('7.mp4', 2)
    (folder / f'7_{6:012d}_keypoints.json').write_text('{"people": [')
    with pytest.raises(ValueError, match='not valid JSON'):
        imigue.read_frame(str(folder / f'7_{6:012d}_keypoints.json'))


# ----------------------------------------------------------------------------- MA-52
def test_ma52_official_lists(shared_data):
    lists = ma52.read_split_lists(str(shared_data / MA52_LISTS))
    assert {k: len(v) for k, v in lists.items()} == {'train': 11250, 'val': 5586}
    labels = [label for entries in lists.values() for _, label in entries]
    assert min(labels) == 0 and max(labels) == 51
    names = ma52.read_class_names(str(shared_data / MA52_LISTS))
    assert len(names) == 52 and names[0] == 'shaking body'


def test_ma52_from_existing_poses(tmp_path, shared_data):
    lists = ma52.read_split_lists(str(shared_data / MA52_LISTS))
    chosen = [lists['train'][0], lists['train'][5], lists['val'][0]]
    clips = [dict(frame_dir=Path(name).stem, label=-1, total_frames=4,
                  keypoint=np.zeros((1, 4, 133, 2), np.float32),
                  keypoint_score=np.ones((1, 4, 133), np.float32)) for name, _ in chosen]
    poses = tmp_path / 'poses.pkl'
    save_pickle_annotations(str(poses), clips, keypoint_layout='coco_wholebody_133')
    out = tmp_path / 'ma52.pkl'
    assert ma52.main(['--pose-ann', str(poses), '--list-dir', str(shared_data / MA52_LISTS),
                      '--out', str(out)]) == 0
    train, meta = load_annotations(str(out), 'train')
    val, _ = load_annotations(str(out), 'val')
    mapping = ma52_fine_to_coarse()
    assert [(c['frame_dir'], c['label']) for c in train + val] == [
        (Path(n).stem, label) for n, label in chosen]
    assert [c['body_label'] for c in train + val] == [mapping[label] for _, label in chosen]
    assert len(meta['classes']) == 52 and len(meta['body_classes']) == 7
    assert meta['keypoint_layout'] == 'coco_wholebody_133'


def test_ma52_from_videos(tmp_path, shared_data):
    """Demo clips under their official names, in synthetic lists with one missing video."""
    demo = sorted((shared_data / MA52_DEMO).glob('*.mp4'))
    root = tmp_path / 'videos'
    (root / 'train').mkdir(parents=True)
    downscale_clip(demo[0], root / '0030_01_0002.mp4', scale=0.4, max_frames=6)
    downscale_clip(demo[1], root / 'train' / '0078_01_0005.mp4', scale=0.4, max_frames=6)
    downscale_clip(demo[2], root / '0020_01_0008.mp4', scale=0.4, max_frames=3)
    lists = tmp_path / 'lists'
    lists.mkdir()
    (lists / 'train_list_videos.txt').write_text('0078_01_0005.mp4 9\n0099_01_0001.mp4 3\n')
    (lists / 'val_list_videos.txt').write_text('0030_01_0002.mp4 9\n')
    (lists / 'test_list_videos.txt').write_text('0030_01_0002.mp4\n')
    with pytest.raises(ValueError, match='listed in both val_list_videos.txt and test'):
        ma52.read_split_lists(str(lists))
    (lists / 'test_list_videos.txt').write_text('0020_01_0008.mp4\n')  # test labels withheld
    out = tmp_path / 'ma52.pkl'
    status = ma52.main(['--video-root', str(root), '--list-dir', str(lists), '--out', str(out),
                        '--backend', 'mediapipe', '--no-progress'])
    assert status == 1  # 0099_01_0001.mp4 does not exist: reported, the rest converted
    clips, meta = load_annotations(str(out))
    split = {k: load_annotations(str(out), k)[0] for k in ('train', 'val', 'test')}
    assert [c['frame_dir'] for c in split['train']] == ['0078_01_0005']
    assert [c['frame_dir'] for c in split['val']] == ['0030_01_0002']
    assert split['test'][0]['label'] == -1 and split['test'][0]['body_label'] == -1
    assert split['train'][0]['label'] == 9 and split['train'][0]['body_label'] == 1
    assert split['train'][0]['keypoint'].shape == (1, 6, 133, 2)
    # each clip's video, relative to the video root (the RGB stream's data_prefix)
    assert split['train'][0]['video'] == 'train/0078_01_0005.mp4'
    assert split['val'][0]['video'] == '0030_01_0002.mp4'
    assert meta['pose_backend'] == 'mediapipe' and meta['dataset'] == 'MA-52'
    assert json.loads((tmp_path / 'ma52_poses_parts' / 'settings.json').read_text())[
        'backend'] == 'mediapipe'
