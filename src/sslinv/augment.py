"""Batched image augmentations with per-sample random parameters, for MoCo-v2 views.

Why this module exists: MoCo-v2 pulls together two random views of each image, so the
invariances a model learns are set by the augmentations that make those views. The
paper's variants (default / spatial / appearance) differ *only* here, and any further
variant is a new named list in the config. The views are generated from a whole batch at
once on the training device (the GPU when there is one), because a per-image PIL loop
would starve the encoder: geometry is one ``affine_grid``/``grid_sample`` call, blur is
one grouped convolution with a kernel per sample, and per-sample probabilities are
Bernoulli masks applied with ``torch.where``.

Conventions
-----------
* Input: float tensor ``(B, C, H, W)`` with values in ``[0, 1]`` on any device (``C == 3``
  for the colour ops). Output: same shape, dtype and device. float16/bfloat16 batches are
  processed in float32 and cast back. Ops never modify their input in place; an op that
  is an identity (e.g. ``center_crop(size=1)``) may return the input tensor itself.
* Every sample gets its own parameters; a sample that a probability ``p`` leaves
  untouched is returned bit-exact (``torch.where``), not passed through an identity warp.
* All randomness comes from the ``generator`` argument. Parameters are drawn on the
  generator's device, computed there and then moved to the batch's device. Use a CPU
  generator: then the same seed draws the same parameters whether the batch lives on the
  CPU or a GPU (only the floating-point image kernels differ between devices). Each op
  draws a fixed number of values per call whatever the outcome, so a seed's stream stays
  aligned across ops and configs of the same shape.
* Config: ``build_augmentation(spec)`` turns a YAML list (names or one-key mappings
  ``{name: {param: value}}``) into a :class:`Compose`; ``describe(spec)`` gives the
  normalised form (every parameter, defaults included) for checkpoint metadata, and that
  form is itself a valid spec.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, ClassVar, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "AUGMENTATIONS",
    "LUMA",
    "Augmentation",
    "CenterCrop",
    "ColorJitter",
    "Compose",
    "CropParams",
    "GaussianBlur",
    "Grayscale",
    "HorizontalFlip",
    "RandomResizedCrop",
    "Rotation",
    "Solarize",
    "VerticalFlip",
    "adjust_brightness",
    "adjust_contrast",
    "adjust_hue",
    "adjust_saturation",
    "augmentation_names",
    "blur_kernel_size",
    "build_augmentation",
    "describe",
    "gaussian_blur",
    "hsv_to_rgb",
    "rgb_to_grayscale",
    "rgb_to_hsv",
    "sharded",
]

#: ITU-R BT.601 luma weights (torchvision uses 0.2989 for red; the difference is < 1e-4).
LUMA: tuple[float, float, float] = (0.299, 0.587, 0.114)

KINDS = frozenset({"spatial", "appearance"})


# --------------------------------------------------------------------------- validation


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _number(
    op: str,
    key: str,
    value: Any,
    lo: float = -math.inf,
    hi: float = math.inf,
    lo_open: bool = False,
) -> float:
    """Check a scalar parameter so a bad config value fails at build time, not mid-training."""
    if not _is_real(value) or not math.isfinite(float(value)):
        raise ValueError(f"{op}: parameter '{key}' must be a finite number, got {value!r}")
    v = float(value)
    if v < lo or v > hi or (lo_open and v == lo):
        left = "(" if lo_open else "["
        raise ValueError(f"{op}: parameter '{key}' must lie in {left}{lo}, {hi}], got {v}")
    return v


def _pair(
    op: str,
    key: str,
    value: Any,
    lo: float = -math.inf,
    hi: float = math.inf,
    lo_open: bool = False,
) -> tuple[float, float]:
    """Check a ``(min, max)`` range parameter."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or len(value) != 2:
        raise ValueError(f"{op}: parameter '{key}' must be a pair [min, max], got {value!r}")
    a = _number(op, key, value[0], lo, hi, lo_open)
    b = _number(op, key, value[1], lo, hi, lo_open)
    if a > b:
        raise ValueError(f"{op}: parameter '{key}' must have min <= max, got {value!r}")
    return (a, b)


def _number_or_pair(
    op: str,
    key: str,
    value: Any,
    lo: float = -math.inf,
    hi: float = math.inf,
    lo_open: bool = False,
) -> float | tuple[float, float]:
    if _is_real(value):
        return _number(op, key, value, lo, hi, lo_open)
    return _pair(op, key, value, lo, hi, lo_open)


def _tuplify(value: Any) -> Any:
    """YAML gives lists; parameters are stored as tuples so ops are hashable-ish and immutable."""
    if isinstance(value, (list, tuple)):
        return tuple(_tuplify(v) for v in value)
    return value


def _listify(value: Any) -> Any:
    """Metadata is written as JSON/YAML, and ``yaml.safe_dump`` cannot write tuples."""
    if isinstance(value, (list, tuple)):
        return [_listify(v) for v in value]
    return value


def _check_batch(x: Any, op: str, rgb: bool) -> None:
    if not isinstance(x, Tensor) or x.ndim != 4 or not x.is_floating_point():
        shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(f"{op}: expected a float tensor (B, C, H, W), got {shape}")
    if rgb and x.shape[1] != 3:
        raise ValueError(f"{op}: expected 3 (RGB) channels, got {x.shape[1]}")


def _check_generator(generator: Any, op: str) -> None:
    if not isinstance(generator, torch.Generator):
        raise TypeError(
            f"{op}: pass a torch.Generator (all randomness comes from it), got {generator!r}"
        )


# --------------------------------------------------------------------------- random draws


_SHARD: ContextVar[tuple[int, int] | None] = ContextVar("augment_shard", default=None)


@contextmanager
def sharded(total: int, start: int) -> Iterator[None]:
    """Draw parameters for a ``total``-sample batch and keep this process's part of it.

    Data-parallel training splits a global batch over processes that share one seed: inside
    this block each op draws for all ``total`` samples and uses the columns from ``start``
    on, so sample i gets the same parameters as in the single-process run, and every
    process's generator advances identically.
    """
    token = _SHARD.set((total, start))
    try:
        yield
    finally:
        _SHARD.reset(token)


def _rand(shape: tuple[int, ...], generator: torch.Generator) -> Tensor:
    """Uniform [0, 1) on the generator's device: the device never changes what a seed draws.

    The last dimension of ``shape`` is always the batch (see :func:`sharded`).
    """
    shard = _SHARD.get()
    if shard is None:
        return torch.rand(shape, generator=generator, device=generator.device)
    total, start = shard
    full = torch.rand((*shape[:-1], total), generator=generator, device=generator.device)
    return full[..., start : start + shape[-1]]


def _lerp(u: Tensor, lo: float, hi: float) -> Tensor:
    return lo + (hi - lo) * u


def _mask(u: Tensor, p: float, device: torch.device) -> Tensor:
    """Bernoulli(p) per sample as a broadcastable (B, 1, 1, 1) mask; p=1 always, p=0 never."""
    return (u < p).to(device).view(-1, 1, 1, 1)


def _per_sample(value: Tensor | float, x: Tensor, name: str) -> Tensor:
    """Broadcast a scalar or (B,) parameter to (B, 1, 1, 1) on the batch's device and dtype."""
    t = torch.as_tensor(value, dtype=x.dtype, device=x.device)
    if t.ndim == 0:
        t = t.expand(x.shape[0])
    if t.shape != (x.shape[0],):
        raise ValueError(
            f"{name}: expected a scalar or shape ({x.shape[0]},), got {tuple(t.shape)}"
        )
    return t.view(-1, 1, 1, 1)


# --------------------------------------------------------------------------- functionals


def rgb_to_grayscale(x: Tensor) -> Tensor:
    """BT.601 luma of a (B, 3, H, W) batch, shape (B, 1, H, W)."""
    r, g, b = x.unbind(dim=-3)
    return (LUMA[0] * r + LUMA[1] * g + LUMA[2] * b).unsqueeze(-3)


def _blend(a: Tensor, b: Tensor, factor: Tensor) -> Tensor:
    # torchvision's _blend for float images (interpolate/extrapolate, then clamp), with
    # in-place updates of the fresh result: these ops are memory-bound on big batches.
    out = a * factor
    out += (1.0 - factor) * b
    return out.clamp_(0.0, 1.0)


def adjust_brightness(x: Tensor, factor: Tensor | float) -> Tensor:
    """torchvision ``adjust_brightness`` (a blend with black) with one factor per sample."""
    return (x * _per_sample(factor, x, "adjust_brightness")).clamp_(0.0, 1.0)


def adjust_contrast(x: Tensor, factor: Tensor | float) -> Tensor:
    """torchvision ``adjust_contrast`` per sample: blend with that sample's mean grey level."""
    mean = rgb_to_grayscale(x).mean(dim=(-3, -2, -1), keepdim=True)
    return _blend(x, mean, _per_sample(factor, x, "adjust_contrast"))


def adjust_saturation(x: Tensor, factor: Tensor | float) -> Tensor:
    """torchvision ``adjust_saturation`` per sample: blend with the greyscale image."""
    return _blend(x, rgb_to_grayscale(x), _per_sample(factor, x, "adjust_saturation"))


def rgb_to_hsv(x: Tensor) -> Tensor:
    """RGB in [0, 1] -> HSV with hue in [0, 1), same formulas as torchvision (grey: h=s=0)."""
    r, g, b = x.unbind(dim=-3)
    maxc = x.amax(dim=-3)
    minc = x.amin(dim=-3)
    eqc = maxc == minc
    cr = maxc - minc
    ones = torch.ones_like(maxc)
    s = cr / torch.where(eqc, ones, maxc)
    cr_div = torch.where(eqc, ones, cr)
    rc = (maxc - r) / cr_div
    gc = (maxc - g) / cr_div
    bc = (maxc - b) / cr_div
    is_r = maxc == r
    is_g = (maxc == g) & ~is_r
    h = torch.where(is_r, bc - gc, torch.where(is_g, 2.0 + rc - bc, 4.0 + gc - rc))
    h = torch.fmod(h / 6.0 + 1.0, 1.0)
    return torch.stack((h, s, maxc), dim=-3)


def hsv_to_rgb(hsv: Tensor) -> Tensor:
    """HSV -> RGB with the closed form f(n) = v - v*s*clamp(min(k, 4-k), 0, 1), branch-free."""
    h, s, v = hsv.unbind(dim=-3)
    n = torch.tensor([5.0, 3.0, 1.0], dtype=hsv.dtype, device=hsv.device).view(3, 1, 1)
    k = torch.remainder(n + 6.0 * h.unsqueeze(-3), 6.0)
    w = torch.minimum(k, 4.0 - k).clamp(0.0, 1.0)
    return v.unsqueeze(-3) * (1.0 - s.unsqueeze(-3) * w)


def adjust_hue(x: Tensor, shift: Tensor | float) -> Tensor:
    """torchvision ``adjust_hue`` with one hue shift (fraction of a turn) per sample.

    Fused RGB -> HSV -> RGB: a hue shift keeps max and min, so each channel is
    ``max - (max - min) * w(h')`` (``hsv_to_rgb`` with v*s = max - min). Same maths as
    torchvision with a third of the temporaries; hue is the costliest op of the default view.
    """
    h, maxc, cr = hue_sixths(x)
    h = h + 6.0 * _per_sample(shift, x, "adjust_hue").view(-1, 1, 1)
    n = torch.tensor([5.0, 3.0, 1.0], dtype=x.dtype, device=x.device).view(3, 1, 1)
    k = torch.remainder(h.unsqueeze(-3) + n, 6.0)
    w = torch.minimum(k, 4.0 - k).clamp_(0.0, 1.0)
    return (maxc.unsqueeze(-3) - cr.unsqueeze(-3) * w).clamp_(0.0, 1.0)


def hue_sixths(x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Hue in sixths of a turn, max and chroma (max - min) of RGB images (..., 3, H, W).

    rgb_to_hsv without the /6 and back; a hue shift keeps max and min, so these three are
    all a shift needs (shared by the augmentation and the invariance transform).
    """
    r, g, b = x.unbind(dim=-3)
    maxc = x.amax(dim=-3)
    cr = maxc - x.amin(dim=-3)
    cr_div = torch.where(cr == 0, torch.ones_like(cr), cr)
    is_r = maxc == r
    is_g = (maxc == g) & ~is_r
    h = torch.where(is_r, g - b, torch.where(is_g, 2.0 * cr + b - r, 4.0 * cr + r - g)) / cr_div
    return h, maxc, cr


def blur_kernel_size(sigma_max: float, height: int, width: int) -> int:
    """2*ceil(3*sigma_max)+1 (covers +-3 sigma), capped to the largest odd size <= the image."""
    k = 2 * math.ceil(3.0 * sigma_max) + 1
    side = min(height, width)
    cap = side if side % 2 == 1 else side - 1
    return max(1, min(k, cap))


def gaussian_blur(x: Tensor, sigma: Tensor | float, kernel_size: int) -> Tensor:
    """Separable Gaussian blur with one sigma per sample, reflect padding (as torchvision).

    One grouped convolution over B*C channels gives every sample its own kernel without a
    Python loop over the batch.
    """
    b, c, h, w = x.shape
    if kernel_size < 1 or kernel_size % 2 == 0 or kernel_size > min(h, w):
        raise ValueError(
            f"gaussian_blur: kernel_size must be odd and <= {min(h, w)}, got {kernel_size}"
        )
    if kernel_size == 1:
        return x
    half = kernel_size // 2
    sig = _per_sample(sigma, x, "gaussian_blur").view(-1, 1)
    pos = torch.arange(kernel_size, dtype=x.dtype, device=x.device) - half
    kernel = torch.exp(-0.5 * (pos / sig) ** 2)
    kernel = (kernel / kernel.sum(dim=1, keepdim=True)).repeat_interleave(c, dim=0)
    y = F.pad(x, (half, half, half, half), mode="reflect")
    y = y.reshape(1, b * c, h + 2 * half, w + 2 * half)
    y = F.conv2d(y, kernel.view(b * c, 1, kernel_size, 1), groups=b * c)
    y = F.conv2d(y, kernel.view(b * c, 1, 1, kernel_size), groups=b * c)
    return y.reshape(b, c, h, w)


def _warp(x: Tensor, theta: Tensor, padding_mode: str) -> Tensor:
    """Resample with a per-sample affine map from output to input (normalised coords)."""
    theta = theta.to(device=x.device, dtype=x.dtype)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode=padding_mode, align_corners=False)


# --------------------------------------------------------------------------- ops


class Augmentation:
    """Base class: validated parameters, a ``kind`` for grouping, and a batched ``__call__``.

    Subclasses set ``name``, ``kind``, ``defaults`` (parameter -> paper default at 224 px)
    and implement ``_configure`` (validate, store, return the normalised parameters) and
    ``_apply``.
    """

    name: ClassVar[str]
    kind: ClassVar[str]
    defaults: ClassVar[dict[str, Any]]
    rgb: ClassVar[bool] = False

    def __init__(self, **params: Any) -> None:
        unknown = sorted(set(params) - set(self.defaults))
        if unknown:
            raise ValueError(
                f"{self.name}: unknown parameter {unknown[0]!r}; "
                f"valid parameters: {', '.join(sorted(self.defaults))}"
            )
        merged = {**self.defaults, **{k: _tuplify(v) for k, v in params.items()}}
        self.params: dict[str, Any] = self._configure(merged)

    def _configure(self, params: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def _apply(self, x: Tensor, generator: torch.Generator) -> Tensor:
        raise NotImplementedError

    def __call__(self, x: Tensor, generator: torch.Generator) -> Tensor:
        _check_batch(x, self.name, self.rgb)
        _check_generator(generator, self.name)
        if x.dtype in (torch.float16, torch.bfloat16):
            return self._apply(x.float(), generator).to(x.dtype)
        return self._apply(x, generator)

    def describe(self) -> dict[str, Any]:
        """Normalised, JSON/YAML-safe form for checkpoint metadata."""
        return {"name": self.name, "params": {k: _listify(v) for k, v in self.params.items()}}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{self.name}({args})"


class CropParams(NamedTuple):
    """Crop boxes as fractions of the image height/width, each of shape (B,)."""

    top: Tensor
    left: Tensor
    height: Tensor
    width: Tensor

    @property
    def area(self) -> Tensor:
        return self.height * self.width


class RandomResizedCrop(Augmentation):
    """Crop a random box (area fraction in ``scale``, aspect ratio in ``ratio``), resize back.

    torchvision's sampler (10 tries with log-uniform aspect ratio, then a centre-crop
    fallback), but in continuous coordinates: boxes are not rounded to whole pixels, and
    the resize is bilinear ``grid_sample`` (output = input size, so it only magnifies and
    needs no antialiasing).
    """

    name = "random_resized_crop"
    kind = "spatial"
    defaults: ClassVar[dict[str, Any]] = {"scale": (0.2, 1.0), "ratio": (3 / 4, 4 / 3)}
    attempts: ClassVar[int] = 10

    def _configure(self, params: dict[str, Any]) -> dict[str, Any]:
        self.scale = _pair(self.name, "scale", params["scale"], 0.0, 1.0, lo_open=True)
        self.ratio = _pair(self.name, "ratio", params["ratio"], 0.0, lo_open=True)
        return {"scale": self.scale, "ratio": self.ratio}

    def sample_params(
        self,
        batch: int,
        height: int,
        width: int,
        generator: torch.Generator,
        device: torch.device | str | None = None,
    ) -> CropParams:
        """Draw one crop box per sample (exposed so tests and callers can inspect crops)."""
        n = self.attempts
        u = _rand((2 * n + 2, batch), generator)
        area = _lerp(u[:n], *self.scale)
        ratio = torch.exp(_lerp(u[n : 2 * n], math.log(self.ratio[0]), math.log(self.ratio[1])))
        # Pixel box w*h = area*H*W with w/h = ratio, expressed as fractions of W and H.
        w = torch.sqrt(area * ratio * height / width)
        h = torch.sqrt(area / ratio * width / height)
        ok = (w <= 1.0) & (h <= 1.0)
        first = ok.to(torch.uint8).argmax(dim=0, keepdim=True)  # first valid try per sample
        any_ok = ok.any(dim=0)
        fh, fw = self._fallback(height, width)
        w_sel = torch.where(any_ok, w.gather(0, first).squeeze(0), fw)
        h_sel = torch.where(any_ok, h.gather(0, first).squeeze(0), fh)
        top = torch.where(any_ok, u[2 * n] * (1.0 - h_sel), (1.0 - h_sel) / 2)
        left = torch.where(any_ok, u[2 * n + 1] * (1.0 - w_sel), (1.0 - w_sel) / 2)
        params = CropParams(top, left, h_sel, w_sel)
        if device is not None:
            params = CropParams(*(t.to(device) for t in params))
        return params

    def _fallback(self, height: int, width: int) -> tuple[float, float]:
        # torchvision: the whole image, its aspect ratio clamped into ``ratio``, centred.
        in_ratio = width / height
        if in_ratio < self.ratio[0]:
            return (width / self.ratio[0]) / height, 1.0
        if in_ratio > self.ratio[1]:
            return 1.0, (height * self.ratio[1]) / width
        return 1.0, 1.0

    @staticmethod
    def crop_theta(params: CropParams) -> Tensor:
        """Affine map (align_corners=False) from output coords to the crop box in the input."""
        theta = torch.zeros(params.top.shape[0], 2, 3, device=params.top.device)
        theta[:, 0, 0] = params.width
        theta[:, 0, 2] = 2.0 * params.left + params.width - 1.0
        theta[:, 1, 1] = params.height
        theta[:, 1, 2] = 2.0 * params.top + params.height - 1.0
        return theta

    def _apply(self, x: Tensor, generator: torch.Generator) -> Tensor:
        b, _, h, w = x.shape
        theta = self.crop_theta(self.sample_params(b, h, w, generator))
        return _warp(x, theta, padding_mode="border")


class _Flip(Augmentation):
    kind = "spatial"
    defaults: ClassVar[dict[str, Any]] = {"p": 0.5}
    dim: ClassVar[int]

    def _configure(self, params: dict[str, Any]) -> dict[str, Any]:
        self.p = _number(self.name, "p", params["p"], 0.0, 1.0)
        return {"p": self.p}

    def _apply(self, x: Tensor, generator: torch.Generator) -> Tensor:
        # Exact pixel flip, not resampling: a flipped image must be bit-identical.
        mask = _mask(_rand((x.shape[0],), generator), self.p, x.device)
        return torch.where(mask, x.flip(self.dim), x)


class HorizontalFlip(_Flip):
    """Mirror left-right with probability ``p``."""

    name = "horizontal_flip"
    dim = -1


class VerticalFlip(_Flip):
    """Mirror top-bottom with probability ``p``."""

    name = "vertical_flip"
    dim = -2


class ColorJitter(Augmentation):
    """torchvision ``ColorJitter`` per sample, wrapped in ``RandomApply(p)`` as in MoCo-v2.

    A number ``b`` for brightness/contrast/saturation means factors uniform in
    ``[max(0, 1-b), 1+b]`` and ``hue=h`` means shifts uniform in ``[-h, h]``; a pair gives
    the range directly (a degenerate pair fixes the factor). Unlike torchvision, which
    shuffles the order per call, the order is fixed: brightness, contrast, saturation, hue
    (keeps the op one vectorised pass; the distribution of views is nearly the same).
    Contrast blends each sample with the mean of its own greyscale image.
    """

    name = "color_jitter"
    kind = "appearance"
    rgb = True
    defaults: ClassVar[dict[str, Any]] = {
        "brightness": 0.4,
        "contrast": 0.4,
        "saturation": 0.4,
        "hue": 0.1,
        "p": 0.8,
    }

    def _configure(self, params: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        self.ranges: dict[str, tuple[float, float] | None] = {}
        for key in ("brightness", "contrast", "saturation"):
            v = _number_or_pair(self.name, key, params[key], 0.0)
            out[key] = v
            rng = (max(0.0, 1.0 - v), 1.0 + v) if isinstance(v, float) else v
            self.ranges[key] = None if rng == (1.0, 1.0) else rng
        hue = _number_or_pair(self.name, "hue", params["hue"], -0.5, 0.5)
        if isinstance(hue, float) and hue < 0:
            raise ValueError(f"{self.name}: parameter 'hue' must lie in [0, 0.5], got {hue}")
        out["hue"] = hue
        rng = (-hue, hue) if isinstance(hue, float) else hue
        self.ranges["hue"] = None if rng == (0.0, 0.0) else rng
        self.p = _number(self.name, "p", params["p"], 0.0, 1.0)
        out["p"] = self.p
        return out

    def _apply(self, x: Tensor, generator: torch.Generator) -> Tensor:
        u = _rand((5, x.shape[0]), generator)
        mask = _mask(u[0], self.p, x.device)
        fns = {
            "brightness": adjust_brightness,
            "contrast": adjust_contrast,
            "saturation": adjust_saturation,
            "hue": adjust_hue,
        }
        out = x
        for row, (key, fn) in enumerate(fns.items(), start=1):
            rng = self.ranges[key]
            if rng is not None:
                out = fn(out, _lerp(u[row], *rng).to(x.device))
        return torch.where(mask, out, x)


class Grayscale(Augmentation):
    """With probability ``p``, replace the image by its BT.601 luma in all 3 channels."""

    name = "grayscale"
    kind = "appearance"
    rgb = True
    defaults: ClassVar[dict[str, Any]] = {"p": 0.2}

    def _configure(self, params: dict[str, Any]) -> dict[str, Any]:
        self.p = _number(self.name, "p", params["p"], 0.0, 1.0)
        return {"p": self.p}

    def _apply(self, x: Tensor, generator: torch.Generator) -> Tensor:
        mask = _mask(_rand((x.shape[0],), generator), self.p, x.device)
        return torch.where(mask, rgb_to_grayscale(x).expand_as(x), x)


class GaussianBlur(Augmentation):
    """With probability ``p``, blur with sigma uniform in ``sigma`` (pixels), per sample.

    Kernel size 2*ceil(3*sigma_max)+1, capped to the largest odd size that fits the
    image; reflect padding. ``sigma`` may be one number (fixed sigma) or a pair. Sigma is
    in pixels, so at small image sizes the config should scale it down.
    """

    name = "gaussian_blur"
    kind = "appearance"
    defaults: ClassVar[dict[str, Any]] = {"sigma": (0.1, 2.0), "p": 0.5}

    def _configure(self, params: dict[str, Any]) -> dict[str, Any]:
        sigma = _number_or_pair(self.name, "sigma", params["sigma"], 0.0, lo_open=True)
        self.sigma = (sigma, sigma) if isinstance(sigma, float) else sigma
        self.p = _number(self.name, "p", params["p"], 0.0, 1.0)
        return {"sigma": self.sigma, "p": self.p}

    def _apply(self, x: Tensor, generator: torch.Generator) -> Tensor:
        u = _rand((2, x.shape[0]), generator)
        mask = _mask(u[0], self.p, x.device)
        sigma = _lerp(u[1], *self.sigma).to(x.device)
        k = blur_kernel_size(self.sigma[1], x.shape[-2], x.shape[-1])
        return torch.where(mask, gaussian_blur(x, sigma, k), x)


class Rotation(Augmentation):
    """With probability ``p``, rotate by an angle uniform in [-degrees, degrees] (or a pair).

    Positive angles turn the content counter-clockwise (as torchvision). Bilinear, about
    the image centre, corrected for non-square images. Corners are filled by reflection,
    not zeros: black corners would be a trivial cue that the view was rotated.
    """

    name = "rotation"
    kind = "spatial"
    defaults: ClassVar[dict[str, Any]] = {"degrees": 30.0, "p": 1.0}

    def _configure(self, params: dict[str, Any]) -> dict[str, Any]:
        degrees = _number_or_pair(self.name, "degrees", params["degrees"])
        if isinstance(degrees, float):
            if degrees < 0:
                raise ValueError(f"{self.name}: parameter 'degrees' must be >= 0, got {degrees}")
            self.range = (-degrees, degrees)
        else:
            self.range = degrees
        self.p = _number(self.name, "p", params["p"], 0.0, 1.0)
        return {"degrees": degrees, "p": self.p}

    def _apply(self, x: Tensor, generator: torch.Generator) -> Tensor:
        b, _, h, w = x.shape
        u = _rand((2, b), generator)
        mask = _mask(u[0], self.p, x.device)
        angle = torch.deg2rad(_lerp(u[1], *self.range))
        cos, sin = torch.cos(angle), torch.sin(angle)
        theta = torch.zeros(b, 2, 3, device=angle.device)
        # Output -> input map in pixel units is R(angle); normalised coords rescale by H/W.
        theta[:, 0, 0] = cos
        theta[:, 0, 1] = -sin * (h / w)
        theta[:, 1, 0] = sin * (w / h)
        theta[:, 1, 1] = cos
        return torch.where(mask, _warp(x, theta, padding_mode="reflection"), x)


class Solarize(Augmentation):
    """With probability ``p``, invert every pixel value >= ``threshold`` (BYOL-style)."""

    name = "solarize"
    kind = "appearance"
    defaults: ClassVar[dict[str, Any]] = {"threshold": 0.5, "p": 0.2}

    def _configure(self, params: dict[str, Any]) -> dict[str, Any]:
        self.threshold = _number(self.name, "threshold", params["threshold"], 0.0, 1.0)
        self.p = _number(self.name, "p", params["p"], 0.0, 1.0)
        return {"threshold": self.threshold, "p": self.p}

    def _apply(self, x: Tensor, generator: torch.Generator) -> Tensor:
        mask = _mask(_rand((x.shape[0],), generator), self.p, x.device)
        return torch.where(mask & (x >= self.threshold), 1.0 - x, x)


class CenterCrop(Augmentation):
    """Deterministic: keep the central ``size`` fraction of each side, resize back.

    Lets the appearance variant make "both views are the same centre crop"; size 1.0 is
    the identity (returns the input itself). Draws nothing from the generator.
    """

    name = "center_crop"
    kind = "spatial"
    defaults: ClassVar[dict[str, Any]] = {"size": 1.0}

    def _configure(self, params: dict[str, Any]) -> dict[str, Any]:
        self.size = _number(self.name, "size", params["size"], 0.0, 1.0, lo_open=True)
        return {"size": self.size}

    def _apply(self, x: Tensor, generator: torch.Generator) -> Tensor:
        if self.size == 1.0:
            return x
        theta = torch.zeros(x.shape[0], 2, 3)
        theta[:, 0, 0] = self.size
        theta[:, 1, 1] = self.size
        return _warp(x, theta, padding_mode="border")


AUGMENTATIONS: dict[str, type[Augmentation]] = {
    cls.name: cls
    for cls in (
        RandomResizedCrop,
        HorizontalFlip,
        VerticalFlip,
        ColorJitter,
        Grayscale,
        GaussianBlur,
        Rotation,
        Solarize,
        CenterCrop,
    )
}


def augmentation_names() -> list[str]:
    """Sorted registry names (for error messages, the config schema and docs)."""
    return sorted(AUGMENTATIONS)


# --------------------------------------------------------------------------- pipelines


class Compose:
    """Apply ops in order with one shared generator, so one seed fixes the whole view."""

    def __init__(self, ops: Iterable[Augmentation]) -> None:
        self.ops: list[Augmentation] = list(ops)

    def __call__(self, x: Tensor, generator: torch.Generator) -> Tensor:
        for op in self.ops:
            x = op(x, generator)
        return x

    @property
    def kinds(self) -> set[str]:
        """Which invariance groups this pipeline trains for ({'spatial', 'appearance'})."""
        return {op.kind for op in self.ops}

    def describe(self) -> list[dict[str, Any]]:
        return [op.describe() for op in self.ops]

    def __len__(self) -> int:
        return len(self.ops)

    def __iter__(self) -> Iterator[Augmentation]:
        return iter(self.ops)

    def __repr__(self) -> str:
        return f"Compose([{', '.join(map(repr, self.ops))}])"


def _parse_item(item: Any, index: int) -> tuple[str, dict[str, Any]]:
    if isinstance(item, str):
        return item, {}
    if isinstance(item, Mapping):
        if set(item) == {"name", "params"}:  # the describe() form, so metadata round-trips
            name, params = item["name"], item["params"]
        elif len(item) == 1:
            ((name, params),) = item.items()
        else:
            raise ValueError(
                f"augmentation #{index}: a mapping must have exactly one key (the name), "
                f"got keys {sorted(map(str, item))}"
            )
        if params is None:
            params = {}
        if not isinstance(name, str):
            raise ValueError(f"augmentation #{index}: name must be a string, got {name!r}")
        if not isinstance(params, Mapping) or not all(isinstance(k, str) for k in params):
            raise ValueError(
                f"augmentation #{index} ({name}): parameters must be a mapping "
                f"{{param: value}}, got {params!r}"
            )
        return name, dict(params)
    raise ValueError(
        f"augmentation #{index}: expected a name or a one-key mapping {{name: {{param: value}}}}, "
        f"got {item!r}"
    )


def build_augmentation(spec: Sequence[Any] | Compose) -> Compose:
    """Turn a config list into a pipeline; every mistake is a ValueError naming it.

    Items are a name (paper defaults) or ``{name: {param: value, ...}}``; lists become
    tuples. An empty list is the identity.
    """
    if isinstance(spec, Compose):
        return spec
    if isinstance(spec, (str, bytes, Mapping)) or not isinstance(spec, Sequence):
        raise ValueError(f"augmentation spec must be a list of augmentations, got {spec!r}")
    ops = []
    for index, item in enumerate(spec):
        name, params = _parse_item(item, index)
        cls = AUGMENTATIONS.get(name)
        if cls is None:
            raise ValueError(
                f"unknown augmentation {name!r}; available: {', '.join(augmentation_names())}"
            )
        ops.append(cls(**params))
    return Compose(ops)


def describe(spec: Sequence[Any] | Compose) -> list[dict[str, Any]]:
    """Normalised spec with every parameter (defaults included) for checkpoint metadata."""
    return build_augmentation(spec).describe()
