"""The joint-level graph stem inside the entity encoder (issue 12): shapes, gradients on a
whole-body layout, messages that stay inside entities, missing joints."""
import numpy as np
import pytest
import torch

from mdn.layouts import get_layout
from mdn.models.encoders import EntityEncoder
from mdn.models.encoders.entity_graph import (EntityGraphBlock, EntityGraphStem,
                                              entity_subgraph_adjacency, entity_subgraph_edges)
from tests.helpers import layout_and_partition, whole_body_params_without_gradient


def test_subgraph_keeps_only_edges_inside_an_entity():
    layout, partition = layout_and_partition('coco_17')
    edges = {tuple(e) for e in entity_subgraph_edges(layout, partition)}
    groups = [set(g) for g in partition.indices]
    for a, b in edges:
        assert any(a in g and b in g for g in groups), (a, b)
        assert (b, a) in edges  # both directions
    inside = [e for e in layout.edges if any(e[0] in g and e[1] in g for g in groups)]
    assert len(edges) == 2 * len(inside)


def test_adjacency_is_symmetric_normalised_with_self_loops():
    layout, partition = layout_and_partition('coco_17')
    adj = entity_subgraph_adjacency(layout, partition)
    assert adj.shape == (17, 17)
    np.testing.assert_allclose(adj, adj.T)
    degree = (adj > 0).sum(1)  # neighbours + self
    np.testing.assert_allclose(np.diag(adj), 1.0 / degree, rtol=1e-6)


def test_stem_shapes_on_whole_body_layout():
    layout, partition = layout_and_partition('coco_wholebody_133')
    stem = EntityGraphStem(layout, partition, in_channels=5, out_dim=24, num_blocks=2,
                           channels=8, temporal_kernel=5)
    out = stem(torch.randn(2, 6, 133, 5))
    assert out.shape == (2, 6, 133, 24)
    with pytest.raises(ValueError, match='odd'):
        EntityGraphBlock(np.eye(3), 4, temporal_kernel=4)


def test_message_does_not_cross_entities_in_one_block_without_time():
    """A joint's change reaches only joints of its own entities (one block, kernel 1)."""
    torch.manual_seed(0)
    layout, partition = layout_and_partition('coco_17')
    stem = EntityGraphStem(layout, partition, 3, 8, num_blocks=1, channels=4, temporal_kernel=1)
    stem.eval()
    for m in stem.modules():  # GroupNorm mixes all joints of a sample; measure without it
        if isinstance(m, torch.nn.GroupNorm):
            m.forward = lambda x: x
    x = torch.randn(1, 2, 17, 3)
    moved = x.clone()
    nose = layout.keypoint_names.index('nose')
    moved[..., nose, :] += 3.0
    with torch.no_grad():
        changed = (stem(x) - stem(moved)).abs().sum((0, 1, 3)) > 1e-6
    adj = entity_subgraph_adjacency(layout, partition)
    reachable = adj[nose] > 0
    assert changed[nose]
    assert not changed[~torch.as_tensor(reachable)].any()


def test_every_parameter_gets_a_gradient_on_whole_body_layout():
    model, no_grad = whole_body_params_without_gradient(dict(
        type='EntityEncoder', graph_blocks=2, graph_channels=8, graph_temporal_kernel=3))
    assert no_grad == []
    stem = model.encoder.graph_stem
    assert stem is not None and len(stem.blocks) == 2
    # the graph's edge importances move only where there is an edge (or a self loop)
    adj = stem.blocks[0].adjacency
    grad = stem.blocks[0].importance.grad
    assert (grad[adj == 0] == 0).all() and grad[adj > 0].abs().sum() > 0


def test_missing_joint_sends_no_message_and_output_stays_finite():
    torch.manual_seed(0)
    enc = EntityEncoder('coco_wholebody_133', in_channels=3, embed_dim=16, graph_blocks=2,
                        graph_channels=8, graph_temporal_kernel=3)
    enc.eval()
    layout = get_layout('coco_wholebody_133')
    x = torch.randn(1, 4, 133, 3)
    wrist = layout.keypoint_names.index('left_wrist')
    x[:, :, wrist] = 0.0
    present = x.abs().amax(-1) > 0
    with torch.no_grad():
        before = enc(x, present)
        # what a missing joint would send if it were not masked
        x2 = x.clone()
        x2[:, :, wrist] = 7.0
        after = enc(x2, present)
        assert torch.isfinite(before).all()
        torso = enc.partition.names.index('torso')
        # the joint is missing in both inputs: tokens must not depend on its (garbage) value
        torch.testing.assert_close(before[:, :, torso], after[:, :, torso], atol=1e-5, rtol=0)
        # a whole entity missing still gives finite tokens
        hand = enc.partition.indices[enc.partition.names.index('left_hand')]
        x[:, :, list(hand)] = 0.0
        assert torch.isfinite(enc(x)).all()


def test_graph_blocks_zero_builds_no_stem():
    enc = EntityEncoder('coco_17', in_channels=3, embed_dim=16)
    assert enc.graph_stem is None
