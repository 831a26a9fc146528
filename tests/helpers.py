"""Small builders shared by tests: random clips, tiny models, tiny configs."""
import numpy as np
import torch

from mdn.layouts import get_layout
from mdn.registry import MODELS
from mdn.structures import MicroActionDataSample


def random_clip(num_frames=20, num_joints=17, num_people=1, seed=0, label=0, name='clip'):
    rng = np.random.default_rng(seed)
    return dict(frame_dir=name, label=label, total_frames=num_frames, img_shape=(480, 640),
                keypoint=rng.uniform(100, 400, (num_people, num_frames, num_joints, 2)
                                     ).astype(np.float32),
                keypoint_score=rng.uniform(0.5, 1, (num_people, num_frames, num_joints)
                                           ).astype(np.float32))


def tiny_model(layout='coco_17', num_classes=4, in_channels=3, **overrides):
    cfg = dict(type='MicroDualNet', layout=layout, num_classes=num_classes,
               in_channels=in_channels, embed_dim=32,
               path=dict(type='FactorisedPath', depth=1, num_heads=4),
               router=dict(type='EntityRouter', hidden=16),
               mac_loss=dict(type='MACLoss', proj_dim=16),
               global_stream=dict(type='GlobalPoseStream', embed_dim=32, depth=1),
               head=dict(type='MicroActionHead', hidden=32, dropout=0.0))
    cfg.update(overrides)
    return MODELS.build(cfg)


def samples(labels):
    return [MicroActionDataSample().set_gt_label(int(y)) for y in labels]


def tiny_batch(B=4, T=8, V=17, C=3, num_classes=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(B, 1, T, V, C, generator=g), samples(torch.arange(B) % num_classes)


def layout_and_partition(layout_name, entity_set='body6'):
    """A registered layout and its entity partition, for tests of the joint-level stems."""
    layout = get_layout(layout_name)
    return layout, layout.partition(entity_set)


def whole_body_params_without_gradient(encoder):
    """Build a tiny whole-body (133-keypoint) model with this encoder config, run one loss
    backward with the router moved off its even start, and return (model, names of the
    trainable parameters that got no gradient)."""
    torch.manual_seed(0)
    model = tiny_model(layout='coco_wholebody_133', in_channels=3, encoder=encoder)
    with torch.no_grad():  # the router starts at an even mix (zero last layer); move it off
        model.router.w2.normal_(0, 0.1)
    x, batch_samples = tiny_batch(B=4, T=6, V=133, C=3)
    losses = model(x, batch_samples, mode='loss')
    sum(v for k, v in losses.items() if k.startswith('loss')).backward()
    return model, [n for n, p in model.named_parameters()
                   if p.requires_grad and (p.grad is None or not p.grad.abs().sum() > 0)]
