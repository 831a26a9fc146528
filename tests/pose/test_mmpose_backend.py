"""The MMPose backend with random weights: import compatibility, batching, box tracking.

No weights can be downloaded here, so these tests check the plumbing (shapes, batching equal to
mmpose's own per-frame inference, which box each frame gets), not keypoint quality.
"""
import os.path as osp
import sys

import numpy as np
import pytest
from mmengine.registry import DefaultScope

from mdn.pose import mmpose_compat
from mdn.pose.backends.mmpose_backend import MMPoseBackend
from mdn.pose.backends.mmpose_models import POSE_MODELS, resolve_pose_model
from mdn.pose.tracking import expand_box, keypoint_box

from .video_fixtures import moving_box_frames


@pytest.fixture(scope='module')
def backend(tiny_pose_config):
    return MMPoseBackend(tiny_pose_config, checkpoint=None, detector=None, batch_size=4)


@pytest.fixture(scope='module')
def rtmpose_m():
    """The default model, random weights."""
    return MMPoseBackend('rtmpose-m', checkpoint=None, detector=None, batch_size=4)


def test_mmpose_imports_without_leaving_stand_ins(backend):
    assert 'mmpose.apis' in sys.modules
    stubs = [n for n, m in sys.modules.items() if '__mdn_stub__' in getattr(m, '__dict__', {})]
    assert stubs == []
    if not mmpose_compat.mmcv_ops_available():  # mmcv-lite: the real import still fails
        with pytest.raises(ImportError):
            import mmcv.ops  # noqa: F401
        assert not mmpose_compat.detector_available()
        from mmpose.models.heads.transformer_heads import edpose_head
        with pytest.raises(RuntimeError, match='full mmcv'):
            edpose_head.MultiScaleDeformableAttention()


def test_model_table_points_at_shipped_configs():
    for name in POSE_MODELS:
        config, url = resolve_pose_model(name, 'default')
        assert osp.isfile(config), config
        assert url.startswith('https://download.openmmlab.com/')
    assert resolve_pose_model('rtmw-m', None)[1] is None
    assert resolve_pose_model('rtmpose-m', '/my/weights.pth')[1] == '/my/weights.pth'
    with pytest.raises(ValueError, match='unknown model'):
        resolve_pose_model('no-such-model')


def test_batched_equals_mmpose_per_frame_inference(rtmpose_m):
    backend = rtmpose_m
    assert backend.model.test_cfg['flip_test'] is False
    frames = moving_box_frames(3, 160, 120)
    boxes = [np.array([10, 5, 90, 110], np.float32) + 3 * i for i in range(3)]
    kpt, score = backend.estimate(frames, boxes)
    assert kpt.shape == (3, 133, 2) and score.shape == (3, 133)
    apis = mmpose_compat.import_mmpose()
    with DefaultScope.overwrite_default_scope('mmpose'):  # inference_topdown sets the scope
        for frame, box, k in zip(frames, boxes, kpt):
            ref = apis.inference_topdown(backend.model, frame, box[None])[0].pred_instances
            np.testing.assert_allclose(k, ref.keypoints[0], rtol=1e-5, atol=1e-3)


def test_building_a_backend_leaves_the_default_scope_alone(tiny_pose_config):
    before = DefaultScope.get_current_instance()
    MMPoseBackend(tiny_pose_config, checkpoint=None, detector=None)
    after = DefaultScope.get_current_instance()
    assert (before and before.scope_name) == (after and after.scope_name)


def test_same_seed_gives_the_same_random_model(rtmpose_m):
    again = MMPoseBackend('rtmpose-m', checkpoint=None, detector=None, seed=0)
    for (name, a), b in zip(rtmpose_m.model.state_dict().items(),
                            again.model.state_dict().values()):
        assert np.array_equal(a.numpy(), b.numpy()), name


def test_box_tracking_without_detector(backend, monkeypatch):
    frames = moving_box_frames(10, 160, 120)
    calls = []
    estimate = backend.estimate

    def spy(frames_, boxes_):
        out = estimate(frames_, boxes_)
        calls.append((len(frames_), [b.copy() for b in boxes_], out))
        return out

    monkeypatch.setattr(backend, 'estimate', spy)
    pose = backend.process_video(iter(frames), 160, 120)
    assert pose.keypoint.shape == (1, 10, 133, 2) and pose.keypoint_score.shape == (1, 10, 133)
    assert [n for n, _, _ in calls] == [1, 4, 4, 2]  # probe, then batches of 4 frames
    assert calls[0][1][0].tolist() == [0, 0, 160, 120]  # the probe sees the whole frame
    for (_, _, (kpt, score)), (_, boxes, _) in zip(calls[1:], calls[2:]):
        # each batch uses the box spanned by the previous batch's keypoints (or the frame)
        expected = keypoint_box(kpt, score, backend.kpt_thr)
        expected = ([0, 0, 160, 120] if expected is None
                    else expand_box(expected, 0.1, 160, 120).tolist())
        area = (expected[2] - expected[0]) * (expected[3] - expected[1])
        if area < 0.01 * 160 * 120:
            expected = [0, 0, 160, 120]
        assert all(np.allclose(b, expected) for b in boxes)


def test_detector_tracks_keep_the_main_person(backend):
    """A stand-in detector (any callable works) gives a large central and a small side person."""
    width, height = 320, 240
    main, side = [100, 40, 220, 235, 0.9], [2, 150, 40, 230, 0.95]

    def detector(frames):
        return [np.array([side, main] if t != 2 else [], np.float32).reshape(-1, 5)
                for t in range(len(frames))]

    tracked = MMPoseBackend.__new__(MMPoseBackend)
    tracked.__dict__.update(backend.__dict__, detector=detector, batch_size=8)
    frames = moving_box_frames(4, width, height)
    one = tracked.process_video(iter(frames), width, height, max_people=1)
    two = tracked.process_video(iter(frames), width, height, max_people=2)
    assert one.keypoint.shape == (1, 4, 133, 2) and two.keypoint.shape == (2, 4, 133, 2)
    np.testing.assert_allclose(two.keypoint[0], one.keypoint[0])
    assert (one.keypoint_score[0, 2] == 0).all()  # frame 2: no detection, no pose
    # the kept person's keypoints come from the main box's crop (padded 1.25x by mmpose)
    kpt = one.keypoint[0, [0, 1, 3]]
    cx, cy, half_w, half_h = 160, 137.5, 1.25 * 120 / 2, 1.25 * 195 / 2
    assert (np.abs(kpt[..., 0] - cx) <= half_w * 1.6 + 1).all()
    assert (np.abs(kpt[..., 1] - cy) <= half_h + 1).all()
