"""MoCo-v2 (He et al. 2020; Chen et al. 2020), single-process, checkable against the paper.

Symbols follow the paper: a query encoder f_q and a key encoder f_k (backbone + 2-layer MLP
head), f_k updated as theta_k <- m theta_k + (1 - m) theta_q, a queue of K negative keys,
and the InfoNCE loss with temperature T over one positive and K negatives.

Shuffle-BN: with batch-norm computed over the whole batch, a query and its key see the same
batch statistics, which leaks the positive and lets the model "cheat" (the prototype of this
workflow collapsed that way). MoCo shuffles the key batch across GPUs; on one device we get
the same effect by normalising in ``groups`` sub-batches and shuffling which sub-batch each
key lands in, so a query and its key never share batch statistics.

Data-parallel (several processes, one slice of the global batch each): every process
normalises ``shuffle_bn_groups / world size`` groups of its slice, so the global number and
size of batch-norm groups stay the configured ones; keys are gathered from all processes
before they enter the queue, so every process keeps the same queue.
"""

from __future__ import annotations

import copy

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from sslinv.distributed import all_gather_cat


def projection_head(in_dim: int, hidden_dim: int, out_dim: int) -> nn.Sequential:
    """MoCo-v2's MLP head (fc-ReLU-fc); dropped after pre-training."""
    return nn.Sequential(
        nn.Linear(in_dim, hidden_dim), nn.ReLU(inplace=True), nn.Linear(hidden_dim, out_dim)
    )


def grouped_forward(encoder: nn.Module, x: torch.Tensor, groups: int) -> torch.Tensor:
    """Run ``encoder`` on ``groups`` equal sub-batches so batch-norm sees each separately."""
    if groups <= 1 or x.shape[0] < 2 * groups:
        return encoder(x)
    return torch.cat([encoder(chunk) for chunk in x.chunk(groups)])


class MoCo(nn.Module):
    """Query/key encoders, the negative queue and the InfoNCE logits."""

    def __init__(
        self,
        backbone: nn.Module,
        feature_dim: int,
        *,
        dim: int = 128,
        hidden_dim: int = 2048,
        queue_size: int = 65536,
        momentum: float = 0.999,
        temperature: float = 0.2,
        shuffle_bn_groups: int = 8,
    ) -> None:
        super().__init__()
        self.K, self.m, self.T = queue_size, momentum, temperature
        self.shuffle_bn_groups = shuffle_bn_groups
        self.backbone = backbone  # f_q's trunk: the encoder that is kept
        self.encoder_q = nn.Sequential(backbone, projection_head(feature_dim, hidden_dim, dim))
        self.encoder_k = copy.deepcopy(self.encoder_q)
        for param in self.encoder_k.parameters():
            param.requires_grad_(False)
        self.register_buffer("queue", F.normalize(torch.randn(dim, queue_size), dim=0))
        self.register_buffer("queue_ptr", torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    def momentum_update(self) -> None:
        """theta_k <- m * theta_k + (1 - m) * theta_q over parameters.

        As in the reference code, f_k's batch-norm buffers are not averaged: f_k keeps its
        own running statistics from the key batches it sees.
        """
        for p_q, p_k in zip(self.encoder_q.parameters(), self.encoder_k.parameters(), strict=True):
            p_k.mul_(self.m).add_(p_q.detach(), alpha=1.0 - self.m)

    @torch.no_grad()
    def dequeue_and_enqueue(self, keys: torch.Tensor) -> None:
        """Replace the oldest keys in the ring buffer by this batch's keys (dim x K layout)."""
        n = keys.shape[0]
        ptr = int(self.queue_ptr)
        idx = (ptr + torch.arange(n, device=keys.device)) % self.K
        self.queue[:, idx] = keys.T.to(self.queue.dtype)
        self.queue_ptr.fill_((ptr + n) % self.K)

    def _world_size(self) -> int:
        return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1

    def _groups(self) -> int:
        return max(1, self.shuffle_bn_groups // self._world_size())

    @torch.no_grad()
    def keys(self, im_k: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """k = f_k(x_k), L2-normalised, computed with shuffled batch-norm groups.

        The permutation is drawn for the global batch (every process draws the same one) and
        restricted to this process's samples, so all processes' generators stay in step.
        """
        n = im_k.shape[0]
        full = torch.randperm(n * self._world_size(), generator=generator)
        perm = full[full < n].to(im_k.device)
        k = grouped_forward(self.encoder_k, im_k[perm], self._groups())
        k = F.normalize(k.float(), dim=1)
        return k[torch.argsort(perm)]

    def logits(self, q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        """[q.k+, q.queue] / T: column 0 is the positive, the rest the K negatives."""
        l_pos = (q * k).sum(dim=1, keepdim=True)
        l_neg = q @ self.queue.clone().detach()
        return torch.cat([l_pos, l_neg], dim=1) / self.T

    def forward(
        self, im_q: torch.Tensor, im_k: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, dict]:
        """One MoCo step's loss and metrics; updates f_k and the queue as side effects."""
        q = F.normalize(grouped_forward(self.encoder_q, im_q, self._groups()).float(), dim=1)
        with torch.no_grad():
            self.momentum_update()
            k = self.keys(im_k, generator)
        logits = self.logits(q, k)
        labels = torch.zeros(logits.shape[0], dtype=torch.long, device=logits.device)
        loss = F.cross_entropy(logits, labels)
        top1 = (logits.argmax(dim=1) == 0).float().mean()
        self.dequeue_and_enqueue(all_gather_cat(k))
        return loss, {"loss": loss.detach(), "top1": top1.detach()}


def infonce_loss(q: torch.Tensor, k: torch.Tensor, queue: torch.Tensor, T: float) -> torch.Tensor:
    """Reference InfoNCE: -log exp(q.k/T) / (exp(q.k/T) + sum_j exp(q.n_j/T))."""
    pos = torch.exp((q * k).sum(1) / T)
    neg = torch.exp(q @ queue / T).sum(1)
    return -(torch.log(pos / (pos + neg))).mean()
