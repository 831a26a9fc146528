"""The offline MediaPipe Holistic backend: landmark mapping, and real keypoints on real video.

The six MA-52 demo clips (one seated person each) run once, every second frame (to keep the
suite fast; Holistic still tracks at 15 fps), in one batch together with a corrupt file, a
truncated copy, a missing path and a video without a person.
"""
from pathlib import Path

import cv2
import numpy as np
import pytest

from mdn.datasets.annotation_io import load_annotations
from mdn.pose.extract import extract_videos, person_found
from mdn.pose.inputs import VideoItem
from mdn.pose.mediapipe_to_coco_wholebody import FACE68_FROM_FACEMESH, holistic_to_coco_wholebody

from ..conftest import require_shared
from .video_fixtures import (MA52_DEMO, downscale_clip, moving_box_frames, write_corrupt,
                             write_truncated, write_video)

L_WRIST, R_WRIST, L_HAND, R_HAND = 9, 10, 91, 112
STRIDE = 2


def test_mapping_onto_coco_wholebody():
    pose = np.zeros((33, 4), np.float32)
    pose[:, 0] = np.arange(33) / 100   # x encodes the BlazePose index
    pose[:, 3] = 0.8
    face = np.zeros((468, 3), np.float32)
    face[:, 1] = np.arange(468) / 1000
    hand = np.tile(np.arange(21, dtype=np.float32)[:, None] / 100, (1, 3))
    kpt, score = holistic_to_coco_wholebody(pose, face, hand, None, width=100, height=1000)
    assert kpt.shape == (133, 2) and score.shape == (133,)
    assert kpt[L_WRIST, 0] == pytest.approx(15) and kpt[R_WRIST, 0] == pytest.approx(16)
    assert kpt[11, 0] == pytest.approx(23) and kpt[17, 0] == pytest.approx(31)  # hip, big toe
    assert score[18] == 0 and score[21] == 0 and score[0] == pytest.approx(0.8)  # small toes
    assert kpt[23 + 30, 1] == pytest.approx(4) and kpt[23 + 8, 1] == pytest.approx(152)
    assert len(set(FACE68_FROM_FACEMESH)) == 68
    assert kpt[L_HAND + 20, 0] == pytest.approx(20) and (score[L_HAND:L_HAND + 21] == 1).all()
    assert (score[R_HAND:] == 0).all() and (kpt[R_HAND:] == 0).all()  # right hand not found
    kpt, score = holistic_to_coco_wholebody(None, None, None, None, 10, 10)
    assert not score.any()


@pytest.fixture(scope='module')
def demo_run(tmp_path_factory):
    """Extract the six demo clips plus four bad inputs once; (summary, clips, videos)."""
    videos = sorted(require_shared(MA52_DEMO).glob('*.mp4'))
    assert len(videos) == 6, videos
    tmp = tmp_path_factory.mktemp('mediapipe')
    bad = [write_corrupt(tmp / 'corrupt.mp4'), write_truncated(videos[0], tmp / 'truncated.mp4'),
           tmp / 'missing.mp4', write_video(tmp / 'no_person.mp4', moving_box_frames(6))]
    items = [VideoItem(str(v), label=i) for i, v in enumerate(videos[:3])]
    items += [VideoItem(str(p)) for p in bad]
    items += [VideoItem(str(v), label=i + 3) for i, v in enumerate(videos[3:])]
    out = tmp / 'demo.pkl'
    summary = extract_videos(items, dict(type='mediapipe'), str(out), stride=STRIDE,
                             progress=False)
    clips, meta = load_annotations(str(out))
    return summary, clips, meta, videos


def test_batch_reports_and_skips_bad_videos(demo_run):
    summary, clips, meta, videos = demo_run
    failed = {f.name: f.reason for f in summary.failed}
    assert sorted(failed) == ['corrupt', 'missing', 'no_person', 'truncated']
    assert 'cannot open' in failed['corrupt'] and 'no such file' in failed['missing']
    assert 'no person found' in failed['no_person']
    assert 'FAILED corrupt' in summary.format()
    assert [c['frame_dir'] for c in clips] == [v.stem for v in videos]  # input order kept
    assert [c['label'] for c in clips] == list(range(6))
    assert meta['keypoint_layout'] == 'coco_wholebody_133' and meta['pose_backend'] == 'mediapipe'


def test_person_found_in_95_percent_of_frames(demo_run):
    _, clips, _, videos = demo_run
    found = total = 0
    for clip, video in zip(clips, videos):
        cap = cv2.VideoCapture(str(video))
        num_frames = -(-int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) // STRIDE)
        cap.release()
        assert clip['keypoint'].shape == (1, num_frames, 133, 2)
        assert clip['keypoint_score'].shape == (1, num_frames, 133)
        assert clip['img_shape'] == (1296, 1080)
        assert clip['fps'] == pytest.approx(30 / STRIDE, abs=0.1)
        hits = person_found(clip['keypoint_score'], 0.3)[0]
        assert hits.mean() >= 0.9, (clip['frame_dir'], hits.mean())
        found, total = found + hits.sum(), total + hits.size
    assert found / total >= 0.95, found / total


def test_keypoints_lie_on_the_person(demo_run):
    _, clips, _, _ = demo_run
    for clip in clips:
        kpt, score = clip['keypoint'][0], clip['keypoint_score'][0]
        ok = person_found(score[None], 0.3)[0]
        kpt, score = kpt[ok], score[ok]
        shoulder_w = np.median(np.linalg.norm(kpt[:, 5] - kpt[:, 6], axis=-1))
        shoulder_y = kpt[:, 5:7, 1].mean(1)
        assert shoulder_w > 50, clip['frame_dir']
        # face above the shoulders: nose, eyes, ears and every detected face-68 point
        assert (kpt[:, 0:5, 1].max(1) < shoulder_y).mean() > 0.95, clip['frame_dir']
        has_face = score[:, 23] > 0
        if has_face.any():
            assert (kpt[has_face, 23:91, 1].mean(1) < shoulder_y[has_face]).all()
        # each detected hand sits at its own wrist (and left/right are not swapped)
        for own, other, root in ((L_WRIST, R_WRIST, L_HAND), (R_WRIST, L_WRIST, R_HAND)):
            seen = score[:, root] > 0
            if seen.sum() < 3:
                continue
            d_own = np.linalg.norm(kpt[seen, root] - kpt[seen, own], axis=-1)
            d_other = np.linalg.norm(kpt[seen, root] - kpt[seen, other], axis=-1)
            assert np.median(d_own) < 0.5 * shoulder_w, clip['frame_dir']
            apart = np.linalg.norm(kpt[seen, own] - kpt[seen, other], axis=-1) > 0.3 * shoulder_w
            if apart.sum() >= 3:  # hands clasped together say nothing about left/right
                assert (d_own[apart] < d_other[apart]).mean() > 0.9, clip['frame_dir']
        # all scored points inside the frame (small tolerance for points at the border)
        h, w = clip['img_shape']
        pts = kpt[score > 0.5]
        assert (pts[:, 0] > -0.05 * w).all() and (pts[:, 0] < 1.05 * w).all()
        assert (pts[:, 1] > -0.05 * h).all() and (pts[:, 1] < 1.05 * h).all()


def test_workers_match_a_single_process(tmp_path, shared_data):
    videos = sorted((shared_data / MA52_DEMO).glob('*.mp4'))[:2]
    small = [downscale_clip(v, tmp_path / f'{v.stem}.mp4', scale=0.4, max_frames=4)
             for v in videos]
    items = [VideoItem(str(p)) for p in small]
    one = extract_videos(items, dict(type='mediapipe'), str(tmp_path / 'one.pkl'),
                         progress=False)
    two = extract_videos(items, dict(type='mediapipe'), str(tmp_path / 'two.pkl'),
                         workers=2, progress=False)
    assert not one.failed and not two.failed and sorted(two.done) == sorted(one.done)
    a, _ = load_annotations(str(tmp_path / 'one.pkl'))
    b, _ = load_annotations(str(tmp_path / 'two.pkl'))
    assert [c['frame_dir'] for c in b] == [Path(p).stem for p in small]
    for x, y in zip(a, b):
        np.testing.assert_allclose(x['keypoint'], y['keypoint'], atol=1e-3)
