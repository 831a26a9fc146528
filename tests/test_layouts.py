from dataclasses import replace

import numpy as np
import pytest

from mdn.layouts import ENTITY_ORDER, KeypointLayout, get_layout

LAYOUTS = {'coco_wholebody_133': 133, 'openpose_137': 137, 'coco_17': 17,
           'penn_action_13': 13, 'kinect_20': 20}


@pytest.mark.parametrize('name,num', LAYOUTS.items())
def test_layout_is_consistent(name, num):
    layout = get_layout(name)
    assert layout.num_keypoints == num == len(set(layout.keypoint_names))
    flip = layout.flip_index
    assert (flip[flip] == np.arange(num)).all()  # an involution
    # every joint reachable from the root: bones are well defined
    parents = layout.parents
    assert ((parents >= 0) & (parents < num)).all()
    reached = {layout.root}
    for _ in range(num):
        reached |= {v for v in range(num) if parents[v] in reached}
    assert len(reached) == num
    for entity_set, k in (('body6', 6), ('body5', 5)):
        part = layout.partition(entity_set)
        assert part.names == ENTITY_ORDER[:k]
        assert part.mask.shape == (k, num) and (part.mask.sum(1) >= 1).all()


def test_wholebody_entities_match_method():
    part = get_layout('coco_wholebody_133').partition('body6')
    idx = dict(zip(part.names, part.indices))
    assert idx['face'] == tuple(range(23, 91))
    assert idx['head'] == (0, 1, 2, 3, 4)
    assert idx['left_hand'] == (9,) + tuple(range(91, 112))
    assert idx['right_hand'] == (10,) + tuple(range(112, 133))
    layout = get_layout('coco_wholebody_133')
    assert layout.keypoint_names[91] == 'left_hand_root'
    assert layout.flip_index[91] == 112 and layout.flip_index[9] == 10
    # flipping maps the entity order left_hand <-> right_hand
    assert [part.names[i] for i in part.flip_permutation][3:5] == ['right_hand', 'left_hand']


def test_openpose_hands_follow_wrists():
    part = get_layout('openpose_137').partition('body5')
    idx = dict(zip(part.names, part.indices))
    assert idx['left_hand'][0] == 7 and idx['right_hand'][0] == 4  # BODY_25 wrists
    assert 'lower_body' not in idx


def test_unknown_layout_and_entities_are_named():
    with pytest.raises(KeyError, match='unknown keypoint layout "nope".*coco_17'):
        get_layout('nope')
    with pytest.raises(KeyError, match='unknown entity set "body9"'):
        get_layout('coco_17').partition('body9')
    with pytest.raises(KeyError, match=r"entities \['tail'\] are not defined by layout coco_17"):
        get_layout('coco_17').partition(['face', 'tail'])


@pytest.mark.parametrize('name', ['kinect_20', 'penn_action_13', 'coco_17', 'coco_wholebody_133',
                                  'openpose_137'])
def test_limbs6_splits_the_legs_and_mirrors_them(name):
    layout = get_layout(name)
    part = layout.partition('limbs6')
    assert part.names == ('head', 'torso', 'left_hand', 'right_hand', 'left_leg', 'right_leg')
    left, right = (set(part.indices[4]), set(part.indices[5]))
    assert not left & right  # each leg its own joints
    assert left | right <= set(layout.entities['lower_body'])
    flip = layout.flip_index
    assert {int(flip[v]) for v in left} == right  # the mirror of the left leg is the right leg
    assert part.flip_permutation == [0, 1, 3, 2, 5, 4]


def test_a_layout_with_a_misspelt_entity_is_refused():
    layout = get_layout('kinect_20')
    with pytest.raises(ValueError, match=r"unknown entities \['left_lge'\]"):
        replace(layout, entities=dict(layout.entities, left_lge=(12,)))


def test_layout_rejects_out_of_range_indices():
    with pytest.raises(ValueError, match='outside'):
        KeypointLayout('bad', ('a', 'b'), ((0, 5),), (0,), (0, 1), (0, 1), ((0, 1),),
                       entities={e: (0,) for e in ENTITY_ORDER})
