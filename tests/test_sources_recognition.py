"""Recognition adapters (CIFAR-10, Caltech-101, Flowers-102, ImageNet) on tiny published trees."""

from __future__ import annotations

import ast
import importlib.util
import os
import pickle
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import scipy.io
from PIL import Image

from sslinv.errors import DatasetError
from sslinv.sources import caltech101, cifar10, flowers102, imagenet

CIFAR_NAMES = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
]


def _jpeg(path: Path, value: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((4, 5, 3), value, dtype=np.uint8)).save(path, "JPEG")


def _pickle(path: Path, content: object) -> None:
    path.write_bytes(pickle.dumps(content, protocol=2))


# --------------------------------------------------------------------------- CIFAR-10


def _cifar_batch(labels: list[int], name: str) -> dict:
    return {
        b"batch_label": name.encode(),
        b"labels": labels,
        b"data": np.zeros((len(labels), 3072), dtype=np.uint8),
        b"filenames": [f"img_{i}.png".encode() for i in range(len(labels))],
    }


@pytest.fixture
def cifar_root(tmp_path: Path) -> Path:
    """Five training batches of two images (labels i, i+4) and a test batch of three."""
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    meta = {b"label_names": [n.encode() for n in CIFAR_NAMES], b"num_cases_per_batch": 2}
    _pickle(folder / "batches.meta", meta)
    for i in range(1, 6):
        batch = _cifar_batch([i, i + 4], f"training batch {i} of 5")
        if i == 2:  # image 2 of train: one pixel at row 3, column 5 with (R, G, B) = (10, 20, 30)
            for channel, value in enumerate((10, 20, 30)):
                batch[b"data"][0, channel * 1024 + 3 * 32 + 5] = value
        _pickle(folder / f"data_batch_{i}", batch)
    _pickle(folder / "test_batch", _cifar_batch([9, 0, 3], "testing batch 1 of 1"))
    return tmp_path


def test_cifar10_decodes_planes_and_concatenates_batches_in_order(cifar_root: Path) -> None:
    train = cifar10.read(cifar_root, "train", {"kind": "cifar10", "root": str(cifar_root)})
    assert train.images.shape == (10, 32, 32, 3) and train.images.dtype == np.uint8
    assert train.latents["label"].tolist() == [1, 5, 2, 6, 3, 7, 4, 8, 5, 9]
    assert train.latents["label"].dtype == np.int64
    assert train.latents["class_name"].tolist()[:2] == ["automobile", "dog"]
    assert train.images[2, 3, 5].tolist() == [10, 20, 30]
    assert train.images[2].sum() == 60  # nothing else lit (catches a row/column swap)
    test = cifar10.read(cifar_root, "test", {})
    assert test.latents["label"].tolist() == [9, 0, 3]
    assert test.latents["class_name"].tolist() == ["truck", "airplane", "cat"]
    assert cifar10.splits({}) == ["train", "test"]


def test_cifar10_accepts_the_batches_folder_itself(cifar_root: Path) -> None:
    inner = cifar10.read(cifar_root / "cifar-10-batches-py", "train", {})
    outer = cifar10.read(cifar_root, "train", {})
    np.testing.assert_array_equal(inner.images, outer.images)


def test_cifar10_errors_name_the_file(cifar_root: Path, tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"batches\.meta.*cs\.toronto\.edu"):
        cifar10.read(tmp_path / "nowhere", "train", {})
    folder = cifar_root / "cifar-10-batches-py"
    (folder / "data_batch_3").unlink()
    with pytest.raises(DatasetError, match="data_batch_3"):
        cifar10.read(cifar_root, "train", {})
    (folder / "test_batch").write_bytes(b"not a pickle at all")
    with pytest.raises(DatasetError, match=r"test_batch' is malformed \(not a readable pickle"):
        cifar10.read(cifar_root, "test", {})
    _pickle(folder / "test_batch", {b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]})
    with pytest.raises(DatasetError, match=r"test_batch' is malformed \(data is uint8 \(2, 100\)"):
        cifar10.read(cifar_root, "test", {})
    _pickle(folder / "test_batch", _cifar_batch([0, 10], "x"))
    with pytest.raises(DatasetError, match=r"test_batch' is malformed \(labels"):
        cifar10.read(cifar_root, "test", {})
    with pytest.raises(DatasetError, match="no split 'val'"):
        cifar10.read(cifar_root, "val", {})


# --------------------------------------------------------------------------- Caltech-101

CALTECH_SIZES = {"BACKGROUND_Google": 3, "accordion": 5, "airplanes": 6, "ant": 4}


def _caltech_spec(**options: object) -> dict:
    spec = {
        "kind": "caltech101",
        "root": "",
        "exclude": ["BACKGROUND_Google"],
        "train_per_class": 2,
        "test_per_class": None,
        "seed": 0,
    }
    return {**spec, **options}


@pytest.fixture
def caltech_root(tmp_path: Path) -> Path:
    for name, count in CALTECH_SIZES.items():
        for i in range(1, count + 1):
            _jpeg(tmp_path / "101_ObjectCategories" / name / f"image_{i:04d}.jpg", i)
    return tmp_path


def _names(source) -> list[tuple[str, str]]:
    return [(p.parent.name, p.name) for p in source.paths]


def test_caltech101_draws_a_fixed_number_per_class_and_tests_on_the_rest(
    caltech_root: Path,
) -> None:
    train = caltech101.read(caltech_root, "train", _caltech_spec())
    test = caltech101.read(caltech_root, "test", _caltech_spec())
    assert train.latents["label"].tolist() == [0, 0, 1, 1, 2, 2]
    assert train.latents["class_name"].unique().tolist() == ["accordion", "airplanes", "ant"]
    assert test.latents["label"].value_counts().sort_index().tolist() == [3, 4, 2]
    assert set(_names(train)).isdisjoint(_names(test))
    every = {(c, f"image_{i:04d}.jpg") for c, n in CALTECH_SIZES.items() for i in range(1, n + 1)}
    assert set(_names(train)) | set(_names(test)) == every - {
        ("BACKGROUND_Google", f"image_{i:04d}.jpg") for i in range(1, 4)
    }
    assert _names(train) == sorted(_names(train))  # class, then file order
    for path, name in zip(test.paths, test.latents["class_name"], strict=True):
        assert path.parent.name == name


def test_caltech101_split_is_seeded_and_independent_of_listing_order(
    caltech_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _names(caltech101.read(caltech_root, "train", _caltech_spec(seed=3)))
    real_scandir = os.scandir
    monkeypatch.setattr(os, "scandir", lambda path: iter(list(real_scandir(path))[::-1]))
    assert _names(caltech101.read(caltech_root, "train", _caltech_spec(seed=3))) == first
    others = [_names(caltech101.read(caltech_root, "train", _caltech_spec(seed=s))) for s in (4, 5)]
    assert any(other != first for other in others)
    # a class's draw depends on its own name only, not on which other classes are present
    exclude = ["BACKGROUND_Google", "airplanes"]
    for seed in range(6):
        full = _names(caltech101.read(caltech_root, "train", _caltech_spec(seed=seed)))
        alone = caltech101.read(caltech_root, "train", _caltech_spec(seed=seed, exclude=exclude))
        assert [n for n in _names(alone) if n[0] == "ant"] == full[-2:]


def test_caltech101_options(caltech_root: Path) -> None:
    capped = caltech101.read(caltech_root, "test", _caltech_spec(test_per_class=1))
    assert capped.latents["label"].tolist() == [0, 1, 2]
    full = caltech101.read(caltech_root, "train", _caltech_spec(exclude=[]))
    assert full.latents["class_name"].unique().tolist()[0] == "BACKGROUND_Google"
    assert full.latents["label"].max() == 3


@pytest.mark.parametrize("layout", [".", "101_ObjectCategories", "caltech101"])
def test_caltech101_accepts_each_root_layout(tmp_path: Path, layout: str) -> None:
    folder = tmp_path / "caltech101" / "101_ObjectCategories"
    for name in ("ant", "bass"):
        for i in range(1, 4):
            _jpeg(folder / name / f"image_{i:04d}.jpg")
    root = {".": tmp_path, "101_ObjectCategories": folder, "caltech101": tmp_path}[layout]
    assert len(caltech101.read(root, "train", _caltech_spec())) == 4


def test_caltech101_errors(caltech_root: Path, tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"'101_ObjectCategories' folder.*data\.caltech\.edu"):
        caltech101.read(tmp_path / "nowhere", "train", _caltech_spec())
    with pytest.raises(DatasetError, match=r"class 'ant' has 4 images .*train_per_class=4"):
        caltech101.read(caltech_root, "train", _caltech_spec(train_per_class=4))
    lonely = tmp_path / "lonely" / "101_ObjectCategories" / "ant"
    _jpeg(lonely / "image_0001.jpg")
    with pytest.raises(DatasetError, match="found 1"):
        caltech101.read(tmp_path / "lonely", "train", _caltech_spec())


# --------------------------------------------------------------------------- Flowers-102

FLOWER_LABELS = [3, 1, 2, 1, 3, 2, 1, 2, 3, 1]  # 1-based, image 1 .. 10
FLOWER_SETS = {"trnid": [4, 1, 9], "valid": [2, 6, 5], "tstid": [10, 3, 8, 7]}


def _flowers(folder: Path, **sets: list[int]) -> Path:
    for i in range(1, len(FLOWER_LABELS) + 1):
        _jpeg(folder / "jpg" / f"image_{i:05d}.jpg")
    labels = np.asarray([FLOWER_LABELS], dtype=np.uint8)  # 1 x n, as published
    scipy.io.savemat(folder / "imagelabels.mat", {"labels": labels})
    ids = {k: np.asarray([v], dtype=np.uint16) for k, v in {**FLOWER_SETS, **sets}.items()}
    scipy.io.savemat(folder / "setid.mat", ids)
    return folder


def test_flowers102_reads_the_published_splits(tmp_path: Path) -> None:
    root = _flowers(tmp_path)
    train = flowers102.read(root, "train", {"kind": "flowers102", "root": str(root)})
    assert train.latents["image_id"].tolist() == [1, 4, 9]
    assert train.latents["label"].tolist() == [2, 0, 2]
    assert train.latents["label"].dtype == np.int64
    assert [p.name for p in train.paths] == [
        "image_00001.jpg",
        "image_00004.jpg",
        "image_00009.jpg",
    ]
    assert train.paths[0] == root / "jpg" / "image_00001.jpg"
    test = flowers102.read(root, "test", {})
    assert test.latents["label"].tolist() == [1, 0, 1, 0]  # images 3, 7, 8, 10
    ids = [set(flowers102.read(root, s, {}).latents["image_id"]) for s in flowers102.splits({})]
    assert set().union(*ids) == set(range(1, 11)) and sum(map(len, ids)) == 10


def test_flowers102_accepts_torchvision_layout(tmp_path: Path) -> None:
    folder = tmp_path / "flowers-102"
    folder.mkdir()
    _flowers(folder)
    assert flowers102.read(tmp_path, "val", {}).latents["image_id"].tolist() == [2, 5, 6]


def test_flowers102_errors(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"imagelabels\.mat.*robots\.ox\.ac\.uk"):
        flowers102.read(tmp_path / "nowhere", "train", {})
    root = _flowers(tmp_path)
    (root / "jpg" / "image_00009.jpg").unlink()
    with pytest.raises(DatasetError, match=r"image_00009\.jpg"):
        flowers102.read(root, "train", {})
    scipy.io.savemat(root / "setid.mat", {"trnid": np.asarray([[1, 11]], np.uint16)})
    with pytest.raises(DatasetError, match=r"setid\.mat' is malformed \('trnid' has image ids"):
        flowers102.read(root, "train", {})
    with pytest.raises(DatasetError, match=r"setid\.mat' is malformed \(no variable 'valid'"):
        flowers102.read(root, "val", {})
    for garbage in (b"MATLAB? no", b"MATLAB 5.0 MAT-file" + bytes(range(256)) * 2):
        (root / "imagelabels.mat").write_bytes(garbage)
        with pytest.raises(DatasetError, match=r"imagelabels\.mat' is malformed \(not a readable"):
            flowers102.read(root, "train", {})


# --------------------------------------------------------------------------- ImageNet

WNIDS = ["n01440764", "n01443537", "n01484850"]  # tench, goldfish, great white shark
VAL_WNIDS = ["n01484850", "n01440764", "n01443537", "n01440764", "n01484850"]


def _imagenet_spec(**options: object) -> dict:
    return {"kind": "imagenet", "root": "", "seed": 0, "max_per_class": None, **options}


@pytest.fixture
def imagenet_root(tmp_path: Path) -> Path:
    """Three classes of 4, 3 and 2 training images; five flat val images with Kaggle's CSV."""
    for wnid, count in zip(WNIDS, (4, 3, 2), strict=True):
        for i in range(count):
            _jpeg(tmp_path / "train" / wnid / f"{wnid}_{10 + i}.JPEG")
    rows = ["ImageId,PredictionString"]
    for i, wnid in enumerate(VAL_WNIDS, start=1):
        _jpeg(tmp_path / "val" / f"ILSVRC2012_val_{i:08d}.JPEG")
        rows.append(f"ILSVRC2012_val_{i:08d},{wnid} 10 20 100 200 {wnid} 5 6 70 80 ")
    rows.append(f"ILSVRC2012_val_00000099,{WNIDS[0]} 1 2 3 4 ")  # image not copied: skipped
    (tmp_path / "LOC_val_solution.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "LOC_synset_mapping.txt").write_text(
        "n01440764 tench, Tinca tinca\n"
        "n01443537 goldfish, Carassius auratus\n"
        "n01484850 great white shark, white shark, man-eater, Carcharodon carcharias\n"
    )
    return tmp_path


def test_imagenet_train_indexes_classes_by_sorted_wnid(imagenet_root: Path) -> None:
    train = imagenet.read(imagenet_root, "train", _imagenet_spec())
    assert train.latents["label"].tolist() == [0, 0, 0, 0, 1, 1, 1, 2, 2]
    assert train.latents["label"].dtype == np.int64
    assert train.latents["wnid"].tolist()[4] == "n01443537"
    assert train.latents["class_name"].tolist()[0] == "tench, Tinca tinca"
    assert train.paths[0] == imagenet_root / "train" / WNIDS[0] / f"{WNIDS[0]}_10.JPEG"
    assert imagenet.splits({}) == ["train", "val"]


def test_imagenet_flat_val_is_labelled_by_the_kaggle_csv(imagenet_root: Path) -> None:
    val = imagenet.read(imagenet_root, "val", _imagenet_spec())
    stems = [p.stem for p in val.paths]
    assert stems == [f"ILSVRC2012_val_{i:08d}" for i in (2, 4, 3, 1, 5)]  # by class, then file
    assert val.latents["label"].tolist() == [0, 0, 1, 2, 2]
    assert val.latents["class_name"].tolist()[2] == "goldfish, Carassius auratus"


def test_imagenet_sorted_val_and_kaggle_layout_read_the_same(
    imagenet_root: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    flat = imagenet.read(imagenet_root, "val", _imagenet_spec()).latents
    for path, wnid in zip(sorted((imagenet_root / "val").iterdir()), VAL_WNIDS, strict=True):
        (path.parent / wnid).mkdir(exist_ok=True)
        path.rename(path.parent / wnid / path.name)
    (imagenet_root / "LOC_val_solution.csv").unlink()  # class folders need no CSV
    assert imagenet.read(imagenet_root, "val", _imagenet_spec()).latents.equals(flat)
    kaggle = tmp_path_factory.mktemp("kaggle")
    (kaggle / "ILSVRC" / "Data" / "CLS-LOC").mkdir(parents=True)
    (imagenet_root / "train").rename(kaggle / "ILSVRC" / "Data" / "CLS-LOC" / "train")
    train = imagenet.read(kaggle, "train", _imagenet_spec())
    assert train.latents["label"].tolist() == [0, 0, 0, 0, 1, 1, 1, 2, 2]
    assert train.latents["class_name"].tolist() == train.latents["wnid"].tolist()  # no mapping


def test_imagenet_max_per_class_is_a_seeded_per_class_subsample(imagenet_root: Path) -> None:
    spec = _imagenet_spec(max_per_class=2, seed=1)
    first = imagenet.read(imagenet_root, "train", spec)
    assert first.latents["label"].tolist() == [0, 0, 1, 1, 2, 2]
    assert imagenet.read(imagenet_root, "train", spec).paths == first.paths
    draws = {
        tuple(imagenet.read(imagenet_root, "train", {**spec, "seed": s}).paths) for s in range(6)
    }
    assert len(draws) > 1
    assert first.paths == sorted(first.paths)


def test_imagenet_errors(imagenet_root: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    spec = _imagenet_spec()
    with pytest.raises(DatasetError, match=r"'train/<wnid>/'.*image-net\.org"):
        imagenet.read(tmp_path_factory.mktemp("empty"), "train", spec)
    mapping = imagenet_root / "LOC_synset_mapping.txt"
    mapping.write_text("n01440764 tench\nn01443537 goldfish\n")
    with pytest.raises(DatasetError, match=r"synset_mapping\.txt' is malformed \(no line.*n01484"):
        imagenet.read(imagenet_root, "train", spec)
    mapping.unlink()
    _jpeg(imagenet_root / "val" / "ILSVRC2012_val_00000007.JPEG")
    with pytest.raises(DatasetError, match=r"solution\.csv' is malformed \(no row.*val_00000007"):
        imagenet.read(imagenet_root, "val", spec)
    (imagenet_root / "val" / "ILSVRC2012_val_00000007.JPEG").unlink()
    solution = imagenet_root / "LOC_val_solution.csv"
    solution.write_text(solution.read_text().replace(VAL_WNIDS[0], "n09999999", 1))
    with pytest.raises(DatasetError, match=r"\['n09999999'\].*no folder in"):
        imagenet.read(imagenet_root, "val", spec)
    solution.write_text("ImageId,Label\nILSVRC2012_val_00000001,n01440764\n")
    with pytest.raises(DatasetError, match=r"solution\.csv' is malformed \(header"):
        imagenet.read(imagenet_root, "val", spec)
    solution.unlink()
    with pytest.raises(DatasetError, match=r"LOC_val_solution\.csv' but it is not there"):
        imagenet.read(imagenet_root, "val", spec)


# --------------------------------------------------------------------------- download
# A fake ``torchvision`` stands in for the real one: importing it costs seconds, and nothing
# may be fetched. The real classes' parameters are read from their source instead.


def _fake_torchvision(monkeypatch: pytest.MonkeyPatch, **classes: object) -> None:
    module = types.ModuleType("torchvision")
    module.datasets = types.SimpleNamespace(**classes)
    monkeypatch.setitem(sys.modules, "torchvision", module)


def _real_parameters(file: str, cls: str) -> set[str]:
    """Constructor parameters of a torchvision dataset class, without importing torchvision."""
    spec = importlib.util.find_spec("torchvision")
    tree = ast.parse((Path(spec.origin).parent / "datasets" / file).read_text())
    node = next(n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name == cls)
    init = next(n for n in node.body if isinstance(n, ast.FunctionDef) and n.name == "__init__")
    return {a.arg for a in init.args.args + init.args.kwonlyargs}


@pytest.mark.parametrize(
    ("module", "cls", "file", "present"),
    [
        (cifar10, "CIFAR10", "cifar.py", "cifar-10-batches-py/batches.meta"),
        (caltech101, "Caltech101", "caltech.py", "caltech101/101_ObjectCategories"),
        (flowers102, "Flowers102", "flowers102.py", "flowers-102/setid.mat"),
    ],
)
def test_download_goes_through_torchvision_only_when_missing(
    module, cls: str, file: str, present: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = _real_parameters(file, cls)  # before the fake hides the real package
    calls = []
    _fake_torchvision(monkeypatch, **{cls: lambda **kwargs: calls.append(kwargs)})
    module.download(tmp_path)
    assert len(calls) == 1
    assert calls[0]["root"] == str(tmp_path) and calls[0]["download"] is True
    assert set(calls[0]) <= real  # the real class takes these arguments
    target = tmp_path / present
    target.parent.mkdir(parents=True)
    if target.suffix:
        target.touch()
    else:
        target.mkdir()
    module.download(tmp_path)
    assert len(calls) == 1  # already there: nothing fetched


@pytest.mark.parametrize("module", [cifar10, caltech101, flowers102])
def test_download_failure_says_where_to_get_it_by_hand(
    module, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def offline(**kwargs: object) -> None:
        raise RuntimeError("Error downloading: no network")

    _fake_torchvision(monkeypatch, CIFAR10=offline, Caltech101=offline, Flowers102=offline)
    with pytest.raises(DatasetError, match=rf"download into .*no network.*{module.PUBLISHED[:20]}"):
        module.download(tmp_path)
