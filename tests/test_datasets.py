import os
import pickle

import numpy as np
import pytest

from mdn.datasets import (SYNTHETIC_CLASSES, SkeletonDataset, SyntheticMicroActionDataset,
                          save_pickle_annotations)
from mdn.utils import UnsafePickleError, safe_pickle_load

from .conftest import require_shared
from .helpers import random_clip

PIPELINE = [dict(type='NormalizeSkeleton'), dict(type='UniformSampleFrames', clip_len=8),
            dict(type='GenSkeletonFeatures', feats=('joint', 'score')),
            dict(type='PackMicroActionInputs')]


@pytest.fixture
def pkl_file(tmp_path):
    clips = [random_clip(num_frames=10 + i, name=f'v{i}', label=i % 3, seed=i)
             for i in range(6)]
    path = str(tmp_path / 'ann.pkl')
    save_pickle_annotations(path, clips, split=dict(train=['v0', 'v1', 'v2', 'v3'],
                                                    val=['v4', 'v5']))
    return path, clips


def test_pickle_roundtrip_and_split(pkl_file):
    path, clips = pkl_file
    train = SkeletonDataset(path, layout='coco_17', split='train', pipeline=PIPELINE)
    val = SkeletonDataset(path, layout='coco_17', split='val', pipeline=PIPELINE)
    assert len(train) == 4 and len(val) == 2
    item = train[1]
    assert tuple(item['inputs'].shape) == (1, 8, 17, 3)
    assert int(item['data_samples'].gt_label) == 1
    np.testing.assert_array_equal(train.get_data_info(0)['keypoint'], clips[0]['keypoint'])
    assert train.label_counts().tolist() == [2, 1, 1]
    with pytest.raises(KeyError, match='split "test" not found; available'):
        SkeletonDataset(path, layout='coco_17', split='test')


class _Evil:
    def __reduce__(self):
        return (os.system, ('echo pwned > /tmp/mdn_pwned',))


def test_malicious_pickle_is_refused(tmp_path):
    path = tmp_path / 'evil.pkl'
    path.write_bytes(pickle.dumps(dict(split={}, annotations=[_Evil()])))
    if os.path.exists('/tmp/mdn_pwned'):
        os.remove('/tmp/mdn_pwned')
    with pytest.raises(UnsafePickleError, match=r'evil\.pkl.*refused to unpickle global '
                       r'"(posix|os)\.system"'):
        SkeletonDataset(str(path), layout='coco_17')
    assert not os.path.exists('/tmp/mdn_pwned')


def test_safe_loader_accepts_numpy_and_containers():
    obj = dict(a=np.arange(3, dtype=np.int16), b=[1.5, 'x', (2, None)], c=np.float32(2))
    back = safe_pickle_load(pickle.dumps(obj))
    np.testing.assert_array_equal(back['a'], obj['a'])
    assert back['b'] == [1.5, 'x', (2, None)] and back['c'] == 2


def test_missing_and_corrupt_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='annotation file not found: .*nope.pkl'):
        SkeletonDataset(str(tmp_path / 'nope.pkl'), layout='coco_17')
    bad = tmp_path / 'truncated.pkl'
    bad.write_bytes(pickle.dumps(dict(split={}, annotations=[random_clip()]))[:200])
    with pytest.raises(ValueError, match='truncated.pkl: not a readable pickle'):
        SkeletonDataset(str(bad), layout='coco_17')
    badz = tmp_path / 'broken.npz'
    badz.write_bytes(b'PK\x03\x04garbage')
    with pytest.raises(ValueError, match='broken.npz: not a readable npz'):
        SkeletonDataset(str(badz), layout='coco_17')


def test_layout_mismatch_is_named(pkl_file):
    path, _ = pkl_file
    with pytest.raises(ValueError, match='17 keypoints per frame, but layout "coco_wholebody_133"'
                       ' has 133'):
        SkeletonDataset(path, layout='coco_wholebody_133')


def test_labels_outside_range_rejected(pkl_file):
    path, _ = pkl_file
    with pytest.raises(ValueError, match=r'label 2 outside \[0, 2\)'):
        SkeletonDataset(path, layout='coco_17', num_classes=2)


def test_nan_keypoints_zeroed_or_rejected(tmp_path):
    c = random_clip(num_frames=5, name='nan_clip')
    c['keypoint'][0, 2, 4, 0] = np.nan
    c['keypoint_score'][0, 3, 1] = np.inf
    path = str(tmp_path / 'nan.pkl')
    save_pickle_annotations(path, [c])
    ds = SkeletonDataset(path, layout='coco_17', nan_policy='zero')
    info = ds.get_data_info(0)
    assert np.isfinite(info['keypoint']).all() and np.isfinite(info['keypoint_score']).all()
    assert info['keypoint_score'][0, 2, 4] == 0 and info['keypoint_score'][0, 3, 1] == 0
    with pytest.raises(ValueError, match='nan_clip: 2 keypoint\\(s\\) are NaN or inf'):
        SkeletonDataset(path, layout='coco_17', nan_policy='raise')


def test_zero_frame_clip_skipped_one_frame_kept(tmp_path):
    clips = [random_clip(num_frames=0, name='empty'), random_clip(num_frames=1, name='one')]
    path = str(tmp_path / 'short.pkl')
    save_pickle_annotations(path, clips)
    ds = SkeletonDataset(path, layout='coco_17', pipeline=PIPELINE)
    assert len(ds) == 1 and ds.get_data_info(0)['frame_dir'] == 'one'
    assert tuple(ds[0]['inputs'].shape) == (1, 8, 17, 3)  # one frame repeated


def test_empty_split_rejected(tmp_path):
    path = str(tmp_path / 'ann.pkl')
    save_pickle_annotations(path, [random_clip(name='a')], split=dict(train=['a'], val=[]))
    with pytest.raises(ValueError, match="split 'val' contains no clips"):
        SkeletonDataset(path, layout='coco_17', split='val')


def test_stacked_npz_with_split_field(tmp_path):
    rng = np.random.default_rng(0)
    lengths = [5, 7, 3]
    data = rng.normal(size=(sum(lengths), 13, 3)).astype(np.float32)
    path = str(tmp_path / 'stack.npz')
    np.savez(path, data=data, offsets=np.cumsum([0] + lengths), labels=np.array([0, 1, 0]),
             label_names=np.array(['a', 'b']), view=np.array([1, 2, 3]))
    ds = SkeletonDataset(path, layout='penn_action_13', split=dict(field='view', values=[1, 3]))
    assert len(ds) == 2 and ds.metainfo['classes'] == ('a', 'b')
    info = ds.get_data_info(1)
    np.testing.assert_array_equal(info['keypoint'][0], data[12:15, :, :2])
    np.testing.assert_array_equal(info['keypoint_score'][0], data[12:15, :, 2])
    xyz = SkeletonDataset(path, layout='penn_action_13', score_channel=False)
    assert xyz.get_data_info(0)['keypoint'].shape == (1, 5, 13, 3)
    with pytest.raises(KeyError, match='split field "subject" not found'):
        SkeletonDataset(path, layout='penn_action_13', split=dict(field='subject', values=[1]))


def test_synthetic_dataset_is_deterministic_and_balanced():
    a = SyntheticMicroActionDataset(num_per_class=3, split='train')
    b = SyntheticMicroActionDataset(num_per_class=3, split='train')
    c = SyntheticMicroActionDataset(num_per_class=3, split='val')
    assert len(a) == 3 * len(SYNTHETIC_CLASSES)
    np.testing.assert_array_equal(a.get_data_info(5)['keypoint'], b.get_data_info(5)['keypoint'])
    assert not np.array_equal(a.get_data_info(0)['keypoint'][0, :5],
                              c.get_data_info(0)['keypoint'][0, :5])
    assert (a.label_counts() == 3).all()
    assert a.get_data_info(0)['keypoint'].shape[2:] == (133, 2)


def test_synthetic_motion_classes_move_position_classes_hold():
    ds = SyntheticMicroActionDataset(num_per_class=4, split='train',
                                     generator=dict(noise=0.0, miss_prob=0.0))
    names = ds.metainfo['classes']
    legs = [13, 14, 15, 16]
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        kp = info['keypoint'][0]
        shoulder = np.linalg.norm(kp[0, 5] - kp[0, 6])
        leg_motion = (kp[:, legs, 1] - kp[:, legs, 1].mean(0)).std(0).max() / shoulder
        if names[info['label']] == 'shake_leg':
            assert leg_motion > 0.02
        elif names[info['label']] in ('cover_face', 'arms_crossed'):
            assert leg_motion < 0.005


def test_penn_action_official_split():
    path = require_shared('skeleton/penn_action.npz')
    train = SkeletonDataset(str(path), layout='penn_action_13',
                            split=dict(field='is_train', values=[True]))
    test = SkeletonDataset(str(path), layout='penn_action_13',
                           split=dict(field='is_train', values=[False]))
    assert (len(train), len(test)) == (1258, 1068)
    assert len(train.metainfo['classes']) == 15


def test_nw_ucla_cross_view_split():
    path = require_shared('skeleton/nw_ucla.npz')
    kw = dict(layout='kinect_20', score_channel=False)
    train = SkeletonDataset(str(path), split=dict(field='view', values=[1, 2]), **kw)
    test = SkeletonDataset(str(path), split=dict(field='view', values=[3]), **kw)
    assert (len(train), len(test)) == (1020, 464)
    assert train.get_data_info(0)['keypoint'].shape[-1] == 3  # x, y, z


def test_unlabelled_clips_allowed(tmp_path):
    path = str(tmp_path / 'test_split.pkl')
    save_pickle_annotations(path, [random_clip(name='t0', label=-1)])
    ds = SkeletonDataset(path, layout='coco_17', num_classes=3, pipeline=PIPELINE,
                         test_mode=True)  # a training split refuses label -1
    assert ds.get_data_info(0)['label'] == -1


def test_annotation_file_read_once_and_shared_with_workers(tmp_path, monkeypatch):
    """Workers get the parsed clips from the parent (fork), they do not re-read the file."""
    import torch
    from mmengine.dataset import pseudo_collate

    import mdn.datasets.skeleton_dataset as module
    counter = tmp_path / 'reads.txt'
    original = module.load_annotations

    def counting_load(*args, **kwargs):
        with open(counter, 'a') as f:
            f.write(f'{os.getpid()}\n')
        return original(*args, **kwargs)

    monkeypatch.setattr(module, 'load_annotations', counting_load)
    clips = [random_clip(num_frames=12, name=f'v{i}', seed=i) for i in range(8)]
    path = str(tmp_path / 'ann.pkl')
    save_pickle_annotations(path, clips)
    ds = SkeletonDataset(path, layout='coco_17', pipeline=PIPELINE)
    loader = torch.utils.data.DataLoader(ds, batch_size=2, num_workers=2,
                                         collate_fn=pseudo_collate,
                                         multiprocessing_context='fork')
    assert sum(len(b['inputs']) for b in loader) == 8
    assert counter.read_text().splitlines() == [str(os.getpid())]
