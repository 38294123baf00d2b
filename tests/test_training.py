"""The shared training loop: schedule, NaN stop, and bit-exact resume after a signal."""

from __future__ import annotations

import math
import os
import signal

import pytest
import torch
from torch import nn

from sslinv.training import Interrupted, Schedule, TrainingError, train


def test_schedule_warmup_then_cosine():
    s = Schedule(lr=0.1, total_steps=12, warmup_steps=2)
    assert s(0) == pytest.approx(0.05)
    assert s(1) == pytest.approx(0.1)
    assert s(2) == pytest.approx(0.1)  # cosine starts at the base rate
    assert s(7) == pytest.approx(0.1 * 0.5 * (1 + math.cos(math.pi * 0.5)))
    assert s(12) == pytest.approx(0.0, abs=1e-12)


def _setup(seed: int = 0):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 3))
    images = torch.randint(0, 256, (40, 3, 2, 2), dtype=torch.uint8)
    labels = torch.randint(0, 3, (40,))

    def objective(x, y, generator):
        noise = torch.rand(x.shape, generator=generator)  # augmentation-like randomness
        loss = nn.functional.cross_entropy(model(x.float() / 255 + noise), y)
        return loss, {"loss": loss.detach()}

    return model, objective, images, labels


KW = {"epochs": 3, "batch_size": 8, "lr": 0.1, "warmup_epochs": 1, "seed": 7}


def test_resume_after_signal_is_bit_exact(tmp_path):
    model, objective, images, labels = _setup()
    reference = train(model, objective, images, labels, **KW)
    assert reference.steps == 15

    model2, objective2, images, labels = _setup()
    calls = {"n": 0}

    def interrupting(x, y, g):
        calls["n"] += 1
        if calls["n"] == 6:  # SLURM's pre-emption signal arrives mid-run
            os.kill(os.getpid(), signal.SIGUSR1)
        return objective2(x, y, g)

    state = tmp_path / "state.pt"
    with pytest.raises(Interrupted, match="rerun the job to resume"):
        train(model2, interrupting, images, labels, state_path=state, **KW)
    assert state.is_file()

    model3, objective3, images, labels = _setup()
    resumed = train(model3, objective3, images, labels, state_path=state, **KW)
    assert len(resumed.history) == 15
    for a, b in zip(model.parameters(), model3.parameters(), strict=True):
        assert torch.equal(a, b)
    assert [h["loss"] for h in resumed.history] == [h["loss"] for h in reference.history]


def test_state_of_other_config_is_ignored(tmp_path):
    model, objective, images, labels = _setup()
    state = tmp_path / "state.pt"
    train(
        model,
        objective,
        images,
        labels,
        state_path=state,
        fingerprint="a",
        checkpoint_every=5,
        **{**KW, "epochs": 2},
    )
    assert state.is_file()  # saved at step 5 of 10, kept for a resume
    model2, objective2, images, labels = _setup()
    result = train(model2, objective2, images, labels, state_path=state, fingerprint="b", **KW)
    assert len(result.history) == 15  # started over


def test_nan_loss_stops_with_advice():
    model, objective, images, labels = _setup()

    def nan(x, y, g):
        loss, m = objective(x, y, g)
        return loss * float("nan"), m

    with pytest.raises(
        TrainingError, match=r"loss became nan at step 0.*lower pretrain\.optimizer\.lr"
    ):
        train(model, nan, images, labels, **KW)


def test_too_few_images_for_a_batch():
    model, objective, images, labels = _setup()
    with pytest.raises(TrainingError, match="fewer than one batch"):
        train(model, objective, images[:4], labels[:4], **KW)


@pytest.mark.parametrize("workers", [0, 2])
def test_memory_mapped_split_trains_like_an_in_memory_one(tmp_path, workers):
    """Large splits stream from a memory map through DataLoader workers, same batches."""
    import numpy as np

    model, objective, images, labels = _setup()
    reference = train(model, objective, images, labels, **KW)
    path = tmp_path / "images.npy"
    np.save(path, images.permute(0, 2, 3, 1).numpy())
    mapped = np.load(path, mmap_mode="r")
    model2, objective2, _, labels = _setup()
    streamed = train(model2, objective2, mapped, labels, workers=workers, **KW)
    assert [h["loss"] for h in streamed.history] == [h["loss"] for h in reference.history]
    for a, b in zip(model.parameters(), model2.parameters(), strict=True):
        assert torch.equal(a, b)
