"""Encoder checkpoints: exact round trip, strict loading, clear errors."""

from __future__ import annotations

import pytest
import torch

from sslinv.checkpoint import CheckpointError, load_encoder, save_encoder
from sslinv.models.backbone import build_backbone


def test_round_trip_gives_identical_features(tmp_path, tiny_backbone_spec):
    backbone = build_backbone(tiny_backbone_spec, seed=3)
    with torch.no_grad():  # make BN buffers non-default so they must be saved too
        backbone.net.bn1.running_mean.uniform_()
    save_encoder(tmp_path, backbone.eval(), {"kind": "random", "seed": 3})
    loaded, meta = load_encoder(tmp_path)
    assert meta["backbone"] == backbone.config and meta["kind"] == "random"
    x = torch.randn(4, 3, 16, 16)
    with torch.no_grad():
        assert torch.equal(backbone(x), loaded(x))
    assert not loaded.training


def test_keys_are_torchvision_resnet_keys(tmp_path):
    from safetensors.torch import load_file
    from torchvision.models import resnet18

    backbone = build_backbone({"arch": "resnet18", "width": 64, "stem": "imagenet"})
    save_encoder(tmp_path, backbone, {})
    reference = {k: v.shape for k, v in resnet18().state_dict().items() if not k.startswith("fc.")}
    saved = {k: v.shape for k, v in load_file(str(tmp_path / "encoder.safetensors")).items()}
    assert saved == reference


def test_wrong_architecture_lists_keys(tmp_path, tiny_backbone_spec):
    save_encoder(tmp_path, build_backbone(tiny_backbone_spec), {})
    meta = (tmp_path / "meta.json").read_text().replace('"width": 4', '"width": 8')
    (tmp_path / "meta.json").write_text(meta)
    with pytest.raises(CheckpointError, match=r"wrong shapes: .*conv1\.weight"):
        load_encoder(tmp_path)


def test_missing_checkpoint_says_how_to_build_it(tmp_path):
    with pytest.raises(CheckpointError, match=r"missing; build it with `snakemake .*encoder"):
        load_encoder(tmp_path / "nomodel")


def test_corrupt_checkpoint_is_named(tmp_path, tiny_backbone_spec):
    save_encoder(tmp_path, build_backbone(tiny_backbone_spec), {})
    (tmp_path / "encoder.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(CheckpointError, match="cannot read checkpoint"):
        load_encoder(tmp_path)
