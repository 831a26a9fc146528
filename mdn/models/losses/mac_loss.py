"""Mutual Action Consistency (MAC): a contrastive tie between the ST and TS paths.

Our reading of the paper (METHOD.md Sec. 4.7): per entity, the time-pooled ST and TS
features are projected and L2-normalised; the positive of (sample b, entity i, ST) is
(b, i, TS), the negatives are the other samples' same entity in the batch (the global
batch, gathered across processes); a symmetric
InfoNCE (ST->TS and TS->ST) with temperature 0.1, averaged over entities, weighted by lambda.

With ``class_aware_negatives`` the other samples *of the same class* are left out of the
negatives (they are neither positives nor pushed away): instance discrimination would
otherwise push apart the very samples the classifier has to bring together, which costs most
where a batch holds many samples per class (few classes, e.g. NW-UCLA's 10).
"""
from typing import Optional

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import Tensor, nn

from mdn.registry import MODELS


def mac_infonce(z_st: Tensor, z_ts: Tensor, temperature: float,
                labels: Optional[Tensor] = None) -> Tensor:
    """Symmetric InfoNCE on ``[B, K, P]`` L2-normalised embeddings, mean over entities.

    ``labels [B]``: where given, pairs of different samples with the same label are not
    negatives (their logits are masked out of both directions)."""
    B, K, _ = z_st.shape
    logits = torch.einsum('ikp,jkp->kij', z_st, z_ts) / temperature  # [K, B, B]
    if labels is not None:
        same = labels[:, None] == labels[None, :]
        same.fill_diagonal_(False)  # the positive stays
        logits = logits.masked_fill(same, float('-inf'))
    target = torch.arange(B, device=z_st.device).expand(K, B).reshape(-1)
    st_to_ts = F.cross_entropy(logits.reshape(K * B, B), target)
    ts_to_st = F.cross_entropy(logits.transpose(1, 2).reshape(K * B, B), target)
    return 0.5 * (st_to_ts + ts_to_st)


def gather_batch(z: Tensor) -> 'tuple[Tensor, int]':
    """Every rank's ``z`` concatenated (rank order), with only this rank's slice carrying
    gradients, and the world size. The identity outside distributed training.

    No collective runs in backward (a gather with gradients would interleave with DDP's own
    all-reduce on the same process group).
    """
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return z, 1
    world, rank = dist.get_world_size(), dist.get_rank()
    sizes = [torch.zeros(1, dtype=torch.long, device=z.device) for _ in range(world)]
    dist.all_gather(sizes, torch.tensor([z.shape[0]], device=z.device))
    sizes = [int(s) for s in sizes]
    padded = torch.zeros((max(sizes), *z.shape[1:]), dtype=z.dtype, device=z.device)
    padded[:z.shape[0]] = z.detach()
    parts = [torch.empty_like(padded) for _ in range(world)]
    dist.all_gather(parts, padded)
    parts = [p[:n] for p, n in zip(parts, sizes)]
    parts[rank] = z
    return torch.cat(parts), world


@MODELS.register_module()
class MACLoss(nn.Module):
    """MAC loss with its own projection heads (one per path, shared by entities).

    Args:
        dim: D of the path features; proj_dim: P.
        temperature: InfoNCE temperature (0.1).
        loss_weight: lambda (0.1); 0 disables the loss (ablation "no MAC").
        class_aware_negatives: leave same-class samples out of the negatives (needs the
            labels in ``forward``; without them every other sample is a negative).
    """

    def __init__(self, dim: int, proj_dim: int = 64, temperature: float = 0.1,
                 loss_weight: float = 0.1, class_aware_negatives: bool = False):
        super().__init__()
        if temperature <= 0:
            raise ValueError(f'MAC temperature must be > 0, got {temperature}')
        if loss_weight < 0:
            raise ValueError(f'MAC loss_weight must be >= 0, got {loss_weight}')
        self.temperature, self.loss_weight = temperature, loss_weight
        self.class_aware_negatives = class_aware_negatives
        self.proj_st = nn.Sequential(nn.Linear(dim, dim), nn.GELU(), nn.Linear(dim, proj_dim))
        self.proj_ts = nn.Sequential(nn.Linear(dim, dim), nn.GELU(), nn.Linear(dim, proj_dim))

    def forward(self, x_st: Tensor, x_ts: Tensor, labels: Optional[Tensor] = None) -> Tensor:
        """``[B, T, K, D]`` x2 (before routing), ``labels [B]`` (used with
        ``class_aware_negatives``) -> weighted scalar loss."""
        z_st = F.normalize(self.proj_st(x_st.mean(1)), dim=-1)
        z_ts = F.normalize(self.proj_ts(x_ts.mean(1)), dim=-1)
        # Multi-process: every rank computes the loss of the *global* batch; only its own
        # embeddings carry gradients, so DDP's average over ranks is the exact single-process
        # gradient once each rank's gradient is scaled by the world size (value unchanged).
        all_st, world = gather_batch(z_st)
        all_ts, _ = gather_batch(z_ts)
        if self.class_aware_negatives and labels is not None:
            labels = labels.reshape(-1)
            if labels.numel() != z_st.shape[0]:  # several clips per sample: one label each
                labels = labels.repeat_interleave(z_st.shape[0] // labels.numel())
            labels, _ = gather_batch(labels)
        else:
            labels = None
        loss = mac_infonce(all_st, all_ts, self.temperature, labels)
        if world > 1:
            loss = loss + (world - 1) * (loss - loss.detach())
        return self.loss_weight * loss
