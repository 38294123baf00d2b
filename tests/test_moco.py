"""MoCo-v2 pieces against hand-computed values."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from sslinv.models.backbone import build_backbone
from sslinv.models.moco import MoCo, infonce_loss


def _moco(spec, **kw) -> MoCo:
    backbone = build_backbone(spec, seed=0)
    return MoCo(backbone, backbone.feature_dim, dim=4, hidden_dim=8, **kw)


def test_queue_is_a_ring_buffer(tiny_backbone_spec):
    moco = _moco(tiny_backbone_spec, queue_size=8)
    first = F.normalize(torch.randn(3, 4), dim=1)
    moco.dequeue_and_enqueue(first)
    assert torch.equal(moco.queue[:, :3], first.T)
    assert int(moco.queue_ptr) == 3
    second = F.normalize(torch.randn(6, 4), dim=1)
    moco.dequeue_and_enqueue(second)
    assert torch.equal(moco.queue[:, 3:8], second[:5].T)
    assert torch.equal(moco.queue[:, 0], second[5])  # wrapped around
    assert int(moco.queue_ptr) == 1


def test_momentum_update(tiny_backbone_spec):
    moco = _moco(tiny_backbone_spec, momentum=0.9)
    with torch.no_grad():
        for p in moco.encoder_q.parameters():
            p.add_(1.0)
    before_q = [p.clone() for p in moco.encoder_q.parameters()]
    before_k = [p.clone() for p in moco.encoder_k.parameters()]
    moco.momentum_update()
    for q, k_old, k_new in zip(before_q, before_k, moco.encoder_k.parameters(), strict=True):
        torch.testing.assert_close(k_new, 0.9 * k_old + 0.1 * q)


def test_loss_on_known_case():
    q = torch.tensor([[1.0, 0.0]])
    k = torch.tensor([[1.0, 0.0]])
    queue = torch.tensor([[0.0], [1.0]])  # one negative, orthogonal to q
    expected = math.log(1 + math.exp(-1.0))  # -log(e^1 / (e^1 + e^0)) at T = 1
    assert infonce_loss(q, k, queue, 1.0).item() == pytest.approx(expected, rel=1e-6)
    # The module's logits + cross-entropy give the same number.
    moco = _moco({"arch": "resnet18", "width": 4, "stem": "small"}, queue_size=1, temperature=1.0)
    moco.queue = torch.zeros(4, 1)
    moco.queue[1, 0] = 1.0
    logits = moco.logits(F.pad(q, (0, 2)), F.pad(k, (0, 2)))
    assert F.cross_entropy(logits, torch.zeros(1, dtype=torch.long)).item() == pytest.approx(
        expected
    )


def test_logits_match_reference_loss(tiny_backbone_spec):
    moco = _moco(tiny_backbone_spec, queue_size=16, temperature=0.2)
    q, k = F.normalize(torch.randn(5, 4), dim=1), F.normalize(torch.randn(5, 4), dim=1)
    logits = moco.logits(q, k)
    assert logits.shape == (5, 17)
    ce = F.cross_entropy(logits, torch.zeros(5, dtype=torch.long))
    torch.testing.assert_close(ce, infonce_loss(q, k, moco.queue, 0.2))


def test_shuffled_keys_come_back_in_order(tiny_backbone_spec):
    """Shuffle-BN must permute and un-permute: in eval mode keys equal a plain forward."""
    moco = _moco(tiny_backbone_spec, shuffle_bn_groups=4).eval()
    x = torch.randn(16, 3, 16, 16)
    keys = moco.keys(x, torch.Generator().manual_seed(0))
    with torch.no_grad():
        plain = F.normalize(moco.encoder_k(x), dim=1)
    torch.testing.assert_close(keys, plain, rtol=1e-5, atol=1e-5)


def test_forward_trains_only_the_query_encoder(tiny_backbone_spec):
    moco = _moco(tiny_backbone_spec, queue_size=32, shuffle_bn_groups=2)
    x = torch.randn(8, 3, 16, 16)
    loss, metrics = moco(x, x + 0.01 * torch.randn_like(x), torch.Generator().manual_seed(0))
    loss.backward()
    assert all(p.grad is None for p in moco.encoder_k.parameters())
    assert all(p.grad is not None for p in moco.encoder_q.parameters())
    assert 0.0 <= float(metrics["top1"]) <= 1.0
    assert int(moco.queue_ptr) == 8
