"""Every published layout through its dataset kind: config defaults, prepare, load.

The readers' own tests check each layout in detail; this checks the whole path a workflow
job takes: the config schema fills the kind's options, ``prepare_dataset`` decodes every
split the kind declares into ``images.npy`` + ``latents.csv``, and the result has the
columns later stages need (``label``, ``group``, keypoints, latents).
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import yaml

from sslinv.config import validate
from sslinv.datasets import (
    GROUP_PREFIX,
    dataset_splits,
    load_split,
    prepare_dataset,
    sheet_splits,
)
from tests.conftest import REPO
from tests.test_sources_landmarks import celeba_root, w300_root, write_lsp  # noqa: F401
from tests.test_sources_realworld import aloi_root, causal_root, coil_root  # noqa: F401
from tests.test_sources_recognition import (  # noqa: F401
    _flowers,
    caltech_root,
    cifar_root,
    imagenet_root,
)

SIZE = 12


def _filled(kind: str, root, **options) -> dict:
    """The dataset's spec as the workflow sees it: validated, defaults filled."""
    config = yaml.safe_load((REPO / "configs/smoke.yaml").read_text())
    config = copy.deepcopy(config)
    config["datasets"]["probe_me"] = {"kind": kind, "root": str(root), **options}
    return validate(config)["datasets"]["probe_me"]


def _root(kind: str, request, tmp_path):
    fixtures = {
        "cifar10": "cifar_root",
        "caltech101": "caltech_root",
        "imagenet": "imagenet_root",
        "w300": "w300_root",
        "celeba": "celeba_root",
        "coil100": "coil_root",
        "aloi": "aloi_root",
        "causal3dident": "causal_root",
    }
    if kind in fixtures:
        return request.getfixturevalue(fixtures[kind])
    if kind == "flowers102":
        return _flowers(tmp_path)
    write_lsp(tmp_path / "lsp", count=6)
    return tmp_path / "lsp"


CASES = {
    "cifar10": ({}, ["label", "class_name"]),
    "caltech101": ({"train_per_class": 2}, ["label", "class_name"]),
    "flowers102": ({}, ["label", "image_id"]),
    "imagenet": ({}, ["label", "wnid", "class_name"]),
    "w300": ({}, ["kp00_x", "kp67_y"]),
    "celeba": ({}, ["kp00_x", "kp04_y"]),
    "lsp": ({"train_count": 3}, ["kp00_x", "kp13_y", "kp13_visible"]),
    "coil100": ({}, ["group", "label", "angle"]),
    "aloi": ({}, ["group", "label"]),
    "causal3dident": ({}, ["label", "pos_x", "background_hue"]),
}


@pytest.mark.parametrize("kind", list(CASES))
def test_every_split_of_the_kind_is_prepared(kind, request, tmp_path):
    options, columns = CASES[kind]
    spec = _filled(kind, _root(kind, request, tmp_path), **options)
    splits = dataset_splits(spec)
    out = tmp_path / "prepared"
    prepare_dataset(kind, spec, splits, SIZE, out)
    for split in splits:
        images, latents = load_split(out, split)
        assert images.shape == (len(latents), SIZE, SIZE, 3) and images.dtype == np.uint8
        assert len(latents) > 0 and set(columns) <= set(latents.columns), (split, latents.columns)
        if split.startswith(GROUP_PREFIX):
            assert latents.groupby("group").size().min() >= 2
    for split in sheet_splits(spec):  # what a person should look at before trusting it
        assert (out / split / "contact_sheet.png").is_file()
