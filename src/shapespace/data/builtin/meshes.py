"""The built-in furniture as painted triangle meshes, for the photo cache's rendered rooms.

Each part of a built-in shape (:class:`~shapespace.data.builtin.parts.Parts`) becomes a
closed mesh with flat faces: a box, or a vertical cylinder as a 16-sided prism. The mesh is
in the canonical frame (axis 0 front to back, the front facing -axis 0; axis 1 left to right;
axis 2 up), in cm, with the bottom centre of its bounding box at the origin: the placement
:func:`~shapespace.io.sweethome.load_item_scene` gives Sweet Home 3D items, so the scene
renderer (:mod:`shapespace.rendering.scenes`) takes both alike. The mesh and the voxel grid
of the same shape (:func:`~shapespace.data.builtin.furniture_shape`) come from the same parts,
so a picture of the mesh shows the shape of the grid; the grid thickens parts thinner than a
voxel, and draws a cylinder thinner than a voxel as a square post.

**Finishes.** A shape is painted in one of the common finishes of flat-pack furniture
(:data:`FINISHES`: white, black-brown, birch, oak, walnut, grey). Seats, cushions and
mattresses of the upholstered classes -- parts of a sofa, bed or chair thicker than
:data:`UPHOLSTERY_THICKNESS` in every direction -- are covered in a fabric
(:data:`FABRICS`) in :data:`UPHOLSTERY_CHANCE` of the shapes, else in the finish. Each
colour is scaled by a random brightness in [0.9, 1.1]. The choice depends only on the
shape's ``(seed, class, index)``, as the shape does: one piece keeps its finish in every
picture, as a product does. Provenance: colours picked by eye from furniture catalogues,
and the two thresholds set by eye on pictures; none was tuned on a metric.

**Item paths.** A built-in shape in a photo cache is named ``builtin:<class>/<index>``
(:func:`builtin_item_path`), as a Sweet Home 3D item is ``LIBRARY.sh3f/<N>-<name>``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from shapespace.data.builtin import CLASSES, SPEC_PREFIX, furniture_parts
from shapespace.data.builtin.parts import Parts
from shapespace.errors import DataError

if TYPE_CHECKING:
    import trimesh

__all__ = ["FABRICS", "FINISHES", "builtin_item_path", "builtin_item_scene", "is_builtin_item", "parse_builtin_item", "parts_scene"]

# sRGB, 0-255.
FINISHES: dict[str, tuple[int, int, int]] = {
    "white": (235, 233, 226),
    "black-brown": (52, 42, 36),
    "birch": (214, 184, 140),
    "oak": (176, 134, 88),
    "walnut": (120, 80, 50),
    "grey": (140, 140, 138),
}
FABRICS: dict[str, tuple[int, int, int]] = {
    "beige": (205, 190, 160),
    "red": (160, 40, 36),
    "grey": (140, 140, 138),
    "blue": (60, 80, 120),
    "white": (235, 233, 226),
    "green": (90, 120, 80),
    "black": (45, 42, 40),
}
UPHOLSTERED = ("bed", "chair", "sofa")
UPHOLSTERY_THICKNESS = 0.08  # metres
UPHOLSTERY_CHANCE = 0.7
_CYLINDER_SIDES = 16
_CM = 100.0


def builtin_item_path(category: str, index: int) -> str:
    """``builtin:<class>/<index>``: the name of built-in shape ``index`` of ``category``.

    Raises:
        DataError: for an unknown class or an index that is not a whole number >= 0.
    """
    if category not in CLASSES:
        raise DataError(f"unknown built-in class {category!r}; valid classes: {', '.join(CLASSES)}")
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or index < 0:
        raise DataError(f"index must be a whole number of at least 0, got {index!r}")
    return f"{SPEC_PREFIX}{category}/{int(index)}"


def is_builtin_item(path: object) -> bool:
    """Whether ``path`` names a built-in shape (``builtin:<class>/<index>``) rather than a file."""
    return isinstance(path, str) and path.startswith(SPEC_PREFIX) and "/" in path


def parse_builtin_item(path: str) -> tuple[str, int]:
    """``"builtin:chair/12"`` -> ``("chair", 12)``.

    Raises:
        DataError: naming ``path``: not of that form, an unknown class or a bad index.
    """
    category, sep, index = str(path).removeprefix(SPEC_PREFIX).partition("/")
    if not str(path).startswith(SPEC_PREFIX) or not sep or not index.isdigit():
        raise DataError(f"{path!r}: not a built-in shape; expected builtin:<class>/<index>, e.g. builtin:chair/0 (classes: {', '.join(CLASSES)})")
    if category not in CLASSES:
        raise DataError(f"{path!r}: unknown built-in class {category!r}; valid classes: {', '.join(CLASSES)}")
    return category, int(index)


def _finish(category: str, index: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The (body, upholstery) sRGB colours of a shape, FloatArray (3,) each, 0-255."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, CLASSES.index(category), index, 1]))
    names = list(FINISHES)
    body = np.asarray(FINISHES[names[rng.integers(len(names))]], np.float64) * rng.uniform(0.9, 1.1)
    fabrics = list(FABRICS)
    fabric = np.asarray(FABRICS[fabrics[rng.integers(len(fabrics))]], np.float64) * rng.uniform(0.9, 1.1)
    upholstered = category in UPHOLSTERED and rng.random() < UPHOLSTERY_CHANCE
    return np.clip(body, 0, 255), np.clip(fabric if upholstered else body, 0, 255)


def parts_scene(parts: Parts, body: np.ndarray, upholstery: np.ndarray) -> "trimesh.Scene":
    """The parts as flat-faced meshes in cm, bottom centre of the bounding box at the origin.

    Args:
        parts: the shape's parts, in metres.
        body: sRGB (3,), 0-255, the colour of every part ...
        upholstery: ... except the boxes thicker than :data:`UPHOLSTERY_THICKNESS` in every
            direction, which get this one.

    Raises:
        DataError: for a shape without parts.
    """
    import trimesh

    boxes = np.asarray(parts.boxes, dtype=np.float64).reshape(-1, 6)
    cylinders = np.asarray(parts.cylinders, dtype=np.float64).reshape(-1, 5)
    if not len(boxes) and not len(cylinders):
        raise DataError("the shape has no parts")
    x, y, r = cylinders[:, 0], cylinders[:, 1], cylinders[:, 2]
    low = np.concatenate([boxes[:, [0, 2, 4]], np.stack([x - r, y - r, cylinders[:, 3]], 1)]).min(0)
    high = np.concatenate([boxes[:, [1, 3, 5]], np.stack([x + r, y + r, cylinders[:, 4]], 1)]).max(0)
    origin = np.array([(low[0] + high[0]) / 2, (low[1] + high[1]) / 2, low[2]])

    def painted(mesh: "trimesh.Trimesh", colour: np.ndarray, centre: np.ndarray) -> "trimesh.Trimesh":
        mesh.unmerge_vertices()  # a vertex per face corner: flat faces, sharp edges
        mesh.apply_translation(centre - origin)
        mesh.apply_scale(_CM)
        rgba = np.append(np.round(colour), 255).astype(np.uint8)
        mesh.visual = trimesh.visual.ColorVisuals(mesh, face_colors=np.tile(rgba, (len(mesh.faces), 1)))
        return mesh

    meshes = []
    for x0, x1, y0, y1, z0, z1 in boxes:
        size = np.array([x1 - x0, y1 - y0, z1 - z0])
        colour = upholstery if size.min() > UPHOLSTERY_THICKNESS else body
        centre = np.array([x0 + x1, y0 + y1, z0 + z1]) / 2
        meshes.append(painted(trimesh.creation.box(extents=np.maximum(size, 1e-4)), colour, centre))
    for cx, cy, radius, z0, z1 in cylinders:
        prism = trimesh.creation.cylinder(radius=radius, height=max(z1 - z0, 1e-4), sections=_CYLINDER_SIDES)
        meshes.append(painted(prism, body, np.array([cx, cy, (z0 + z1) / 2])))
    return trimesh.Scene(meshes)


def builtin_item_scene(path: str, seed: int = 0) -> "trimesh.Scene":
    """Built-in shape ``builtin:<class>/<index>`` of the data set ``seed`` as a painted mesh
    (the module's description); ``scene.metadata`` holds its ``name``.

    Raises:
        DataError: naming ``path``, as :func:`parse_builtin_item`.
    """
    category, index = parse_builtin_item(path)
    parts = furniture_parts(category, index, seed)  # checks the seed
    scene = parts_scene(parts, *_finish(category, index, seed))
    scene.metadata["name"] = path
    return scene
