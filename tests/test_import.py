"""Importing external checkpoints: exact features, strict keys, safe loading, no partial output."""

from __future__ import annotations

import hashlib
import json

import pytest
import torch
from torch import nn

from sslinv.checkpoint import load_encoder, save_encoder
from sslinv.errors import CheckpointError
from sslinv.importing import import_checkpoint
from sslinv.models.backbone import build_backbone
from sslinv.models.moco import MoCo

TV_SPEC = {"arch": "resnet18", "width": 64, "stem": "imagenet"}


class Opaque:
    """A custom class: its instances must not be unpickled by the importer."""

    def __init__(self) -> None:
        self.value = 1


class Booby:
    """Unpickling this would create the file named in ``path`` (a harmless stand-in for code)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def _randomise_bn(module: nn.Module, seed: int = 1) -> None:
    """Non-default BN statistics and affine parameters, so buffers must be carried over."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
                m.weight.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=gen) * 0.1)


def _features(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    model.eval()
    with torch.no_grad():
        return model(x)


def _images(size: int, n: int = 3) -> torch.Tensor:
    return torch.randn(n, 3, size, size, generator=torch.Generator().manual_seed(7))


def _tiny(spec: dict, seed: int = 0):
    backbone = build_backbone(spec, seed=seed)
    _randomise_bn(backbone, seed + 1)
    return backbone.eval()


def _only(tmp_path, *names) -> None:
    """Nothing but ``names`` in tmp_path: no output folder, no temporary leftovers."""
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names)


# --------------------------------------------------------------------------- moco


def test_moco_round_trip_gives_the_query_encoders_features(tmp_path, tiny_backbone_spec):
    backbone = _tiny(tiny_backbone_spec)
    moco = MoCo(backbone, backbone.feature_dim, dim=8, hidden_dim=16, queue_size=32)
    with torch.no_grad():  # f_k must differ from f_q, so taking the wrong encoder fails
        for p in moco.encoder_k.parameters():
            p.add_(1.0)
    source = tmp_path / "checkpoint_0003.pth.tar"
    torch.save(
        {
            "epoch": 3,
            "arch": "resnet18",
            "state_dict": {"module." + k: v for k, v in moco.state_dict().items()},
        },
        source,
    )
    out = tmp_path / "models" / "moco_official"
    meta = import_checkpoint(source, "moco", tiny_backbone_spec, out, name="moco_official")

    loaded, written = load_encoder(out)
    x = _images(32)
    torch.testing.assert_close(_features(loaded, x), _features(backbone, x), rtol=1e-6, atol=1e-6)
    assert written == json.loads(json.dumps(meta))
    assert sorted(p.name for p in out.iterdir()) == ["encoder.safetensors", "meta.json"]
    assert written["kind"] == "imported" and written["format"] == "moco"
    assert written["model"] == "moco_official" and written["source"] == str(source)
    assert written["sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    assert written["feature_dim"] == backbone.feature_dim == loaded.feature_dim
    assert written["backbone"] == backbone.config
    assert written["source_epoch"] == 3 and written["source_arch"] == "resnet18"


@pytest.mark.parametrize("prefix", ["module.", ""], ids=["ddp", "single-gpu"])
@pytest.mark.parametrize("head", ["v1", "v2"])
def test_official_moco_layout(tmp_path, tiny_backbone_spec, prefix, head):
    """The layout of facebookresearch/moco: encoder_q = torchvision ResNet with fc (MLP) head."""
    backbone = _tiny(tiny_backbone_spec, seed=4)
    trunk = backbone.net.state_dict()
    dim, feat = 8, backbone.feature_dim
    fc = (
        {"fc.weight": torch.randn(dim, feat), "fc.bias": torch.randn(dim)}
        if head == "v1"
        else {
            "fc.0.weight": torch.randn(feat, feat),
            "fc.0.bias": torch.randn(feat),
            "fc.2.weight": torch.randn(dim, feat),
            "fc.2.bias": torch.randn(dim),
        }
    )
    state = {f"{prefix}encoder_q.{k}": v for k, v in {**trunk, **fc}.items()}
    state |= {f"{prefix}encoder_k.{k}": v + 1 for k, v in {**trunk, **fc}.items()}
    state |= {f"{prefix}queue": torch.randn(dim, 16), f"{prefix}queue_ptr": torch.zeros(1)}
    source = tmp_path / "moco_v2_800ep_pretrain.pth.tar"
    optimizer = {"state": {}, "param_groups": [{"lr": 0.03, "momentum": 0.9, "params": [0, 1]}]}
    torch.save(
        {"epoch": 800, "arch": "resnet50", "state_dict": state, "optimizer": optimizer}, source
    )

    import_checkpoint(source, "moco", tiny_backbone_spec, tmp_path / "m", name="m")
    loaded, _ = load_encoder(tmp_path / "m")
    x = _images(32)
    torch.testing.assert_close(_features(loaded, x), _features(backbone, x), rtol=1e-6, atol=1e-6)


# --------------------------------------------------------------------------- torchvision


def test_torchvision_round_trip(tmp_path):
    """Real torchvision keys: resnet18 at width 64 with the ImageNet stem, fc dropped."""
    from torchvision.models import resnet18

    torch.manual_seed(11)
    reference = resnet18(weights=None)
    _randomise_bn(reference)
    source = tmp_path / "resnet18.pth"
    torch.save(reference.state_dict(), source)

    meta = import_checkpoint(source, "torchvision", TV_SPEC, tmp_path / "tv", name="tv")
    loaded, _ = load_encoder(tmp_path / "tv")
    reference.fc = nn.Identity()
    x = _images(64, n=2)
    torch.testing.assert_close(_features(loaded, x), _features(reference, x), rtol=1e-6, atol=1e-6)
    assert meta["feature_dim"] == 512 and meta["format"] == "torchvision"
    assert meta["backbone"] == {**TV_SPEC, "stem_stride": 1}


@pytest.mark.parametrize("wrap", ["state_dict", "model", "ddp", "old"])
def test_torchvision_wrappers(tmp_path, tiny_backbone_spec, wrap):
    backbone = _tiny(tiny_backbone_spec, seed=12)
    state = dict(backbone.net.state_dict())
    state |= {"fc.weight": torch.randn(10, backbone.feature_dim), "fc.bias": torch.randn(10)}
    if wrap == "old":  # pre-0.4.1 checkpoints have no BN num_batches_tracked (torch allows it)
        state = {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    if wrap == "ddp":  # saved from a DataParallel-wrapped model
        state = {"module." + k: v for k, v in state.items()}
    payload = {wrap: state, "epoch": 90} if wrap in ("state_dict", "model") else state
    source = tmp_path / "resnet.pth"
    torch.save(payload, source)
    import_checkpoint(source, "torchvision", tiny_backbone_spec, tmp_path / "tv", name="tv")
    loaded, _ = load_encoder(tmp_path / "tv")
    x = _images(32)
    torch.testing.assert_close(_features(loaded, x), _features(backbone, x), rtol=1e-6, atol=1e-6)


# --------------------------------------------------------------------------- strictness


def test_missing_and_extra_keys_are_named(tmp_path, tiny_backbone_spec):
    state = build_backbone(tiny_backbone_spec).net.state_dict()
    del state["layer3.1.bn2.running_var"]
    state["layer9.0.conv1.weight"] = torch.zeros(1)
    source = tmp_path / "broken.pth"
    torch.save(state, source)
    with pytest.raises(CheckpointError) as err:
        import_checkpoint(source, "torchvision", tiny_backbone_spec, tmp_path / "out", name="x")
    text = str(err.value)
    assert "1 missing keys: layer3.1.bn2.running_var" in text
    assert "1 unexpected keys: layer9.0.conv1.weight" in text
    assert str(source) in text
    _only(tmp_path, "broken.pth")


def test_wrong_width_lists_shapes_and_suggests_the_fix(tmp_path, tiny_backbone_spec):
    source = tmp_path / "w4.pth"
    torch.save(build_backbone(tiny_backbone_spec).net.state_dict(), source)
    wider = {**tiny_backbone_spec, "width": 8}
    with pytest.raises(CheckpointError) as err:
        import_checkpoint(source, "torchvision", wider, tmp_path / "out", name="x")
    text = str(err.value)
    assert "wrong shapes: " in text and "conv1.weight (4, 3, 3, 3) vs (8, 3, 3, 3)" in text
    assert "(+" in text  # more than the listed ten, with a count
    assert "pretrain.backbone width: 4" in text
    _only(tmp_path, "w4.pth")


def test_wrong_arch_lists_missing_and_unexpected(tmp_path, tiny_backbone_spec):
    source = tmp_path / "r50.pth"
    torch.save(build_backbone({**tiny_backbone_spec, "arch": "resnet50"}).net.state_dict(), source)
    with pytest.raises(CheckpointError) as err:
        import_checkpoint(source, "torchvision", tiny_backbone_spec, tmp_path / "out", name="x")
    text = str(err.value)
    assert "missing keys" not in text  # resnet18's keys are a subset of resnet50's
    assert "unexpected keys: " in text and "layer1.0.conv3.weight" in text
    assert "arch: resnet50" in text
    _only(tmp_path, "r50.pth")


def test_wrong_format_is_suggested(tmp_path, tiny_backbone_spec):
    backbone = build_backbone(tiny_backbone_spec)
    moco = MoCo(backbone, backbone.feature_dim, dim=8, hidden_dim=16, queue_size=32)
    moco_file, tv_file = tmp_path / "moco.pth.tar", tmp_path / "tv.pth"
    torch.save({"state_dict": {"module." + k: v for k, v in moco.state_dict().items()}}, moco_file)
    torch.save(backbone.net.state_dict(), tv_file)
    with pytest.raises(CheckpointError, match="use format 'moco'"):
        import_checkpoint(moco_file, "torchvision", tiny_backbone_spec, tmp_path / "a", name="a")
    with pytest.raises(CheckpointError, match=r"no 'encoder_q\.\*' keys.*use format 'torchvision'"):
        import_checkpoint(tv_file, "moco", tiny_backbone_spec, tmp_path / "b", name="b")
    _only(tmp_path, "moco.pth.tar", "tv.pth")


def test_random_bytes_are_not_a_checkpoint(tmp_path, tiny_backbone_spec):
    source = tmp_path / "weights.pth"
    source.write_bytes(bytes(torch.randint(0, 256, (4096,), dtype=torch.uint8).tolist()))
    for fmt in ("torchvision", "moco"):
        with pytest.raises(CheckpointError, match=r"weights\.pth' is not a PyTorch checkpoint"):
            import_checkpoint(source, fmt, tiny_backbone_spec, tmp_path / "out", name="x")
    with pytest.raises(CheckpointError, match=r"weights\.pth.*format 'sslinv'"):
        import_checkpoint(source, "sslinv", tiny_backbone_spec, tmp_path / "out", name="x")
    _only(tmp_path, "weights.pth")


def test_arbitrary_pickled_objects_are_refused(tmp_path, tiny_backbone_spec):
    marker = tmp_path / "code_ran"
    state = build_backbone(tiny_backbone_spec).net.state_dict()
    opaque, booby = tmp_path / "opaque.pth", tmp_path / "booby.pth"
    torch.save({"state_dict": state, "extra": Opaque()}, opaque)
    torch.save({"state_dict": state, "hook": Booby(str(marker))}, booby)
    with pytest.raises(CheckpointError, match=r"opaque\.pth.*Opaque.*refused"):
        import_checkpoint(opaque, "torchvision", tiny_backbone_spec, tmp_path / "out", name="x")
    with pytest.raises(CheckpointError, match=r"booby\.pth.*refused"):
        import_checkpoint(booby, "moco", tiny_backbone_spec, tmp_path / "out", name="x")
    assert not marker.exists()
    _only(tmp_path, "opaque.pth", "booby.pth")


def test_missing_source_is_named(tmp_path, tiny_backbone_spec):
    with pytest.raises(CheckpointError, match=r"nothere\.pth' does not exist"):
        import_checkpoint(
            tmp_path / "nothere.pth", "moco", tiny_backbone_spec, tmp_path / "out", name="x"
        )
    _only(tmp_path)


def test_existing_model_is_replaced_only_on_success(tmp_path, tiny_backbone_spec):
    good, bad = tmp_path / "good.pth", tmp_path / "bad.pth"
    first, second = _tiny(tiny_backbone_spec, seed=1), _tiny(tiny_backbone_spec, seed=2)
    torch.save(first.net.state_dict(), good)
    torch.save({"conv1.weight": torch.zeros(1)}, bad)
    out = tmp_path / "out"
    import_checkpoint(good, "torchvision", tiny_backbone_spec, out, name="out")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(CheckpointError):
        import_checkpoint(bad, "torchvision", tiny_backbone_spec, out, name="out")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    torch.save(second.net.state_dict(), good)
    import_checkpoint(good, "torchvision", tiny_backbone_spec, out, name="out")
    loaded, _ = load_encoder(out)
    x = _images(32)
    torch.testing.assert_close(_features(loaded, x), _features(second, x), rtol=1e-6, atol=1e-6)
    _only(tmp_path, "good.pth", "bad.pth", "out")


# --------------------------------------------------------------------------- sslinv


@pytest.mark.parametrize("target", ["folder", "file"])
def test_sslinv_model_folder_is_copied(tmp_path, tiny_backbone_spec, target):
    backbone = _tiny(tiny_backbone_spec, seed=5)
    source = tmp_path / "models" / "crop"
    save_encoder(source, backbone, {"model": "crop", "kind": "moco_v2", "seed": 5})
    path = source if target == "folder" else source / "encoder.safetensors"
    meta = import_checkpoint(path, "sslinv", tiny_backbone_spec, tmp_path / "copy", name="copy")
    loaded, _ = load_encoder(tmp_path / "copy")
    x = _images(32)
    torch.testing.assert_close(_features(loaded, x), _features(backbone, x), rtol=1e-6, atol=1e-6)
    assert meta["source_kind"] == "moco_v2" and meta["source_model"] == "crop"
    digest = hashlib.sha256((source / "encoder.safetensors").read_bytes()).hexdigest()
    assert meta["sha256"] == digest


def test_sslinv_wrong_architecture_fails(tmp_path, tiny_backbone_spec):
    source = tmp_path / "src"
    save_encoder(source, build_backbone(tiny_backbone_spec), {"kind": "random"})
    (source / "meta.json").unlink()  # no meta: only the weights' strict check can catch it
    wider = {**tiny_backbone_spec, "width": 8}
    with pytest.raises(CheckpointError, match=r"wrong shapes: .*conv1\.weight"):
        import_checkpoint(source, "sslinv", wider, tmp_path / "out", name="x")
    # same weights, different stem stride: only the source's meta.json can tell
    save_encoder(source, build_backbone(tiny_backbone_spec), {"kind": "random"})
    strided = {**tiny_backbone_spec, "stem_stride": 1}
    with pytest.raises(CheckpointError, match="stem_stride"):
        import_checkpoint(source, "sslinv", strided, tmp_path / "out", name="x")
    _only(tmp_path, "src")


# --------------------------------------------------------------------------- command line


def test_stage_command_line(tmp_path, tiny_backbone_spec, monkeypatch, capsys):
    import argparse

    import sslinv.stages
    from sslinv.cli import main
    from sslinv.stages import import_checkpoint as stage

    backbone = _tiny(tiny_backbone_spec, seed=8)
    source = tmp_path / "tv.pth"
    torch.save({"state_dict": backbone.net.state_dict()}, source)
    parser = argparse.ArgumentParser()
    stage.add_arguments(parser)
    spec = json.dumps({"backbone": tiny_backbone_spec})  # the whole pretrain spec works too
    args = parser.parse_args(
        ["--format", "torchvision", "--source", str(source), "--out", str(tmp_path / "a"),
         "--spec", spec, "--name", "imported_a"]
    )  # fmt: skip
    stage.run(args)
    _, meta = load_encoder(tmp_path / "a")
    assert meta["model"] == "imported_a" and meta["format"] == "torchvision"

    assert "import_checkpoint" in sslinv.stages.STAGES  # registered: `sslinv import_checkpoint`
    common = ["--source", str(source), "--spec", json.dumps(tiny_backbone_spec), "--threads", "1"]
    ok = main(
        ["import_checkpoint", "--format", "torchvision", "--out", str(tmp_path / "b"), *common]
    )
    assert ok == 0
    assert json.loads((tmp_path / "b" / "meta.json").read_text())["model"] == "b"
    bad = main(["import_checkpoint", "--format", "moco", "--out", str(tmp_path / "c"), *common])
    assert bad == 2
    assert "sslinv import_checkpoint: error: " in capsys.readouterr().err
    assert not (tmp_path / "c").exists()
