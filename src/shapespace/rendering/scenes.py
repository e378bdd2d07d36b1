"""Photo-like pictures of textured furniture in rendered rooms (issue 16's training photos).

A picture of one piece of furniture (the *object*, a Sweet Home 3D item with its own
materials and textures, :func:`~shapespace.io.sweethome.load_item_scene`) is made like this,
every random choice drawn from ``numpy.random.default_rng([seed, shape, view])``:

1. **Room.** The object stands at the origin on a floor, in the canonical frame (z up, its
   front facing -x, cm). The floor carries one of the catalogue's floor textures at its real
   size (or a plain colour); four walls, at a random yaw and 20-250 cm beyond everything in
   the picture, are painted a plain light colour or carry a wall texture; a ceiling closes the
   room.
2. **Other furniture.** With chance ``neighbour_chance``, one to ``max_neighbours`` other items
   of the set stand around the object, at a random yaw, beside or behind it as the camera
   sees it, a random gap away from it; with chance ``occluder_chance`` one of them stands
   between the camera and the object, off to one side, and hides part of it.
3. **Camera.** Perspective, from a random azimuth (full circle), elevation and field of
   view, far enough for the object's bounding sphere to fit. The picture is then cropped
   around the object as photo data sets are: the window is the box around the projection of
   the object's vertices, widened by a random margin on each side and stretched to the
   square picture. The window's aspect ratio (width / height) is returned with the picture.
4. **Light.** A directional light from a random direction above the horizon, of random
   strength and colour temperature, sky/ground ambient light and an exposure gain; a soft
   contact shadow (a dark blob decal) under every piece of furniture. No cast shadows.
5. **Camera effects.** Gaussian pixel noise and a JPEG round trip at a random quality.

The rasterizer is :class:`~shapespace.rendering.gl.GLRenderer` (OpenGL through EGL).
"""

from __future__ import annotations

import io
import math
import zipfile
from collections import OrderedDict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from shapespace.errors import ConfigError, DataError
from shapespace.rendering.gl import GLRenderer, Light, Model, Placed, crop_to_window, look_at, perspective, project

# The version of the pictures' making: raise it whenever a change of this module or of
# rendering/gl.py changes the pictures of a seed, so that photo caches are not continued
# with pictures of another kind (data/photo_cache.py compares it).
RENDER_REVISION = 2
# Where the default texture catalogue sits in sweethome3d.jar.
TEXTURE_CATALOGUE = "com/eteks/sweethome3d/io/DefaultTexturesCatalog.properties"
# Painted walls and plain floors: light sRGB colours of walls, greys and woods of floors.
_WALL_PAINTS = (
    (0.93, 0.92, 0.88), (0.85, 0.85, 0.85), (0.95, 0.90, 0.80), (0.80, 0.86, 0.90), (0.88, 0.82, 0.78),
    (0.75, 0.80, 0.72), (0.98, 0.98, 0.97), (0.70, 0.70, 0.72),
)  # fmt: skip
_FLOOR_COLOURS = ((0.55, 0.40, 0.28), (0.45, 0.45, 0.45), (0.75, 0.72, 0.66), (0.30, 0.25, 0.22), (0.85, 0.85, 0.83))
_CEILING = (0.95, 0.95, 0.95)


@dataclass(frozen=True)
class SceneSettings:
    """The ranges of the random choices of :func:`render_scene`; every pair is (low, high).

    Attributes:
        elevation: camera elevation in degrees above the horizontal.
        fov: vertical field of view in degrees.
        distance: camera distance in units of the distance at which the object's bounding
            sphere just fits the field of view.
        margin: the crop's margin on each side, a fraction of the object's projected size.
        neighbour_chance: chance of other furniture in the room.
        max_neighbours: at most this many other items.
        occluder_chance: chance that one of them stands between the camera and the object.
        plain_wall_chance: chance that the walls are painted a plain colour (else textured).
        plain_floor_chance: chance of a plain floor (else textured).
        light_elevation: elevation of the directional light in degrees.
        light: strength of the directional light.
        ambient: strength of the ambient light from the sky.
        exposure: exposure gain.
        shadow: darkness (alpha) of the soft contact shadow under each piece of furniture.
        noise: standard deviation of the pixel noise, in [0, 1] units.
        jpeg_quality: JPEG quality of the round trip.
    """

    # Provenance: elevation follows the voxel photo renderer (rendering/photos.py, 0-40); the
    # field of view spans common camera lenses; the margin (3-30%) was chosen by looking at
    # renders beside ikea-dev photos (docs/photos_vs_ikea.png; their look only, no scores);
    # the rest were set by eye on the renders. None was tuned on a metric.
    elevation: tuple[float, float] = (5.0, 40.0)
    fov: tuple[float, float] = (30.0, 65.0)
    distance: tuple[float, float] = (1.05, 1.7)
    margin: tuple[float, float] = (0.03, 0.3)
    neighbour_chance: float = 0.6
    max_neighbours: int = 3
    occluder_chance: float = 0.2
    plain_wall_chance: float = 0.5
    plain_floor_chance: float = 0.15
    light_elevation: tuple[float, float] = (25.0, 80.0)
    light: tuple[float, float] = (0.4, 1.1)
    ambient: tuple[float, float] = (0.2, 0.5)
    exposure: tuple[float, float] = (0.8, 1.5)
    shadow: tuple[float, float] = (0.25, 0.6)
    noise: tuple[float, float] = (0.0, 0.02)
    jpeg_quality: tuple[int, int] = (40, 95)

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if isinstance(value, (tuple, list)):
                low, high = value
                if not (math.isfinite(low) and math.isfinite(high) and low <= high):
                    raise ConfigError(f"scene setting `{name}` must be a range (low <= high), got {value}")
            elif not math.isfinite(value) or value < 0:
                raise ConfigError(f"scene setting `{name}` must be a non-negative number, got {value}")
        for name in ("neighbour_chance", "occluder_chance", "plain_wall_chance", "plain_floor_chance"):
            if getattr(self, name) > 1:
                raise ConfigError(f"scene setting `{name}` is a chance, between 0 and 1, got {getattr(self, name)}")
        for name in ("elevation", "fov", "distance", "margin", "light_elevation", "light", "ambient", "exposure", "noise", "shadow"):
            if getattr(self, name)[0] < 0:
                raise ConfigError(f"scene setting `{name}` must not be negative, got {getattr(self, name)}")
        if self.neighbour_chance > 0 and self.max_neighbours < 1:
            raise ConfigError(f"scene setting `max_neighbours` must be at least 1 when `neighbour_chance` is above 0, got {self.max_neighbours}")
        if not (0 < self.fov[0] and self.fov[1] < 180):
            raise ConfigError(f"scene setting `fov` must lie strictly between 0 and 180 degrees, got {self.fov}")
        if self.distance[0] < 1:
            raise ConfigError(f"scene setting `distance` must be at least 1 (the camera outside the object's bounding sphere), got {self.distance}")
        if self.light_elevation[1] > 90:
            raise ConfigError(f"scene setting `light_elevation` must lie between 0 and 90 degrees, got {self.light_elevation}")
        if not (0 < self.elevation[0] and self.elevation[1] < 90):
            raise ConfigError(f"scene setting `elevation` must lie strictly between 0 and 90 degrees, got {self.elevation}")
        if not (1 <= self.jpeg_quality[0] and self.jpeg_quality[1] <= 100):
            raise ConfigError(f"scene setting `jpeg_quality` must lie in 1..100, got {self.jpeg_quality}")

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "SceneSettings":
        unknown = sorted(set(values) - {f for f in cls.__dataclass_fields__})
        if unknown:
            raise ConfigError(f"unknown scene settings {unknown}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


@dataclass(frozen=True)
class RoomTexture:
    """A texture of the catalogue: its image and its real size in cm (width, height)."""

    name: str
    category: str
    image: Any  # PIL.Image.Image
    size: tuple[float, float]


def read_room_textures(jar: str | Path) -> list[RoomTexture]:
    """The floor and wall textures of Sweet Home 3D's default catalogue in ``sweethome3d.jar``.

    Raises:
        DataError: naming the jar, when it is not a readable zip or has no texture catalogue.
    """
    from PIL import Image

    from shapespace.io.sweethome import decode_properties, parse_properties

    jar = Path(jar)
    try:
        with zipfile.ZipFile(jar) as archive:
            props = parse_properties(decode_properties(archive.read(TEXTURE_CATALOGUE)))
            textures = []
            index = 1
            while f"image#{index}" in props:
                category = props.get(f"category#{index}", "")
                if category in ("Floor", "Wall"):
                    data = archive.read(props[f"image#{index}"].lstrip("/"))
                    image = Image.open(io.BytesIO(data)).convert("RGB")
                    size = (float(props[f"width#{index}"]), float(props[f"height#{index}"]))
                    textures.append(RoomTexture(props.get(f"name#{index}", ""), category, image, size))
                index += 1
    except KeyError as error:
        raise DataError(f"{jar}: not Sweet Home 3D's jar: {error.args[0]} is missing") from None
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise DataError(f"{jar}: not a readable Sweet Home 3D jar ({error})") from None
    if not any(t.category == "Floor" for t in textures):
        raise DataError(f"{jar}: its texture catalogue has no floor textures")
    return textures


def _uniform(rng: np.random.Generator, bounds: Sequence[float]) -> float:
    return float(rng.uniform(bounds[0], bounds[1]))


def _yaw(angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def _transform(rotation: np.ndarray, translation: Sequence[float]) -> np.ndarray:
    transform = np.eye(4)
    transform[:3, :3], transform[:3, 3] = rotation, translation
    return transform


def _footprint(model: Model) -> float:
    """The radius of the model's bounding box about the vertical axis through the origin, cm."""
    corners = np.array([[x, y] for x in (model.low[0], model.high[0]) for y in (model.low[1], model.high[1])])
    return float(np.linalg.norm(corners, axis=1).max())


class SceneRenderer:
    """Renders :func:`render_scene`'s pictures of a set of furniture items; one per process.

    Args:
        size: the side of the pictures in pixels.
        load_item: returns the trimesh scene of item ``i`` (canonical frame, cm, bottom centre
            at the origin), e.g. ``lambda i: load_item_scene(paths[i])``.
        count: the number of items.
        textures: the room textures (:func:`read_room_textures`).
        settings: the random ranges.
        keep_models: how many uploaded items to keep (least recently used go first).
    """

    def __init__(
        self, size: int, load_item: Callable[[int], Any], count: int, textures: Sequence[RoomTexture],
        settings: SceneSettings = SceneSettings(), keep_models: int = 256,
    ) -> None:  # fmt: skip
        if keep_models < settings.max_neighbours + 1:
            raise ConfigError(f"`keep_models` must be at least max_neighbours + 1 = {settings.max_neighbours + 1} (the models of one picture), got {keep_models}")
        self.gl = GLRenderer(size)
        self.load_item, self.count, self.settings, self.keep = load_item, count, settings, keep_models
        self.models: OrderedDict[int, Model] = OrderedDict()
        self.floors = [(t, self.gl.texture(t.image)) for t in textures if t.category == "Floor"]
        self.walls = [(t, self.gl.texture(t.image)) for t in textures if t.category == "Wall"] or self.floors

    def model(self, index: int) -> Model:
        if index in self.models:
            self.models.move_to_end(index)
            return self.models[index]
        model = self.gl.upload_scene(self.load_item(index))
        self.models[index] = model
        while len(self.models) > self.keep:
            self.models.popitem(last=False)[1].release()
        return model

    def render(self, index: int, seed: int, view: int) -> tuple[np.ndarray, float]:
        """Picture ``view`` of item ``index``: UInt8Array (size, size, 3), and its crop's
        aspect ratio before the stretch to the square (see :func:`render_scene`)."""
        return render_scene(self, index, np.random.default_rng([seed, index, view]))

    def release(self) -> None:
        """Free every GL object and the context (moderngl frees nothing by garbage collection)."""
        for model in self.models.values():
            model.release()
        self.models.clear()
        for texture in {id(t): t for _, t in self.floors + self.walls}.values():  # walls may share the floors'
            texture.release()
        self.gl.release()


def _neighbours(scene: SceneRenderer, index: int, target: Model, azimuth: float, eye: np.ndarray, rng: np.random.Generator) -> list[Placed]:
    """Other furniture around the object (step 2 of the module's description)."""
    s = scene.settings
    if scene.count < 2 or rng.random() >= s.neighbour_chance:
        return []
    placed: list[Placed] = []
    radius = _footprint(target)
    occluder = rng.random() < s.occluder_chance
    for k in range(int(rng.integers(1, s.max_neighbours + 1))):
        other = int(rng.integers(0, scene.count - 1))
        other += other >= index  # any item but the object
        model = scene.model(other)
        other_radius = _footprint(model)
        gap = _uniform(rng, (5.0, 80.0))
        if occluder and k == 0:
            # Between the camera and the object, shifted sideways so that it hides a part.
            towards = math.atan2(eye[1], eye[0]) + _uniform(rng, (-0.6, 0.6))
            distance = radius + other_radius + _uniform(rng, (5.0, 40.0))
            if np.linalg.norm(eye[:2]) < distance + other_radius + 30.0:
                continue  # the camera would stand inside it
        else:
            towards = azimuth + math.pi + _uniform(rng, (-0.55, 0.55)) * math.pi  # behind or beside, as seen
            distance = radius + other_radius + gap
        position = (distance * math.cos(towards), distance * math.sin(towards), 0.0)
        placed.append(Placed(model, _transform(_yaw(_uniform(rng, (0, 2 * math.pi))), position)))
    return placed


def _room(scene: SceneRenderer, points: np.ndarray, rng: np.random.Generator, made: list[Model]) -> list[Placed]:
    """Floor, four walls and a ceiling around ``points`` (FloatArray (P, 3), world), step 1;
    each quad is also appended to ``made`` (the caller releases them)."""
    s, gl = scene.settings, scene.gl
    yaw = _uniform(rng, (0, 2 * math.pi))
    rotation = _yaw(yaw)
    local = points[:, :2] @ rotation[:2, :2]  # room coordinates (rotation's transpose applied)
    low = local.min(axis=0) - rng.uniform(20.0, 250.0, size=2)
    high = local.max(axis=0) + rng.uniform(20.0, 250.0, size=2)
    height = max(_uniform(rng, (240.0, 300.0)), float(points[:, 2].max()) + 30.0)
    (x0, y0), (x1, y1) = low, high

    def world(corners: list[tuple[float, float, float]]) -> np.ndarray:
        c = np.asarray(corners, dtype=np.float64)
        return np.concatenate([c[:, :2] @ rotation[:2, :2].T, c[:, 2:]], axis=1)

    if rng.random() < s.plain_floor_chance:
        floor_texture, floor_colour, floor_axes = None, _FLOOR_COLOURS[int(rng.integers(len(_FLOOR_COLOURS)))], None
    else:
        texture, floor_texture = scene.floors[int(rng.integers(len(scene.floors)))]
        scale = _uniform(rng, (0.7, 1.5))
        turn = _yaw(yaw + float(rng.integers(4)) * math.pi / 2)
        floor_axes = (turn[:, 0] / (texture.size[0] * scale), turn[:, 1] / (texture.size[1] * scale))
        floor_colour = (1.0, 1.0, 1.0)
    def quad(corners: np.ndarray, colour, texture=None) -> Model:
        made.append(gl.quad(corners, colour, texture))
        return made[-1]

    room = [Placed(quad(world([(x0, y0, 0), (x1, y0, 0), (x1, y1, 0), (x0, y1, 0)]), floor_colour, floor_texture), np.eye(4), floor_axes)]

    if rng.random() < s.plain_wall_chance:
        wall_texture, wall_colour, texture = None, _WALL_PAINTS[int(rng.integers(len(_WALL_PAINTS)))], None
    else:
        texture, wall_texture = scene.walls[int(rng.integers(len(scene.walls)))]
        wall_colour = (1.0, 1.0, 1.0)
    wall_scale = _uniform(rng, (0.7, 1.5))
    outline = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    for (ax, ay), (bx, by) in zip(outline, outline[1:] + outline[:1]):
        corners = world([(ax, ay, 0), (bx, by, 0), (bx, by, height), (ax, ay, height)])
        axes = None
        if texture is not None:
            along = (corners[1] - corners[0]) / np.linalg.norm(corners[1] - corners[0])
            axes = (along / (texture.size[0] * wall_scale), np.array([0.0, 0.0, 1.0]) / (texture.size[1] * wall_scale))
        room.append(Placed(quad(corners, wall_colour, wall_texture), np.eye(4), axes))
    room.append(Placed(quad(world([(x0, y0, height), (x1, y0, height), (x1, y1, height), (x0, y1, height)]), _CEILING), np.eye(4)))
    return room


def _light(s: SceneSettings, rng: np.random.Generator) -> Light:
    azimuth, elevation = _uniform(rng, (0, 2 * math.pi)), math.radians(_uniform(rng, s.light_elevation))
    direction = (math.cos(elevation) * math.cos(azimuth), math.cos(elevation) * math.sin(azimuth), math.sin(elevation))
    warmth = _uniform(rng, (-0.12, 0.12))  # colour temperature: + warm, - cool
    tint = np.array([1 + warmth, 1.0, 1 - warmth])
    strength, ambient = _uniform(rng, s.light), _uniform(rng, s.ambient)
    return Light(
        direction=direction, colour=tuple(strength * tint), sky=tuple(ambient * tint),
        ground=tuple(ambient * _uniform(rng, (0.3, 0.7)) * tint), exposure=_uniform(rng, s.exposure),
    )  # fmt: skip


def _camera_effects(image: np.ndarray, s: SceneSettings, rng: np.random.Generator) -> np.ndarray:
    from PIL import Image

    sigma = _uniform(rng, s.noise)
    noisy = image.astype(np.float32) / 255.0 + rng.normal(0.0, 1.0, size=image.shape).astype(np.float32) * sigma
    rounded = (np.clip(noisy, 0, 1) * 255).round().astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(rounded).save(buffer, format="JPEG", quality=int(rng.integers(s.jpeg_quality[0], s.jpeg_quality[1] + 1)))
    buffer.seek(0)
    return np.asarray(Image.open(buffer).convert("RGB"), dtype=np.uint8)


def render_scene(scene: SceneRenderer, index: int, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """One picture of item ``index`` in a random room (the module's steps 1-5): UInt8Array
    (S, S, 3), and the aspect ratio (width / height) of its crop window before the window
    was stretched to the square picture, as a photo's width / height before it is resized."""
    s = scene.settings
    target = scene.model(index)
    centre = (target.low + target.high) / 2
    radius = max(float(np.linalg.norm(target.high - target.low)) / 2, 1.0)
    azimuth = _uniform(rng, (0, 2 * math.pi))
    elevation = math.radians(_uniform(rng, s.elevation))
    fov = _uniform(rng, s.fov)
    distance = radius / math.sin(math.radians(fov) / 2) * _uniform(rng, s.distance)
    direction = np.array([math.cos(elevation) * math.cos(azimuth), math.cos(elevation) * math.sin(azimuth), math.sin(elevation)])
    eye = centre + distance * direction

    neighbours = _neighbours(scene, index, target, azimuth, eye, rng)
    extent = [target.points, eye[None]]
    for item in neighbours:
        extent.append(item.model.points @ item.transform[:3, :3].T + item.transform[:3, 3])

    view = look_at(eye, centre)
    projection = perspective(fov, near=max(1.0, 0.05 * distance), far=20.0 * distance + 2000.0)
    corners = project(projection @ view, target.points)
    low, high = corners.min(axis=0), corners.max(axis=0)
    span = high - low
    low = low - span * rng.uniform(*s.margin, size=2)
    high = high + span * rng.uniform(*s.margin, size=2)
    projection_view = crop_to_window(low, high) @ projection @ view
    aspect = float((high[0] - low[0]) / (high[1] - low[1]))  # device space: square pixels before the crop

    darkness = _uniform(rng, s.shadow)
    light = _light(s, rng)
    made: list[Model] = []  # this picture's room and shadows; their textures are shared
    try:
        room = _room(scene, np.concatenate(extent), rng, made)
        shadows = []
        for item in [Placed(target, np.eye(4)), *neighbours]:
            made.append(scene.gl.shadow_decal(item.model.low[:2], item.model.high[:2]))
            shadows.append(Placed(made[-1], item.transform, shadow=darkness))
        placed = [Placed(target, np.eye(4)), *neighbours, *room, *shadows]
        image = scene.gl.render(placed, projection_view, light, eye=eye)
    finally:
        for model in made:
            model.release(textures=False)
    return _camera_effects(image, s, rng), aspect
