import numpy as np
import pytest

from mdn.datasets.transforms import (FlipTestClips, GenSkeletonFeatures, JointDropout, NormalizeSkeleton,
                                     PackMicroActionInputs, RandomAffine2D, RandomFlip,
                                     RandomRotate3D, UniformSampleFrames)
from mdn.layouts import get_layout

from .helpers import random_clip


def clip(**kw):
    c = random_clip(**kw)
    c['layout'] = 'coco_17'
    return c


def test_normalize_centres_on_mid_shoulder_and_scales():
    c = clip(num_frames=5)
    kp = c['keypoint']
    kp[..., 5, :] = [100, 200]   # left shoulder
    kp[..., 6, :] = [300, 200]   # right shoulder
    kp[..., 11, :] = [100, 300]  # hips 100 px below: torso 100 < shoulder width 200
    kp[..., 12, :] = [300, 300]
    out = NormalizeSkeleton(scale_by='max')(c)['keypoint']
    np.testing.assert_allclose(out[0, 0, 5], [-0.5, 0.0], atol=1e-6)
    np.testing.assert_allclose(out[0, 0, 6], [0.5, 0.0], atol=1e-6)
    np.testing.assert_allclose(out[0, 0, 11], [-0.5, 0.5], atol=1e-6)


def test_normalize_zeroes_missing_joints():
    c = clip(num_frames=4)
    c['keypoint_score'][0, 1, 3] = 0
    out = NormalizeSkeleton()(c)
    assert (out['keypoint'][0, 1, 3] == 0).all()
    with pytest.raises(ValueError, match='scale_by'):
        NormalizeSkeleton(scale_by='head')


@pytest.mark.parametrize('num_frames', [1, 7, 32, 100])
def test_uniform_sampling_shapes_and_order(num_frames):
    c = clip(num_frames=num_frames)
    out = UniformSampleFrames(clip_len=16, num_clips=2, test_mode=True)(c)
    assert out['keypoint'].shape == (1, 32, 17, 2)
    inds = out['frame_inds'].reshape(2, 16)
    assert (np.diff(inds, axis=1) >= 0).all() and inds.max() < num_frames
    if num_frames >= 16:
        assert len(np.unique(inds[0])) == 16  # spread over the clip, no repeats
    # test mode is repeatable, train mode is random
    again = UniformSampleFrames(clip_len=16, num_clips=2, test_mode=True)(clip(
        num_frames=num_frames))
    assert (again['frame_inds'] == out['frame_inds']).all()


def test_uniform_sampling_crop_keeps_one_window_in_training_only():
    np.random.seed(0)
    sampler = UniformSampleFrames(clip_len=8, crop_ratio=(0.5, 0.5))
    spans = []
    for _ in range(20):
        inds = sampler(clip(num_frames=100))['frame_inds']
        assert (np.diff(inds) >= 0).all() and inds.min() >= 0 and inds.max() < 100
        spans.append((inds.min(), inds.max()))
        assert inds.max() - inds.min() < 50  # all 8 frames inside one 50-frame window
    assert len({s for s, _ in spans}) > 1  # the window moves from clip to clip
    test = UniformSampleFrames(clip_len=8, test_mode=True, crop_ratio=(0.5, 0.5))
    plain = UniformSampleFrames(clip_len=8, test_mode=True)
    np.testing.assert_array_equal(test(clip(num_frames=100))['frame_inds'],
                                  plain(clip(num_frames=100))['frame_inds'])
    with pytest.raises(ValueError, match='crop_ratio'):
        UniformSampleFrames(clip_len=8, crop_ratio=(0.8, 0.5))


def test_flip_swaps_left_and_right():
    c = clip(num_frames=3)
    left_wrist = c['keypoint'][0, :, 9].copy()
    out = RandomFlip(prob=1.0)(c)
    np.testing.assert_allclose(out['keypoint'][0, :, 10, 0], -left_wrist[:, 0])
    np.testing.assert_allclose(out['keypoint'][0, :, 10, 1], left_wrist[:, 1])
    assert out['flipped']


def test_flip_test_clips_appends_the_mirror_of_every_clip_and_packs_2n_clips():
    c = NormalizeSkeleton()(clip(num_frames=20))
    c['keypoint_score'][0, 3, 9] = 0  # a missing left wrist follows the joint to the right
    c = UniformSampleFrames(clip_len=8, num_clips=2, test_mode=True)(c)
    sampled = c['keypoint'].copy()
    out = FlipTestClips()(c)
    assert out['num_clips'] == 4 and out['keypoint'].shape == (1, 32, 17, 2)
    np.testing.assert_array_equal(out['keypoint'][:, :16], sampled)
    mirrored = out['keypoint'][:, 16:]
    np.testing.assert_allclose(mirrored[0, :, 10, 0], -sampled[0, :, 9, 0])  # left -> right
    np.testing.assert_allclose(mirrored[0, :, 0, 1], sampled[0, :, 0, 1])   # nose keeps y
    np.testing.assert_array_equal(out['frame_inds'][:16], out['frame_inds'][16:])
    assert out['missing'].shape == (1, 32, 17)
    np.testing.assert_array_equal(out['missing'][0, 16:, 10], out['missing'][0, :16, 9])
    packed = PackMicroActionInputs()(GenSkeletonFeatures(feats=('joint', 'motion'))(out))
    assert tuple(packed['inputs'].shape) == (4, 8, 17, 4)


def test_flip_test_clips_needs_sampled_clips():
    with pytest.raises(KeyError, match='after UniformSampleFrames'):
        FlipTestClips()(dict(clip(num_frames=4), frame_dir='clipA'))


def test_affine_keeps_missing_joints_at_zero_and_moves_others():
    c = clip(num_frames=4)
    c['keypoint_score'][0, 0, 0] = 0  # missing before normalising: NormalizeSkeleton decides
    c = NormalizeSkeleton()(c)
    assert c['missing'][0, 0, 0] and c['missing'].sum() == 1
    before = c['keypoint'].copy()
    out = RandomAffine2D(max_rotation=30, max_shift=0.2)(c)
    assert (out['keypoint'][0, 0, 0] == 0).all()
    assert not np.allclose(out['keypoint'], before)


def clip_3d(num_frames=6):
    rng = np.random.default_rng(3)
    kp = rng.normal(size=(1, num_frames, 20, 3)).astype(np.float32)
    score = np.ones((1, num_frames, 20), np.float32)
    score[0, 1, 4] = 0
    kp[0, 1, 4] = 0
    return dict(keypoint=kp, keypoint_score=score, layout='kinect_20', frame_dir='c3d')


def test_rotate3d_is_a_rigid_rotation_within_the_angle_limits():
    np.random.seed(0)
    c = clip_3d()
    before = c['keypoint'].copy()
    out = RandomRotate3D(max_angles=(0, 30, 0))(dict(c))['keypoint']
    valid = c['keypoint_score'][0] > 0
    # rotation about y only: y unchanged, norms in the x-z plane kept, angle at most 30 deg
    np.testing.assert_allclose(out[..., 1], before[..., 1], atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(out[..., [0, 2]], axis=-1),
                               np.linalg.norm(before[..., [0, 2]], axis=-1), rtol=1e-5, atol=1e-6)
    a, b = before[0][valid][:, [0, 2]], out[0][valid][:, [0, 2]]
    cos = (a * b).sum(-1) / np.linalg.norm(a, axis=-1) / np.linalg.norm(b, axis=-1)
    angle = np.degrees(np.arccos(np.clip(cos, -1, 1)))
    assert np.ptp(angle) < 1e-2, 'one rotation for the whole clip'
    assert 0 < angle[0] <= 30
    assert (out[0, 1, 4] == 0).all()  # missing joint stays at the origin
    # all axes: pairwise distances (bone lengths) are kept, the pose itself changes
    full = RandomRotate3D(max_angles=20)(dict(c))['keypoint'][0, 0]
    dist = lambda p: np.linalg.norm(p[:, None] - p[None], axis=-1)  # noqa: E731
    np.testing.assert_allclose(dist(full), dist(before[0, 0]), rtol=1e-4, atol=1e-5)
    assert not np.allclose(full, before[0, 0], atol=1e-3)


def test_rotate3d_rejects_2d_clips_and_bad_angles():
    with pytest.raises(ValueError, match='x, y, z.*clip c2d'):
        RandomRotate3D()(dict(clip(num_frames=3), frame_dir='c2d'))
    with pytest.raises(ValueError, match='max_angles'):
        RandomRotate3D(max_angles=(10, -5, 0))
    unchanged = RandomRotate3D(max_angles=0)(clip_3d())
    np.testing.assert_allclose(unchanged['keypoint'], clip_3d()['keypoint'], atol=1e-6)


def test_joint_dropout_rate():
    np.random.seed(0)
    c = clip(num_frames=200)
    out = JointDropout(prob=0.1)(c)
    rate = (out['keypoint_score'] == 0).mean()
    assert 0.07 < rate < 0.13
    assert (out['keypoint'][out['keypoint_score'] == 0] == 0).all()


def test_features_channels_and_bone():
    c = clip(num_frames=4)
    c['keypoint_score'][0, 2, 0] = 0
    out = GenSkeletonFeatures(feats=('joint', 'score', 'motion', 'bone'))(
        dict(c, keypoint=c['keypoint'].copy()))
    f = out['keypoint']
    assert f.shape == (1, 4, 17, 2 + 1 + 2 + 2)
    kp = c['keypoint']
    # no frame_inds / fps: consecutive frames at the default 30 fps -> diff * 30 per second
    np.testing.assert_allclose(f[0, 0, 5, 3:5], (kp[0, 1, 5] - kp[0, 0, 5]) * 30, rtol=1e-5)
    assert (f[0, 1, 0, 3:5] == 0).all() and (f[0, 2, 0, 3:5] == 0).all()  # miss at frame 2
    parent = get_layout('coco_17').parents[9]
    np.testing.assert_allclose(f[0, 0, 9, 5:7], kp[0, 0, 9] - kp[0, 0, parent])
    with pytest.raises(ValueError, match='unknown skeleton features'):
        GenSkeletonFeatures(feats=('angle',))


def test_pack_reshapes_clips_and_pads_people():
    c = clip(num_frames=10)
    c = UniformSampleFrames(clip_len=4, num_clips=3, test_mode=True)(c)
    packed = PackMicroActionInputs(num_people=2)(c)
    assert tuple(packed['inputs'].shape) == (6, 4, 17, 2)  # 3 clips x 2 people
    assert packed['inputs'][1].abs().sum() == 0  # padded second person of clip 0
    assert int(packed['data_samples'].gt_label) == 0
    assert packed['data_samples'].metainfo['frame_dir'] == 'clip'


def test_motion_is_velocity_per_second_within_each_clip():
    c = clip(num_frames=40)
    c['fps'] = 20.0
    kp = c['keypoint']
    kp[..., 0] = np.arange(40)[None, :, None] * 0.5  # x moves 0.5 per frame = 10 per second
    c['keypoint_score'][:] = 1
    c = UniformSampleFrames(clip_len=8, num_clips=2, test_mode=True)(c)
    f = GenSkeletonFeatures(feats=('motion',))(c)['keypoint'].reshape(1, 2, 8, 17, 2)
    np.testing.assert_allclose(f[0, :, :-1, :, 0], 10.0, rtol=1e-5)  # whatever the sampling
    assert (f[0, :, -1] == 0).all()  # no difference across the clip boundary


def test_align_yaw_turns_shoulders_onto_x():
    from mdn.datasets.transforms import AlignYaw
    rng = np.random.default_rng(0)
    kp = rng.normal(size=(1, 6, 20, 3)).astype(np.float32)
    angle = 0.7  # the whole body turned about the vertical (y) axis
    kp[..., 4, :] = [np.cos(angle), 0.3, np.sin(angle)]
    kp[..., 8, :] = [-np.cos(angle), 0.3, -np.sin(angle)]
    c = dict(keypoint=kp, keypoint_score=np.ones((1, 6, 20), np.float32), layout='kinect_20')
    out = AlignYaw(vertical_axis=1)(c)['keypoint']
    np.testing.assert_allclose(out[0, :, 4], [[1, 0.3, 0]] * 6, atol=1e-5)
    np.testing.assert_allclose(out[..., 1], kp[..., 1])  # heights unchanged
    # distances are preserved (a rotation)
    np.testing.assert_allclose(np.linalg.norm(out[0, 0, 1] - out[0, 0, 2]),
                               np.linalg.norm(kp[0, 0, 1] - kp[0, 0, 2]), rtol=1e-5)
    with pytest.raises(ValueError, match='needs x, y, z'):
        AlignYaw()(dict(c, keypoint=kp[..., :2]))
