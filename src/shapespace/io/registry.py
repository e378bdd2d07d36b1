"""One registry of shape file formats: pick a reader by file suffix, get a canonical grid.

Each format lives in its own module (:mod:`.matlab`, :mod:`.binvox`, :mod:`.meshes`,
:mod:`.pointclouds`) and defines a :class:`ShapeFormat`; the package's ``__init__``
registers the built-in ones, so this module never imports a format module (the pattern of
pytorch3d's ``IO``). :func:`read_shape` is the one entry point: it returns a BoolArray of
shape (R, R, R) in the canonical frame (:mod:`shapespace.geometry.frame`) or raises
:class:`~shapespace.errors.DataError` naming the file and the problem -- whatever the bytes
in the file are.

An **archive** format (``archive=True``) holds many shapes in one file, such as a Sweet Home
3D furniture library: one of its shapes is named by a path into the file,
``<archive file>/<item>`` (``Scopia.sh3f/12-office-chair``), and its reader gets that path.
Archive suffixes are not among :func:`shape_suffixes` (an archive is not one shape); the
data layer lists an archive's items (:mod:`shapespace.data.sweethome`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from shapespace.errors import DataError
from shapespace.geometry.voxelize import VoxelizeOptions, align_facing

Reader = Callable[[Path, VoxelizeOptions], np.ndarray]


@dataclass(frozen=True)
class ShapeFormat:
    """A registered file format.

    Attributes:
        name: short name, e.g. ``"binvox"``.
        suffixes: lower-case file suffixes it reads, e.g. ``(".binvox",)``.
        read: ``read(path, options) -> BoolArray (R, R, R)``, canonical frame.
        description: what the format holds and its default orientation.
        archive: one file holds many shapes; ``read`` gets ``<archive file>/<item>``.
    """

    name: str
    suffixes: tuple[str, ...]
    read: Reader
    description: str
    archive: bool = False


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


def formats() -> dict[str, ShapeFormat]:
    """All registered formats by name."""
    return dict(_FORMATS)


def shape_suffixes() -> frozenset[str]:
    """Every suffix of a file that holds one shape (archive suffixes are not among them)."""
    return frozenset(suffix for suffix, fmt in _BY_SUFFIX.items() if not fmt.archive)


def archive_suffixes() -> frozenset[str]:
    """Every suffix of a file that holds many shapes (an archive format's)."""
    return frozenset(suffix for suffix, fmt in _BY_SUFFIX.items() if fmt.archive)


def split_archive_path(path: str | os.PathLike) -> tuple[Path, str] | None:
    """``(archive file, item)`` when ``path`` names a shape inside an archive, else None.

    ``Scopia.sh3f/12-office-chair`` -> ``(Path("Scopia.sh3f"), "12-office-chair")`` when
    ``.sh3f`` is an archive suffix and ``Scopia.sh3f`` is not a folder.
    """
    path = Path(path)
    if path.parent.suffix.lower() in archive_suffixes() and not path.parent.is_dir():
        return path.parent, path.name
    return None


def format_for(path: str | os.PathLike) -> ShapeFormat:
    """The format that reads ``path``, chosen by its suffix (an archive's, for ``<archive>/<item>``)."""
    inside = split_archive_path(path)
    if inside is not None:
        return _BY_SUFFIX[inside[0].suffix.lower()]
    suffix = Path(path).suffix.lower()
    if suffix not in _BY_SUFFIX:
        known = ", ".join(sorted(_BY_SUFFIX))
        raise DataError(f"{path}: unknown shape file type {suffix or '(no suffix)'!r}; readable: {known}")
    fmt = _BY_SUFFIX[suffix]
    if fmt.archive:
        raise DataError(f"{path}: a {fmt.name} file holds many shapes; name one as {Path(path).name}/ITEM, or read the file as a data source")
    return fmt


def read_shape(path: str | os.PathLike, options: VoxelizeOptions | None = None) -> np.ndarray:
    """Read one shape file into a canonical occupancy grid.

    Args:
        path: a file of any registered format, or ``<archive file>/<item>``.
        options: resolution, normalisation and orientation (default: 32^3).

    Returns:
        BoolArray of shape (R, R, R), canonical frame, never empty.

    Raises:
        DataError: naming ``path`` and the problem, for any unreadable, corrupt, truncated
            or empty file, wrong key or array shape, NaN coordinates or degenerate mesh.
    """
    options = options or VoxelizeOptions()
    path = Path(path)
    fmt = format_for(path)
    inside = split_archive_path(path)
    container = path if inside is None else inside[0]
    if not container.is_file():
        raise DataError(f"{container}: no such file")
    if container.stat().st_size == 0:
        raise DataError(f"{container}: the file is empty")
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
