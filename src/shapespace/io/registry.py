"""One registry of shape file formats: pick a reader by file suffix, get a canonical grid.

Each format lives in its own module (:mod:`.matlab`, :mod:`.binvox`, :mod:`.meshes`,
:mod:`.pointclouds`) and registers a :class:`ShapeFormat` here. :func:`read_shape` is the
one entry point: it returns a BoolArray of shape (R, R, R) in the canonical frame
(:mod:`shapespace.geometry.frame`) or raises :class:`~shapespace.errors.DataError` naming
the file and the problem -- whatever the bytes in the file are.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from shapespace.errors import DataError
from shapespace.geometry.frame import frame_rotation
from shapespace.geometry.voxelize import DEFAULT_FILL, align_facing

# Grids larger than this are refused before anything is allocated: a corrupt header must
# not ask for terabytes.
MAX_RESOLUTION = 1024


@dataclass(frozen=True)
class ReadOptions:
    """How a shape file becomes a grid.

    Attributes:
        resolution: grid size R of the result.
        fill: the longest side of the normalised shape spans ``fill * R`` voxels.
        solid: fill enclosed interiors (default per format: meshes yes, point clouds no).
        close: closing iterations for point clouds (default per format: 1).
        up, front: the source's up axis and facing direction such as ``"+z"`` / ``"-y"``;
            ``None`` uses the format's documented default.
        align: turn each shape about the up axis so that its back is at high axis 0
            (:func:`shapespace.geometry.voxelize.facing_turns`), for sources whose models
            do not all face one way.
    """

    resolution: int = 32
    fill: float = DEFAULT_FILL
    solid: bool | None = None
    close: int | None = None
    up: str | None = None
    front: str | None = None
    align: bool = False

    def __post_init__(self) -> None:
        for name, kinds in (("resolution", (int, np.integer)), ("fill", (int, float, np.number)), ("align", (bool,))):
            value = getattr(self, name)
            if isinstance(value, bool) != (kinds == (bool,)) or not isinstance(value, kinds):
                raise DataError(f"{name} must be a {'boolean' if kinds == (bool,) else 'number'}, got {value!r}")
        for name in ("solid", "close"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, (bool,) if name == "solid" else (int, np.integer)):
                raise DataError(f"{name} must be {'a boolean' if name == 'solid' else 'an integer'} or None, got {value!r}")
        if int(self.resolution) != self.resolution or not 2 <= self.resolution <= MAX_RESOLUTION:
            raise DataError(f"resolution must be an integer in [2, {MAX_RESOLUTION}], got {self.resolution!r}")
        if not 0 < self.fill <= 1:
            raise DataError(f"fill must be in (0, 1], got {self.fill!r}")
        if self.close is not None and (int(self.close) != self.close or self.close < 0):
            raise DataError(f"close must be a non-negative integer, got {self.close!r}")
        if (self.up is None) != (self.front is None):
            raise DataError("give both up and front, or neither")
        if self.up is not None:
            frame_rotation(self.up, self.front)

    def rotation(self, default_up: str, default_front: str) -> np.ndarray:
        """The rotation from the source frame to the canonical one (IntArray of shape (3, 3))."""
        if self.up is None:
            return frame_rotation(default_up, default_front)
        return frame_rotation(self.up, self.front)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def replace(self, **changes) -> ReadOptions:
        return dataclasses.replace(self, **changes)


Reader = Callable[[Path, ReadOptions], np.ndarray]


@dataclass(frozen=True)
class ShapeFormat:
    """A registered file format.

    Attributes:
        name: short name, e.g. ``"binvox"``.
        suffixes: lower-case file suffixes it reads, e.g. ``(".binvox",)``.
        read: ``read(path, options) -> BoolArray (R, R, R)``, canonical frame.
        description: what the format holds and its default orientation.
    """

    name: str
    suffixes: tuple[str, ...]
    read: Reader
    description: str


_FORMATS: dict[str, ShapeFormat] = {}
_BY_SUFFIX: dict[str, ShapeFormat] = {}


def register_format(fmt: ShapeFormat) -> ShapeFormat:
    for suffix in fmt.suffixes:
        if suffix in _BY_SUFFIX and _BY_SUFFIX[suffix].name != fmt.name:
            raise ValueError(f"suffix {suffix} is already registered by {_BY_SUFFIX[suffix].name}")
    for suffix in fmt.suffixes:
        _BY_SUFFIX[suffix] = fmt
    _FORMATS[fmt.name] = fmt
    return fmt


def _load_builtin_formats() -> None:
    # Importing a format module registers it.
    from shapespace.io import binvox, matlab, meshes, pointclouds  # noqa: F401


def formats() -> dict[str, ShapeFormat]:
    """All registered formats by name."""
    _load_builtin_formats()
    return dict(_FORMATS)


def shape_suffixes() -> frozenset[str]:
    """Every file suffix some registered format reads."""
    _load_builtin_formats()
    return frozenset(_BY_SUFFIX)


def format_for(path: str | os.PathLike) -> ShapeFormat:
    """The format that reads ``path``, chosen by its suffix."""
    _load_builtin_formats()
    suffix = Path(path).suffix.lower()
    if suffix not in _BY_SUFFIX:
        known = ", ".join(sorted(_BY_SUFFIX))
        raise DataError(f"{path}: unknown shape file type {suffix or '(no suffix)'!r}; readable: {known}")
    return _BY_SUFFIX[suffix]


def read_shape(path: str | os.PathLike, options: ReadOptions | None = None) -> np.ndarray:
    """Read one shape file into a canonical occupancy grid.

    Args:
        path: a file of any registered format.
        options: resolution, normalisation and orientation (default: 32^3).

    Returns:
        BoolArray of shape (R, R, R), canonical frame, never empty.

    Raises:
        DataError: naming ``path`` and the problem, for any unreadable, corrupt, truncated
            or empty file, wrong key or array shape, NaN coordinates or degenerate mesh.
    """
    options = options or ReadOptions()
    path = Path(path)
    fmt = format_for(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: the file is empty")
    try:
        grid = fmt.read(path, options)
    except DataError as error:
        raise DataError(f"{path}: {error}") from None
    except MemoryError:
        raise DataError(f"{path}: the file asks for more memory than this machine has") from None
    # A third-party parser (scipy, trimesh) failing on corrupt bytes may raise anything;
    # at this boundary every such failure becomes one clear error naming the file.
    except Exception as error:  # noqa: BLE001
        raise DataError(f"{path}: not a readable {fmt.name} file ({type(error).__name__}: {error})") from None
    if grid.shape != (options.resolution,) * 3:
        raise DataError(f"{path}: reader returned shape {grid.shape}, expected {(options.resolution,) * 3}")
    if not grid.any():
        raise DataError(f"{path}: the shape is empty at {options.resolution}^3")
    if options.align:
        grid = align_facing(grid)
    return grid
