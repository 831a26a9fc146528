"""Joint-level partitioned attention inside the entity encoder (issue 12): shapes, gradients on
a whole-body layout, attention that stays inside entities, missing joints."""
import pytest
import torch

from mdn.layouts import get_layout
from mdn.models.encoders import EntityEncoder
from mdn.models.encoders.entity_joint_attention import (EntityJointAttentionStem,
                                                        JointAttentionBlock, same_entity_mask)
from tests.helpers import layout_and_partition, whole_body_params_without_gradient


def test_same_entity_mask_by_hand_on_coco_17():
    layout, partition = layout_and_partition('coco_17')
    pairs = same_entity_mask(partition, 17)
    names = layout.keypoint_names
    i = names.index
    assert pairs.shape == (17, 17) and torch.equal(pairs, pairs.T) and pairs.diag().all()
    for k, group in zip(partition.names, partition.indices):  # every pair inside an entity
        g = torch.as_tensor(list(group))
        assert pairs[g][:, g].all(), k
    # a wrist and an ankle share no entity; the two wrists neither
    assert not pairs[i('left_wrist'), i('left_ankle')]
    assert not pairs[i('left_wrist'), i('right_wrist')]


def test_stem_shapes_on_whole_body_layout():
    layout, partition = layout_and_partition('coco_wholebody_133')
    stem = EntityJointAttentionStem(layout, partition, in_channels=5, out_dim=24, num_blocks=2,
                                    channels=8, num_heads=2)
    assert stem(torch.randn(2, 6, 133, 5)).shape == (2, 6, 133, 24)
    with pytest.raises(ValueError, match='divisible'):
        JointAttentionBlock(torch.ones(3, 3, dtype=torch.bool), dim=10, num_heads=4)


def test_one_block_reaches_only_joints_of_the_moved_joints_entities():
    """Spatial attention is masked to the entity, temporal attention stays on one joint: after
    one block a joint's change reaches its entities' joints (in every frame) and no other."""
    torch.manual_seed(0)
    layout, partition = layout_and_partition('coco_17')
    stem = EntityJointAttentionStem(layout, partition, 3, 8, num_blocks=1, channels=8,
                                    num_heads=2).eval()
    x = torch.randn(1, 5, 17, 3)
    moved = x.clone()
    wrist = layout.keypoint_names.index('left_wrist')
    moved[:, 2, wrist] += 3.0
    with torch.no_grad():
        changed = (stem(x) - stem(moved)).abs().sum((0, 3)) > 1e-6  # [T, V]
    reach = same_entity_mask(partition, 17)[wrist]
    assert changed[:, reach].any(0).all()  # every joint of its entities moved somewhere
    assert changed[:, wrist].all()  # the wrist itself in every frame (temporal attention)
    assert not changed[:, ~reach].any()


def test_body_scope_reaches_every_joint_and_bad_scope_is_refused():
    torch.manual_seed(0)
    layout, partition = layout_and_partition('coco_17')
    stem = EntityJointAttentionStem(layout, partition, 3, 8, num_blocks=1, channels=8,
                                    num_heads=2, scope='body').eval()
    x = torch.randn(1, 3, 17, 3)
    moved = x.clone()
    moved[:, 1, layout.keypoint_names.index('left_wrist')] += 3.0
    with torch.no_grad():
        changed = (stem(x) - stem(moved)).abs().sum((0, 1, 3)) > 1e-6
    assert changed.all()
    with pytest.raises(ValueError, match="scope must be 'entity' or 'body'"):
        EntityJointAttentionStem(layout, partition, 3, 8, scope='hands')


def test_every_parameter_gets_a_gradient_on_whole_body_layout():
    model, no_grad = whole_body_params_without_gradient(dict(
        type='EntityEncoder', joint_attention=dict(num_blocks=2, channels=8, num_heads=2)))
    assert no_grad == []
    stem = model.encoder.attention_stem
    assert stem is not None and len(stem.blocks) == 2


def test_missing_joint_value_reaches_no_token_and_output_stays_finite():
    torch.manual_seed(0)
    enc = EntityEncoder('coco_wholebody_133', in_channels=3, embed_dim=16,
                        joint_attention=dict(num_blocks=2, channels=8, num_heads=2)).eval()
    layout = get_layout('coco_wholebody_133')
    x = torch.randn(1, 4, 133, 3)
    wrist = layout.keypoint_names.index('left_wrist')
    x[:, 1:3, wrist] = 0.0  # missed in two of four frames
    present = x.abs().amax(-1) > 0
    x2 = x.clone()
    x2[:, 1:3, wrist] = 7.0  # what a missed joint would carry if it were not masked
    with torch.no_grad():
        # the stem zeroes a missed joint and never attends to it: nothing of it gets through
        torch.testing.assert_close(enc.attention_stem(x, present),
                                   enc.attention_stem(x2, present), atol=1e-5, rtol=0)
        before, after = enc(x, present), enc(x2, present)
        assert torch.isfinite(before).all()
        # tokens of the entities without the wrist do not depend on its (garbage) value
        others = [k for k, g in enumerate(enc.partition.indices) if wrist not in g]
        torch.testing.assert_close(before[:, :, others], after[:, :, others], atol=1e-5,
                                   rtol=0)
        # a whole entity missing in every frame still gives finite tokens
        hand = enc.partition.indices[enc.partition.names.index('left_hand')]
        x[:, :, list(hand)] = 0.0
        assert torch.isfinite(enc(x)).all()


def test_no_joint_attention_builds_no_stem():
    assert EntityEncoder('coco_17', in_channels=3, embed_dim=16).attention_stem is None
