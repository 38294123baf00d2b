"""Dataset kinds and the prepared-split format every later stage reads.

A prepared split is a folder ``{data_root}/{dataset}/{split}/`` holding ``images.npy``
(uint8, N x H x W x 3, memory-mappable) and ``latents.csv`` (one row per image: ``label``
and any other known factor). Each dataset kind only has to produce that; pre-training,
feature extraction and probes never need to know where the pixels came from.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sslinv.errors import DatasetError
from sslinv.io import save_csv, save_npy

# Published datasets read by sslinv.sources.<kind> (their splits come from the module).
SOURCE_KINDS = (
    "imagenet",
    "cifar10",
    "caltech101",
    "flowers102",
    "w300",
    "celeba",
    "lsp",
    "coil100",
    "aloi",
    "causal3dident",
)
if TYPE_CHECKING:  # torch is imported where pixels are made: planning the DAG needs none
    import torch

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".ppm", ".tif", ".tiff", ".webp")
LABELLED_SPLITS = ("train", "val", "test")
GROUP_PREFIX = "groups_"


def dataset_splits(spec: Mapping[str, Any]) -> list[str]:
    """Every split a dataset of this kind prepares."""
    if spec["kind"] == "scenes":
        groups = [GROUP_PREFIX + factor for factor in spec["factors"]]
        return ["pretrain", *LABELLED_SPLITS, *groups]
    if spec["kind"] in SOURCE_KINDS:
        return list(source_module(spec["kind"]).splits(spec))
    return list(LABELLED_SPLITS)


def source_module(kind: str):
    """The reader of a published dataset layout (imported on use: the DAG stays fast)."""
    import importlib

    return importlib.import_module(f"sslinv.sources.{kind}")


def pretrain_split(spec: Mapping[str, Any]) -> str:
    """The split pre-training reads: the unlabelled renders, or a labelled dataset's train."""
    return "pretrain" if spec["kind"] == "scenes" else "train"


def feature_splits(spec: Mapping[str, Any]) -> list[str]:
    """Splits that get frozen features: everything but the (large) pre-training sets.

    ImageNet's 1.28M training images are for pre-training only; its val split is the
    reference and synthetic-transform set, so it is the only one encoded.
    """
    skip = {"pretrain", "train"} if spec["kind"] == "imagenet" else {"pretrain"}
    return [s for s in dataset_splits(spec) if s not in skip]


def sheet_splits(spec: Mapping[str, Any]) -> list[str]:
    """Splits drawn as contact sheets: the labelled training images and every factor group."""
    splits = dataset_splits(spec)
    return [s for s in splits if s == "train" or s.startswith(GROUP_PREFIX)]


def split_seed(seed: int, split: str) -> int:
    """An independent, stable seed per (dataset seed, split name)."""
    words = [seed, *split.encode()]
    return int(np.random.SeedSequence(words).generate_state(1)[0])


# --------------------------------------------------------------------------- preparing


def prepare_split(
    name: str,
    spec: Mapping[str, Any],
    split: str,
    image_size: int,
    out_dir: str | Path,
    *,
    device: str | torch.device = "cpu",
    workers: int = 0,
) -> None:
    """Write ``images.npy`` and ``latents.csv`` of one split of dataset ``name``."""
    if split not in dataset_splits(spec):
        raise DatasetError(
            f"dataset '{name}' (kind {spec['kind']}) has no split '{split}'; "
            f"it has: {', '.join(dataset_splits(spec))}"
        )
    kind = spec["kind"]
    if kind in SOURCE_KINDS:
        _prepare_source(name, spec, split, image_size, Path(out_dir), workers)
        return
    if kind == "scenes":
        images, latents = _scenes_split(spec, split, image_size, device)
    elif kind == "digits":
        images, latents = _labelled_split(*load_digits(image_size), spec, split)
    elif kind == "imagefolder":
        _write_source(_imagefolder_source(name, spec, split), image_size, Path(out_dir), workers)
        return
    else:  # the schema rejects other kinds; this guards direct API use
        raise DatasetError(f"unknown dataset kind {kind!r}")
    write_split(out_dir, images, latents)


def prepare_dataset(
    name: str,
    spec: Mapping[str, Any],
    splits: Sequence[str],
    image_size: int,
    out_root: str | Path,
    *,
    device: str | torch.device = "cpu",
    workers: int = 0,
) -> None:
    """Prepare several splits of one dataset and draw the contact sheets of the ones to look at."""
    from sslinv.sheets import contact_sheet

    out_root = Path(out_root)
    for split in splits:
        prepare_split(
            name, spec, split, image_size, out_root / split, device=device, workers=workers
        )
        if split in sheet_splits(spec):
            images, latents = load_split(out_root / split)
            columns = _sheet_columns(spec, split, latents)
            count = min(len(images), columns * 8)
            labels = [str(v) for v in latents["label"][:count]] if "label" in latents else None
            contact_sheet(
                images[:count],
                out_root / split / "contact_sheet.png",
                columns=columns,
                labels=labels,
            )


def _sheet_columns(spec: Mapping[str, Any], split: str, latents: pd.DataFrame) -> int:
    """One row per group for factor groups (capped), 16 images a row otherwise."""
    if not split.startswith(GROUP_PREFIX):
        return 16
    if "group_views" in spec:
        return spec["group_views"]
    return int(min(24, latents["group"].value_counts().max()))


def _prepare_source(
    name: str, spec: Mapping[str, Any], split: str, image_size: int, out_dir: Path, workers: int
) -> None:
    """Read a published layout and decode it (writing through a memory map keeps a split
    larger than RAM, such as ImageNet, off the heap; files appear only when complete).
    """
    module = source_module(spec["kind"])
    root = Path(spec["root"]).expanduser()
    if spec.get("download"):
        module.download(root)
    _write_source(module.read(root, split, spec), image_size, out_dir, workers)


def _imagefolder_source(name: str, spec: Mapping[str, Any], split: str):
    """One seeded, stratified split of a folder of class subfolders, as a Source."""
    from sslinv.sources import Source

    paths, labels, classes = scan_imagefolder(spec["root"], dataset=name)
    keep = _split_indices(labels, spec, split)
    latents = pd.DataFrame({"label": labels[keep], "path": [str(paths[i]) for i in keep]})
    latents["class_name"] = [classes[i] for i in labels[keep]]
    return Source(latents=latents, paths=[paths[i] for i in keep])


def _write_source(source, image_size: int, out_dir: Path, workers: int) -> None:
    """Decode a Source straight into a memory-mapped ``images.npy``, then its latents."""
    from sslinv.io import atomic_path
    from sslinv.sources.decode import decode_source

    shape = (len(source), image_size, image_size, 3)
    with atomic_path(out_dir / "images.npy", suffix=".npy") as tmp:
        images = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=shape)
        decode_source(source, image_size, out=images, workers=workers)
        images.flush()
        del images
    save_csv(out_dir / "latents.csv", source.latents.reset_index(drop=True))


def write_split(out_dir: str | Path, images: np.ndarray, latents: pd.DataFrame) -> None:
    """Save a prepared split (images first, so latents.csv marks a complete folder)."""
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"images must be uint8 N x H x W x 3, got {images.dtype} {images.shape}")
    if len(images) != len(latents):
        raise ValueError(f"{len(images)} images but {len(latents)} latent rows")
    out_dir = Path(out_dir)
    save_npy(out_dir / "images.npy", images)
    save_csv(out_dir / "latents.csv", latents.reset_index(drop=True))


def _scenes_split(
    spec: Mapping[str, Any], split: str, image_size: int, device: str | torch.device
) -> tuple[np.ndarray, pd.DataFrame]:
    from sslinv import scenes

    seed = split_seed(spec["seed"], split)
    if split.startswith(GROUP_PREFIX):
        factor = split[len(GROUP_PREFIX) :]
        latents = scenes.factor_groups(spec["group_count"], spec["group_views"], factor, seed)
    else:
        latents = scenes.sample_latents(spec[split], seed)
    images = scenes.render(latents, image_size, antialias=spec["antialias"], device=device)
    return images, latents


def load_digits(image_size: int) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 8x8 handwritten digits, upsampled to ``image_size`` RGB (ships offline)."""
    import torch
    import torch.nn.functional as F
    from sklearn.datasets import load_digits as sk_load_digits

    bunch = sk_load_digits()
    gray = torch.from_numpy(bunch.images.astype(np.float32) / 16.0)[:, None]
    big = F.interpolate(gray, size=(image_size, image_size), mode="bilinear", align_corners=False)
    rgb = (big.clamp(0, 1) * 255).round().to(torch.uint8).repeat(1, 3, 1, 1)
    return rgb.permute(0, 2, 3, 1).numpy(), bunch.target.astype(np.int64)


def _split_indices(labels: np.ndarray, spec: Mapping[str, Any], split: str) -> np.ndarray:
    """Seeded, stratified train/val/test indices, sorted so files keep a stable order."""
    from sklearn.model_selection import train_test_split

    index = np.arange(len(labels))
    test_fraction, val_fraction = spec["test_fraction"], spec["val_fraction"]
    if test_fraction + val_fraction >= 1:
        raise DatasetError("val_fraction + test_fraction must leave some training data (< 1)")
    rest, test = train_test_split(
        index, test_size=test_fraction, stratify=labels, random_state=spec["seed"]
    )
    train, val = train_test_split(
        rest,
        test_size=val_fraction / (1 - test_fraction),
        stratify=labels[rest],
        random_state=spec["seed"],
    )
    return np.sort({"train": train, "val": val, "test": test}[split])


def _labelled_split(
    images: np.ndarray, labels: np.ndarray, spec: Mapping[str, Any], split: str
) -> tuple[np.ndarray, pd.DataFrame]:
    keep = _split_indices(labels, spec, split)
    return images[keep], pd.DataFrame({"label": labels[keep]})


def check_sources(datasets: Mapping[str, Mapping[str, Any]]) -> None:
    """Fail before any job runs when a dataset's folder is missing or empty."""
    for name, spec in datasets.items():
        if spec["kind"] == "imagefolder":
            scan_imagefolder(spec["root"], dataset=name)
        elif spec["kind"] in SOURCE_KINDS and not spec.get("download"):
            root = Path(spec["root"]).expanduser()
            if not root.is_dir():
                published = source_module(spec["kind"]).PUBLISHED
                raise DatasetError(
                    f"the folder '{root}' of dataset '{name}' (kind {spec['kind']}) does not "
                    f"exist; download it from {published} and point 'datasets.{name}.root' "
                    "(relative to data_root) at it"
                )


def scan_imagefolder(root: str | Path, *, dataset: str = "imagefolder") -> tuple:
    """List (paths, labels, class names) of a root folder with one subfolder per class."""
    root = Path(root).expanduser()
    fix = (
        f"point 'datasets.{dataset}.root' in the config at a folder with one subfolder of "
        "images per class (root/<class>/<image>.png)"
    )
    if not root.is_dir():
        raise DatasetError(
            f"imagefolder root '{root}' of dataset '{dataset}' does not exist; {fix}"
        )
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    paths, labels = [], []
    for index, name in enumerate(classes):
        files = sorted(p for p in (root / name).rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS)
        paths += files
        labels += [index] * len(files)
    if not paths:
        raise DatasetError(f"imagefolder root '{root}' of dataset '{dataset}' has no images; {fix}")
    if len(classes) < 2:
        raise DatasetError(
            f"imagefolder root '{root}' of dataset '{dataset}' has {len(classes)} class folder; "
            "a labelled dataset needs at least 2"
        )
    return paths, np.asarray(labels, dtype=np.int64), classes


# --------------------------------------------------------------------------- loading


def load_split(data_dir: str | Path, split: str | None = None) -> tuple[np.ndarray, pd.DataFrame]:
    """Open a prepared split: memory-mapped uint8 images and the latents table."""
    folder = Path(data_dir) / split if split else Path(data_dir)
    images_path, latents_path = folder / "images.npy", folder / "latents.csv"
    for path in (images_path, latents_path):
        if not path.is_file():
            raise DatasetError(
                f"prepared split file '{path}' is missing; build it with "
                f"`snakemake {path}` (or run the workflow)"
            )
    try:
        images = np.load(images_path, mmap_mode="r")
    except ValueError as err:
        raise DatasetError(f"'{images_path}' is not a valid .npy file ({err}); delete it") from None
    latents = pd.read_csv(latents_path)
    if len(images) != len(latents):
        raise DatasetError(
            f"'{folder}' has {len(images)} images but {len(latents)} latent rows; delete the "
            "folder and rerun"
        )
    return images, latents


def to_tensor(images: np.ndarray, device: str | torch.device = "cpu") -> torch.Tensor:
    """uint8 N x H x W x 3 -> uint8 tensor N x 3 x H x W on ``device`` (kept as bytes)."""
    import torch

    array = np.ascontiguousarray(images)
    if not array.flags.writeable:  # memory-mapped read-only: torch wants its own copy
        array = array.copy()
    return torch.from_numpy(array).permute(0, 3, 1, 2).contiguous().to(device)
