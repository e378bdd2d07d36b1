"""Built-in procedural furniture: the six IKEA classes as parametric voxel shapes.

The project's embedded default training set (``--data builtin:chair``), a test fixture and
a source of shapes without downloads. Each class is a small generator of parts --
axis-aligned boxes and vertical cylinders in metres -- whose sizes, counts and styles are
drawn at random (:mod:`~shapespace.data.builtin.furniture`), then rasterised into the
canonical frame (:mod:`~shapespace.data.builtin.parts`).

Frame (see :mod:`shapespace.geometry.frame`): axis 2 is up with the floor at low indices;
the front faces -axis 0, so backrests, headboards and back panels sit at high axis-0
indices; every shape is exactly mirror-symmetric about the mid plane of axis 1 and is one
6-connected piece down to 8^3. Each shape's bounding box is centred and its longest side
spans ``fill`` of the grid (:data:`~shapespace.geometry.voxelize.DEFAULT_FILL`, 24 of 32
voxels), as for every other data source.

Determinism and splits: shape number ``index`` of a class depends only on
``(seed, class, index)`` -- its random generator is seeded with
``np.random.SeedSequence([seed, class_id, index])``, ``class_id`` being the class's position
in :data:`CLASSES` -- and not on how many shapes are requested at once. Disjoint index
ranges give disjoint sets: training uses ``start=0`` and a held-out set starts far beyond,
e.g. ``start=1_000_000`` (see :mod:`shapespace.data.sources`).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from shapespace.data.builtin.furniture import CLASS_PARTS
from shapespace.data.builtin.parts import Parts, rasterise
from shapespace.errors import DataError
from shapespace.geometry.voxelize import DEFAULT_FILL, check_fill, check_grid_resolution

__all__ = ["CLASSES", "MIN_RESOLUTION", "SPEC_PREFIX", "builtin_voxels", "furniture_parts", "furniture_shape", "parse_builtin_spec"]

# Sorted by name; a class's position here is its ``class_id`` in every shape's seed, so
# the order is part of the data set.
CLASSES: tuple[str, ...] = ("bed", "bookcase", "chair", "desk", "sofa", "table")
SPEC_PREFIX = "builtin:"
MIN_RESOLUTION = 8


def _check_category(category: str) -> int:
    if category not in CLASS_PARTS:
        raise DataError(f"unknown built-in class {category!r}; valid classes: {', '.join(CLASSES)}")
    return CLASSES.index(category)


def _check_int(name: str, value: int, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise DataError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise DataError(f"{name} must be at least {minimum}, got {value}")
    return int(value)


def parse_builtin_spec(spec: str) -> tuple[str, ...]:
    """Class names of a built-in data specification.

    ``"builtin:chair"`` -> ``("chair",)``; ``"builtin:all"`` -> :data:`CLASSES`;
    ``"builtin:chair,table"`` -> ``("chair", "table")`` (order kept).

    Raises:
        DataError: naming the spec, for a missing ``builtin:`` prefix, an unknown, empty or
            repeated class name, or ``all`` mixed with other names.
    """
    valid = f"valid classes: {', '.join(CLASSES)} (or 'all')"
    if not isinstance(spec, str) or not spec.startswith(SPEC_PREFIX):
        raise DataError(f"{spec!r} is not a built-in data spec; expected 'builtin:<class>[,<class>...]'; {valid}")
    names = [name.strip() for name in spec[len(SPEC_PREFIX) :].split(",")]
    if names == ["all"]:
        return CLASSES
    for name in names:
        if name not in CLASS_PARTS:
            problem = "an empty class name" if not name else f"unknown class {name!r}"
            raise DataError(f"{spec!r}: {problem}; {valid}")
    if len(set(names)) != len(names):
        raise DataError(f"{spec!r}: a class is named twice")
    return tuple(names)


def furniture_shape(
    category: str, index: int, resolution: int, seed: int = 0, fill: float = DEFAULT_FILL
) -> np.ndarray:
    """Shape number ``index`` of a built-in class, rasterised in the canonical frame.

    Args:
        category: one of :data:`CLASSES`.
        index: shape number (>= 0); the shape depends only on ``(seed, category, index)``.
        resolution: grid size R, in [8, 256].
        seed: data set seed (>= 0).
        fill: fraction of the grid spanned by the longest side of the bounding box.

    Returns:
        BoolArray of shape (R, R, R).
    """
    class_id = _check_category(category)
    index = _check_int("index", index, 0)
    resolution = check_grid_resolution(resolution, MIN_RESOLUTION)
    seed = _check_int("seed", seed, 0)
    fill = check_fill(fill)
    out = np.zeros((resolution,) * 3, dtype=bool)
    rasterise(_shape_parts(class_id, index, seed), resolution, fill, out)
    return out


def furniture_parts(category: str, index: int, seed: int = 0) -> Parts:
    """The parts (in metres) of shape number ``index`` of a built-in class, which
    :func:`furniture_shape` rasterises; checked as there."""
    class_id = _check_category(category)
    return _shape_parts(class_id, _check_int("index", index, 0), _check_int("seed", seed, 0))


def _shape_parts(class_id: int, index: int, seed: int) -> Parts:
    rng = np.random.default_rng(np.random.SeedSequence([seed, class_id, index]))
    return CLASS_PARTS[CLASSES[class_id]](rng)


def builtin_voxels(
    categories: str | Sequence[str],
    count: int,
    resolution: int,
    seed: int = 0,
    start: int = 0,
    fill: float = DEFAULT_FILL,
) -> tuple[np.ndarray, np.ndarray]:
    """``count`` shapes of each requested class: shape numbers ``start .. start + count - 1``.

    Held-out sets use a disjoint index range (e.g. ``start=1_000_000``); shape ``n`` is the
    same whatever ``start`` and ``count`` it is requested with.

    Args:
        categories: a class name or a sequence of distinct class names from :data:`CLASSES`.
        count: shapes per class (>= 1).
        resolution: grid size R, in [8, 256].
        seed: data set seed (>= 0).
        start: first shape number (>= 0).
        fill: fraction of the grid spanned by the longest side of each bounding box.

    Returns:
        voxels: UInt8Array of shape (N, R, R, R) with N = count * len(categories), values
            {0, 1}, canonical frame; class by class in the order given, shape number rising.
        labels: Int64Array of shape (N,), the position of each shape's class in
            ``categories`` as given (not in :data:`CLASSES`).
    """
    names = (categories,) if isinstance(categories, str) else tuple(categories)
    if not names:
        raise DataError(f"no built-in classes requested; valid classes: {', '.join(CLASSES)}")
    class_ids = [_check_category(name) for name in names]
    if len(set(names)) != len(names):
        raise DataError(f"built-in classes {names} name a class twice")
    count = _check_int("count", count, 1)
    resolution = check_grid_resolution(resolution, MIN_RESOLUTION)
    seed = _check_int("seed", seed, 0)
    start = _check_int("start", start, 0)
    fill = check_fill(fill)

    voxels = np.zeros((len(names) * count, resolution, resolution, resolution), dtype=np.uint8)
    labels = np.repeat(np.arange(len(names), dtype=np.int64), count)
    for label, class_id in enumerate(class_ids):
        for n in range(count):
            rasterise(_shape_parts(class_id, start + n, seed), resolution, fill, voxels[label * count + n])
    return voxels, labels
