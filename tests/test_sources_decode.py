"""Published layouts through the dataset kinds: decoding, keypoint boxes, prepared splits."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from sslinv.datasets import dataset_splits, load_split, prepare_dataset
from sslinv.errors import ConfigError, DatasetError
from sslinv.sources import Source
from sslinv.sources.decode import RESIZE_RATIO, decode_file, decode_source
from sslinv.targets import regression_targets


def _gradient(width: int, height: int) -> np.ndarray:
    x = np.linspace(0, 255, width)[None, :, None]
    y = np.linspace(0, 255, height)[:, None, None]
    return np.concatenate(
        [np.broadcast_to(x, (height, width, 1)), np.broadcast_to(y, (height, width, 1)),
         np.full((height, width, 1), 90.0)], axis=2,
    ).round().astype(np.uint8)  # fmt: skip


def test_resize_256_centre_crop_224_matches_torchvision(tmp_path):
    import torchvision.transforms.functional as TF
    from torchvision.transforms import InterpolationMode

    path = tmp_path / "wide.png"
    Image.fromarray(_gradient(60, 30)).save(path)
    out = decode_file(path, 16)
    with Image.open(path) as img:
        ref = TF.center_crop(
            TF.resize(img.convert("RGB"), round(16 * RESIZE_RATIO), InterpolationMode.BICUBIC), 16
        )
    assert out.shape == (16, 16, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out, np.asarray(ref))


def test_keypoint_box_is_cropped_and_resized_so_relative_points_stay_exact(tmp_path):
    image = np.zeros((48, 64, 3), dtype=np.uint8)
    image[19:22, 39:42] = 255  # a white dot centred on pixel (x=40, y=20)
    path = tmp_path / "face.png"
    Image.fromarray(image).save(path)
    box = np.array([30.0, 10.0, 50.0, 30.0])  # side 20: the dot is at (0.525, 0.525)
    out = decode_file(path, 20, box).astype(float).sum(axis=2)
    y, x = np.unravel_index(out.argmax(), out.shape)
    assert abs(x - 10) <= 1 and abs(y - 10) <= 1
    outside = decode_file(path, 20, np.array([-20.0, -20.0, 0.0, 0.0]))
    assert outside.max() == 0  # beyond the picture is black, not stretched


def test_corrupt_file_names_itself(tmp_path):
    path = tmp_path / "broken.jpg"
    path.write_bytes(b"not a jpeg")
    with pytest.raises(DatasetError, match=r"broken\.jpg"):
        decode_file(path, 8)


def test_worker_processes_decode_the_same_pixels(tmp_path):
    paths = []
    for i in range(5):
        paths.append(tmp_path / f"{i}.png")
        Image.fromarray(_gradient(20 + i, 18)).save(paths[-1])
    source = Source(latents=pd.DataFrame({"label": range(5)}), paths=paths)
    single = decode_source(source, 8, workers=0, batch_size=2)
    parallel = decode_source(source, 8, workers=2, batch_size=2)
    np.testing.assert_array_equal(single, parallel)
    assert [decode_file(p, 8).sum() for p in paths] == [int(im.sum()) for im in single]


def _write_cifar(root, per_batch: int = 4) -> None:
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {
            b"data": rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8),
            b"labels": [int(v) for v in rng.integers(0, 10, per_batch)],
        }
        (folder / name).write_bytes(pickle.dumps(batch))
    names = [n.encode() for n in ("airplane automobile bird cat deer dog frog horse "
                                  "ship truck").split()]  # fmt: skip
    (folder / "batches.meta").write_bytes(pickle.dumps({b"label_names": names}))


def test_cifar10_prepares_upsampled_splits_with_labels(tmp_path):
    _write_cifar(tmp_path / "cifar")
    spec = {"kind": "cifar10", "root": str(tmp_path / "cifar"), "download": False}
    assert dataset_splits(spec) == ["train", "test"]
    prepare_dataset("cifar10", spec, ["train", "test"], 16, tmp_path / "out")
    images, latents = load_split(tmp_path / "out", "train")
    assert images.shape == (20, 16, 16, 3) and images.dtype == np.uint8
    assert list(latents.columns[:2]) == ["label", "class_name"] and len(latents) == 20
    test_images, _ = load_split(tmp_path / "out", "test")
    assert test_images.shape == (4, 16, 16, 3)
    assert (tmp_path / "out/train/contact_sheet.png").is_file()


def test_missing_root_is_named_with_where_to_get_it(tmp_path):
    from sslinv.datasets import check_sources

    spec = {"kind": "flowers102", "root": str(tmp_path / "nowhere"), "download": False}
    with pytest.raises(DatasetError, match=r"nowhere.*robots\.ox\.ac\.uk.*datasets\.flowers"):
        check_sources({"flowers": spec})


def test_keypoint_pattern_targets_coordinates_only():
    latents = pd.DataFrame(
        {"kp00_x": [0.1, 0.2], "kp00_y": [0.3, 0.4], "kp00_visible": [1, 0], "image": ["a", "b"]}
    )
    targets, names = regression_targets(latents, "kp*_[xy]")
    assert names == ["kp00_x", "kp00_y"]
    np.testing.assert_array_equal(targets, [[0.1, 0.3], [0.2, 0.4]])
    with pytest.raises(ConfigError, match="matches no column"):
        regression_targets(latents, "joint*")
