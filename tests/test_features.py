"""Frozen features and the pre-training stage's bookkeeping."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from sslinv.checkpoint import load_encoder
from sslinv.datasets import write_split
from sslinv.features import extract_features, extract_splits, knn_accuracy
from sslinv.models.backbone import build_backbone
from sslinv.preprocess import normalize
from sslinv.pretrain import build_model
from sslinv.training import TrainingError


def _images(n=24, size=16, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, 3), dtype=np.uint8)


def test_features_equal_a_plain_eval_forward(tiny_backbone_spec):
    backbone = build_backbone(tiny_backbone_spec, seed=0).eval()
    images = _images()
    feats = extract_features(backbone, images, batch_size=7)
    x = normalize(torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255)
    with torch.no_grad():
        expected = backbone(x).numpy()
    assert feats.dtype == np.float32 and feats.shape == (24, backbone.feature_dim)
    np.testing.assert_allclose(feats, expected, rtol=1e-5, atol=1e-5)
    assert np.array_equal(feats, extract_features(backbone, images, batch_size=24))


def test_knn_accuracy_on_separable_clusters():
    rng = np.random.default_rng(0)
    centres = np.eye(3) * 10
    labels = np.repeat(np.arange(3), 20)
    x = centres[labels] + rng.normal(size=(60, 3))
    assert knn_accuracy(x[::2], labels[::2], x[1::2], labels[1::2], k=5) == 1.0
    shuffled = rng.permutation(labels)
    assert knn_accuracy(x[::2], shuffled[::2], x[1::2], labels[1::2], k=5) < 0.7


def _pretrain_split(root, n=64):
    images = _images(n, 16)
    write_split(root, images, pd.DataFrame({"label": np.arange(n) % 4}))
    return root


SPEC = {
    "seed": 0,
    "epochs": 2,
    "batch_size": 16,
    "checkpoint_every": 3,
    "log_every": 1,
    "optimizer": {"lr": 0.01, "momentum": 0.9, "weight_decay": 0.0, "warmup_epochs": 0},
    "moco": {
        "dim": 8,
        "hidden_dim": 16,
        "queue_size": 32,
        "momentum": 0.99,
        "temperature": 0.2,
        "shuffle_bn_groups": 2,
    },
    "augmentations": ["horizontal_flip", {"color_jitter": {"p": 1.0}}],
    "min_top1": 0.0,
}


@pytest.mark.parametrize("kind", ["moco_v2", "supervised", "random"])
def test_build_model_writes_checkpoint_and_meta(tmp_path, tiny_backbone_spec, kind):
    data = _pretrain_split(tmp_path / "data")
    meta = build_model(kind, {**SPEC, "backbone": tiny_backbone_spec}, data, tmp_path / "m")
    written = json.loads((tmp_path / "m" / "meta.json").read_text())
    assert written["kind"] == kind and written["backbone"] == tiny_backbone_spec
    assert {"knn_top1", "knn_majority"} <= set(written)
    if kind != "random":
        assert written["steps"] == 8 and len(written["loss_curve"]) == 8
        assert {"final_loss", "final_top1", "wall_time_s", "images_per_s"} <= set(meta)
        assert written["augmentations"][0]["name"] == "horizontal_flip"
    assert not (tmp_path / "m" / "state.pt").exists()  # removed once the model is final
    encoder, _ = load_encoder(tmp_path / "m")
    assert encoder.feature_dim == 32


def test_model_that_does_not_learn_is_an_error(tmp_path, tiny_backbone_spec):
    data = _pretrain_split(tmp_path / "data")
    spec = {**SPEC, "backbone": tiny_backbone_spec, "min_top1": 0.99}
    with pytest.raises(TrainingError, match=r"MoCo did not learn.*ln\(K\+1\)"):
        build_model("moco_v2", spec, data, tmp_path / "m")
    assert not (tmp_path / "m" / "encoder.safetensors").exists()


def test_extract_splits_writes_features_and_targets(tmp_path, tiny_backbone_spec):
    for split in ("train", "test"):
        write_split(tmp_path / "data" / split, _images(10), pd.DataFrame({"label": range(10)}))
    backbone = build_backbone(tiny_backbone_spec)
    extract_splits(backbone, tmp_path / "data", ["train", "test"], tmp_path / "f")
    assert np.load(tmp_path / "f" / "train.npy").shape == (10, 32)
    assert list(pd.read_csv(tmp_path / "f" / "test.targets.csv")["label"]) == list(range(10))
