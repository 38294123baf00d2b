"""Deterministic, parametrised image transforms and their parameter grids, for invariance.

Why this module exists: the invariance of a frozen encoder f is measured by comparing
f(x) with f(t(x)) for each clean image x and each value of a transform's parameter (the
paper's "synthetic transforms"). That needs transforms that are *deterministic* (the same
value always gives the same image, so curves are comparable across models), *batched over
images and parameter values at once* on the feature-extraction device (a per-image PIL loop
would dominate the run time: 18 transforms x ~9 values x every image), and parameter grids
that follow the paper's ranges *scaled to the image size* wherever the paper's unit is
pixels at 224 px (blur sigma, elastic displacement), so a 32 px run measures the same
relative perturbation as a 224 px one.

Conventions
-----------
* Images: float tensor ``(B, 3, H, W)`` in ``[0, 1]`` on any device. Outputs have the same
  dtype/device and lie in ``[0, 1]``; float16/bfloat16 are processed in float32 and cast
  back. Inputs are never modified in place.
* ``Transform.apply_grid(images, values)`` returns ONE tensor of shape
  ``(len(values), B, 3, H, W)`` (not a generator): memory is ``len(values)`` times the
  batch, so at 224 px the caller should pass image chunks (e.g. 32 images x 9 values is
  ~175 MB in float32). ``apply(images, v)`` is ``apply_grid(images, [v])[0]``.
* A value equal to the transform's ``identity`` returns the input exactly (a copy, bit
  for bit), never an identity warp: the identity setting is the reference of every curve.
* Spatial transforms (rotation, translation, scale, shear, resized crop, elastic) resample
  with bilinear ``F.grid_sample(align_corners=False)`` and zero (black) fill, like
  torchvision's functional ``rotate``/``affine`` on tensors with their defaults (the paper
  used torchvision defaults). rotation/translation/scale/shear use torchvision's own
  inverse-affine-matrix formula about the image centre, so they match
  ``torchvision.transforms.functional.rotate``/``affine`` (bilinear) to float rounding.
  All values of one call are one ``grid_sample``: the batch is folded into channels
  (``(V, B*3, H, W)`` against ``V`` sampling grids), so no per-image grid is built.
* Flips are exact pixel flips, not resampling.
* elastic: output pixel p samples the input at p + alpha * d(p), with d one fixed smooth
  random field (seed ``ELASTIC_SEED``, Gaussian sigma = min(H, W)/8, zero mean, max |d| = 1),
  shared by all images, so alpha is the largest displacement in pixels. The grid goes to
  alpha = image_size/8 (4 px at 32 px): clearly visible, and the warp never folds (its
  Jacobian determinant stays > 0.3; at image_size/4 it folds, i.e. destroys content).
* posterize and equalize work on the uint8-quantised image ``round(255 x)`` (round rather
  than floor: both give u back for x = u/255, and for resampled inputs round is the nearest
  level, as PIL's own resizing gives); they are exact against torchvision on uint8 images.
* Appearance transforms reuse the batched colour ops of :mod:`sslinv.augment` (torchvision
  semantics, one factor per sample) on a ``(V*B, 3, H, W)`` stack; hue is the same
  arithmetic as ``augment.adjust_hue`` with the HSV decomposition done once per image.
* Grids: ``grid(steps, image_size)`` returns the ``steps`` values spanning the paper's range
  (both end points; rotation: ``steps`` equal parts of [0, 360)), plus the identity when it
  is not already one of them, sorted, float64. So ``len(grid)`` is ``steps`` when the
  identity is an end point of the range (rotation, gaussian_blur, sharpness, elastic) or
  falls on a grid point, else ``steps + 1``. On/off transforms always give ``[0, 1]``;
  posterize gives integer bits.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from sslinv.augment import (
    adjust_brightness,
    adjust_contrast,
    adjust_saturation,
    blur_kernel_size,
    gaussian_blur,
    hue_sixths,
    rgb_to_grayscale,
)

__all__ = [
    "BLUR_SIGMA_MAX_224",
    "ELASTIC_ALPHA_MAX_FRACTION",
    "ELASTIC_SEED",
    "ELASTIC_SIGMA_FRACTION",
    "TRANSFORMS",
    "TRANSLATION_MAX",
    "Transform",
    "appearance_transforms",
    "elastic_field",
    "get_transform",
    "spatial_transforms",
]

#: Paper: shift up to +-(1 - 224/256)/2 of the image (the slack of a 224 crop in 256).
TRANSLATION_MAX: float = (1.0 - 224.0 / 256.0) / 2.0
#: Paper: blur sigma up to 20 px at 224 px; scaled by image_size / 224.
BLUR_SIGMA_MAX_224: float = 20.0
#: Elastic: smoothness sigma of the displacement field, as a fraction of min(H, W).
ELASTIC_SIGMA_FRACTION: float = 1.0 / 8.0
#: Elastic: largest displacement in the grid, as a fraction of the image size.
ELASTIC_ALPHA_MAX_FRACTION: float = 1.0 / 8.0
#: Elastic: seed of the (fixed, shared by all images) displacement field.
ELASTIC_SEED: int = 0

KINDS = ("spatial", "appearance")

BatchFn = Callable[[Tensor, np.ndarray], Tensor]
GridFn = Callable[[int, int], np.ndarray]
CheckFn = Callable[[str, np.ndarray], None]


# --------------------------------------------------------------------------- the type


@dataclass(frozen=True)
class Transform:
    """One named, deterministic transform with a scalar parameter.

    ``identity`` is the value that leaves the image unchanged and ``unit`` says what the
    value means. ``grid`` gives the values to measure; ``apply``/``apply_grid`` transform a
    batch (see the module docstring for conventions).
    """

    name: str
    kind: str
    identity: float
    unit: str
    description: str = field(default="", compare=False)
    grid_fn: GridFn | None = field(default=None, repr=False, compare=False)
    batch_fn: BatchFn | None = field(default=None, repr=False, compare=False)
    check_fn: CheckFn | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"{self.name}: kind must be one of {KINDS}, got {self.kind!r}")

    def grid(self, steps: int, image_size: int) -> np.ndarray:
        """Sorted float64 values over the paper's range at ``image_size`` px, identity once."""
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 2:
            raise ValueError(f"{self.name}: steps must be an integer >= 2, got {steps!r}")
        if (
            isinstance(image_size, bool)
            or not isinstance(image_size, (int, np.integer))
            or image_size < 1
        ):
            raise ValueError(
                f"{self.name}: image_size must be a positive integer, got {image_size!r}"
            )
        assert self.grid_fn is not None
        values = np.asarray(self.grid_fn(int(steps), int(image_size)), dtype=np.float64)
        # Snap float noise (e.g. linspace's middle point 1e-18 instead of 0) onto the identity
        # so it is neither duplicated nor missing.
        scale = max(1.0, float(np.abs(values).max(initial=0.0)))
        values = np.where(np.abs(values - self.identity) <= 1e-9 * scale, self.identity, values)
        return np.unique(np.append(values, self.identity))

    def apply(self, images: Tensor, value: float) -> Tensor:
        """Transform a batch ``(B, 3, H, W)`` with one parameter value."""
        return self.apply_grid(images, [value])[0]

    def apply_grid(self, images: Tensor, values: Sequence[float] | np.ndarray | Tensor) -> Tensor:
        """Transform a batch with every value at once: shape ``(len(values), B, 3, H, W)``.

        Identity values are copies of the input; the others are computed in one batched
        call, so the result equals stacking ``apply`` for each value.
        """
        _check_images(images, self.name)
        vals = _as_values(values, self.name)
        assert self.check_fn is not None and self.batch_fn is not None
        self.check_fn(self.name, vals)
        work = images.float() if images.dtype in (torch.float16, torch.bfloat16) else images
        work = work.contiguous()  # e.g. an N x H x W x 3 array permuted to N x 3 x H x W
        is_id = vals == self.identity
        todo = np.flatnonzero(~is_id)
        if len(todo) == len(vals):
            out = self.batch_fn(work, vals)
        else:
            out = work.new_empty((len(vals), *work.shape))
            out[torch.from_numpy(np.flatnonzero(is_id))] = work
            if len(todo):
                out[torch.from_numpy(todo)] = self.batch_fn(work, vals[todo])
        return out.to(images.dtype).contiguous()


def _check_images(x: object, name: str) -> None:
    if not isinstance(x, Tensor) or x.ndim != 4 or not x.is_floating_point() or x.shape[1] != 3:
        shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        dtype = f" {x.dtype}" if isinstance(x, Tensor) else ""
        raise ValueError(f"{name}: expected a float tensor (B, 3, H, W), got {shape}{dtype}")


def _as_values(values: Sequence[float] | np.ndarray | Tensor, name: str) -> np.ndarray:
    if isinstance(values, Tensor):
        values = values.detach().cpu().numpy()
    vals = np.asarray(values, dtype=np.float64)
    if vals.ndim != 1 or not np.isfinite(vals).all():
        raise ValueError(f"{name}: values must be a 1-D sequence of finite numbers, got {values}")
    return vals


# --------------------------------------------------------------------------- value checks


def _check_any(name: str, vals: np.ndarray) -> None:
    """Every finite value is meaningful (angles, shifts, hue wraps around)."""


def _check_range(lo: float, hi: float, lo_open: bool = False) -> CheckFn:
    def check(name: str, vals: np.ndarray) -> None:
        bad = (vals < lo) | (vals > hi) | ((vals == lo) if lo_open else False)
        if np.any(bad):
            left = "(" if lo_open else "["
            raise ValueError(
                f"{name}: values must lie in {left}{lo}, {hi}], got {vals[bad].tolist()}"
            )

    return check


def _check_on_off(name: str, vals: np.ndarray) -> None:
    if not np.isin(vals, (0.0, 1.0)).all():
        raise ValueError(f"{name}: an on/off transform takes values 0 or 1, got {vals.tolist()}")


def _check_bits(name: str, vals: np.ndarray) -> None:
    if np.any((vals != np.round(vals)) | (vals < 0) | (vals > 8)):
        raise ValueError(f"{name}: bits must be integers in [0, 8], got {vals.tolist()}")


# --------------------------------------------------------------------------- spatial


def _sample(x: Tensor, grid: Tensor) -> Tensor:
    """One grid_sample for V grids x B images: the batch rides in the channel dimension."""
    b, c, h, w = x.shape
    v = grid.shape[0]
    inp = x.reshape(1, b * c, h, w).expand(v, b * c, h, w)
    out = F.grid_sample(inp, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return out.view(v, b, c, h, w).clamp_(0.0, 1.0)


def _inverse_affine(
    angle: np.ndarray,
    tx: np.ndarray,
    ty: np.ndarray,
    scale: np.ndarray,
    shear_x: np.ndarray,
) -> np.ndarray:
    """torchvision's ``_get_inverse_affine_matrix`` (centre 0, shear_y 0), vectorised.

    Output -> input map in pixel coordinates relative to the image centre, shape (V, 2, 3).
    ``angle`` follows ``F.affine`` (positive = clockwise on screen); ``rotate`` negates it.
    """
    rot = np.deg2rad(angle)
    sx = np.deg2rad(shear_x)
    a = np.cos(rot)
    b = -np.cos(rot) * np.tan(sx) - np.sin(rot)
    c = np.sin(rot)
    d = -np.sin(rot) * np.tan(sx) + np.cos(rot)
    m = np.stack([d, -b, -c, a], axis=-1) / scale[:, None]  # det [[a, b], [c, d]] == 1
    m0, m1, m3, m4 = m.T
    m2 = m0 * -tx + m1 * -ty
    m5 = m3 * -tx + m4 * -ty
    return np.stack([np.stack([m0, m1, m2], -1), np.stack([m3, m4, m5], -1)], axis=1)


def _affine(x: Tensor, matrix: np.ndarray) -> Tensor:
    """Warp with (V, 2, 3) pixel-space matrices, converted to affine_grid's normalised theta."""
    h, w = x.shape[-2:]
    theta = matrix.copy()
    theta[:, 0, 1] *= h / w
    theta[:, 0, 2] *= 2.0 / w
    theta[:, 1, 0] *= w / h
    theta[:, 1, 2] *= 2.0 / h
    t = torch.as_tensor(theta, dtype=x.dtype, device=x.device)
    grid = F.affine_grid(t, [len(matrix), 1, h, w], align_corners=False)
    return _sample(x, grid)


def _zeros(vals: np.ndarray) -> np.ndarray:
    return np.zeros_like(vals)


def _rotation(x: Tensor, vals: np.ndarray) -> Tensor:
    # torchvision ``rotate``: positive angle = counter-clockwise, about the image centre.
    z = _zeros(vals)
    return _affine(x, _inverse_affine(-vals, z, z, np.ones_like(vals), z))


def _translation(x: Tensor, vals: np.ndarray) -> Tensor:
    # value = shift as a fraction of the image, the same in x (of W) and y (of H);
    # positive moves the content right and down (torchvision ``affine(translate=...)``).
    h, w = x.shape[-2:]
    z = _zeros(vals)
    return _affine(x, _inverse_affine(z, vals * w, vals * h, np.ones_like(vals), z))


def _scale(x: Tensor, vals: np.ndarray) -> Tensor:
    # torchvision ``affine(scale=s)``: zoom about the centre, black border when s < 1.
    z = _zeros(vals)
    return _affine(x, _inverse_affine(z, z, z, vals, z))


def _shear(x: Tensor, vals: np.ndarray) -> Tensor:
    # torchvision ``affine(shear=[s, 0])``: shear parallel to the x axis by s degrees.
    z = _zeros(vals)
    return _affine(x, _inverse_affine(z, z, z, np.ones_like(vals), vals))


def _resized_crop(x: Tensor, vals: np.ndarray) -> Tensor:
    # Centre crop of side ``value`` (fraction of H and of W) resized back to H x W, in
    # continuous coordinates (no rounding of the box to pixels, no antialias): it equals
    # torchvision's ``resized_crop(antialias=False)`` of a whole-pixel box away from the
    # box's edge, where we sample the real neighbouring pixels instead of replicating.
    theta = np.zeros((len(vals), 2, 3))
    theta[:, 0, 0] = vals
    theta[:, 1, 1] = vals
    h, w = x.shape[-2:]
    t = torch.as_tensor(theta, dtype=x.dtype, device=x.device)
    return _sample(x, F.affine_grid(t, [len(vals), 1, h, w], align_corners=False))


def _flip(dim: int) -> BatchFn:
    def fn(x: Tensor, vals: np.ndarray) -> Tensor:
        return x.flip(dim).unsqueeze(0)  # only value 1 reaches here

    return fn


@functools.lru_cache(maxsize=16)
def _elastic_field_cpu(height: int, width: int) -> Tensor:
    gen = torch.Generator().manual_seed(ELASTIC_SEED)
    noise = torch.rand((1, 2, height, width), generator=gen, dtype=torch.float64) * 2.0 - 1.0
    sigma = ELASTIC_SIGMA_FRACTION * min(height, width)
    k = blur_kernel_size(sigma, height, width)
    smooth = gaussian_blur(noise, sigma, k)[0]
    smooth = smooth - smooth.mean(dim=(-2, -1), keepdim=True)  # no net translation
    return (smooth / smooth.abs().max()).float()


def elastic_field(height: int, width: int) -> Tensor:
    """The fixed (2, H, W) displacement field (x, y), in pixels per unit alpha, max |d| = 1.

    Uniform noise from ``ELASTIC_SEED``, smoothed by a Gaussian of sigma
    ``ELASTIC_SIGMA_FRACTION * min(H, W)`` (reflect padding), centred and scaled so the
    largest displacement component is exactly 1. Same for every image and every call.
    """
    return _elastic_field_cpu(int(height), int(width)).clone()


def _elastic(x: Tensor, vals: np.ndarray) -> Tensor:
    # Output pixel p samples the input at p + alpha * field(p) (alpha in pixels).
    h, w = x.shape[-2:]
    field_px = _elastic_field_cpu(h, w).to(device=x.device, dtype=x.dtype)
    to_norm = torch.tensor([2.0 / w, 2.0 / h], dtype=x.dtype, device=x.device)
    disp = field_px.permute(1, 2, 0) * to_norm  # (H, W, 2) normalised units per pixel
    eye = torch.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]], dtype=x.dtype, device=x.device)
    base = F.affine_grid(eye, [1, 1, h, w], align_corners=False)
    alpha = torch.as_tensor(vals, dtype=x.dtype, device=x.device).view(-1, 1, 1, 1)
    return _sample(x, base + alpha * disp)


# --------------------------------------------------------------------------- appearance


def _stack(x: Tensor, vals: np.ndarray) -> tuple[Tensor, Tensor]:
    """(V*B, 3, H, W) copies of the batch and the matching (V*B,) parameter per sample."""
    v, b = len(vals), x.shape[0]
    xs = x.unsqueeze(0).expand(v, *x.shape).reshape(v * b, *x.shape[1:])
    p = torch.as_tensor(vals, dtype=x.dtype, device=x.device).repeat_interleave(b)
    return xs, p


def _per_sample(op: Callable[[Tensor, Tensor], Tensor]) -> BatchFn:
    def fn(x: Tensor, vals: np.ndarray) -> Tensor:
        xs, p = _stack(x, vals)
        return op(xs, p).view(len(vals), *x.shape)

    return fn


def _hue(x: Tensor, vals: np.ndarray) -> Tensor:
    """``augment.adjust_hue`` (torchvision ``adjust_hue``) for V shifts at once.

    Same arithmetic, but the hue, max and range of each image are computed once rather than
    once per value: hue was the slowest transform of a grid by a factor of ~5.
    """
    h, maxc, cr = hue_sixths(x)
    shift = torch.as_tensor(vals, dtype=x.dtype, device=x.device).view(-1, 1, 1, 1)
    n = torch.tensor([5.0, 3.0, 1.0], dtype=x.dtype, device=x.device).view(3, 1, 1)
    k = ((h + 6.0 * shift).unsqueeze(-3) + n).remainder_(6.0)  # (V, B, 3, H, W)
    w = torch.minimum(k, 4.0 - k).clamp_(0.0, 1.0)
    return w.mul_(-cr.unsqueeze(-3)).add_(maxc.unsqueeze(-3)).clamp_(0.0, 1.0)


def _grayscale(x: Tensor, vals: np.ndarray) -> Tensor:
    return rgb_to_grayscale(x).clamp_(0.0, 1.0).expand_as(x).unsqueeze(0).contiguous()


def _invert(x: Tensor, vals: np.ndarray) -> Tensor:
    return (1.0 - x).unsqueeze(0)


def _gaussian_blur(x: Tensor, vals: np.ndarray) -> Tensor:
    """Separable blur, reflect padding, kernel 2*ceil(3 sigma)+1 (capped to the image).

    All sigmas share one padded kernel length; each sigma's taps beyond its own radius are
    zero, so the result is the same as blurring with that sigma alone (and as torchvision
    ``gaussian_blur`` with that kernel size). The padded batch is convolved once with V
    kernels per channel (grouped conv), so the batch is never copied V times before.
    """
    b, c, h, w = x.shape
    v = len(vals)
    radii = np.array([blur_kernel_size(s, h, w) // 2 for s in vals])
    half = int(radii.max())
    if half == 0:
        return x.unsqueeze(0).expand(v, *x.shape).clone()
    pos = np.arange(-half, half + 1, dtype=np.float64)
    kern = np.exp(-0.5 * (pos[None, :] / vals[:, None]) ** 2)
    kern[np.abs(pos)[None, :] > radii[:, None]] = 0.0
    kern /= kern.sum(axis=1, keepdims=True)
    size = 2 * half + 1
    weight = torch.as_tensor(kern, dtype=x.dtype, device=x.device).repeat(b * c, 1)  # (BC*V, k)
    y = F.pad(x.reshape(1, b * c, h, w), (half, half, half, half), mode="reflect")
    y = F.conv2d(y, weight.view(b * c * v, 1, size, 1), groups=b * c)  # each channel -> V
    y = F.conv2d(y, weight.view(b * c * v, 1, 1, size), groups=b * c * v)
    return y.view(b, c, v, h, w).permute(2, 0, 1, 3, 4).contiguous().clamp_(0.0, 1.0)


def _sharpness(x: Tensor, vals: np.ndarray) -> Tensor:
    """torchvision ``adjust_sharpness``: blend with a 3x3 smoothed image (border kept)."""
    b, c, h, w = x.shape
    f = torch.as_tensor(vals, dtype=x.dtype, device=x.device).view(-1, 1, 1, 1, 1)
    if h <= 2 or w <= 2:  # torchvision returns such images unchanged
        return x.unsqueeze(0).expand(len(vals), *x.shape).clone()
    kernel = torch.ones((3, 3), dtype=x.dtype, device=x.device)
    kernel[1, 1] = 5.0
    kernel /= kernel.sum()
    smooth = F.conv2d(x.reshape(b * c, 1, h, w), kernel.view(1, 1, 3, 3)).view(b, c, h - 2, w - 2)
    degenerate = x.clone()
    degenerate[..., 1:-1, 1:-1] = smooth
    return (f * x + (1.0 - f) * degenerate).clamp_(0.0, 1.0)


def _quantise(x: Tensor) -> Tensor:
    """Nearest uint8 level as int32; round, not floor, so ``u / 255`` gives back ``u``."""
    return torch.round(x * 255.0).clamp_(0, 255).to(torch.int32)


def _posterize(x: Tensor, vals: np.ndarray) -> Tensor:
    # torchvision ``posterize`` on the uint8-quantised image: keep the top ``bits`` bits.
    q = _quantise(x)
    masks = torch.as_tensor(
        [-(1 << (8 - int(bits))) for bits in vals], dtype=torch.int32, device=x.device
    ).view(-1, 1, 1, 1, 1)
    return (q.unsqueeze(0) & masks).to(x.dtype) / 255.0


def _equalize(x: Tensor, vals: np.ndarray) -> Tensor:
    """torchvision ``equalize`` (per image, per channel) on the uint8-quantised image.

    Batched: one ``bincount`` with offsets gives all B*3 histograms; the LUT is
    torchvision's ``(cumsum + step // 2) // step`` shifted by one bin, with ``step`` =
    (pixels - count of the highest occupied level) // 255 and the identity where step == 0.
    Integer arithmetic throughout, so it is exact against torchvision on uint8 images.
    """
    b, c, h, w = x.shape
    q = _quantise(x).reshape(b * c, h * w).long()
    offsets = torch.arange(b * c, device=x.device).view(-1, 1) * 256
    hist = torch.bincount((q + offsets).view(-1), minlength=b * c * 256).view(b * c, 256)
    last = hist.gather(1, q.amax(dim=1, keepdim=True))
    step = torch.div(h * w - last, 255, rounding_mode="floor")  # (BC, 1)
    safe = step.clamp(min=1)
    half_step = torch.div(safe, 2, rounding_mode="floor")
    lut = torch.div(hist.cumsum(dim=1) + half_step, safe, rounding_mode="floor")
    lut = F.pad(lut, (1, 0))[:, :-1].clamp(0, 255)
    ident = torch.arange(256, device=x.device).expand(b * c, 256)
    lut = torch.where(step == 0, ident, lut)
    out = lut.gather(1, q).to(x.dtype) / 255.0
    return out.view(1, b, c, h, w)


# --------------------------------------------------------------------------- grids


def _linspace(lo: float, hi: float) -> GridFn:
    return lambda steps, size: np.linspace(lo, hi, steps)


def _geomspace(lo: float, hi: float) -> GridFn:
    return lambda steps, size: np.geomspace(lo, hi, steps)


def _on_off(steps: int, size: int) -> np.ndarray:
    return np.array([0.0, 1.0])


def _rotation_grid(steps: int, size: int) -> np.ndarray:
    return 360.0 * np.arange(steps) / steps


def _blur_grid(steps: int, size: int) -> np.ndarray:
    return np.linspace(0.0, BLUR_SIGMA_MAX_224 * size / 224.0, steps)


def _bits_grid(steps: int, size: int) -> np.ndarray:
    return np.unique(np.round(np.linspace(1.0, 8.0, min(steps, 8))))


def _elastic_grid(steps: int, size: int) -> np.ndarray:
    return np.linspace(0.0, ELASTIC_ALPHA_MAX_FRACTION * size, steps)


# --------------------------------------------------------------------------- registry


def _t(
    name: str,
    kind: str,
    identity: float,
    unit: str,
    description: str,
    grid_fn: GridFn,
    batch_fn: BatchFn,
    check_fn: CheckFn,
) -> Transform:
    return Transform(name, kind, float(identity), unit, description, grid_fn, batch_fn, check_fn)


_ON = "on/off"
_SHEAR_RANGE = _check_range(-89.0, 89.0)

TRANSFORMS: dict[str, Transform] = {
    t.name: t
    for t in (
        _t("rotation", "spatial", 0.0, "degrees",
           "counter-clockwise about the centre; grid: steps equal parts of [0, 360)",
           _rotation_grid, _rotation, _check_any),
        _t("translation", "spatial", 0.0, "fraction of image",
           "same shift in x (fraction of W) and y (fraction of H), positive = right/down; "
           "grid: [-(1-224/256)/2, +(1-224/256)/2]",
           _linspace(-TRANSLATION_MAX, TRANSLATION_MAX), _translation, _check_any),
        _t("scale", "spatial", 1.0, "factor",
           "zoom about the centre (black border below 1); grid: log-spaced 0.25-2",
           _geomspace(0.25, 2.0), _scale, _check_range(0.0, math.inf, lo_open=True)),
        _t("shear", "spatial", 0.0, "degrees",
           "shear along x (torchvision affine shear=[s, 0]); grid: -30 to 30",
           _linspace(-30.0, 30.0), _shear, _SHEAR_RANGE),
        _t("resized_crop", "spatial", 1.0, "fraction of image",
           "centre crop of this side fraction resized back; grid: 0.25-0.75 (64-192 of 256)",
           _linspace(0.25, 0.75), _resized_crop, _check_range(0.0, 1.0, lo_open=True)),
        _t("horizontal_flip", "spatial", 0.0, _ON, "mirror left-right", _on_off,
           _flip(-1), _check_on_off),
        _t("vertical_flip", "spatial", 0.0, _ON, "mirror top-bottom", _on_off,
           _flip(-2), _check_on_off),
        _t("brightness", "appearance", 1.0, "factor",
           "torchvision adjust_brightness; grid: log-spaced 0.25-5",
           _geomspace(0.25, 5.0), _per_sample(adjust_brightness), _check_range(0.0, math.inf)),
        _t("contrast", "appearance", 1.0, "factor",
           "torchvision adjust_contrast; grid: log-spaced 0.25-5",
           _geomspace(0.25, 5.0), _per_sample(adjust_contrast), _check_range(0.0, math.inf)),
        _t("saturation", "appearance", 1.0, "factor",
           "torchvision adjust_saturation; grid: log-spaced 0.25-5",
           _geomspace(0.25, 5.0), _per_sample(adjust_saturation), _check_range(0.0, math.inf)),
        _t("hue", "appearance", 0.0, "fraction of hue circle",
           "torchvision adjust_hue; grid: -0.5 to 0.5",
           _linspace(-0.5, 0.5), _hue, _check_any),
        _t("grayscale", "appearance", 0.0, _ON, "BT.601 luma in all 3 channels", _on_off,
           _grayscale, _check_on_off),
        _t("gaussian_blur", "appearance", 0.0, "pixels",
           "sigma in pixels, kernel 2*ceil(3 sigma)+1, reflect padding; "
           "grid: 0 to 20 * image_size / 224",
           _blur_grid, _gaussian_blur, _check_range(0.0, math.inf)),
        _t("sharpness", "appearance", 1.0, "factor",
           "torchvision adjust_sharpness; grid: log-spaced 1-30",
           _geomspace(1.0, 30.0), _sharpness, _check_range(0.0, math.inf)),
        _t("posterize", "appearance", 8.0, "bits",
           "torchvision posterize on the uint8-quantised image; grid: integer bits 1-8",
           _bits_grid, _posterize, _check_bits),
        _t("invert", "appearance", 0.0, _ON, "1 - x", _on_off, _invert, _check_on_off),
        _t("equalize", "appearance", 0.0, _ON,
           "torchvision equalize per channel on the uint8-quantised image", _on_off,
           _equalize, _check_on_off),
        _t("elastic", "spatial", 0.0, "pixels",
           "largest displacement of one fixed smooth random field (sigma = image_size/8); "
           "grid: 0 to image_size/8 (no folding: the warp's Jacobian stays positive)",
           _elastic_grid, _elastic, _check_range(0.0, math.inf)),
    )
}  # fmt: skip


def spatial_transforms() -> list[str]:
    """Names of the spatial group (paper figures), in registry order."""
    return [n for n, t in TRANSFORMS.items() if t.kind == "spatial"]


def appearance_transforms() -> list[str]:
    """Names of the appearance group (paper figures), in registry order."""
    return [n for n, t in TRANSFORMS.items() if t.kind == "appearance"]


def get_transform(name: str) -> Transform:
    """Look a transform up by name; a typo names every valid choice."""
    try:
        return TRANSFORMS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown transform {name!r}; available: {', '.join(sorted(TRANSFORMS))}"
        ) from None
