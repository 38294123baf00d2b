"""Procedural scenes: a small Causal3DIdent-like world rendered in torch.

No data can be downloaded on a fresh machine, so the embedded default renders its own: a few
asymmetric 3D object classes with *known* latents (class, position, rotation, object hue,
background hue, light hue, light direction). Known latents are what make the extrinsic
invariance probes possible (regress each latent from frozen features), and rendering one
object with a single latent varied gives the real-world factor groups (viewpoint, light
colour, light direction) that stand in for COIL-100 / ALOI.

Rendering is exact analytic ray casting (no iterative marching): every class is a union of
convex polyhedra (given as half-spaces) and ellipsoids, so the first hit of a ray is a
closed-form expression, and normals are the analytic face / surface normals. Shading is
Lambert + ambient under a coloured directional light, with ``antialias x antialias``
supersampling. Everything is vectorised over images and pixels; every pixel is computed
independently with elementwise operations only, so the bytes of an image do not depend on
the batch it was rendered in, and the same latents always give identical images.

Calibration (see DESIGN.md): objects fill roughly 60-90% of the frame and the background is a
desaturated colour, otherwise features are dominated by the background; pitch and roll are
limited to +-30 degrees so that pose stays decodable at 32 px.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

CLASS_NAMES: tuple[str, ...] = (
    "ell",
    "stairs",
    "arrow",
    "hammer",
    "teapot",
    "mug",
    "chair",
)
LATENT_COLUMNS: tuple[str, ...] = (
    "label",
    "pos_x",
    "pos_y",
    "rot_yaw",
    "rot_pitch",
    "rot_roll",
    "object_hue",
    "background_hue",
    "light_hue",
    "light_azimuth",
    "light_elevation",
)
FACTORS: tuple[str, ...] = ("viewpoint", "light_hue", "light_direction")

# Latent ranges (low, high); sampling is uniform on [low, high).
TILT_MAX = math.pi / 6
ELEVATION_RANGE = (math.pi / 8, math.pi / 2 - 0.1)
LATENT_RANGES: dict[str, tuple[float, float]] = {
    "pos_x": (-1.0, 1.0),
    "pos_y": (-1.0, 1.0),
    "rot_yaw": (0.0, 2 * math.pi),
    "rot_pitch": (-TILT_MAX, TILT_MAX),
    "rot_roll": (-TILT_MAX, TILT_MAX),
    "object_hue": (0.0, 1.0),
    "background_hue": (0.0, 1.0),
    "light_hue": (0.0, 1.0),
    "light_azimuth": (0.0, 2 * math.pi),
    "light_elevation": ELEVATION_RANGE,
}

# Scene geometry. The frame spans [-1, 1] x [-1, 1] on the plane z = 0 seen by a pinhole
# camera at (0, 0, CAMERA_DISTANCE) looking down -z (mild perspective for depth cues).
CAMERA_DISTANCE = 5.0
MAX_SHIFT = 0.3  # pos_x = 1 moves the object by 15% of the frame width
OBJECT_RADIUS = 0.95  # every class is scaled to this bounding radius around its centre
# Colours and light.
OBJECT_SATURATION, OBJECT_VALUE = 0.8, 0.9
BACKGROUND_SATURATION, BACKGROUND_VALUE, BACKGROUND_GRADIENT = 0.3, 0.6, 0.08
LIGHT_SATURATION = 0.5
AMBIENT, DIFFUSE = 0.3, 0.85
# Upper bound on rays x planes evaluated at once (memory), independent of the result.
_MAX_ELEMENTS = 1 << 20


# --------------------------------------------------------------------------------------------
# Shapes: unions of convex polyhedra and ellipsoids, asymmetric so that rotation is recoverable
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Shape:
    """One class: polyhedra as (P, 4) half-spaces ``n . x <= d`` and ellipsoids."""

    polyhedra: tuple[np.ndarray, ...]
    ellipsoids: tuple[tuple[np.ndarray, np.ndarray, np.ndarray], ...]  # centre, radii, rotation


def _rot_z(angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def _box(lo: Sequence[float], hi: Sequence[float]) -> np.ndarray:
    """Corners of an axis-aligned box (a convex hull's vertices)."""
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    corners = np.array(np.meshgrid([0, 1], [0, 1], [0, 1], indexing="ij")).reshape(3, -1).T
    return lo + corners * (hi - lo)


def _cylinder_y(centre: Sequence[float], radius: float, half_height: float, sides: int = 20):
    """Vertices of a regular prism around the y axis (a cylinder at this resolution)."""
    a = 2 * math.pi * (np.arange(sides) + 0.5) / sides
    ring = np.stack([radius * np.cos(a), np.zeros(sides), radius * np.sin(a)], axis=1)
    c = np.asarray(centre, float)
    return np.concatenate([c + ring - [0, half_height, 0], c + ring + [0, half_height, 0]])


def _pyramid_x(base_x: float, half: float, apex_x: float, centre_yz=(0.0, 0.0)) -> np.ndarray:
    """Vertices of a square pyramid pointing along +x (an arrow tip)."""
    y, z = centre_yz
    base = [[base_x, y + sy * half, z + sz * half] for sy in (-1, 1) for sz in (-1, 1)]
    return np.array([*base, [apex_x, y, z]], float)


def _half_spaces(vertices: np.ndarray) -> np.ndarray:
    """Convex hull of ``vertices`` as unique unit half-spaces ``n . x <= d`` (P, 4)."""
    from scipy.spatial import ConvexHull

    eq = ConvexHull(vertices).equations  # n . x + c <= 0 inside, n unit
    planes = np.concatenate([eq[:, :3], -eq[:, 3:]], axis=1)
    return np.unique(np.round(planes, 9), axis=0)


def _class_parts() -> list[tuple[list[np.ndarray], list[tuple]]]:
    """Hand-made parts of every class in CLASS_NAMES order (y up, x right, z to the camera)."""
    ell = [
        _box([-0.7, -0.75, -0.3], [-0.2, 0.8, 0.3]),
        _box([-0.2, -0.75, -0.3], [0.6, -0.25, 0.3]),
    ]
    stairs = [
        _box([-0.75, -0.75, -0.35], [0.75, -0.25, 0.35]),
        _box([-0.75, -0.25, -0.35], [0.25, 0.25, 0.35]),
        _box([-0.75, 0.25, -0.35], [-0.25, 0.75, 0.35]),
    ]
    arrow = [
        _box([-0.75, -0.22, -0.22], [0.1, 0.22, 0.22]),
        _pyramid_x(0.1, 0.5, 0.8),
        _box([-0.8, -0.45, -0.08], [-0.45, 0.45, 0.08]),  # fletching, flat in the xy plane
    ]
    hammer = [
        _box([-0.18, -0.85, -0.18], [0.18, 0.3, 0.18]),  # handle
        _box([-0.65, 0.3, -0.22], [0.3, 0.7, 0.22]),  # head
        _box([0.3, 0.15, -0.3], [0.65, 0.85, 0.3]),  # striking face on +x only
    ]
    teapot_poly = [_box([-0.8, -0.3, -0.08], [-0.5, 0.16, 0.08])]  # flat handle
    teapot_ell = [
        (np.array([0.0, -0.12, 0.0]), np.array([0.6, 0.48, 0.6]), np.eye(3)),  # body
        (np.array([0.62, 0.06, 0.0]), np.array([0.3, 0.11, 0.11]), _rot_z(math.pi / 4)),  # spout
        (np.array([0.0, 0.38, 0.0]), np.array([0.14, 0.12, 0.14]), np.eye(3)),  # lid knob
    ]
    mug = [
        _cylinder_y([-0.15, 0.0, 0.0], 0.5, 0.6),
        _box([0.3, 0.22, -0.09], [0.8, 0.4, 0.09]),  # handle: top bar
        _box([0.3, -0.4, -0.09], [0.8, -0.22, 0.09]),  # bottom bar
        _box([0.62, -0.4, -0.09], [0.8, 0.4, 0.09]),  # upright
    ]
    leg = 0.1
    chair = [
        _box([-0.5, -0.12, -0.5], [0.5, 0.06, 0.5]),  # seat
        _box([-0.5, 0.06, -0.5], [0.5, 0.9, -0.36]),  # back
        _box([0.4, 0.06, -0.36], [0.52, 0.4, 0.42]),  # one armrest (+x only)
        *[
            _box([x - leg, -0.85, z - leg], [x + leg, -0.12, z + leg])
            for x in (-0.42, 0.42)
            for z in (-0.42, 0.42)
        ],
    ]
    return [
        (ell, []),
        (stairs, []),
        (arrow, []),
        (hammer, []),
        (teapot_poly, teapot_ell),
        (mug, []),
        (chair, []),
    ]


def _ellipsoid_points(centre: np.ndarray, radii: np.ndarray, rot: np.ndarray) -> np.ndarray:
    """Points on the ellipsoid's bounding box (for the bounding radius)."""
    return centre + (_box(-radii, radii) @ rot.T)


def _build_shapes() -> tuple[_Shape, ...]:
    """Centre every class on its bounding box and scale it to OBJECT_RADIUS."""
    shapes = []
    for polys, ells in _class_parts():
        pts = np.concatenate([*polys, *[_ellipsoid_points(*e) for e in ells]])
        centre = (pts.min(0) + pts.max(0)) / 2
        radius = np.linalg.norm(np.concatenate(polys) - centre, axis=1).max() if polys else 0.0
        for c, r, _ in ells:
            radius = max(radius, np.linalg.norm(c - centre) + r.max())
        scale = OBJECT_RADIUS / radius
        shapes.append(
            _Shape(
                polyhedra=tuple(_half_spaces((p - centre) * scale) for p in polys),
                ellipsoids=tuple(((c - centre) * scale, r * scale, q) for c, r, q in ells),
            )
        )
    return tuple(shapes)


_SHAPES = _build_shapes()
assert len(_SHAPES) == len(CLASS_NAMES)


# --------------------------------------------------------------------------------------------
# Latents
# --------------------------------------------------------------------------------------------
def sample_latents(n: int, seed: int) -> pd.DataFrame:
    """Draw ``n`` scenes with every latent uniform in its range (labels uniform over classes).

    Deterministic for ``seed``: the data set is a function of the config alone.
    """
    if n < 0:
        raise ValueError(f"sample_latents: n must be >= 0, got {n}")
    rng = np.random.default_rng(seed)
    data: dict[str, np.ndarray] = {"label": rng.integers(0, len(CLASS_NAMES), size=n)}
    for name in LATENT_COLUMNS[1:]:
        lo, hi = LATENT_RANGES[name]
        data[name] = rng.uniform(lo, hi, size=n)
    return pd.DataFrame(data, columns=list(LATENT_COLUMNS))


def factor_groups(n_groups: int, views: int, factor: str, seed: int) -> pd.DataFrame:
    """Groups of one object seen ``views`` times with only ``factor`` varied.

    They stand in for COIL-100 turntable views ("viewpoint": rot_yaw evenly over the full
    circle), ALOI illumination colour ("light_hue": evenly over [0, 1)) and ALOI illumination
    direction ("light_direction": light_azimuth evenly over the circle, elevation fixed).
    Each group starts at a random offset. Returns LATENT_COLUMNS plus a leading "group".
    """
    if factor not in FACTORS:
        raise ValueError(f"unknown scene factor {factor!r}; choose one of {list(FACTORS)}")
    if n_groups < 1 or views < 1:
        raise ValueError(f"factor_groups needs n_groups, views >= 1, got {n_groups}, {views}")
    base = sample_latents(n_groups, seed)
    start = np.random.default_rng([seed, 1]).uniform(0.0, 1.0, size=n_groups)
    column, period = {
        "viewpoint": ("rot_yaw", 2 * math.pi),
        "light_hue": ("light_hue", 1.0),
        "light_direction": ("light_azimuth", 2 * math.pi),
    }[factor]
    frame = base.loc[np.repeat(np.arange(n_groups), views)].reset_index(drop=True)
    steps = np.tile(np.arange(views) / views, n_groups)
    frame[column] = np.mod(np.repeat(start, views) + steps, 1.0) * period
    frame.insert(0, "group", np.repeat(np.arange(n_groups), views))
    return frame


def _check_latents(latents: pd.DataFrame) -> np.ndarray:
    """Validate a latent table and return its labels as int64 (a clear error, not a trace)."""
    missing = [c for c in LATENT_COLUMNS if c not in latents.columns]
    if missing:
        raise ValueError(f"scene latents lack columns {missing}; expected {list(LATENT_COLUMNS)}")
    labels = latents["label"].to_numpy()
    if len(labels) and (labels.min() < 0 or labels.max() >= len(CLASS_NAMES)):
        raise ValueError(
            f"scene labels must lie in [0, {len(CLASS_NAMES)}), got {labels.min()}..{labels.max()}"
        )
    return labels.astype(np.int64)


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------
def hsv_to_rgb(h: torch.Tensor, s: torch.Tensor | float, v: torch.Tensor | float) -> torch.Tensor:
    """HSV (each in [0, 1], broadcastable) to RGB with a trailing channel axis of 3."""
    h, s, v = (torch.as_tensor(x, dtype=torch.float32, device=h.device) for x in (h, s, v))
    h, s, v = torch.broadcast_tensors(h, s, v)
    k = torch.tensor([5.0, 3.0, 1.0], device=h.device)
    k = torch.remainder(k + 6.0 * h.unsqueeze(-1), 6.0)
    ramp = torch.clamp(torch.minimum(k, 4.0 - k), 0.0, 1.0)
    return v.unsqueeze(-1) * (1.0 - s.unsqueeze(-1) * ramp)


def _lin(m: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """``m @ v`` over the trailing axis with elementwise ops (bitwise batch-independent)."""
    return v[..., 0:1] * m[..., 0] + v[..., 1:2] * m[..., 1] + v[..., 2:3] * m[..., 2]


def _rotations(yaw: torch.Tensor, pitch: torch.Tensor, roll: torch.Tensor) -> torch.Tensor:
    """Object-to-camera rotations R = Rz(roll) Rx(pitch) Ry(yaw), shape (B, 3, 3).

    Yaw spins the object about its vertical axis (a turntable), then it is tilted.
    """
    cy, sy, cp, sp = yaw.cos(), yaw.sin(), pitch.cos(), pitch.sin()
    cr, sr = roll.cos(), roll.sin()
    one, zero = torch.ones_like(yaw), torch.zeros_like(yaw)

    def mat(*rows: tuple[torch.Tensor, ...]) -> torch.Tensor:
        return torch.stack([torch.stack(r, -1) for r in rows], -2)

    ry = mat((cy, zero, sy), (zero, one, zero), (-sy, zero, cy))
    rx = mat((one, zero, zero), (zero, cp, -sp), (zero, sp, cp))
    rz = mat((cr, -sr, zero), (sr, cr, zero), (zero, zero, one))
    return rz @ rx @ ry


def _ray_grid(size: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Image-plane coordinates (u right, v up) of the centres of a size x size grid, flat."""
    c = (torch.arange(size, device=device, dtype=torch.float32) + 0.5) / size * 2.0 - 1.0
    v, u = torch.meshgrid(-c, c, indexing="ij")
    return u.reshape(-1), v.reshape(-1)


def _intersect(
    shape: _Shape, ro: torch.Tensor, rd: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """First hit of object-space rays: distance (B, R), inf where missed; normal (B, R, 3)."""
    device = rd.device
    t_best = torch.full(rd.shape[:-1], math.inf, device=device)
    n_best = torch.zeros_like(rd)
    for planes_np in shape.polyhedra:
        planes = torch.as_tensor(planes_np, dtype=torch.float32, device=device)
        normals, offsets = planes[:, :3], planes[:, 3]
        den = _lin(normals, rd)  # (B, R, P): rd . n_p
        num = offsets - _lin(normals, ro)  # (B, 1, P)
        t = num / den
        t_enter = torch.where(den < 0, t, -math.inf)
        # A ray parallel to a plane and outside it never enters the polyhedron.
        outside = torch.where((den == 0) & (num < 0), -math.inf, math.inf)
        t_exit = torch.where(den > 0, t, outside).amin(-1)
        t_in, face = t_enter.max(-1)
        hit = (t_in <= t_exit) & (t_in > 0) & (t_in < t_best)
        t_best = torch.where(hit, t_in, t_best)
        n_best = torch.where(hit.unsqueeze(-1), normals[face], n_best)
    for centre_np, radii_np, rot_np in shape.ellipsoids:
        centre = torch.as_tensor(centre_np, dtype=torch.float32, device=device)
        inv_r = torch.as_tensor(1.0 / radii_np, dtype=torch.float32, device=device)
        rot = torch.as_tensor(rot_np, dtype=torch.float32, device=device)
        rot_t = rot.T.contiguous()
        o = _lin(rot_t, ro - centre) * inv_r  # unit-sphere frame
        d = _lin(rot_t, rd) * inv_r
        a = (d * d).sum(-1)
        b = (o * d).sum(-1)
        c = (o * o).sum(-1) - 1.0
        disc = b * b - a * c
        t = (-b - torch.sqrt(torch.clamp(disc, min=0.0))) / a
        hit = (disc >= 0) & (t > 0) & (t < t_best)
        local = (o + t.unsqueeze(-1) * d) * inv_r  # gradient of the implicit function
        normal = _lin(rot, local)
        normal = normal / normal.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        t_best = torch.where(hit, t, t_best)
        n_best = torch.where(hit.unsqueeze(-1), normal, n_best)
    return t_best, n_best


def _trace(
    latents: pd.DataFrame, grid: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Cast grid x grid rays per scene: hit (B, R), camera-space normal (B, R, 3), v (R,)."""
    labels = _check_latents(latents)
    n = len(labels)

    def col(name: str) -> torch.Tensor:
        return torch.as_tensor(latents[name].to_numpy(np.float32), device=device)

    rot = _rotations(col("rot_yaw"), col("rot_pitch"), col("rot_roll"))  # (B, 3, 3)
    rot_t = rot.transpose(1, 2).contiguous()
    zero = torch.zeros(n, device=device)
    centre = torch.stack([col("pos_x") * MAX_SHIFT, col("pos_y") * MAX_SHIFT, zero], -1)
    eye = torch.tensor([0.0, 0.0, CAMERA_DISTANCE], device=device)
    u, v = _ray_grid(grid, device)
    rd_cam = torch.stack([u, v, torch.full_like(u, -CAMERA_DISTANCE)], -1)  # (R, 3)
    hit = torch.zeros(n, grid * grid, dtype=torch.bool, device=device)
    normal = torch.zeros(n, grid * grid, 3, device=device)
    for k, shape in enumerate(_SHAPES):
        idx_np = np.flatnonzero(labels == k)
        if not len(idx_np):
            continue
        planes = max([len(p) for p in shape.polyhedra] + [3])
        step = max(1, _MAX_ELEMENTS // (grid * grid * planes))
        for s in range(0, len(idx_np), step):
            idx = torch.as_tensor(idx_np[s : s + step], device=device)
            r_t = rot_t[idx].unsqueeze(1)  # (b, 1, 3, 3)
            ro = _lin(r_t, (eye - centre[idx]).unsqueeze(1))  # (b, 1, 3) object space
            rd = _lin(r_t, rd_cam.unsqueeze(0))  # (b, R, 3)
            t, n_obj = _intersect(shape, ro, rd)
            hit[idx] = torch.isfinite(t)
            normal[idx] = _lin(rot[idx].unsqueeze(1), n_obj)
    return hit, normal, v


def render(
    latents: pd.DataFrame,
    image_size: int,
    *,
    antialias: int = 2,
    batch_size: int = 256,
    device: str | torch.device = "cpu",
) -> np.ndarray:
    """Render the scenes described by ``latents`` as uint8 images (N, H, W, 3).

    Shading is albedo * (ambient + diffuse * max(0, n . l)) * light colour on the object and a
    desaturated, slightly graded background colour elsewhere; ``antialias`` ** 2 rays per pixel
    are averaged. Each image depends only on its own latents (identical bytes every time).
    """
    if image_size < 1 or antialias < 1 or batch_size < 1:
        raise ValueError(
            f"render needs positive sizes, got {image_size=}, {antialias=}, {batch_size=}"
        )
    _check_latents(latents)
    dev = torch.device(device)
    out = np.empty((len(latents), image_size, image_size, 3), dtype=np.uint8)
    grid = image_size * antialias
    for s in range(0, len(latents), batch_size):
        chunk = latents.iloc[s : s + batch_size]
        hit, normal, v = _trace(chunk, grid, dev)

        def col(name: str, frame: pd.DataFrame = chunk) -> torch.Tensor:
            return torch.as_tensor(frame[name].to_numpy(np.float32), device=dev)

        albedo = hsv_to_rgb(col("object_hue"), OBJECT_SATURATION, OBJECT_VALUE)  # (b, 3)
        light_rgb = hsv_to_rgb(col("light_hue"), LIGHT_SATURATION, 1.0)
        az, el = col("light_azimuth"), col("light_elevation")
        light_dir = torch.stack([el.cos() * az.cos(), el.cos() * az.sin(), el.sin()], -1)
        lambert = torch.clamp((normal * light_dir.unsqueeze(1)).sum(-1), min=0.0)  # (b, R)
        shade = (AMBIENT + DIFFUSE * lambert).unsqueeze(-1) * (albedo * light_rgb).unsqueeze(1)
        bg_value = BACKGROUND_VALUE + BACKGROUND_GRADIENT * v  # lighter towards the top
        background = hsv_to_rgb(col("background_hue"), BACKGROUND_SATURATION, 1.0).unsqueeze(1)
        background = background * bg_value.view(1, -1, 1)
        rgb = torch.where(hit.unsqueeze(-1), torch.clamp(shade, 0.0, 1.0), background)
        rgb = rgb.view(-1, image_size, antialias, image_size, antialias, 3).mean(dim=(2, 4))
        out[s : s + len(chunk)] = torch.round(rgb * 255.0).to(torch.uint8).cpu().numpy()
    return out


def object_mask(
    latents: pd.DataFrame,
    image_size: int,
    *,
    batch_size: int = 256,
    device: str | torch.device = "cpu",
) -> np.ndarray:
    """Pixels whose centre ray hits the object (N, H, W) bool.

    Depends on class, position and rotation only, which lets tests and analyses separate
    geometry from appearance (object coverage, hue/light changes leave it unchanged).
    """
    if image_size < 1 or batch_size < 1:
        raise ValueError(f"object_mask needs positive sizes, got {image_size=}, {batch_size=}")
    _check_latents(latents)
    dev = torch.device(device)
    out = np.empty((len(latents), image_size, image_size), dtype=bool)
    for s in range(0, len(latents), batch_size):
        chunk = latents.iloc[s : s + batch_size]
        hit, _, _ = _trace(chunk, image_size, dev)
        out[s : s + len(chunk)] = hit.view(-1, image_size, image_size).cpu().numpy()
    return out


# --------------------------------------------------------------------------------------------
# Looking at it
# --------------------------------------------------------------------------------------------
