"""Photo-like training images of voxel shapes, rendered on the fly in torch, batched.

The 3D-VAE-GAN needs (image, shape) pairs (docs/paper.md section 2); the paper rendered
ShapeNet models. Here every training step renders its own shapes with random viewpoint,
light, material and background, so the encoder sees each shape under ever new conditions
and learns what transfers to real photos (domain randomisation, Tobin et al. 2017).

How an image is made (all shapes of a batch at once):

1. **View**: an orthographic camera at ``azimuth`` degrees about the up axis (0 = straight
   in front of the object, which faces -x; positive turns towards -y, see
   :mod:`shapespace.rendering.camera`) and ``elevation`` degrees above the horizontal.
2. **Framing**: like the crops of real photo data sets (IKEA: "cropped around the
   object"), the window is the box around the shape's projection, widened by a random
   margin on each side and stretched to the square image. ``framing="cube"`` instead shows
   the whole unit cube, undistorted (used by tests and for inspection).
3. **Ray casting** (:func:`shapespace.rendering.raymarch.march_ray_box`): samples every
   half voxel along each pixel's ray through the trilinear occupancy field; the first
   sample above ``threshold`` and its predecessor give the surface crossing by linear
   interpolation.
4. **Shading** (:mod:`shapespace.rendering.shading`): normal from central differences of a
   lightly blurred field; Lambert diffuse + Blinn-Phong specular from a light placed
   relative to the camera, ambient light, and ambient occlusion read from the blurred
   field a little outside the surface.
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

All randomness is drawn from one explicit ``torch.Generator``, ``rng`` (:func:`random_photo_parameters`,
then texture, clutter, occluders and blur, each only when it is on), so a seed gives the
same images on every run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Iterator

import torch
import torch.nn.functional as F

from shapespace.errors import ConfigError
from shapespace.geometry.frame import DEFAULT_THRESHOLD
from shapespace.rendering.camera import cube_bounds, occupied_bounds, screen_axes, view_direction
from shapespace.rendering.raymarch import STEP_VOXELS, march_ray_box, sample_trilinear
from shapespace.rendering.shading import (
    PHOTO_AO_DISTANCE,
    PHOTO_AO_STRENGTH,
    PHOTO_NORMAL_BLUR_SIGMA,
    PHOTO_NORMAL_OFFSET,
    blinn_phong,
    facing_camera,
    gaussian_blur3d,
    occlusion_factor,
    surface_normals,
)

BACKGROUNDS = ("plain", "gradient", "noise", "texture")
FRAMINGS = ("object", "cube")
# Shapes rendered together: bounds the ray-sample tensors (chunk * S^2 * K * 3 floats).
_CHUNK = 8
# Material colours of furniture (RGB in [0, 1]): light and dark woods, white, black,
# greys, beige fabric, leather; the rest of the time a uniformly random colour.
_PALETTE = (
    (0.80, 0.63, 0.42), (0.55, 0.36, 0.20), (0.32, 0.20, 0.12), (0.92, 0.92, 0.90), (0.12, 0.12, 0.12),
    (0.55, 0.55, 0.56), (0.78, 0.72, 0.62), (0.45, 0.15, 0.10), (0.20, 0.28, 0.45),
)  # fmt: skip


@dataclass(frozen=True)
class PhotoSettings:
    """Ranges the random photo parameters are drawn from (uniformly unless stated).

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
class PhotoParameters:
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

    def select(self, index: slice) -> "PhotoParameters":
        return PhotoParameters(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    def to(self, device: torch.device) -> "PhotoParameters":
        return PhotoParameters(**{f.name: getattr(self, f.name).to(device) for f in fields(self)})

    @classmethod
    def fixed(cls, count: int, size: int, azimuth: float = 35.0, elevation: float = 20.0) -> "PhotoParameters":
        """The same plain view for every image: grey material on white, no margin, no noise."""
        light = view_direction(torch.tensor([azimuth - 40.0]), torch.tensor([50.0]))
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


def _uniform(rng: torch.Generator, count: int, bounds: tuple[float, float]) -> torch.Tensor:
    low, high = bounds
    return low + (high - low) * torch.rand(count, generator=rng)


def _backgrounds(kinds: torch.Tensor, size: int, rng: torch.Generator) -> torch.Tensor:
    """Background images (B, 3, S, S) of the given kinds (indices into :data:`BACKGROUNDS`)."""
    count = len(kinds)
    c1 = torch.rand(count, 3, 1, 1, generator=rng)
    c2 = torch.rand(count, 3, 1, 1, generator=rng)
    angle = torch.rand(count, 1, 1, generator=rng) * (2 * math.pi)
    frequency = 2.0 + 10.0 * torch.rand(count, 1, 1, generator=rng)  # cycles per image
    phase = torch.rand(count, 1, 1, generator=rng) * (2 * math.pi)
    checks = torch.rand(count, 1, 1, generator=rng) < 0.5
    coarse = torch.randn(count, 3, 6, 6, generator=rng)
    fine = torch.randn(count, 1, size, size, generator=rng)

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


def random_photo_parameters(count: int, size: int, rng: torch.Generator, settings: PhotoSettings = PhotoSettings()) -> PhotoParameters:
    """Draw rendering parameters for ``count`` images of ``size`` pixels from ``rng``."""
    azimuth = _uniform(rng, count, settings.azimuth)
    elevation = _uniform(rng, count, settings.elevation)
    margin = settings.margin[0] + (settings.margin[1] - settings.margin[0]) * torch.rand(count, 4, generator=rng)
    light = view_direction(azimuth + _uniform(rng, count, settings.light_azimuth), _uniform(rng, count, settings.light_elevation))
    ambient = _uniform(rng, count, settings.ambient)
    diffuse = _uniform(rng, count, settings.diffuse)
    specular = _uniform(rng, count, settings.specular)
    palette = torch.tensor(_PALETTE)
    from_palette = torch.rand(count, generator=rng) < settings.palette_fraction
    picked = palette[torch.randint(len(palette), (count,), generator=rng)]
    jitter = 0.08 * (torch.rand(count, 3, generator=rng) - 0.5)
    albedo = torch.where(from_palette[:, None], (picked + jitter).clamp(0.0, 1.0), torch.rand(count, 3, generator=rng))
    allowed = torch.tensor([BACKGROUNDS.index(b) for b in settings.backgrounds])
    kinds = allowed[torch.randint(len(allowed), (count,), generator=rng)]
    background = _backgrounds(kinds, size, rng)
    gain = _uniform(rng, count, settings.gain)
    noise_std = _uniform(rng, count, settings.noise)
    noise = torch.randn(count, 3, size, size, generator=rng)
    return PhotoParameters(azimuth, elevation, margin, light, ambient, diffuse, specular, albedo, background, gain, noise_std, noise)


def _chunks(count: int) -> Iterator[slice]:
    for start in range(0, count, _CHUNK):
        yield slice(start, min(count, start + _CHUNK))


@torch.no_grad()
def render_with_parameters(
    volumes: torch.Tensor,
    params: PhotoParameters,
    size: int,
    threshold: float = DEFAULT_THRESHOLD,
    framing: str = "object",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Render shapes as RGB images with the given per-image parameters.

    Args:
        volumes: FloatTensor (or bool/uint8) of shape (B, R, R, R) or (B, 1, R, R, R),
            occupancy in the canonical frame (:mod:`shapespace.geometry.frame`).
        params: B sets of parameters (:func:`random_photo_parameters` or :meth:`PhotoParameters.fixed`).
        size: image side S in pixels.
        threshold: iso-level of the surface.
        framing: "object" (crop around the shape plus margin, stretched to a square) or
            "cube" (the whole unit cube, undistorted).

    Returns:
        ``(images, silhouettes)``: FloatTensor of shape (B, 3, S, S) with RGB in [0, 1], and
        BoolTensor of shape (B, S, S), True where a pixel centre's ray hits the shape.
    """
    images, silhouettes, _ = _render_checked(volumes, params, size, threshold, framing)
    return images, silhouettes


@torch.no_grad()
def _render_checked(volumes: torch.Tensor, params: PhotoParameters, size: int, threshold: float, framing: str) -> tuple[torch.Tensor, ...]:
    """:func:`render_with_parameters`' images and silhouettes, and the crop windows' aspect
    ratios (B,), after checking the arguments."""
    if volumes.dim() == 5:
        volumes = volumes[:, 0]
    if volumes.dim() != 4 or volumes.shape[1] != volumes.shape[2] or volumes.shape[2] != volumes.shape[3]:
        raise ValueError(f"volumes must have shape (B, R, R, R), got {tuple(volumes.shape)}")
    if len(params) != len(volumes) or params.background.shape[-1] != size:
        raise ValueError(f"{len(volumes)} volumes need {len(volumes)} parameter sets of size {size}, got {len(params)} of size {params.background.shape[-1]}")
    if framing not in FRAMINGS:
        raise ConfigError(f"framing must be one of {', '.join(FRAMINGS)}, got {framing!r}")
    device = volumes.device
    params = params.to(device)
    images, silhouettes, aspects = [], [], []
    for part in _chunks(len(volumes)):
        image, hit, aspect = _render_chunk(volumes[part].float()[:, None], params.select(part), size, threshold, framing)
        images.append(image)
        silhouettes.append(hit)
        aspects.append(aspect)
    return torch.cat(images), torch.cat(silhouettes), torch.cat(aspects)


def _render_chunk(volumes: torch.Tensor, params: PhotoParameters, size: int, threshold: float, framing: str) -> tuple[torch.Tensor, ...]:
    """Images (B, 3, S, S), silhouettes (B, S, S) and the crop windows' aspect ratios
    (width / height, (B,)) of volumes (B, 1, R, R, R), see :func:`render_with_parameters`."""
    r = volumes.shape[-1]
    device = volumes.device
    forward = -view_direction(params.azimuth, params.elevation)  # (B, 3), camera axes
    right, up = screen_axes(forward)
    if framing == "cube":
        window = cube_bounds(forward, right, up)  # (B, 6)
    else:
        window = occupied_bounds(volumes[:, 0] > threshold, forward, right, up)
    x0, x1, y0, y1, d0, d1 = window.unbind(-1)
    if framing == "object":
        width, height = x1 - x0, y1 - y0
        x0, x1 = x0 - params.margin[:, 0] * width, x1 + params.margin[:, 1] * width
        y1, y0 = y1 + params.margin[:, 2] * height, y0 - params.margin[:, 3] * height
    else:  # the same scale on both screen axes, so the cube is undistorted
        half = torch.maximum(x1, y1)
        x0, x1, y0, y1 = -half, half, -half, half
    # K samples per ray, enough for the longest ray segment of the chunk; sample k of an
    # image lies at depth d0 + (k + 0.5) * step with the same step (half a voxel) for every
    # image, so an image does not depend on the other shapes rendered with it.
    d0, d1 = d0 - 1.0 / r, d1 + 1.0 / r  # start outside the surface
    samples = int(math.ceil(float((d1 - d0).max()) * r / STEP_VOXELS))
    d1 = d0 + samples * (STEP_VOXELS / r)
    hit, surface = march_ray_box(volumes, forward, right, up, (x0, x1, y0, y1, d0, d1), samples, size, threshold)

    smooth = gaussian_blur3d(volumes, PHOTO_NORMAL_BLUR_SIGMA)
    h = PHOTO_NORMAL_OFFSET / r
    axes = torch.eye(3, device=device)
    gradient = torch.stack(
        [sample_trilinear(smooth, surface + h * e) - sample_trilinear(smooth, surface - h * e) for e in axes], dim=-1
    )  # (B, S, S, 3), pointing into the shape
    # Normals facing away from the camera (noise at thin parts) are flipped towards it.
    normal = facing_camera(surface_normals(gradient), forward[:, None, None, :])

    lambert, highlight = blinn_phong(normal, params.light[:, None, None, :], forward[:, None, None, :])  # (B, S, S) each
    crowding = sample_trilinear(smooth, surface + normal * (PHOTO_AO_DISTANCE / r))
    occlusion = occlusion_factor(crowding, PHOTO_AO_STRENGTH)
    shade = (params.ambient[:, None, None] + params.diffuse[:, None, None] * lambert) * occlusion  # (B, S, S)
    colour = params.albedo[:, :, None, None] * shade[:, None] + params.specular[:, None, None, None] * highlight[:, None]

    image = torch.where(hit[:, None], colour, params.background)
    image = image * params.gain[:, None, None, None] + params.noise_std[:, None, None, None] * params.noise
    aspect = (x1 - x0) / (y1 - y0).clamp(min=1e-6)  # the window, before it is stretched to the square
    return image.clamp(0.0, 1.0), hit, aspect.float()


def render_photos(
    volumes: torch.Tensor, size: int, rng: torch.Generator, settings: PhotoSettings = PhotoSettings()
) -> torch.Tensor:
    """Random photo-like images of shapes: FloatTensor of shape (B, 3, S, S), RGB in [0, 1].

    Deterministic for a given ``rng`` state (see :func:`random_photo_parameters`).
    """
    return render_photos_with_aspects(volumes, size, rng, settings)[0]


def render_photos_with_aspects(
    volumes: torch.Tensor, size: int, rng: torch.Generator, settings: PhotoSettings = PhotoSettings()
) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`render_photos`' images, and the aspect ratio (width / height) of each image's
    crop window before it was stretched to the square: FloatTensor (B,), as a photo's
    width / height before it is resized for the encoder."""
    count = len(volumes)
    params = random_photo_parameters(count, size, rng, settings)
    images, hit, aspects = _render_checked(volumes, params, size, DEFAULT_THRESHOLD, "object")
    # Each extra draws from the generator only when it is on, so photos rendered without
    # it are exactly those of earlier versions.
    if settings.texture > 0:
        images = _add_texture(images, hit, rng, settings.texture)
    if settings.clutter > 0 and count > 1:
        images = _add_clutter(images, hit, volumes, size, rng, settings)
    if settings.occluders > 0:
        images = _add_occluders(images, rng, settings.occluders)
    if settings.blur > 0:
        images = _add_blur(images, rng, settings.blur)
    return images, aspects


def _add_texture(images: torch.Tensor, hit: torch.Tensor, rng: torch.Generator, chance: float) -> torch.Tensor:
    """Multiply a pattern into the object pixels of the chosen images (0.5x to 1.5x per channel)."""
    count, _, size, _ = images.shape
    chosen = torch.rand(count, generator=rng) < chance
    kinds = torch.randint(BACKGROUNDS.index("noise"), len(BACKGROUNDS), (count,), generator=rng)  # noise or texture
    pattern = _backgrounds(kinds, size, rng).to(images.device)  # (B, 3, S, S) in [0, 1]
    textured = (images * (0.5 + pattern)).clamp(0.0, 1.0)
    mask = hit[:, None] & chosen.to(images.device)[:, None, None, None]
    return torch.where(mask, textured, images)


def _add_blur(images: torch.Tensor, rng: torch.Generator, chance: float) -> torch.Tensor:
    """Blur the chosen images with a Gaussian of sigma 0.4-1.2 pixels (5-tap, separable, edges replicated)."""
    count, channels, size, _ = images.shape
    chosen = torch.rand(count, generator=rng) < chance
    sigma = 0.4 + 0.8 * torch.rand(count, generator=rng)
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
    images: torch.Tensor, hit: torch.Tensor, volumes: torch.Tensor, size: int, rng: torch.Generator, settings: PhotoSettings
) -> torch.Tensor:
    """Put a zoomed-in photo of the next shape of the batch behind the chosen images' objects."""
    count = len(images)
    chosen = torch.rand(count, generator=rng) < settings.clutter
    # A window of 35-75% of the neighbour's photo (zoomed 1.3-2.9x), anywhere inside it.
    scale = 0.35 + 0.4 * torch.rand(count, generator=rng)
    shift = (2.0 * torch.rand(count, 2, generator=rng) - 1.0) * (1.0 - scale)[:, None]
    back_views = random_photo_parameters(count, size, rng, settings)
    if not chosen.any():
        return images
    index = chosen.nonzero()[:, 0]
    neighbours = volumes[(index + 1) % count]
    back, _ = render_with_parameters(neighbours, back_views.select(index), size)
    theta = torch.zeros(len(index), 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = scale[index]
    theta[:, :, 2] = shift[index]
    grid = F.affine_grid(theta.to(images.device), [len(index), 3, size, size], align_corners=False)
    back = F.grid_sample(back, grid, mode="bilinear", padding_mode="border", align_corners=False)
    out = images.clone()
    out[index] = torch.where(hit[index, None], images[index], back)
    return out


def _add_occluders(images: torch.Tensor, rng: torch.Generator, chance: float) -> torch.Tensor:
    """Cover part of the chosen images with a plain band entering from the left, right or bottom edge."""
    count, _, size, _ = images.shape
    chosen = torch.rand(count, generator=rng) < chance
    side = torch.randint(3, (count,), generator=rng)  # 0 left, 1 right, 2 bottom
    depth = 0.08 + 0.25 * torch.rand(count, generator=rng)  # how far into the image
    extent = 0.3 + 0.7 * torch.rand(count, generator=rng)  # how much of the edge
    start = torch.rand(count, generator=rng) * (1.0 - extent)
    colour = torch.rand(count, 3, generator=rng)
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
