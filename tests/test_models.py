"""Shapes through every module, routing, MAC, gradients, ablation switches, learning."""
import math

import pytest
import torch
import torch.nn.functional as F

from mdn.models import (EntityEncoder, EntityRouter, FactorisedPath, GlobalPoseStream,
                        MACLoss, MicroActionHead)
from mdn.models.losses.mac_loss import mac_infonce
from mdn.models.paths import SpatialTransformer, TemporalTransformer

from .helpers import samples, tiny_batch, tiny_model

B, T, K, D = 2, 6, 6, 32


def test_entity_encoder_shapes_and_locality():
    enc = EntityEncoder('coco_wholebody_133', 'body6', in_channels=3, embed_dim=D)
    x = torch.randn(B, T, 133, 3)
    out = enc(x)
    assert out.shape == (B, T, 6, D)
    # a change to a face keypoint alters only the face token (entities are local)
    y = x.clone()
    y[:, :, 40] += 5.0
    delta = (enc(y) - out).abs().amax(dim=(0, 1, 3))
    assert delta[0] > 1e-3 and torch.all(delta[1:] < 1e-6)


def test_entity_encoder_temporal_conv_is_local_in_time_and_entity():
    enc = EntityEncoder('coco_17', 'body6', in_channels=3, embed_dim=D, temporal_kernel=5)
    x = torch.randn(B, 16, 17, 3)
    out = enc(x)
    y = x.clone()
    y[:, 12:, 9] += 3.0  # the left wrist (left_hand entity only) from frame 12 on
    delta = (enc(y) - out).abs()
    per_frame = delta.amax(dim=(0, 2, 3))
    assert torch.all(per_frame[:10] < 1e-6)  # kernel 5 reaches 2 frames back, no further
    assert torch.all(per_frame[10:] > 1e-4)
    per_entity = delta.amax(dim=(0, 1, 3))
    hand = enc.partition.names.index('left_hand')
    assert per_entity[hand] > 1e-4
    assert torch.all(torch.cat([per_entity[:hand], per_entity[hand + 1:]]) < 1e-6)
    with pytest.raises(ValueError, match='temporal_kernel must be 0 or odd'):
        EntityEncoder('coco_17', 'body6', in_channels=3, embed_dim=D, temporal_kernel=4)


def test_entity_encoder_rejects_wrong_layout():
    enc = EntityEncoder('coco_17', 'body6', in_channels=3, embed_dim=D)
    with pytest.raises(ValueError, match=r'expects \[B, T, 17, 3\] input, got \[2, 6, 133, 3\]'):
        enc(torch.randn(B, T, 133, 3))


def test_global_stream_and_transformers_shapes():
    assert GlobalPoseStream(17, 3, embed_dim=D)(torch.randn(B, T, 17, 3)).shape == (B, D)
    x = torch.randn(B, T, K, D)
    assert SpatialTransformer(D, 1, 4)(x).shape == x.shape
    assert TemporalTransformer(D, 1, 4)(x).shape == x.shape
    for order in ('st', 'ts'):
        assert FactorisedPath(order, D, depth=1, num_heads=4)(x).shape == x.shape


def test_spatial_attends_within_frame_and_temporal_within_entity():
    x = torch.randn(1, T, K, D)
    spatial, temporal = SpatialTransformer(D, 1, 4).eval(), TemporalTransformer(D, 1, 4).eval()
    y = x.clone()
    y[0, 2, 3] += 1.0  # perturb frame 2, entity 3
    ds = (spatial(y) - spatial(x)).abs().sum(-1)[0]
    assert ds[2].min() > 0 and ds[[0, 1, 3, 4, 5]].max() < 1e-5  # only frame 2 changes
    dt = (temporal(y) - temporal(x)).abs().sum(-1)[0]
    assert dt[:, 3].min() > 0 and dt[:, [0, 1, 2, 4, 5]].max() < 1e-5  # only entity 3


def test_router_weights_sum_to_one_and_mix():
    router = EntityRouter(K, D, hidden=8, temperature=0.5)
    torch.nn.init.normal_(router.w2)
    x_st, x_ts = torch.randn(B, T, K, D), torch.randn(B, T, K, D)
    fused, w = router(x_st, x_ts)
    assert w.shape == (B, K, 2)
    torch.testing.assert_close(w.sum(-1), torch.ones(B, K))
    expected = w[:, None, :, :1] * x_st + w[:, None, :, 1:] * x_ts
    torch.testing.assert_close(fused, expected)
    per_frame = EntityRouter(K, D, per_frame=True)
    _, wf = per_frame(x_st, x_ts)
    assert wf.shape == (B, T, K, 2)
    torch.testing.assert_close(wf.sum(-1), torch.ones(B, T, K))


def test_router_temperature_sharpens():
    router = EntityRouter(K, D, hidden=8, temperature=1.0)
    torch.nn.init.normal_(router.w2, std=1.0)
    x_st, x_ts = torch.randn(B, T, K, D), torch.randn(B, T, K, D)
    _, soft = router(x_st, x_ts)
    router.temperature = 0.1
    _, sharp = router(x_st, x_ts)
    assert (sharp - 0.5).abs().mean() > (soft - 0.5).abs().mean()


def test_mac_infonce_hand_case():
    # two samples, one entity, orthonormal embeddings: ST_b == TS_b
    z = torch.tensor([[[1.0, 0.0]], [[0.0, 1.0]]])
    tau = 0.5
    # logits per row: [1/tau, 0] -> CE = log(1 + e^{-2})
    expected = math.log(1 + math.exp(-1 / tau))
    torch.testing.assert_close(mac_infonce(z, z, tau), torch.tensor(expected))
    # swapped positives: CE = log(1 + e^{2}) ... the loss punishes mismatched paths
    z_swapped = z.flip(0)
    assert mac_infonce(z, z_swapped, tau) > mac_infonce(z, z, tau)
    torch.testing.assert_close(mac_infonce(z, z_swapped, tau),
                               torch.tensor(math.log(1 + math.exp(1 / tau))))


def test_mac_class_aware_negatives_hand_case():
    # three samples, one entity; samples 0 and 1 share a class, ST_b == TS_b
    z = torch.tensor([[[1.0, 0.0]], [[0.0, 1.0]], [[0.6, 0.8]]])
    tau, labels = 0.5, torch.tensor([3, 3, 7])
    sim = (z[:, 0] @ z[:, 0].t()) / tau  # symmetric, so both directions are equal

    def row_ce(row, allowed):
        return -(sim[row, row] - torch.logsumexp(sim[row, allowed], 0))
    # rows 0 and 1 lose each other as negatives; row 2 keeps both
    expected = (row_ce(0, [0, 2]) + row_ce(1, [1, 2]) + row_ce(2, [0, 1, 2])) / 3
    torch.testing.assert_close(mac_infonce(z, z, tau, labels), expected)
    assert mac_infonce(z, z, tau, labels) < mac_infonce(z, z, tau)
    # every sample in one class: only the positives are left, the loss is 0
    torch.testing.assert_close(mac_infonce(z, z, tau, torch.zeros(3, dtype=torch.long)),
                               torch.tensor(0.0))
    # in the module, labels matter only with the switch on, and gradients stay finite
    x = torch.randn(4, T, K, D, requires_grad=True)
    y = x.detach() + 0.1 * torch.randn_like(x)
    labels = torch.tensor([0, 0, 1, 1])
    torch.manual_seed(0)
    plain = MACLoss(D, proj_dim=8)
    torch.manual_seed(0)
    aware = MACLoss(D, proj_dim=8, class_aware_negatives=True)
    torch.testing.assert_close(plain(x, y, labels), plain(x, y))
    assert aware(x, y, labels) < plain(x, y, labels)
    aware(x, y, labels).backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_mac_loss_weight_and_validation():
    mac = MACLoss(D, proj_dim=8, loss_weight=0.1)
    x = torch.randn(4, T, K, D)
    value = mac(x, x + 0.01 * torch.randn_like(x))
    assert value.ndim == 0 and value > 0
    with pytest.raises(ValueError, match='loss_weight must be >= 0'):
        MACLoss(D, loss_weight=-1)
    with pytest.raises(ValueError, match='temperature must be > 0'):
        MACLoss(D, temperature=0)


def test_head_shape():
    head = MicroActionHead(num_classes=5, num_entities=K, dim=D, global_dim=16, hidden=8)
    assert head(torch.randn(B, T, K, D), torch.randn(B, 16)).shape == (B, 5)


def test_recognizer_modes_and_prediction_fields():
    model = tiny_model()
    x, data_samples = tiny_batch()
    losses = model(x, data_samples, mode='loss')
    assert {'loss_cls', 'loss_mac', 'acc', 'route_st', 'route_entropy'} <= set(losses)
    assert model(x, mode='tensor').shape == (4, 4)
    preds = model(x, samples([0, 1, 2, 3]), mode='predict')
    for p in preds:
        assert p.pred_score.shape == (4,)
        torch.testing.assert_close(p.pred_score.sum(), torch.tensor(1.0))
        assert p.entity_weights.shape == (6, 2)
        torch.testing.assert_close(p.entity_weights.sum(-1), torch.ones(6))
        assert p.metainfo['entity_names'][3] == 'left_hand'


def test_multi_clip_scores_are_averaged():
    model = tiny_model().eval()
    x = torch.randn(2, 3, 8, 17, 3)  # 3 clips per sample
    preds = model(x, samples([0, 1]), mode='predict')
    per_clip = model(x.reshape(6, 1, 8, 17, 3), mode='tensor').softmax(-1).view(2, 3, -1)
    torch.testing.assert_close(preds[0].pred_score, per_clip[0].mean(0))


def test_every_parameter_gets_a_gradient():
    model = tiny_model()
    x, data_samples = tiny_batch()
    with torch.no_grad():  # break the router's symmetric zero init
        model.router.w2.normal_()
    losses = model(x, data_samples, mode='loss')
    (losses['loss_cls'] + losses['loss_mac']).backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or
               not p.grad.abs().sum() > 0]
    assert not missing, missing


@pytest.mark.parametrize('paths,fusion,mac,expect_w', [
    ('st', 'route', True, (1.0, 0.0)), ('ts', 'route', True, (0.0, 1.0)),
    ('dual', 'mean', True, (0.5, 0.5)), ('dual', 'route', False, None)])
def test_ablation_switches(paths, fusion, mac, expect_w):
    overrides = dict(paths=paths, fusion=fusion)
    if not mac:
        overrides['mac_loss'] = dict(type='MACLoss', loss_weight=0.0)
    model = tiny_model(**overrides)
    assert (model.st_path is None) == (paths == 'ts')
    assert (model.ts_path is None) == (paths == 'st')
    assert (model.router is None) == (paths != 'dual' or fusion == 'mean')
    x, data_samples = tiny_batch()
    losses = model(x, data_samples, mode='loss')
    assert ('loss_mac' in losses) == (paths == 'dual' and mac)
    if expect_w is not None:
        w = model(x, samples([0, 1, 2, 3]), mode='predict')[0].entity_weights
        torch.testing.assert_close(w, torch.tensor([expect_w] * 6))


def test_global_stream_off():
    model = tiny_model(global_stream=None)
    assert model.global_stream is None
    x, data_samples = tiny_batch()
    assert model(x, mode='tensor').shape == (4, 4)


def test_input_batch_norm_standardises_each_joint_channel():
    """input_norm='batch': what the encoder sees has, per (joint, channel), zero mean and unit
    variance over batch and time in training, whatever the raw scale (velocities in the
    hundreds next to coordinates near 1)."""
    model = tiny_model(input_norm='batch')
    seen = {}
    model.encoder.register_forward_hook(lambda mod, args, out: seen.update(x=args[0]))
    x, data_samples = tiny_batch(B=6, T=8)
    scale = torch.tensor([1.0, 100.0, 0.1])
    model(x * scale + 5.0, data_samples, mode='loss')
    got = seen['x']  # [B, T, V, C]
    torch.testing.assert_close(got.mean((0, 1)), torch.zeros(17, 3), atol=1e-3, rtol=0)
    torch.testing.assert_close(got.var((0, 1), unbiased=False), torch.ones(17, 3),
                               atol=5e-3, rtol=0)  # BatchNorm eps
    model.eval()  # running statistics: output no longer depends on the other clips
    one = model(x[:1] * scale + 5.0, mode='tensor')
    torch.testing.assert_close(one, model(x * scale + 5.0, mode='tensor')[:1])
    with pytest.raises(ValueError, match='expects .* 3 channels'):
        model(torch.randn(2, 1, 8, 17, 4), mode='tensor')


@pytest.mark.parametrize('overrides,message', [
    (dict(paths='both'), "paths must be one of"),
    (dict(fusion='max'), "fusion must be one of"),
    (dict(router=dict(type='EntityRouter', temperature=0)), 'temperature must be > 0'),
    (dict(path=dict(type='FactorisedPath', depth=1, num_heads=5)), 'not divisible'),
    (dict(layout='coco_18'), 'unknown keypoint layout'),
    (dict(entity_set='body9'), 'unknown entity set'),
    (dict(num_classes=1), 'num_classes must be >= 2'),
    (dict(input_norm='layer'), 'input_norm must be one of'),
])
def test_bad_model_config_values_are_rejected(overrides, message):
    with pytest.raises((ValueError, KeyError), match=message):
        tiny_model(**overrides)


def test_model_overfits_a_small_batch():
    torch.manual_seed(0)
    model = tiny_model(num_classes=4)
    x, data_samples = tiny_batch(B=8, T=8, seed=1)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    first = None
    for _ in range(60):
        losses = model(x, data_samples, mode='loss')
        loss = losses['loss_cls'] + losses['loss_mac']
        opt.zero_grad()
        loss.backward()
        opt.step()
        first = first if first is not None else losses['loss_cls'].item()
    final = model(x, data_samples, mode='loss')
    assert final['loss_cls'].item() < 0.1 * first
    assert final['acc'].item() == 1.0


def test_layout_mismatch_between_batch_and_model():
    model = tiny_model()
    x, data_samples = tiny_batch()
    for s in data_samples:
        s.set_metainfo(dict(layout='penn_action_13'))
    with pytest.raises(ValueError, match='prepared for layout "penn_action_13".*"coco_17"'):
        model(x, data_samples, mode='loss')


def test_class_weighted_label_smoothed_loss():
    from mdn.models import MicroActionCELoss, class_balanced_weights
    w = class_balanced_weights([100, 10, 0], beta=0.99)
    assert w[2] == 0 and w[1] > w[0]
    assert abs(w[:2].mean() - 1.0) < 1e-5
    loss = MicroActionCELoss(label_smoothing=0.1, class_weight=[1.0, 2.0, 0.0])
    logits, labels = torch.randn(5, 3), torch.tensor([0, 1, 1, 0, 1])
    expected = F.cross_entropy(logits, labels, weight=torch.tensor([1.0, 2.0, 0.0]),
                               label_smoothing=0.1)
    torch.testing.assert_close(loss(logits, labels), expected)


def test_class_balanced_loss_hook_sets_weights_from_training_counts():
    from types import SimpleNamespace

    import numpy as np

    from mdn.engine import ClassBalancedLossHook
    from mdn.models import class_balanced_weights
    model = tiny_model(num_classes=3)
    dataset = SimpleNamespace(label_counts=lambda: np.array([50, 5, 1]))
    runner = SimpleNamespace(train_dataloader=SimpleNamespace(dataset=dataset), model=model)
    ClassBalancedLossHook(beta=0.99).before_train(runner)
    expected = torch.from_numpy(class_balanced_weights([50, 5, 1], 0.99))
    torch.testing.assert_close(model.head.loss.class_weight, expected)
    assert model.head.loss.class_weight[2] > model.head.loss.class_weight[0]
    with pytest.raises(ValueError, match='beta must be in'):
        ClassBalancedLossHook(beta=1.0)


def test_head_temporal_segments_keep_phase_order():
    """With S segments, a clip and its time reversal pool to different features; with one
    mean they are identical (so 'putting on' and 'taking off' cannot be told apart)."""
    torch.manual_seed(0)
    x = torch.randn(B, 8, K, D)
    reversed_x = x.flip(1)
    one = MicroActionHead(num_classes=5, num_entities=K, dim=D, hidden=8, dropout=0.0).eval()
    torch.testing.assert_close(one(x), one(reversed_x))
    seg = MicroActionHead(num_classes=5, num_entities=K, dim=D, hidden=8, dropout=0.0,
                          temporal_segments=4).eval()
    assert seg.mlp[1].in_features == 4 * K * D
    assert not torch.allclose(seg(x), seg(reversed_x))
    # segment s pools frames [2s, 2s+1]: check against a hand-made pooling
    pooled = x.view(B, 4, 2, K, D).mean(2)
    expected = seg.mlp(seg.norm(pooled).reshape(B, -1))
    torch.testing.assert_close(seg(x), expected)
    assert seg(torch.randn(B, 3, K, D)).shape == (B, 5)  # T < S still pools
    with pytest.raises(ValueError, match='temporal_segments must be >= 1'):
        MicroActionHead(num_classes=5, num_entities=K, dim=D, temporal_segments=0)


def test_drop_path_drops_whole_residual_branches_in_training_only():
    from mdn.models.layers.transformer import TransformerBlock, TransformerEncoder
    torch.manual_seed(0)
    block = TransformerBlock(16, 2, drop_path=0.5)
    x = torch.randn(256, 5, 16)
    block.train()
    out = block(x)
    unchanged = (out == x).all(-1).all(-1)  # both branches of that row dropped: p = 0.25
    assert 20 < int(unchanged.sum()) < 110
    block.eval()
    plain = TransformerBlock(16, 2).eval()
    plain.load_state_dict(block.state_dict())
    torch.testing.assert_close(block(x), plain(x))  # no drop and no rescale at test time
    assert not (block(x) == x).all(-1).all(-1).any()
    rates = [b.drop_path.drop_prob for b in TransformerEncoder(16, 3, 2, drop_path=0.3).blocks]
    assert rates == pytest.approx([0.1, 0.2, 0.3])  # linear in depth, the last block at the rate
    with pytest.raises(ValueError, match='drop_path'):
        TransformerBlock(16, 2, drop_path=1.0)
