"""Landmark adapters (300W, CelebA, LSP) on tiny trees in their published layouts.

Every expected coordinate is worked out by hand in the comments: a box is the square around the
points (its side the longer extent times 1 + 2 * margin, centred on them), and a point's target
is (x - left) / side, (y - top) / side.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
import scipy.io
from PIL import Image

from sslinv.errors import DatasetError
from sslinv.sources import celeba, keypoints, lsp, w300


def write_image(path: Path, size: tuple[int, int] = (8, 8)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (120, 80, 40)).save(path)


# --------------------------------------------------------------------------- shared helpers


def test_square_box_is_centred_on_the_points_with_the_margin_on_each_edge():
    points = np.array([[[10.0, 20.0], [50.0, 100.0], [30.0, 60.0]]])
    # extent 40 x 80 -> side 80 * 1.2 = 96 around the centre (30, 60)
    box = keypoints.square_boxes(points, 0.1)
    np.testing.assert_allclose(box, [[-18.0, 12.0, 78.0, 108.0]])
    np.testing.assert_allclose(
        keypoints.normalise(points, box), [[[28 / 96, 8 / 96], [68 / 96, 88 / 96], [0.5, 0.5]]]
    )


def test_square_box_uses_valid_points_and_falls_back_to_all():
    points = np.array([[[0.0, 0.0], [10.0, 10.0], [100.0, 100.0]]] * 2)
    valid = np.array([[True, True, False], [False, False, False]])
    boxes = keypoints.square_boxes(points, 0.0, valid=valid)
    np.testing.assert_allclose(boxes, [[0, 0, 10, 10], [0, 0, 100, 100]])
    one = keypoints.square_boxes(np.array([[[5.0, 5.0]]]), 0.5)
    np.testing.assert_allclose(one, [[4.5, 4.5, 5.5, 5.5]])  # a single point: side 1 pixel


def test_centred_square_and_column_names():
    assert keypoints.centred_square(178, 218) == (0.0, 20.0, 178.0, 198.0)
    assert keypoints.centred_square(40, 30) == (5.0, 0.0, 35.0, 30.0)
    assert keypoints.keypoint_columns(2) == ["kp00_x", "kp00_y", "kp01_x", "kp01_y"]
    assert keypoints.keypoint_columns(2, visible=True)[4:] == ["kp00_visible", "kp01_visible"]


# --------------------------------------------------------------------------- 300W

W300_SPEC = {
    "kind": "w300",
    "root": "",
    "train_dirs": ["afw", "helen/trainset", "lfpw/trainset"],
    "test_dirs": ["helen/testset", "lfpw/testset", "ibug"],
    "box_margin": 0.1,
}
W300_FILES = {
    "afw/1051618982_1.jpg": "train",
    "helen/trainset/100032540_1.jpg": "train",
    "helen/trainset/extra/deep_1.jpg": "train",  # found recursively
    "lfpw/trainset/image_0001.png": "train",
    "helen/testset/296814969_3.jpg": "test",
    "lfpw/testset/image_0001.png": "test",
    "ibug/image_003_1.jpg": "test",
    "300W/01_Indoor/indoor_001.png": "challenge",
}


def pts_text(points: np.ndarray, declared: int = 68) -> str:
    rows = "\n".join(f"{x:.3f} {y:.3f}" for x, y in points)
    return f"version: 1\nn_points:  {declared}\n{{\n{rows}\n}}\n"


def face_points(shift: float = 0.0) -> np.ndarray:
    """1-based points: #0 at (11, 21), #1 at (51, 101), the rest at their centre (31, 61)."""
    points = np.full((68, 2), [31.0, 61.0])
    points[0], points[1] = [11.0, 21.0], [51.0, 101.0]
    return points + shift


@pytest.fixture
def w300_root(tmp_path: Path) -> Path:
    root = tmp_path / "300w"
    for index, name in enumerate(W300_FILES):
        write_image(root / name)
        (root / name).with_suffix(".pts").write_text(pts_text(face_points(shift=index)))
    return root


def w300_spec(root: Path, **changes) -> dict:
    return {**W300_SPEC, "root": str(root), **changes}


def test_w300_splits_follow_the_full_set_protocol(w300_root):
    assert w300.splits(W300_SPEC) == ["train", "test"]
    train = w300.read(w300_root, "train", w300_spec(w300_root))
    test = w300.read(w300_root, "test", w300_spec(w300_root))
    expected = {
        s: sorted(n for n, split in W300_FILES.items() if split == s) for s in W300_FILES.values()
    }
    assert list(train.latents["image"]) == expected["train"]
    assert list(test.latents["image"]) == expected["test"]
    assert train.paths == [w300_root / name for name in expected["train"]]
    assert not set(train.paths) & set(test.paths)
    assert train.boxes.shape == (4, 4) and len(test) == 3


def test_w300_points_are_zero_based_and_relative_to_the_square_box(w300_root):
    source = w300.read(w300_root, "train", w300_spec(w300_root))
    row = source.latents["image"].tolist().index("afw/1051618982_1.jpg")  # written with shift 0
    # 0-based: (10, 20), (50, 100), centre (30, 60); extent 80 * 1.2 = 96
    np.testing.assert_allclose(source.boxes[row], [-18.0, 12.0, 78.0, 108.0])
    first = source.latents.iloc[row]
    assert (first["kp00_x"], first["kp00_y"]) == pytest.approx((28 / 96, 8 / 96))
    assert (first["kp01_x"], first["kp01_y"]) == pytest.approx((68 / 96, 88 / 96))
    assert (first["kp67_x"], first["kp67_y"]) == pytest.approx((0.5, 0.5))
    assert list(source.latents.columns[:4]) == ["kp00_x", "kp00_y", "kp01_x", "kp01_y"]
    assert sum(c.startswith("kp") for c in source.latents.columns) == 136
    # a shifted face has the same shape, so the same targets, in a shifted box
    other = source.latents["image"].tolist().index("helen/trainset/100032540_1.jpg")
    np.testing.assert_allclose(source.boxes[other], source.boxes[row] + 1)
    kp = [c for c in source.latents.columns if c.startswith("kp")]
    np.testing.assert_allclose(source.latents.loc[other, kp], source.latents.loc[row, kp])


def test_w300_margin_and_challenge_set_are_options(w300_root):
    spec = w300_spec(w300_root, test_dirs=["300W/01_Indoor"], box_margin=0.0)
    source = w300.read(w300_root, "test", spec)
    assert list(source.latents["image"]) == ["300W/01_Indoor/indoor_001.png"]
    # shift 7: 0-based (17, 27) .. (57, 107), extent 80, centre (37, 67)
    np.testing.assert_allclose(source.boxes[0], [-3.0, 27.0, 77.0, 107.0])
    assert source.latents.loc[0, "kp00_x"] == pytest.approx(20 / 80)


def test_w300_rejects_overlapping_train_and_test_folders(w300_root):
    spec = w300_spec(w300_root, train_dirs=["helen"], test_dirs=["helen/testset"])
    with pytest.raises(DatasetError, match="overlaps test folder 'helen/testset'"):
        w300.read(w300_root, "train", spec)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (pts_text(face_points()[:67], declared=67), "n_points is 67"),
        (pts_text(face_points()[:67]), "67 points, not 68"),
        (pts_text(face_points()).replace("11.000", "eleven"), "not two numbers"),
        ("version: 1\nn_points: 68\n", "no '{'"),
    ],
)
def test_w300_malformed_pts_names_the_file(w300_root, text, problem):
    pts = w300_root / "ibug" / "image_003_1.pts"
    pts.write_text(text)
    with pytest.raises(DatasetError, match=problem) as err:
        w300.read(w300_root, "test", w300_spec(w300_root))
    assert str(pts) in str(err.value) and w300.PUBLISHED in str(err.value)


def test_w300_missing_files_name_what_was_expected(w300_root, tmp_path):
    (w300_root / "ibug" / "image_003_1.pts").unlink()
    with pytest.raises(DatasetError, match=r"image_003_1\.pts"):
        w300.read(w300_root, "test", w300_spec(w300_root))
    with pytest.raises(DatasetError, match=r"subset folder 'afw'"):
        w300.read(tmp_path, "train", w300_spec(tmp_path))
    with pytest.raises(DatasetError, match="expected the dataset folder"):
        w300.read(tmp_path / "nowhere", "train", w300_spec(tmp_path / "nowhere"))
    (tmp_path / "empty" / "afw").mkdir(parents=True)
    with pytest.raises(DatasetError, match=r"no \.png/\.jpg images"):
        w300.read(tmp_path / "empty", "train", w300_spec(tmp_path / "empty", train_dirs=["afw"]))


# --------------------------------------------------------------------------- CelebA

CELEBA_SPEC = {
    "kind": "celeba",
    "root": "",
    "image_width": 178,
    "image_height": 218,
    "max_per_split": None,
    "seed": 0,
    "download": False,
}
CELEBA_HEADER = (
    "lefteye_x lefteye_y righteye_x righteye_y nose_x nose_y "
    "leftmouth_x leftmouth_y rightmouth_x rightmouth_y"
)
CELEBA_ROWS = [  # the first rows of the published file, then made-up ones
    "000001.jpg    69  109  106  113   77  142   73  152  108  154",
    "000002.jpg    69  110  107  112   81  135   70  151  108  153",
    "000003.jpg    76  112  104  106  108  128   74  156   98  158",
    "000004.jpg    72  113  108  108  101  138   71  155  101  151",
    "000005.jpg    66  114  112  112   86  119   71  147  104  150",
    "000006.jpg    71  111  106  110   94  131   74  154  102  153",
    "000007.jpg    70  112  108  111   85  135   72  152  104  152",
    "000008.jpg    71  110  106  111   84  137   73  155  103  154",
]
CELEBA_PARTITION = [0, 0, 0, 0, 0, 1, 2, 2]


def write_celeba(folder: Path, *, drive_layout: bool = False) -> None:
    images = folder / ("Img" if drive_layout else "") / "img_align_celeba"
    for row in CELEBA_ROWS:
        write_image(images / row.split()[0], (178, 218))
    anno = folder / ("Anno" if drive_layout else "")
    anno.mkdir(parents=True, exist_ok=True)
    lines = [str(len(CELEBA_ROWS)), CELEBA_HEADER, *CELEBA_ROWS]
    (anno / "list_landmarks_align_celeba.txt").write_text("\n".join(lines) + "\n")
    evaluation = folder / ("Eval" if drive_layout else "")
    evaluation.mkdir(parents=True, exist_ok=True)
    parts = [
        f"{row.split()[0]} {code}" for row, code in zip(CELEBA_ROWS, CELEBA_PARTITION, strict=True)
    ]
    (evaluation / "list_eval_partition.txt").write_text("\n".join(parts) + "\n")


def celeba_spec(root: Path, **changes) -> dict:
    return {**CELEBA_SPEC, "root": str(root), **changes}


@pytest.fixture
def celeba_root(tmp_path: Path) -> Path:
    write_celeba(tmp_path / "celeba_data")
    return tmp_path / "celeba_data"


def test_celeba_splits_follow_the_partition_file(celeba_root):
    assert celeba.splits(CELEBA_SPEC) == ["train", "val", "test"]
    sources = {
        s: celeba.read(celeba_root, s, celeba_spec(celeba_root)) for s in ("train", "val", "test")
    }
    assert list(sources["train"].latents["image"]) == [f"00000{i}.jpg" for i in range(1, 6)]
    assert list(sources["val"].latents["image"]) == ["000006.jpg"]
    assert list(sources["test"].latents["image"]) == ["000007.jpg", "000008.jpg"]
    assert sources["test"].paths == [
        celeba_root / "img_align_celeba" / "000007.jpg",
        celeba_root / "img_align_celeba" / "000008.jpg",
    ]


def test_celeba_landmarks_are_relative_to_the_centred_square(celeba_root):
    source = celeba.read(celeba_root, "train", celeba_spec(celeba_root))
    np.testing.assert_allclose(source.boxes, np.tile([0.0, 20.0, 178.0, 198.0], (5, 1)))
    first = source.latents.iloc[0]
    # 000001: left eye (69, 109) -> (69 / 178, 89 / 178); right mouth (108, 154) -> (108, 134)
    assert (first["kp00_x"], first["kp00_y"]) == pytest.approx((69 / 178, 89 / 178))
    assert (first["kp04_x"], first["kp04_y"]) == pytest.approx((108 / 178, 134 / 178))
    assert list(source.latents.columns) == [*keypoints.keypoint_columns(5), "image"]
    # another image size moves the box: 200 x 200 is its own centred square
    square = celeba.read(
        celeba_root, "train", celeba_spec(celeba_root, image_width=200, image_height=200)
    )
    assert square.latents.loc[0, "kp00_y"] == pytest.approx(109 / 200)


@pytest.mark.parametrize("layout", ["torchvision", "drive"])
def test_celeba_accepts_torchvision_and_drive_layouts(tmp_path, layout):
    root = tmp_path / "data"
    write_celeba(
        root / "celeba" if layout == "torchvision" else root, drive_layout=layout == "drive"
    )
    source = celeba.read(root, "val", celeba_spec(root))
    assert source.latents["image"].tolist() == ["000006.jpg"]
    assert source.paths[0].is_file()


def test_celeba_subsample_is_seeded_sorted_and_per_split(celeba_root):
    def pick(seed: int) -> list[str]:
        spec = celeba_spec(celeba_root, max_per_split=3, seed=seed)
        return celeba.read(celeba_root, "train", spec).latents["image"].tolist()

    first = pick(0)
    assert len(first) == 3 and first == sorted(first) and pick(0) == first
    assert any(pick(seed) != first for seed in range(1, 10))
    spec = celeba_spec(celeba_root, max_per_split=3)
    assert len(celeba.read(celeba_root, "test", spec)) == 2  # fewer than the limit: all kept


def test_celeba_missing_files_name_what_was_expected(celeba_root, tmp_path):
    with pytest.raises(DatasetError, match=r"list_eval_partition\.txt"):
        celeba.read(tmp_path / "nowhere", "train", celeba_spec(tmp_path / "nowhere"))
    (celeba_root / "img_align_celeba" / "000003.jpg").unlink()
    with pytest.raises(DatasetError, match=r"000003\.jpg") as err:
        celeba.read(celeba_root, "train", celeba_spec(celeba_root))
    assert celeba.PUBLISHED in str(err.value)


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (lambda lines: ["7", *lines[1:]], "8 rows, but line 1 says 7"),
        (lambda lines: [lines[0], "lefteye_x lefteye_y", *lines[2:]], "line 2 is not"),
        (lambda lines: [*lines[:3], lines[3].replace("69", "x9"), *lines[4:]], "not a number"),
        (lambda lines: [*lines[:3], lines[3].rsplit(" ", 1)[0], *lines[4:]], "11 fields"),
        (lambda lines: [lines[0], lines[1], *lines[3:], ""], "7 rows"),
    ],
)
def test_celeba_malformed_landmarks_name_the_file(celeba_root, edit, problem):
    path = celeba_root / "list_landmarks_align_celeba.txt"
    path.write_text("\n".join(edit(path.read_text().splitlines())) + "\n")
    with pytest.raises(DatasetError, match=problem) as err:
        celeba.read(celeba_root, "train", celeba_spec(celeba_root))
    assert str(path) in str(err.value)


def test_celeba_image_without_landmarks_or_bad_code_is_malformed(celeba_root):
    landmarks = celeba_root / "list_landmarks_align_celeba.txt"
    lines = landmarks.read_text().splitlines()
    landmarks.write_text("\n".join(["7", *lines[1:3], *lines[4:]]) + "\n")  # drops 000002
    with pytest.raises(DatasetError, match=r"no row for '000002\.jpg'"):
        celeba.read(celeba_root, "train", celeba_spec(celeba_root))
    partition = celeba_root / "list_eval_partition.txt"
    partition.write_text(partition.read_text().replace("000001.jpg 0", "000001.jpg 3"))
    with pytest.raises(DatasetError, match="not 0, 1 or 2") as err:
        celeba.read(celeba_root, "train", celeba_spec(celeba_root))
    assert str(partition) in str(err.value)


class FakeCelebA:
    """Stands in for torchvision's CelebA: records the call, writes nothing."""

    calls: ClassVar[list[dict]] = []
    fail: ClassVar[bool] = False

    def __init__(self, **kwargs) -> None:
        type(self).calls.append(kwargs)
        if type(self).fail:
            raise RuntimeError("quota exceeded")


@pytest.fixture
def fake_torchvision(monkeypatch):
    FakeCelebA.calls, FakeCelebA.fail = [], False
    datasets = types.ModuleType("torchvision.datasets")
    datasets.CelebA = FakeCelebA
    package = types.ModuleType("torchvision")
    package.datasets = datasets
    monkeypatch.setitem(sys.modules, "torchvision", package)
    monkeypatch.setitem(sys.modules, "torchvision.datasets", datasets)
    return FakeCelebA


def test_celeba_download_goes_through_torchvision(fake_torchvision, tmp_path, celeba_root):
    celeba.download(tmp_path / "new")
    assert fake_torchvision.calls == [
        {
            "root": str(tmp_path / "new"),
            "split": "all",
            "target_type": "landmarks",
            "download": True,
        }
    ]
    celeba.download(celeba_root)  # already there: nothing fetched
    assert len(fake_torchvision.calls) == 1
    fake_torchvision.fail = True
    with pytest.raises(DatasetError, match="quota exceeded") as err:
        celeba.download(tmp_path / "new")
    assert celeba.PUBLISHED in str(err.value)


# --------------------------------------------------------------------------- LSP

LSP_SPEC = {"kind": "lsp", "root": "", "train_count": 2, "box": "joints", "box_margin": 0.25}


def body_joints(count: int) -> np.ndarray:
    """count x 14 x 3: joint j at (10 + 2j + n, 20 + 4j) in image n; head top (13) occluded
    at (500, 500) in image 0. Values are visibility (1 = visible)."""
    table = np.zeros((count, 14, 3))
    for n in range(count):
        for j in range(14):
            table[n, j] = [10 + 2 * j + n, 20 + 4 * j, 1]
    table[0, 13] = [500, 500, 0]
    return table


def write_lsp(root: Path, count: int = 4, extended: bool = False, size=(40, 30)) -> None:
    table = body_joints(count)
    if extended:  # 14 x 3 x N, flag 1 = visible
        joints = table.transpose(1, 2, 0)
    else:  # 3 x 14 x N, flag 1 = occluded
        table[..., 2] = 1 - table[..., 2]
        joints = table.transpose(2, 1, 0)
    root.mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(root / "joints.mat", {"joints": joints})
    digits = 5 if extended else 4
    for n in range(1, count + 1):
        write_image(root / "images" / f"im{n:0{digits}d}.jpg", size)


def lsp_spec(root: Path, **changes) -> dict:
    return {**LSP_SPEC, "root": str(root), **changes}


@pytest.mark.parametrize("extended", [False, True])
def test_lsp_joints_box_uses_visible_joints(tmp_path, extended):
    write_lsp(tmp_path, extended=extended)
    train = lsp.read(tmp_path, "train", lsp_spec(tmp_path))
    test = lsp.read(tmp_path, "test", lsp_spec(tmp_path))
    digits = 5 if extended else 4
    assert train.latents["image"].tolist() == [f"im{1:0{digits}d}.jpg", f"im{2:0{digits}d}.jpg"]
    assert test.latents["image"].tolist() == [f"im{3:0{digits}d}.jpg", f"im{4:0{digits}d}.jpg"]
    assert test.paths[0] == tmp_path / "images" / f"im{3:0{digits}d}.jpg"
    # image 1, visible joints 0..12: x 10..34, y 20..68 -> extent 48 * 1.5 = 72, centre (22, 44)
    np.testing.assert_allclose(train.boxes[0], [-14.0, 8.0, 58.0, 80.0])
    first = train.latents.iloc[0]
    assert (first["kp00_x"], first["kp00_y"]) == pytest.approx((24 / 72, 12 / 72))
    assert (first["kp13_x"], first["kp13_y"]) == pytest.approx((514 / 72, 492 / 72))
    assert first["kp13_visible"] == 0 and first["kp00_visible"] == 1
    # image 2, all visible: x 11..37, y 20..72 -> extent 52 * 1.5 = 78, centre (24, 46)
    np.testing.assert_allclose(train.boxes[1], [-15.0, 7.0, 63.0, 85.0])
    assert train.latents.loc[1, "kp13_x"] == pytest.approx((37 + 15) / 78)
    assert train.latents[[f"kp{j:02d}_visible" for j in range(14)]].to_numpy().sum() == 27
    columns = keypoints.keypoint_columns(14, visible=True)
    assert list(train.latents.columns) == [*columns, "image"]


def test_lsp_image_box_is_the_centred_square(tmp_path):
    write_lsp(tmp_path, size=(40, 30))
    source = lsp.read(tmp_path, "train", lsp_spec(tmp_path, box="image"))
    np.testing.assert_allclose(source.boxes, [[5.0, 0.0, 35.0, 30.0]] * 2)
    # image 1 joint 0 at (10, 20) -> (5 / 30, 20 / 30)
    assert (source.latents.loc[0, "kp00_x"], source.latents.loc[0, "kp00_y"]) == pytest.approx(
        (5 / 30, 20 / 30)
    )


def test_lsp_errors_name_the_file(tmp_path):
    with pytest.raises(DatasetError, match=r"joints\.mat"):
        lsp.read(tmp_path, "train", lsp_spec(tmp_path))
    write_lsp(tmp_path)
    with pytest.raises(DatasetError, match="train_count 4 leaves no images"):
        lsp.read(tmp_path, "test", lsp_spec(tmp_path, train_count=4))
    (tmp_path / "images" / "im0003.jpg").unlink()
    with pytest.raises(DatasetError, match=r"im0003\.jpg"):
        lsp.read(tmp_path, "test", lsp_spec(tmp_path))
    path = tmp_path / "joints.mat"
    for content, problem in [
        ({"poses": np.zeros((3, 14, 4))}, "no variable 'joints'"),
        ({"joints": np.zeros((2, 14, 4))}, "2 x 14 x 4"),
        ({"joints": np.full((3, 14, 4), 2.0)}, "flag not 0/1"),
    ]:
        scipy.io.savemat(path, content)
        with pytest.raises(DatasetError, match=problem) as err:
            lsp.read(tmp_path, "train", lsp_spec(tmp_path))
        assert str(path) in str(err.value) and lsp.PUBLISHED in str(err.value)
    path.write_text("not a mat file")
    with pytest.raises(DatasetError, match="not a readable MATLAB file"):
        lsp.read(tmp_path, "train", lsp_spec(tmp_path))
