"""Tests of the batched MoCo-v2 augmentations: torchvision parity, per-sample randomness,
reproducibility, the spatial/appearance split and config errors."""

from __future__ import annotations

import json
import math

import pytest
import torch
import torchvision.transforms.functional as TF

from sslinv import augment as A

DEFAULT_SPEC = [
    {"random_resized_crop": {"scale": [0.2, 1.0]}},
    {"color_jitter": {"brightness": 0.4, "contrast": 0.4, "saturation": 0.4, "hue": 0.1, "p": 0.8}},
    {"grayscale": {"p": 0.2}},
    {"gaussian_blur": {"sigma": [0.1, 2.0], "p": 0.5}},
    "horizontal_flip",
]


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def images(b: int = 4, h: int = 16, w: int = 16, seed: int = 1) -> torch.Tensor:
    return torch.rand(b, 3, h, w, generator=gen(seed))


def square(b: int = 8, size: int = 32) -> torch.Tensor:
    """White square on black, off-centre so that flips and crops move it."""
    x = torch.zeros(b, 3, size, size)
    x[:, :, 6:14, 18:28] = 1.0
    return x


def bright_centroid(x: torch.Tensor) -> torch.Tensor:
    """(B, 2) centre of mass of pixels above each image's own mid-level (row, col)."""
    g = x.mean(dim=1)
    lo = g.amin(dim=(1, 2), keepdim=True)
    hi = g.amax(dim=(1, 2), keepdim=True)
    m = (g > (lo + hi) / 2).float()
    rows = torch.arange(g.shape[1], dtype=torch.float32).view(1, -1, 1)
    cols = torch.arange(g.shape[2], dtype=torch.float32).view(1, 1, -1)
    total = m.sum(dim=(1, 2))
    return torch.stack([(m * rows).sum((1, 2)) / total, (m * cols).sum((1, 2)) / total], 1)


# ------------------------------------------------------------------ registry and API


def test_registry_names_and_kinds():
    assert A.augmentation_names() == sorted(A.AUGMENTATIONS)
    spatial = {"random_resized_crop", "horizontal_flip", "vertical_flip", "rotation", "center_crop"}
    appearance = {"color_jitter", "grayscale", "gaussian_blur", "solarize"}
    assert set(A.AUGMENTATIONS) == spatial | appearance
    for name, cls in A.AUGMENTATIONS.items():
        assert cls.kind == ("spatial" if name in spatial else "appearance")
    assert A.build_augmentation(DEFAULT_SPEC).kinds == {"spatial", "appearance"}
    assert A.build_augmentation(["random_resized_crop", "horizontal_flip"]).kinds == {"spatial"}
    assert A.build_augmentation([]).kinds == set()


@pytest.mark.parametrize("name", sorted(A.AUGMENTATIONS))
def test_every_op_keeps_shape_dtype_and_range(name):
    x = images(3, 12, 20)
    y = A.AUGMENTATIONS[name]()(x, gen())
    assert y.shape == x.shape and y.dtype == x.dtype
    assert y.min() >= 0.0 and y.max() <= 1.0
    assert torch.equal(x, images(3, 12, 20))  # input untouched


def test_half_precision_round_trips():
    x = images().to(torch.bfloat16)
    y = A.build_augmentation(DEFAULT_SPEC)(x, gen())
    assert y.dtype == torch.bfloat16 and y.shape == x.shape


def test_empty_spec_is_identity():
    x = images()
    assert torch.equal(A.build_augmentation([])(x, gen()), x)


def test_describe_lists_all_params_and_round_trips():
    desc = A.describe(DEFAULT_SPEC)
    assert [d["name"] for d in desc] == [
        "random_resized_crop",
        "color_jitter",
        "grayscale",
        "gaussian_blur",
        "horizontal_flip",
    ]
    assert desc[0]["params"] == {"scale": [0.2, 1.0], "ratio": [3 / 4, 4 / 3]}
    assert desc[4]["params"] == {"p": 0.5}
    json.dumps(desc)  # metadata-safe
    assert A.describe(desc) == desc  # the normalised form is itself a valid spec
    x = images()
    a = A.build_augmentation(DEFAULT_SPEC)(x, gen(3))
    b = A.build_augmentation(desc)(x, gen(3))
    assert torch.equal(a, b)


def test_list_params_become_tuples():
    op = A.build_augmentation([{"gaussian_blur": {"sigma": [0.5, 1.0]}}]).ops[0]
    assert op.params["sigma"] == (0.5, 1.0)


# ------------------------------------------------------------------ errors


def test_unknown_name():
    with pytest.raises(ValueError, match=r"unknown augmentation 'foo'; available: center_crop, "):
        A.build_augmentation(["random_resized_crop", "foo"])


def test_unknown_param_lists_valid_ones():
    with pytest.raises(ValueError, match=r"color_jitter.*'gamma'.*brightness, contrast, hue, p"):
        A.build_augmentation([{"color_jitter": {"gamma": 1.0}}])


@pytest.mark.parametrize(
    ("item", "words"),
    [
        ({"grayscale": {"p": 1.5}}, ["grayscale", "'p'"]),
        ({"horizontal_flip": {"p": "half"}}, ["horizontal_flip", "'p'"]),
        ({"horizontal_flip": {"p": True}}, ["horizontal_flip", "'p'"]),
        ({"random_resized_crop": {"scale": [0.0, 1.0]}}, ["random_resized_crop", "'scale'"]),
        ({"random_resized_crop": {"scale": [0.9, 0.2]}}, ["random_resized_crop", "'scale'"]),
        ({"random_resized_crop": {"scale": [0.2, 1.0, 3.0]}}, ["random_resized_crop", "'scale'"]),
        ({"random_resized_crop": {"ratio": [-1.0, 1.0]}}, ["random_resized_crop", "'ratio'"]),
        ({"color_jitter": {"hue": 0.7}}, ["color_jitter", "'hue'"]),
        ({"color_jitter": {"brightness": -0.1}}, ["color_jitter", "'brightness'"]),
        ({"gaussian_blur": {"sigma": [0.0, 2.0]}}, ["gaussian_blur", "'sigma'"]),
        ({"gaussian_blur": {"sigma": float("nan")}}, ["gaussian_blur", "'sigma'"]),
        ({"rotation": {"degrees": -5}}, ["rotation", "'degrees'"]),
        ({"solarize": {"threshold": 2}}, ["solarize", "'threshold'"]),
        ({"center_crop": {"size": 0}}, ["center_crop", "'size'"]),
    ],
)
def test_bad_values_name_op_and_param(item, words):
    with pytest.raises(ValueError) as err:
        A.build_augmentation([item])
    for word in words:
        assert word in str(err.value)


@pytest.mark.parametrize(
    "spec", ["horizontal_flip", {"grayscale": {}}, [{"a": {}, "b": {}}], [3], [{"grayscale": 1}]]
)
def test_malformed_specs(spec):
    with pytest.raises(ValueError):
        A.build_augmentation(spec)


def test_bad_batch_and_generator():
    op = A.AUGMENTATIONS["grayscale"]()
    with pytest.raises(ValueError, match="3 \\(RGB\\) channels"):
        op(torch.rand(2, 1, 8, 8), gen())
    with pytest.raises(ValueError, match="float tensor"):
        op(torch.rand(3, 8, 8), gen())
    with pytest.raises(TypeError, match="Generator"):
        op(torch.rand(2, 3, 8, 8), 0)


# ------------------------------------------------------------------ flips, grayscale, solarize


@pytest.mark.parametrize(("name", "dim"), [("horizontal_flip", -1), ("vertical_flip", -2)])
def test_flips_are_exact(name, dim):
    x = images(5, 9, 11)
    cls = A.AUGMENTATIONS[name]
    assert torch.equal(cls(p=1.0)(x, gen()), torch.flip(x, dims=[dim]))
    assert torch.equal(cls(p=0.0)(x, gen()), x)
    y = cls(p=0.5)(torch.cat([x] * 8), gen())
    flipped = torch.flip(torch.cat([x] * 8), dims=[dim])
    each = [torch.equal(a, f) for a, f in zip(y, flipped, strict=True)]
    assert any(each) and not all(each)


def test_grayscale_is_bt601_luma():
    x = torch.zeros(2, 3, 2, 2)
    x[:, :, 0, 0] = torch.tensor([0.2, 0.6, 1.0])
    y = A.AUGMENTATIONS["grayscale"](p=1.0)(x, gen())
    assert torch.equal(y[:, 0], y[:, 1]) and torch.equal(y[:, 1], y[:, 2])
    expected = 0.299 * 0.2 + 0.587 * 0.6 + 0.114 * 1.0  # = 0.5642
    assert y[0, 0, 0, 0].item() == pytest.approx(expected, abs=1e-6)
    assert torch.equal(A.AUGMENTATIONS["grayscale"](p=0.0)(x, gen()), x)


def test_solarize_inverts_above_threshold():
    x = torch.tensor([0.1, 0.5, 0.9]).view(1, 1, 1, 3).expand(1, 3, 1, 3)
    y = A.AUGMENTATIONS["solarize"](threshold=0.5, p=1.0)(x, gen())
    assert torch.allclose(y[0, 0, 0], torch.tensor([0.1, 0.5, 0.1]))


# ------------------------------------------------------------------ geometry


def test_random_resized_crop_areas_within_scale():
    op = A.AUGMENTATIONS["random_resized_crop"](scale=(0.2, 0.6), ratio=(3 / 4, 4 / 3))
    for h, w in [(32, 32), (24, 40)]:
        p = op.sample_params(2000, h, w, gen(), "cpu")
        assert p.area.min() >= 0.2 - 1e-6 and p.area.max() <= 0.6 + 1e-6
        aspect = (p.width * w) / (p.height * h)
        assert aspect.min() >= 3 / 4 - 1e-5 and aspect.max() <= 4 / 3 + 1e-5
        assert (p.top >= 0).all() and (p.top + p.height <= 1 + 1e-6).all()
        assert (p.left >= 0).all() and (p.left + p.width <= 1 + 1e-6).all()
        assert p.area.std() > 0.05  # genuinely random per sample
    # Default range, square image: a try may fail (box wider than the image) and fall back
    # to the whole image, which still lies in [0.2, 1].
    p = A.AUGMENTATIONS["random_resized_crop"]().sample_params(2000, 32, 32, gen())
    assert p.area.min() >= 0.2 - 1e-6 and p.area.max() <= 1.0 + 1e-6


def test_full_crop_is_identity():
    x = images(3, 17, 17)
    op = A.AUGMENTATIONS["random_resized_crop"](scale=(1, 1), ratio=(1, 1))
    assert torch.allclose(op(x, gen()), x, atol=1e-5)


def test_center_crop():
    x = images(2, 16, 16)
    assert A.AUGMENTATIONS["center_crop"](size=1.0)(x, gen()) is x
    y = A.AUGMENTATIONS["center_crop"](size=0.5)(x, gen())
    # A 2x bilinear magnification of the central 8x8. Only the outermost output ring
    # differs: grid_sample reads the real pixels just outside the crop, interpolate clamps.
    ref = torch.nn.functional.interpolate(
        x[:, :, 4:12, 4:12], scale_factor=2, mode="bilinear", align_corners=False
    )
    assert torch.allclose(y[:, :, 1:-1, 1:-1], ref[:, :, 1:-1, 1:-1], atol=1e-5)
    assert A.AUGMENTATIONS["center_crop"](size=0.5)(x, gen(9)).equal(y)  # deterministic


def test_rotation_by_fixed_angle_matches_torchvision_direction():
    x = square(1, 32)
    op = A.AUGMENTATIONS["rotation"](degrees=(90.0, 90.0), p=1.0)
    ours = op(x, gen())
    ref = TF.rotate(x, 90.0, interpolation=TF.InterpolationMode.BILINEAR)
    assert torch.allclose(bright_centroid(ours), bright_centroid(ref), atol=0.6)


# ------------------------------------------------------------------ appearance vs spatial


def test_appearance_pipeline_keeps_geometry_spatial_moves_it():
    x = square(16, 32)
    before = bright_centroid(x)
    appearance = A.build_augmentation(
        [{"color_jitter": {"p": 1.0}}, {"grayscale": {"p": 0.5}}, {"gaussian_blur": {"p": 1.0}}]
    )
    assert appearance.kinds == {"appearance"}
    y = appearance(x, gen())
    assert not torch.allclose(y, x)
    assert (bright_centroid(y) - before).abs().max() < 0.5
    spatial = A.build_augmentation(
        ["random_resized_crop", {"horizontal_flip": {"p": 0.5}}, {"rotation": {"degrees": 30}}]
    )
    moved = (bright_centroid(spatial(x, gen())) - before).norm(dim=1)
    moved = moved.nan_to_num(nan=math.inf)  # NaN: the crop missed the square entirely
    assert moved.median() > 2.0


# ------------------------------------------------------------------ torchvision parity


def test_brightness_matches_torchvision():
    x = images(3, 10, 12)
    op = A.AUGMENTATIONS["color_jitter"](
        brightness=(1.3, 1.3), contrast=0, saturation=0, hue=0, p=1.0
    )
    ref = torch.stack([TF.adjust_brightness(im, 1.3) for im in x])
    assert torch.allclose(op(x, gen()), ref, atol=1e-6)
    factors = torch.tensor([0.6, 1.0, 1.4])
    ref = torch.stack(
        [TF.adjust_brightness(im, f.item()) for im, f in zip(x, factors, strict=True)]
    )
    assert torch.allclose(A.adjust_brightness(x, factors), ref, atol=1e-6)


def test_contrast_and_saturation_match_torchvision():
    # torchvision's grey uses 0.2989 for red; ours is BT.601 0.299, hence the tolerance.
    x = images(3, 10, 12)
    factors = torch.tensor([0.6, 1.0, 1.4])
    for ours, theirs in [
        (A.adjust_contrast, TF.adjust_contrast),
        (A.adjust_saturation, TF.adjust_saturation),
    ]:
        ref = torch.stack([theirs(im, f.item()) for im, f in zip(x, factors, strict=True)])
        assert torch.allclose(ours(x, factors), ref, atol=1e-3)


def test_hue_matches_torchvision():
    x = images(4, 10, 12)
    x[0, :, :2, :2] = 0.5  # grey pixels (undefined hue) must stay grey
    shifts = torch.tensor([-0.1, 0.0, 0.25, 0.5])
    ref = torch.stack([TF.adjust_hue(im, s.item()) for im, s in zip(x, shifts, strict=True)])
    assert torch.allclose(A.adjust_hue(x, shifts), ref, atol=1e-3)
    op = A.AUGMENTATIONS["color_jitter"](
        brightness=0, contrast=0, saturation=0, hue=(0.07, 0.07), p=1.0
    )
    ref = torch.stack([TF.adjust_hue(im, 0.07) for im in x])
    assert torch.allclose(op(x, gen()), ref, atol=1e-3)


def test_hsv_round_trip():
    x = images(2, 8, 8)
    assert torch.allclose(A.hsv_to_rgb(A.rgb_to_hsv(x)), x, atol=1e-5)


@pytest.mark.parametrize(("sigma", "size"), [(0.7, 16), (1.5, 24), (2.0, 9)])
def test_gaussian_blur_matches_torchvision(sigma, size):
    x = images(3, size, size + 3)
    k = A.blur_kernel_size(sigma, size, size + 3)
    assert k == min(2 * math.ceil(3 * sigma) + 1, size if size % 2 else size - 1)
    ref = TF.gaussian_blur(x, [k, k], [sigma, sigma])
    op = A.AUGMENTATIONS["gaussian_blur"](sigma=(sigma, sigma), p=1.0)
    assert torch.allclose(op(x, gen()), ref, atol=1e-4)


def test_gaussian_blur_kernel_per_sample():
    x = images(1, 16, 16).expand(2, -1, -1, -1)
    y = A.gaussian_blur(x, torch.tensor([0.5, 2.0]), 13)
    for i, s in enumerate([0.5, 2.0]):
        assert torch.allclose(y[i], TF.gaussian_blur(x[i], [13, 13], [s, s]), atol=1e-4)


# ------------------------------------------------------------------ randomness


def test_per_sample_randomness_and_reproducibility():
    x = images(1, 32, 32).expand(8, -1, -1, -1).contiguous()
    pipeline = A.build_augmentation(DEFAULT_SPEC)
    y = pipeline(x, gen(5))
    for i in range(1, 8):
        assert not torch.equal(y[0], y[i])
    assert torch.equal(pipeline(x, gen(5)), y)  # same seed, same bytes
    assert not torch.equal(pipeline(x, gen(6)), y)
    g = gen(5)
    assert not torch.equal(pipeline(x, g), pipeline(x, g))  # two MoCo views differ


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_cpu_generator_gives_same_views_on_gpu():
    x = images(16, 32, 32)
    spec = [*DEFAULT_SPEC, "rotation", "solarize", "vertical_flip", {"center_crop": {"size": 0.8}}]
    pipeline = A.build_augmentation(spec)
    cpu = pipeline(x, gen(7))
    cuda = pipeline(x.cuda(), gen(7))
    assert cuda.device.type == "cuda"
    assert (cuda.cpu() - cpu).abs().max() < 1e-3


def test_default_pipeline_runs_on_a_training_batch():
    x = torch.rand(256, 3, 32, 32, generator=gen())
    y = A.build_augmentation(DEFAULT_SPEC)(x, gen())
    assert y.shape == x.shape and torch.isfinite(y).all()
