"""The config is checked before any job runs: wrong keys and values are named."""

from __future__ import annotations

import copy

import pytest
import yaml

from sslinv.config import ConfigError, load_config, model_names, validate
from tests.conftest import REPO


@pytest.fixture(scope="module")
def smoke() -> dict:
    return yaml.safe_load((REPO / "configs/smoke.yaml").read_text())


@pytest.mark.parametrize("name", ["config.yaml", "configs/smoke.yaml", "configs/paper.yaml"])
def test_shipped_configs_are_valid(name):
    config = load_config(REPO / name)
    baselines = ["random"] + (
        ["supervised"] if config["baselines"]["supervised"]["enabled"] else []
    )
    imported = list(config["import"])
    assert model_names(config) == [*config["pretrain"]["variants"], *baselines, *imported]
    assert set(config["pretrain"]["variants"]) >= {"default", "spatial", "appearance"}


def test_defaults_are_filled(smoke):
    config = copy.deepcopy(smoke)
    del config["pretrain"]["moco"]
    checked = validate(config)
    assert checked["pretrain"]["moco"]["queue_size"] == 65536  # the paper's K
    assert checked["pretrain"]["moco"]["temperature"] == 0.2
    assert "moco" not in config["pretrain"], "validate must not modify its argument"


@pytest.mark.parametrize(
    ("path", "needle"),
    [
        (["pretrain", "epohcs"], "'pretrain.epohcs'"),
        (["typo_top"], "'typo_top'"),
        (["datasets", "scenes", "trian"], "'datasets.scenes.trian'"),
    ],
)
def test_unknown_key_is_named(smoke, path, needle):
    config = copy.deepcopy(smoke)
    node = config
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = 1
    with pytest.raises(ConfigError, match="unknown config key") as err:
        validate(config)
    assert needle in str(err.value)


def test_bad_value_is_named(smoke):
    config = copy.deepcopy(smoke)
    config["pretrain"]["backbone"]["arch"] = "resnet7"
    with pytest.raises(ConfigError, match=r"pretrain\.backbone\.arch"):
        validate(config)
    config = copy.deepcopy(smoke)
    config["pretrain"]["epochs"] = 0
    with pytest.raises(ConfigError, match=r"pretrain\.epochs"):
        validate(config)


def test_unknown_augmentation_names_variant(smoke):
    config = copy.deepcopy(smoke)
    config["pretrain"]["variants"]["mine"] = ["horizontal_flip", "sepia"]
    with pytest.raises(ConfigError, match=r"pretrain\.variants\.mine.*sepia"):
        validate(config)


def test_new_variant_is_config_only(smoke):
    config = copy.deepcopy(smoke)
    config["pretrain"]["variants"]["rotate"] = [{"rotation": {"degrees": 90}}]
    assert "rotate" in model_names(validate(config))


def test_variant_may_not_shadow_baseline(smoke):
    config = copy.deepcopy(smoke)
    config["pretrain"]["variants"]["random"] = ["horizontal_flip"]
    with pytest.raises(ConfigError, match="clashes"):
        validate(config)


def test_pretrain_dataset_must_exist(smoke):
    config = copy.deepcopy(smoke)
    config["pretrain"]["dataset"] = "imagenet"
    with pytest.raises(ConfigError, match="imagenet"):
        validate(config)


def test_imagefolder_needs_root(smoke):
    config = copy.deepcopy(smoke)
    config["datasets"]["mine"] = {"kind": "imagefolder"}
    with pytest.raises(ConfigError, match="root"):
        validate(config)


def test_relative_roots_and_imports_resolve_under_data_root(smoke):
    config = copy.deepcopy(smoke)
    config["data_root"] = "/data/sslinv"
    config["datasets"]["flowers"] = {"kind": "flowers102", "root": "flowers102"}
    config["datasets"]["abs"] = {"kind": "cifar10", "root": "/elsewhere/cifar"}
    config["import"] = {"mocov2": {"path": "ckpt/moco_v2_200ep.pth.tar", "format": "moco"}}
    checked = validate(config)
    assert checked["datasets"]["flowers"]["root"] == "/data/sslinv/flowers102"
    assert checked["datasets"]["abs"]["root"] == "/elsewhere/cifar"
    assert checked["import"]["mocov2"]["path"] == "/data/sslinv/ckpt/moco_v2_200ep.pth.tar"
    assert model_names(checked)[-1] == "mocov2"  # imported models are models like any other


def test_an_import_cannot_shadow_a_trained_model(smoke):
    config = copy.deepcopy(smoke)
    config["import"] = {"random": {"path": "x.pth", "format": "torchvision"}}
    with pytest.raises(ConfigError, match="imported model 'random' has the name of a trained"):
        validate(config)


def test_published_kind_options_are_checked(smoke):
    config = copy.deepcopy(smoke)
    config["datasets"]["caltech"] = {"kind": "caltech101", "root": "c", "train_per_clas": 30}
    with pytest.raises(ConfigError, match="train_per_clas"):
        validate(config)
