"""Photo-like training images of voxel shapes, rendered on the fly in torch, batched.

The 3D-VAE-GAN needs (image, shape) pairs (PAPER.md section 2); the paper rendered
ShapeNet models. Here every training step renders its own shapes with random viewpoint,
light, material and background, so the encoder sees each shape under ever new conditions
and learns what transfers to real photos (domain randomisation, Tobin et al. 2017).

How an image is made (all shapes of a batch at once):

1. **View**: an orthographic camera at ``azimuth`` degrees about the up axis (0 = straight
   in front of the object, which faces -x; positive turns towards -y, as in
   :mod:`shapespace.rendering.voxels`) and ``elevation`` degrees above the horizontal.
2. **Framing**: like the crops of real photo data sets (IKEA: "cropped around the
   object"), the window is the box around the shape's projection, widened by a random
   margin on each side and stretched to the square image. ``framing="cube"`` instead shows
   the whole unit cube, undistorted (used by tests and for inspection).
3. **Ray casting**: samples every half voxel along each pixel's ray through the
   trilinear occupancy field; the first sample above ``threshold`` and its predecessor
   give the surface crossing by linear interpolation.
4. **Shading**: normal from central differences of a lightly blurred field; Lambert
   diffuse + Blinn-Phong specular from a light placed relative to the camera, ambient
   light, and ambient occlusion read from the blurred field a little outside the surface.
5. **Background** (one kind per image): plain colour, linear gradient, smooth noise, or a
   procedural texture crop (stripes or checks at a random scale, angle and phase).
6. **Camera effects**: a global gain and per-pixel Gaussian noise.
7. **Clutter and occluders** (optional, :func:`render_photos`): real photos show the object
   in a room, beside other furniture and cut by things in front of it. With chance
   ``clutter`` an image's background is replaced by a zoomed-in, shifted photo of another
   shape of the batch (its own view, light and background); with chance ``occluders`` a
   plain band enters from the left, right or bottom edge and covers part of the image.
8. **Surface texture and blur** (optional, :func:`render_photos`): with chance ``texture``
   the object's shaded colour is multiplied by a pattern of the background kinds (smooth
   blotches, stripes or checks; 0.5x to 1.5x per channel), since real furniture has wood
   grain, fabric prints and books on its shelves; with chance ``blur`` the finished image
   gets a Gaussian blur of 0.4 to 1.2 pixels, as small photo crops have.

All randomness is drawn from one explicit ``torch.Generator`` (:func:`random_views`, then
texture, clutter, occluders and blur, each only when it is on), so a seed gives the same
images on every run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Iterator

import torch
import torch.nn.functional as F

from shapespace.errors import ConfigError
from shapespace.geometry.frame import DEFAULT_THRESHOLD

BACKGROUNDS = ("plain", "gradient", "noise", "texture")
FRAMINGS = ("object", "cube")
# Shapes rendered together: bounds the ray-sample tensors (chunk * S^2 * K * 3 floats).
_CHUNK = 8
_STEP_VOXELS = 0.5  # ray sample spacing; a solid voxel row is never stepped over
_NORMAL_BLUR_SIGMA = 0.8  # voxels; smooths the staircase of binary grids for shading only
_AO_DISTANCE = 2.0  # voxels out along the normal
_AO_STRENGTH = 0.6
_SHININESS = 16.0
# Material colours of furniture (RGB in [0, 1]): light and dark woods, white, black,
# greys, beige fabric, leather; the rest of the time a uniformly random colour.
_PALETTE = (
    (0.80, 0.63, 0.42), (0.55, 0.36, 0.20), (0.32, 0.20, 0.12), (0.92, 0.92, 0.90), (0.12, 0.12, 0.12),
    (0.55, 0.55, 0.56), (0.78, 0.72, 0.62), (0.45, 0.15, 0.10), (0.20, 0.28, 0.45),
)  # fmt: skip


@dataclass(frozen=True)
class PhotoSettings:
    """Ranges the random views are drawn from (uniformly unless stated).

    Attributes:
        azimuth: degrees about the up axis; the issue asks for the full circle.
        elevation: degrees above the horizontal (0 to 40: furniture photographed from
            about standing or sitting height).
        margin: fraction of the object's box added on each side of the crop.
        light_azimuth: degrees of the light from the camera direction, about the up axis.
        light_elevation: degrees of the light above the horizontal.
        ambient, diffuse, specular: shading weights.
        palette_fraction: chance that the material colour comes from furniture colours
            rather than uniformly at random.
        backgrounds: the background kinds to choose from, with equal chance.
        gain: global brightness factor.
        noise: standard deviation of per-pixel Gaussian noise.
        clutter: chance that an image's background is a zoomed-in photo of another shape
            of the batch (:func:`render_photos`; 0 keeps the plain backgrounds).
        occluders: chance that a plain band enters the image from the left, right or
            bottom edge, covering up to a third of its width or height.
        texture: chance that the object's surface gets a pattern (smooth blotches, stripes
            or checks, like the backgrounds) multiplied into its shaded colour: wood grain,
            fabric prints and the books on real shelves are not one flat colour.
        blur: chance that the finished image is blurred (Gaussian, sigma 0.4 to 1.2 pixels),
            as small or out-of-focus photo crops are.
    """

    azimuth: tuple[float, float] = (0.0, 360.0)
    elevation: tuple[float, float] = (0.0, 40.0)
    margin: tuple[float, float] = (0.0, 0.12)
    light_azimuth: tuple[float, float] = (-100.0, 100.0)
    light_elevation: tuple[float, float] = (15.0, 80.0)
    ambient: tuple[float, float] = (0.2, 0.5)
    diffuse: tuple[float, float] = (0.4, 0.9)
    specular: tuple[float, float] = (0.0, 0.3)
    palette_fraction: float = 0.6
    backgrounds: tuple[str, ...] = BACKGROUNDS
    gain: tuple[float, float] = (0.8, 1.2)
    noise: tuple[float, float] = (0.0, 0.04)
    clutter: float = 0.0
    occluders: float = 0.0
    texture: float = 0.0
    blur: float = 0.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, tuple) and f.name != "backgrounds" and (len(value) != 2 or value[0] > value[1]):
                raise ConfigError(f"photo setting {f.name} must be a (low, high) range, got {value}")
        unknown = [b for b in self.backgrounds if b not in BACKGROUNDS]
        if unknown or not self.backgrounds:
            raise ConfigError(f"photo backgrounds {list(self.backgrounds)}: choose from {', '.join(BACKGROUNDS)}")
        if not (0 <= self.elevation[0] and self.elevation[1] < 90):
            raise ConfigError(f"elevation range must lie in [0, 90), got {self.elevation}")
        for name in ("clutter", "occluders", "texture", "blur"):
            if not 0 <= getattr(self, name) <= 1:
                raise ConfigError(f"photo setting {name} is a chance in [0, 1], got {getattr(self, name)}")


@dataclass
class Views:
    """Per-image rendering parameters of a batch of B images of size S.

    Attributes:
        azimuth, elevation: FloatTensors of shape (B,), degrees.
        margin: FloatTensor of shape (B, 4): crop margins left, right, top, bottom.
        light: FloatTensor of shape (B, 3): unit vector towards the light, world frame.
        ambient, diffuse, specular, gain, noise_std: FloatTensors of shape (B,).
        albedo: FloatTensor of shape (B, 3): material colour.
        background: FloatTensor of shape (B, 3, S, S).
        noise: FloatTensor of shape (B, 3, S, S): unit Gaussian pixel noise.
    """

    azimuth: torch.Tensor
    elevation: torch.Tensor
    margin: torch.Tensor
    light: torch.Tensor
    ambient: torch.Tensor
    diffuse: torch.Tensor
    specular: torch.Tensor
    albedo: torch.Tensor
    background: torch.Tensor
    gain: torch.Tensor
    noise_std: torch.Tensor
    noise: torch.Tensor

    def __len__(self) -> int:
        return len(self.azimuth)

    def select(self, index: slice) -> "Views":
        return Views(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    def to(self, device: torch.device) -> "Views":
        return Views(**{f.name: getattr(self, f.name).to(device) for f in fields(self)})

    @classmethod
    def fixed(cls, count: int, size: int, azimuth: float = 35.0, elevation: float = 20.0) -> "Views":
        """The same plain view for every image: grey material on white, no margin, no noise."""
        light = _direction(torch.tensor([azimuth - 40.0]), torch.tensor([50.0]))
        return cls(
            azimuth=torch.full((count,), float(azimuth)),
            elevation=torch.full((count,), float(elevation)),
            margin=torch.zeros(count, 4),
            light=light.expand(count, 3).clone(),
            ambient=torch.full((count,), 0.35),
            diffuse=torch.full((count,), 0.7),
            specular=torch.zeros(count),
            albedo=torch.full((count, 3), 0.7),
            background=torch.ones(count, 3, size, size),
            gain=torch.ones(count),
            noise_std=torch.zeros(count),
            noise=torch.zeros(count, 3, size, size),
        )


def _uniform(generator: torch.Generator, count: int, bounds: tuple[float, float]) -> torch.Tensor:
    low, high = bounds
    return low + (high - low) * torch.rand(count, generator=generator)


def _direction(azimuth: torch.Tensor, elevation: torch.Tensor) -> torch.Tensor:
    """Unit vectors (B, 3) from the object towards viewpoints at (azimuth, elevation) degrees."""
    az, el = torch.deg2rad(azimuth), torch.deg2rad(elevation)
    return torch.stack([-torch.cos(el) * torch.cos(az), -torch.cos(el) * torch.sin(az), torch.sin(el)], dim=-1)


def _backgrounds(kinds: torch.Tensor, size: int, generator: torch.Generator) -> torch.Tensor:
    """Background images (B, 3, S, S) of the given kinds (indices into :data:`BACKGROUNDS`)."""
    count = len(kinds)
    c1 = torch.rand(count, 3, 1, 1, generator=generator)
    c2 = torch.rand(count, 3, 1, 1, generator=generator)
    angle = torch.rand(count, 1, 1, generator=generator) * (2 * math.pi)
    frequency = 2.0 + 10.0 * torch.rand(count, 1, 1, generator=generator)  # cycles per image
    phase = torch.rand(count, 1, 1, generator=generator) * (2 * math.pi)
    checks = torch.rand(count, 1, 1, generator=generator) < 0.5
    coarse = torch.randn(count, 3, 6, 6, generator=generator)
    fine = torch.randn(count, 1, size, size, generator=generator)

    axis = (torch.arange(size, dtype=torch.float32) + 0.5) / size
    y, x = torch.meshgrid(axis, axis, indexing="ij")  # (S, S)
    u = x * torch.cos(angle) + y * torch.sin(angle)  # (B, S, S)
    v = -x * torch.sin(angle) + y * torch.cos(angle)

    plain = c1.expand(count, 3, size, size)
    gradient = torch.lerp(c1, c2, ((u - u.amin((1, 2), keepdim=True)) / 1.5)[:, None])
    smooth = F.interpolate(coarse, size=(size, size), mode="bicubic", align_corners=False)
    noise = c1 + 0.25 * smooth
    stripes = 0.5 + 0.5 * torch.sin(2 * math.pi * frequency * u + phase)
    checker = 0.5 + 0.5 * torch.sign(torch.sin(2 * math.pi * frequency * u + phase) * torch.sin(2 * math.pi * frequency * v))
    pattern = torch.where(checks, checker, stripes)[:, None]  # (B, 1, S, S)
    texture = torch.lerp(c1, c2, pattern) + 0.05 * fine

    stack = torch.stack([plain, gradient, noise, texture], dim=1)  # (B, 4, 3, S, S)
    return stack[torch.arange(count), kinds].clamp(0.0, 1.0)


def random_views(count: int, size: int, generator: torch.Generator, settings: PhotoSettings = PhotoSettings()) -> Views:
    """Draw rendering parameters for ``count`` images of ``size`` pixels from ``generator``."""
    g = generator
    azimuth = _uniform(g, count, settings.azimuth)
    elevation = _uniform(g, count, settings.elevation)
    margin = settings.margin[0] + (settings.margin[1] - settings.margin[0]) * torch.rand(count, 4, generator=g)
    light = _direction(azimuth + _uniform(g, count, settings.light_azimuth), _uniform(g, count, settings.light_elevation))
    ambient = _uniform(g, count, settings.ambient)
    diffuse = _uniform(g, count, settings.diffuse)
    specular = _uniform(g, count, settings.specular)
    palette = torch.tensor(_PALETTE)
    from_palette = torch.rand(count, generator=g) < settings.palette_fraction
    picked = palette[torch.randint(len(palette), (count,), generator=g)]
    jitter = 0.08 * (torch.rand(count, 3, generator=g) - 0.5)
    albedo = torch.where(from_palette[:, None], (picked + jitter).clamp(0.0, 1.0), torch.rand(count, 3, generator=g))
    allowed = torch.tensor([BACKGROUNDS.index(b) for b in settings.backgrounds])
    kinds = allowed[torch.randint(len(allowed), (count,), generator=g)]
    background = _backgrounds(kinds, size, g)
    gain = _uniform(g, count, settings.gain)
    noise_std = _uniform(g, count, settings.noise)
    noise = torch.randn(count, 3, size, size, generator=g)
    return Views(azimuth, elevation, margin, light, ambient, diffuse, specular, albedo, background, gain, noise_std, noise)


def _camera(azimuth: torch.Tensor, elevation: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Orthonormal camera axes (forward, right, up), each FloatTensor of shape (B, 3)."""
    forward = -_direction(azimuth, elevation)
    world_up = torch.tensor([0.0, 0.0, 1.0], device=forward.device).expand_as(forward)
    right = torch.linalg.cross(forward, world_up)
    right = right / right.norm(dim=-1, keepdim=True)
    up = torch.linalg.cross(right, forward)
    return forward, right, up


def _blur3d(volumes: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of (B, 1, R, R, R) with a zero boundary."""
    radius = max(1, math.ceil(2 * sigma))
    taps = torch.exp(-0.5 * (torch.arange(-radius, radius + 1, dtype=volumes.dtype, device=volumes.device) / sigma) ** 2)
    taps = taps / taps.sum()
    out = volumes
    for dim in range(3):
        shape = [1, 1, 1, 1, 1]
        shape[2 + dim] = len(taps)
        padding = [0, 0, 0]
        padding[dim] = radius
        out = F.conv3d(out, taps.view(shape), padding=tuple(padding))
    return out


def _sample(volumes: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """Trilinear values of (B, 1, R, R, R) grids at world points (B, ..., 3): shape (B, ...).

    World ``[-0.5, 0.5]^3`` spans the grid (voxel centres at ``(i + 0.5) / R - 0.5``,
    :mod:`shapespace.geometry.frame`); outside it the field is 0.
    """
    batch, rest = points.shape[0], points.shape[1:-1]
    grid = (points * 2.0).flip(-1).reshape(batch, 1, 1, -1, 3)  # grid_sample order (axis 2, axis 1, axis 0)
    values = F.grid_sample(volumes, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return values.reshape(batch, *rest)


def _windows(occupied: torch.Tensor, right: torch.Tensor, up: torch.Tensor, forward: torch.Tensor, framing: str) -> torch.Tensor:
    """Per image (B, 6): screen x range, screen y range and depth range of the shape."""
    batch, r = occupied.shape[0], occupied.shape[-1]
    axis = (torch.arange(r, dtype=torch.float32, device=occupied.device) + 0.5) / r - 0.5
    centres = torch.stack(torch.meshgrid(axis, axis, axis, indexing="ij"), dim=-1).reshape(-1, 3)  # (R^3, 3)
    directions = torch.stack([right, up, forward], dim=1)  # (B, 3, 3)
    extent = 0.5 * directions.abs().sum(-1)  # (B, 3): half-extent of the unit cube's projection
    if framing == "cube":
        return torch.stack([-extent, extent], dim=-1).reshape(batch, 6)
    mask = occupied.reshape(batch, 1, -1)
    projected = directions @ centres.T  # (B, 3, R^3)
    half_voxel = extent / r
    low = torch.where(mask, projected, torch.inf).amin(-1) - half_voxel
    high = torch.where(mask, projected, -torch.inf).amax(-1) + half_voxel
    empty = ~mask.any(-1)  # (B, 1)
    low, high = torch.where(empty, -extent, low), torch.where(empty, extent, high)
    return torch.stack([low, high], dim=-1).reshape(batch, 6)


def _chunks(count: int) -> Iterator[slice]:
    for start in range(0, count, _CHUNK):
        yield slice(start, min(count, start + _CHUNK))


@torch.no_grad()
def render_views(
    volumes: torch.Tensor,
    views: Views,
    size: int,
    threshold: float = DEFAULT_THRESHOLD,
    framing: str = "object",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Render shapes as RGB images with the given per-image parameters.

    Args:
        volumes: FloatTensor (or bool/uint8) of shape (B, R, R, R) or (B, 1, R, R, R),
            occupancy in the canonical frame (:mod:`shapespace.geometry.frame`).
        views: B sets of parameters (:func:`random_views` or :meth:`Views.fixed`).
        size: image side S in pixels.
        threshold: iso-level of the surface.
        framing: "object" (crop around the shape plus margin, stretched to a square) or
            "cube" (the whole unit cube, undistorted).

    Returns:
        ``(images, silhouettes)``: FloatTensor of shape (B, 3, S, S) with RGB in [0, 1], and
        BoolTensor of shape (B, S, S), True where a pixel centre's ray hits the shape.
    """
    if volumes.dim() == 5:
        volumes = volumes[:, 0]
    if volumes.dim() != 4 or volumes.shape[1] != volumes.shape[2] or volumes.shape[2] != volumes.shape[3]:
        raise ValueError(f"volumes must have shape (B, R, R, R), got {tuple(volumes.shape)}")
    if len(views) != len(volumes) or views.background.shape[-1] != size:
        raise ValueError(f"{len(volumes)} volumes need {len(volumes)} views of size {size}, got {len(views)} of size {views.background.shape[-1]}")
    if framing not in FRAMINGS:
        raise ConfigError(f"framing must be one of {', '.join(FRAMINGS)}, got {framing!r}")
    device = volumes.device
    views = views.to(device)
    images, silhouettes = [], []
    for part in _chunks(len(volumes)):
        image, hit = _render_chunk(volumes[part].float()[:, None], views.select(part), size, threshold, framing)
        images.append(image)
        silhouettes.append(hit)
    return torch.cat(images), torch.cat(silhouettes)


def _render_chunk(volumes: torch.Tensor, views: Views, size: int, threshold: float, framing: str) -> tuple[torch.Tensor, torch.Tensor]:
    batch, r = volumes.shape[0], volumes.shape[-1]
    device = volumes.device
    forward, right, up = _camera(views.azimuth, views.elevation)  # (B, 3) each
    window = _windows(volumes[:, 0] > threshold, right, up, forward, framing)  # (B, 6)
    x0, x1, y0, y1, d0, d1 = window.unbind(-1)
    if framing == "object":
        width, height = x1 - x0, y1 - y0
        x0, x1 = x0 - views.margin[:, 0] * width, x1 + views.margin[:, 1] * width
        y1, y0 = y1 + views.margin[:, 2] * height, y0 - views.margin[:, 3] * height
    else:  # the same scale on both screen axes, so the cube is undistorted
        half = torch.maximum(x1, y1)
        x0, x1, y0, y1 = -half, half, -half, half
    # K samples per ray, enough for the longest ray segment of the chunk; sample k of an
    # image lies at depth d0 + (k + 0.5) * step with the same step (half a voxel) for every
    # image, so an image does not depend on the other shapes rendered with it.
    d0, d1 = d0 - 1.0 / r, d1 + 1.0 / r  # start outside the surface
    samples = int(math.ceil(float((d1 - d0).max()) * r / _STEP_VOXELS))
    d1 = d0 + samples * (_STEP_VOXELS / r)

    # The ray samples form a box in camera space (screen x, screen y, depth), an affine
    # image of grid_sample's output grid; affine_grid builds it in one batched product.
    # Output (x, y, z) in [-1, 1] are (column, row, sample); world = sx*right + sy*up + t*forward;
    # grid_sample's input coordinates are 2 * world in the order (axis 2, axis 1, axis 0).
    half_w, mid_x = (x1 - x0) / 2, (x1 + x0) / 2
    half_h, mid_y = (y1 - y0) / 2, (y1 + y0) / 2
    half_d, mid_d = (d1 - d0) / 2, (d1 + d0) / 2
    columns = torch.stack([half_w[:, None] * right, -half_h[:, None] * up, half_d[:, None] * forward], dim=-1)  # (B, 3, 3)
    offset = mid_x[:, None] * right + mid_y[:, None] * up + mid_d[:, None] * forward  # (B, 3)
    theta = 2.0 * torch.cat([columns, offset[:, :, None]], dim=-1).flip(1)  # (B, 3, 4), rows in grid order
    grid = F.affine_grid(theta, [batch, 1, samples, size, size], align_corners=False)  # (B, K, S, S, 3)
    field = F.grid_sample(volumes, grid, mode="bilinear", padding_mode="zeros", align_corners=False)[:, 0]  # (B, K, S, S)

    inside = field > threshold
    hit = inside.any(1)  # (B, S, S)
    first = inside.to(torch.uint8).argmax(1)  # index of the first sample inside (0 where no hit)
    previous = (first - 1).clamp(min=0)
    f_in = field.gather(1, first[:, None])[:, 0]
    f_out = field.gather(1, previous[:, None])[:, 0]
    fraction = ((threshold - f_out) / (f_in - f_out).clamp(min=1e-6)).clamp(0.0, 1.0)
    step = (d1 - d0) / samples  # (B,)
    depth = d0[:, None, None] + step[:, None, None] * (previous.float() + 0.5 + fraction)  # (B, S, S)
    pixel = (torch.arange(size, device=device, dtype=torch.float32) + 0.5) / size
    sx = x0[:, None] + (x1 - x0)[:, None] * pixel  # (B, S) screen x of each column
    sy = y1[:, None] - (y1 - y0)[:, None] * pixel  # (B, S) screen y of each row (row 0 at the top)
    surface = (
        sy[:, :, None, None] * up[:, None, None, :]
        + sx[:, None, :, None] * right[:, None, None, :]
        + depth[..., None] * forward[:, None, None, :]
    )  # (B, S, S, 3) world points

    smooth = _blur3d(volumes, _NORMAL_BLUR_SIGMA)
    h = 1.0 / r
    gradient = torch.stack(
        [_sample(smooth, surface + h * e) - _sample(smooth, surface - h * e) for e in torch.eye(3, device=device)], dim=-1
    )  # (B, S, S, 3), pointing into the shape
    normal = -gradient / gradient.norm(dim=-1, keepdim=True).clamp(min=1e-8)
    # Normals facing away from the camera (noise at thin parts) are flipped towards it.
    facing = (normal * forward[:, None, None, :]).sum(-1, keepdim=True)
    normal = torch.where(facing > 0, -normal, normal)

    light = views.light[:, None, None, :]
    lambert = (normal * light).sum(-1).clamp(min=0.0)
    halfway = light - forward[:, None, None, :]
    halfway = halfway / halfway.norm(dim=-1, keepdim=True).clamp(min=1e-8)
    highlight = (normal * halfway).sum(-1).clamp(min=0.0) ** _SHININESS
    occlusion = 1.0 - _AO_STRENGTH * _sample(smooth, surface + normal * (_AO_DISTANCE / r)).clamp(0.0, 1.0)
    shade = (views.ambient[:, None, None] + views.diffuse[:, None, None] * lambert) * occlusion  # (B, S, S)
    colour = views.albedo[:, :, None, None] * shade[:, None] + views.specular[:, None, None, None] * highlight[:, None]

    image = torch.where(hit[:, None], colour, views.background)
    image = image * views.gain[:, None, None, None] + views.noise_std[:, None, None, None] * views.noise
    return image.clamp(0.0, 1.0), hit


def render_photos(
    volumes: torch.Tensor, size: int, generator: torch.Generator, settings: PhotoSettings = PhotoSettings()
) -> torch.Tensor:
    """Random photo-like images of shapes: FloatTensor of shape (B, 3, S, S), RGB in [0, 1].

    Deterministic for a given ``generator`` state (see :func:`random_views`).
    """
    count = len(volumes)
    views = random_views(count, size, generator, settings)
    images, hit = render_views(volumes, views, size)
    # Each extra draws from the generator only when it is on, so photos rendered without
    # it are exactly those of earlier versions.
    if settings.texture > 0:
        images = _add_texture(images, hit, generator, settings.texture)
    if settings.clutter > 0 and count > 1:
        images = _add_clutter(images, hit, volumes, size, generator, settings)
    if settings.occluders > 0:
        images = _add_occluders(images, generator, settings.occluders)
    if settings.blur > 0:
        images = _add_blur(images, generator, settings.blur)
    return images


def _add_texture(images: torch.Tensor, hit: torch.Tensor, generator: torch.Generator, chance: float) -> torch.Tensor:
    """Multiply a pattern into the object pixels of the chosen images (0.5x to 1.5x per channel)."""
    count, _, size, _ = images.shape
    chosen = torch.rand(count, generator=generator) < chance
    kinds = torch.randint(BACKGROUNDS.index("noise"), len(BACKGROUNDS), (count,), generator=generator)  # noise or texture
    pattern = _backgrounds(kinds, size, generator).to(images.device)  # (B, 3, S, S) in [0, 1]
    textured = (images * (0.5 + pattern)).clamp(0.0, 1.0)
    mask = hit[:, None] & chosen.to(images.device)[:, None, None, None]
    return torch.where(mask, textured, images)


def _add_blur(images: torch.Tensor, generator: torch.Generator, chance: float) -> torch.Tensor:
    """Blur the chosen images with a Gaussian of sigma 0.4-1.2 pixels (5-tap, separable, edges replicated)."""
    count, channels, size, _ = images.shape
    chosen = torch.rand(count, generator=generator) < chance
    sigma = 0.4 + 0.8 * torch.rand(count, generator=generator)
    taps = torch.arange(-2, 3, dtype=torch.float32)
    kernel = torch.exp(-0.5 * (taps[None] / sigma[:, None]) ** 2)
    kernel = kernel / kernel.sum(1, keepdim=True)  # (B, 5)
    kernel = kernel.repeat_interleave(channels, 0).to(images.device, images.dtype)  # (B*C, 5), one per channel
    flat = images.reshape(1, count * channels, size, size)
    flat = F.conv2d(F.pad(flat, (2, 2, 0, 0), mode="replicate"), kernel[:, None, None, :], groups=count * channels)
    flat = F.conv2d(F.pad(flat, (0, 0, 2, 2), mode="replicate"), kernel[:, None, :, None], groups=count * channels)
    blurred = flat.reshape(count, channels, size, size)
    return torch.where(chosen.to(images.device)[:, None, None, None], blurred, images)


def _add_clutter(
    images: torch.Tensor, hit: torch.Tensor, volumes: torch.Tensor, size: int, generator: torch.Generator, settings: PhotoSettings
) -> torch.Tensor:
    """Put a zoomed-in photo of the next shape of the batch behind the chosen images' objects."""
    count = len(images)
    chosen = torch.rand(count, generator=generator) < settings.clutter
    # A window of 35-75% of the neighbour's photo (zoomed 1.3-2.9x), anywhere inside it.
    scale = 0.35 + 0.4 * torch.rand(count, generator=generator)
    shift = (2.0 * torch.rand(count, 2, generator=generator) - 1.0) * (1.0 - scale)[:, None]
    back_views = random_views(count, size, generator, settings)
    if not chosen.any():
        return images
    index = chosen.nonzero()[:, 0]
    neighbours = volumes[(index + 1) % count]
    back, _ = render_views(neighbours, back_views.select(index), size)
    theta = torch.zeros(len(index), 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = scale[index]
    theta[:, :, 2] = shift[index]
    grid = F.affine_grid(theta.to(images.device), [len(index), 3, size, size], align_corners=False)
    back = F.grid_sample(back, grid, mode="bilinear", padding_mode="border", align_corners=False)
    out = images.clone()
    out[index] = torch.where(hit[index, None], images[index], back)
    return out


def _add_occluders(images: torch.Tensor, generator: torch.Generator, chance: float) -> torch.Tensor:
    """Cover part of the chosen images with a plain band entering from the left, right or bottom edge."""
    count, _, size, _ = images.shape
    chosen = torch.rand(count, generator=generator) < chance
    side = torch.randint(3, (count,), generator=generator)  # 0 left, 1 right, 2 bottom
    depth = 0.08 + 0.25 * torch.rand(count, generator=generator)  # how far into the image
    extent = 0.3 + 0.7 * torch.rand(count, generator=generator)  # how much of the edge
    start = torch.rand(count, generator=generator) * (1.0 - extent)
    colour = torch.rand(count, 3, generator=generator)
    pixel = (torch.arange(size, dtype=torch.float32) + 0.5) / size
    across = torch.where(side[:, None] == 0, pixel, 1.0 - pixel)  # (B, S): distance from the band's edge
    along = pixel.expand(count, size)
    inside_depth = across < depth[:, None]  # columns (left/right) or rows (bottom)
    inside_extent = (along >= start[:, None]) & (along < (start + extent)[:, None])
    # left/right: depth runs over columns, extent over rows; bottom: depth over rows, extent over columns.
    by_column = inside_depth[:, None, :] & inside_extent[:, :, None]  # (B, rows, cols)
    by_row = inside_depth[:, :, None] & inside_extent[:, None, :]
    mask = torch.where((side == 2)[:, None, None], by_row, by_column) & chosen[:, None, None]
    mask = mask.to(images.device)
    return torch.where(mask[:, None], colour.to(images.device)[:, :, None, None], images)
