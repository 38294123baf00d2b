"""Tests of the invariance transforms: identity, grids, batched == looped, torchvision parity."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchvision.transforms.functional as TF
from torchvision.transforms import InterpolationMode

from sslinv import transforms as T
from sslinv.augment import adjust_hue, blur_kernel_size
from sslinv.transforms import TRANSFORMS

NAMES = list(T.TRANSFORMS)
BILINEAR = InterpolationMode.BILINEAR


def images(b: int = 3, h: int = 16, w: int = 16, seed: int = 0) -> torch.Tensor:
    return torch.rand(b, 3, h, w, generator=torch.Generator().manual_seed(seed))


def uint8_images(b: int = 3, h: int = 16, w: int = 12, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (b, 3, h, w), generator=gen, dtype=torch.uint8)


def maxdiff(a: torch.Tensor, b: torch.Tensor) -> float:
    return (a - b).abs().max().item()


# --------------------------------------------------------------------------- registry


def test_registry_names_and_groups():
    assert NAMES == [
        "rotation", "translation", "scale", "shear", "resized_crop", "horizontal_flip",
        "vertical_flip", "brightness", "contrast", "saturation", "hue", "grayscale",
        "gaussian_blur", "sharpness", "posterize", "invert", "equalize", "elastic",
    ]  # fmt: skip
    assert T.spatial_transforms() == [
        "rotation", "translation", "scale", "shear", "resized_crop", "horizontal_flip",
        "vertical_flip", "elastic",
    ]  # fmt: skip
    assert set(T.appearance_transforms()) == set(NAMES) - set(T.spatial_transforms())
    for name, t in T.TRANSFORMS.items():
        assert t.name == name and T.get_transform(name) is t
        assert isinstance(t.identity, float) and t.unit


def test_unknown_name():
    with pytest.raises(ValueError, match="unknown transform 'rotate'; available: ") as err:
        T.get_transform("rotate")
    assert ", ".join(sorted(NAMES)) in str(err.value)


# --------------------------------------------------------------------------- identity


@pytest.mark.parametrize("name", NAMES)
def test_identity_returns_input(name):
    x = images(h=16, w=12)
    t = T.TRANSFORMS[name]
    y = t.apply(x, t.identity)
    assert y.shape == x.shape and y.dtype == x.dtype
    assert torch.equal(y, x)
    assert y.data_ptr() != x.data_ptr()  # a copy: callers may modify it


# --------------------------------------------------------------------------- grids


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("size", [32, 224])
def test_grid_contains_identity_once_and_is_sorted(name, size):
    t = T.TRANSFORMS[name]
    for steps in (2, 5, 8):
        g = t.grid(steps, size)
        assert g.dtype == np.float64 and g.ndim == 1
        assert np.count_nonzero(g == t.identity) == 1
        assert np.all(np.diff(g) > 0)
        assert len(g) in (steps, steps + 1) or t.unit in ("on/off", "bits")


@pytest.mark.parametrize(
    ("name", "lo", "hi"),
    [
        ("translation", -0.0625, 0.0625),
        ("scale", 0.25, 2.0),
        ("shear", -30.0, 30.0),
        ("resized_crop", 0.25, 1.0),
        ("brightness", 0.25, 5.0),
        ("contrast", 0.25, 5.0),
        ("saturation", 0.25, 5.0),
        ("hue", -0.5, 0.5),
        ("sharpness", 1.0, 30.0),
        ("posterize", 1.0, 8.0),
    ],
)
def test_grid_end_points(name, lo, hi):
    g = T.TRANSFORMS[name].grid(8, 32)
    assert g[0] == pytest.approx(lo, rel=1e-12) and g[-1] == pytest.approx(hi, rel=1e-12)


def test_grid_specifics():
    rot = T.TRANSFORMS["rotation"].grid(8, 32)
    np.testing.assert_allclose(rot, np.arange(8) * 45.0)
    assert rot[0] == 0.0 and rot[-1] < 360.0
    for size in (32, 224):
        blur = T.TRANSFORMS["gaussian_blur"].grid(8, size)
        assert blur[0] == 0.0 and blur[-1] == pytest.approx(20.0 * size / 224)
        elastic = T.TRANSFORMS["elastic"].grid(8, size)
        assert elastic[0] == 0.0 and elastic[-1] == pytest.approx(size / 8)
    assert T.TRANSFORMS["resized_crop"].grid(8, 32)[-2] == pytest.approx(0.75)
    assert T.TRANSFORMS["posterize"].grid(8, 32).tolist() == [1, 2, 3, 4, 5, 6, 7, 8]
    for name in ("horizontal_flip", "vertical_flip", "grayscale", "invert", "equalize"):
        assert T.TRANSFORMS[name].grid(8, 32).tolist() == [0.0, 1.0]
    # Odd steps put a value on the identity: it must not be duplicated.
    assert np.count_nonzero(T.TRANSFORMS["translation"].grid(7, 32) == 0.0) == 1


def test_grid_argument_errors():
    with pytest.raises(ValueError, match="steps"):
        T.TRANSFORMS["rotation"].grid(1, 32)
    with pytest.raises(ValueError, match="image_size"):
        T.TRANSFORMS["rotation"].grid(4, 0)


# --------------------------------------------------------------------------- batching


@pytest.mark.parametrize("name", NAMES)
def test_apply_grid_equals_looped_apply(name):
    x = images(b=3, h=16, w=12)
    t = T.TRANSFORMS[name]
    values = t.grid(5, 16)
    batched = t.apply_grid(x, values)
    assert batched.shape == (len(values), *x.shape) and batched.is_contiguous()
    looped = torch.stack([t.apply(x, float(v)) for v in values])
    assert maxdiff(batched, looped) <= 1e-6
    assert batched.min() >= 0.0 and batched.max() <= 1.0
    # Values need not be sorted, may repeat, and may be a tensor.
    shuffled = torch.as_tensor(values[::-1].copy())
    assert maxdiff(t.apply_grid(x, shuffled), looped.flip(0)) <= 1e-6


def test_bad_inputs():
    t = T.TRANSFORMS["brightness"]
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        t.apply(torch.rand(3, 8, 8), 2.0)
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        t.apply(torch.zeros(1, 3, 8, 8, dtype=torch.uint8), 2.0)
    with pytest.raises(ValueError, match="must lie in"):
        t.apply(images(), -1.0)
    with pytest.raises(ValueError, match="0 or 1"):
        T.TRANSFORMS["invert"].apply(images(), 0.5)
    with pytest.raises(ValueError, match="bits"):
        T.TRANSFORMS["posterize"].apply(images(), 3.5)


def test_half_precision_round_trip():
    x = images().half()
    y = T.TRANSFORMS["rotation"].apply_grid(x, [0.0, 30.0])
    assert y.dtype == torch.float16 and torch.equal(y[0], x)


# --------------------------------------------------------------------------- spatial refs


def test_rotation_90_is_rot90_counter_clockwise():
    x = images(h=16, w=16)
    t = T.TRANSFORMS["rotation"]
    inner = (..., slice(1, -1), slice(1, -1))
    assert maxdiff(t.apply(x, 90.0)[inner], torch.rot90(x, 1, (-2, -1))[inner]) <= 1e-5
    assert maxdiff(t.apply(x, 180.0)[inner], torch.rot90(x, 2, (-2, -1))[inner]) <= 1e-5
    assert maxdiff(t.apply(x, 270.0)[inner], torch.rot90(x, -1, (-2, -1))[inner]) <= 1e-5


def test_affine_family_matches_torchvision():
    x = images(h=16, w=12)
    tv = {
        "rotation": (37.0, lambda v: TF.rotate(x, v, BILINEAR)),
        "translation": (0.05, lambda v: TF.affine(x, 0.0, [v * 12, v * 16], 1.0, [0.0, 0.0],
                                                  BILINEAR)),
        "scale": (0.6, lambda v: TF.affine(x, 0.0, [0, 0], v, [0.0, 0.0], BILINEAR)),
        "shear": (-23.0, lambda v: TF.affine(x, 0.0, [0, 0], 1.0, [v, 0.0], BILINEAR)),
    }  # fmt: skip
    for name, (value, ref) in tv.items():
        assert maxdiff(T.TRANSFORMS[name].apply(x, value), ref(value)) <= 1e-5, name


def test_translation_by_whole_pixels_is_a_shift():
    x = images(h=16, w=16)
    y = T.TRANSFORMS["translation"].apply(x, 2 / 16)
    assert maxdiff(y[..., 2:, 2:], torch.roll(x, (2, 2), dims=(-2, -1))[..., 2:, 2:]) <= 1e-6
    assert y[..., :2, :].abs().max() == 0 and y[..., :, :2].abs().max() == 0  # black fill


def test_resized_crop_matches_torchvision_inside():
    x = images(h=16, w=16)
    y = T.TRANSFORMS["resized_crop"].apply(x, 0.5)
    ref = TF.resized_crop(x, 4, 4, 8, 8, [16, 16], BILINEAR, antialias=False)
    assert maxdiff(y[..., 1:-1, 1:-1], ref[..., 1:-1, 1:-1]) <= 1e-5


def test_flips_exact():
    x = images(h=16, w=12)
    assert torch.equal(T.TRANSFORMS["horizontal_flip"].apply(x, 1.0), x.flip(-1))
    assert torch.equal(T.TRANSFORMS["vertical_flip"].apply(x, 1.0), x.flip(-2))


def test_elastic_deterministic_and_deforms():
    t = T.TRANSFORMS["elastic"]
    x = images(h=32, w=32)
    a = t.apply(x, 4.0)
    b = t.apply(x.clone(), 4.0)
    assert torch.equal(a, b)
    assert maxdiff(a, x) > 0.1
    field = T.elastic_field(32, 32)
    assert field.shape == (2, 32, 32) and field.abs().max().item() == pytest.approx(1.0)
    # Small alpha -> small change: the deformation grows with the value.
    small = (t.apply(x, 0.5) - x).abs().mean()
    assert small < (a - x).abs().mean()


# --------------------------------------------------------------------------- appearance refs


@pytest.mark.parametrize(
    ("name", "ref"),
    [
        ("brightness", TF.adjust_brightness),
        ("contrast", TF.adjust_contrast),
        ("saturation", TF.adjust_saturation),
        ("hue", TF.adjust_hue),
        ("sharpness", TF.adjust_sharpness),
    ],
)
def test_colour_ops_match_torchvision(name, ref):
    x = images(h=16, w=12)
    values = {"hue": (-0.4, 0.13, 0.5), "sharpness": (0.5, 3.0, 30.0)}.get(name, (0.3, 3.0, 5.0))
    for v in values:
        assert maxdiff(T.TRANSFORMS[name].apply(x, v), ref(x, v)) <= 1e-3, (name, v)


def test_hue_is_augment_adjust_hue_bit_for_bit():
    x = images(b=4)
    x[0] = 0.5  # grey: hue undefined
    x[1, :, :4] = x[1, :1, :4]  # grey rows inside a colour image
    values = np.array([-0.5, -0.3, 0.1, 0.5])
    out = T.TRANSFORMS["hue"].apply_grid(x, values)
    for i, v in enumerate(values):
        assert torch.equal(out[i], adjust_hue(x, float(v)))


def test_grayscale_and_invert():
    x = images()
    g = T.TRANSFORMS["grayscale"].apply(x, 1.0)
    assert torch.equal(g[:, 0], g[:, 1]) and torch.equal(g[:, 1], g[:, 2])
    assert maxdiff(g, TF.rgb_to_grayscale(x, 3)) <= 2e-4  # BT.601 0.299 vs torchvision 0.2989
    assert torch.equal(T.TRANSFORMS["invert"].apply(x, 1.0), 1.0 - x)


def test_gaussian_blur_matches_torchvision():
    x = images(h=32, w=24)
    t = T.TRANSFORMS["gaussian_blur"]
    for sigma in (0.3, 1.0, 20.0 * 32 / 224, 7.0):
        k = blur_kernel_size(sigma, 32, 24)
        assert maxdiff(t.apply(x, sigma), TF.gaussian_blur(x, [k, k], [sigma, sigma])) <= 1e-4


def test_posterize_matches_torchvision_exactly():
    u = uint8_images()
    x = u.float() / 255.0
    out = T.TRANSFORMS["posterize"].apply_grid(x, np.arange(1.0, 9.0))
    for i, bits in enumerate(range(1, 9)):
        assert torch.equal(torch.round(out[i] * 255).to(torch.uint8), TF.posterize(u, bits))


def test_equalize_matches_torchvision_exactly_on_uint8():
    u = uint8_images()
    skewed = torch.rand(3, 3, 16, 12, generator=torch.Generator().manual_seed(1)) ** 3 * 60 + 30
    skewed = skewed.to(torch.uint8)
    skewed[0, 0] = 7  # a flat channel: torchvision leaves it unchanged (step == 0)
    skewed[1, 1, :3] = 200  # one outlying level
    for img in (u, skewed):
        out = T.TRANSFORMS["equalize"].apply(img.float() / 255.0, 1.0)
        assert torch.equal(torch.round(out * 255).to(torch.uint8), TF.equalize(img))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("name", NAMES)
def test_cuda_matches_cpu(name):
    x = images(h=16, w=12)
    t = T.TRANSFORMS[name]
    values = t.grid(5, 16)
    gpu = t.apply_grid(x.cuda(), values)
    assert gpu.device.type == "cuda"
    assert maxdiff(gpu.cpu(), t.apply_grid(x, values)) <= 1e-4


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_non_contiguous_input_is_accepted(name):
    """Images arrive as N x H x W x 3 arrays permuted to N x 3 x H x W (not contiguous)."""
    channels_last = torch.rand(2, 16, 16, 3, generator=torch.Generator().manual_seed(0))
    x = channels_last.permute(0, 3, 1, 2)
    assert not x.is_contiguous()
    transform = TRANSFORMS[name]
    values = transform.grid(3, 16)
    torch.testing.assert_close(
        transform.apply_grid(x, values), transform.apply_grid(x.contiguous(), values)
    )


def test_light_name_list_matches_the_registry():
    """Planning the DAG reads the names without torch; they must be the registry's."""
    from sslinv.transform_names import TRANSFORM_NAMES
    from sslinv.transforms import TRANSFORMS

    assert tuple(TRANSFORMS) == TRANSFORM_NAMES
