"""Sweet Home 3D furniture libraries: ``.sh3f`` files and the default catalogue of ``sweethome3d.jar``.

A library is a zip archive holding a catalogue and the models it names. The catalogue is a
Java ``.properties`` file: ``PluginFurnitureCatalog.properties`` at the root of a ``.sh3f``,
``com/eteks/sweethome3d/io/DefaultFurnitureCatalog.properties`` in the application's jar.
Keys without ``#N`` describe the library (``id``, ``name``, ``license``, ...); item ``N``
has, among others::

    name#N            English name, e.g. "Office chair"
    category#N        e.g. "Living room", "Office", "Bedroom"
    model#N           path of its Wavefront OBJ inside the archive, e.g. /scopia/chair/chair.obj
    width#N depth#N height#N     its real size in cm
    modelRotation#N   optional: nine numbers, a 3x3 matrix row by row
    creator#N         optional: who made the model
    license#N         optional: the model's licence (default: the library's ``license``)

The OBJ's MTL file and texture images sit beside it in the archive and are read from there.

**A shape of a library is named by a path into the archive**: ``Scopia.sh3f/12-office-chair``
is item 12 of ``Scopia.sh3f``; the words after the number are the item's name, for people,
and must match it (so a path recorded against another version of the library fails loudly).

**Placing a model** follows Sweet Home 3D (``ModelManager``): the OBJ's vertices ``v`` are
rotated to ``M @ v``, ``M`` being ``modelRotation`` read row by row, then the bounding box of
the result is scaled, axis by axis, to width x height x depth along x, y, z. Sweet Home 3D's
frame has y up and the front of a piece facing +z, towards the viewer of its catalogue icon
(:data:`SWEETHOME_UP`, :data:`SWEETHOME_FRONT`). Both were checked on pictures
(``shapespace data show``) of the Debian libraries: every chair stands upright with its
backrest at high axis 0, as the built-in chairs, among them the five whose catalogue gives
a ``modelRotation`` (read column by column instead, three of them face backwards and one
stands on its head). :class:`~shapespace.geometry.voxelize.VoxelizeOptions` ``up``/``front``
override the frame as for every other format.
"""

from __future__ import annotations

import io
import os
import posixpath
import re
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from shapespace.errors import DataError
from shapespace.geometry.frame import frame_rotation
from shapespace.geometry.voxelize import VoxelizeOptions, mesh_to_voxels
from shapespace.io.registry import ShapeFormat, split_archive_path

if TYPE_CHECKING:
    import trimesh

LIBRARY_SUFFIXES = (".sh3f", ".jar")
# Where each kind of archive keeps its catalogue, in the order they are looked for.
CATALOGUE_NAMES = ("PluginFurnitureCatalog.properties", "com/eteks/sweethome3d/io/DefaultFurnitureCatalog.properties")
SWEETHOME_UP = "+y"
SWEETHOME_FRONT = "+z"
_ITEM_KEY = re.compile(r"^(?P<index>[0-9]+)(?:-(?P<slug>[a-z0-9]+(?:-[a-z0-9]+)*))?$")
_INDEXED_KEY = re.compile(r"^(?P<field>[A-Za-z]+)#(?P<index>[0-9]+)$")


@dataclass(frozen=True)
class FurnitureItem:
    """One piece of furniture of a catalogue.

    Attributes:
        index: its number N in the catalogue (the ``#N`` of its keys).
        id: ``id#N``, e.g. ``"Scopia#chair-1"`` (``""`` when the catalogue gives none).
        name: ``name#N``, English.
        category: ``category#N``.
        tags: ``tags#N``, split at commas.
        model: the OBJ's path inside the archive, without a leading ``/``.
        size: ``(width, depth, height)`` in cm.
        rotation: ``modelRotation#N`` as FloatArray-like nested tuples (3, 3), or None.
        creator: ``creator#N`` (``""`` when not given).
        license: ``license#N``, or the library's ``license`` when the item has none.
        license_file: a licence file in the model's own folder of the archive (Blend Swap's
            ``BLENDSWAP_LICENSE.txt`` names the author to credit), or ``""``.
    """

    index: int
    id: str
    name: str
    category: str
    tags: tuple[str, ...]
    model: str
    size: tuple[float, float, float]
    rotation: tuple[tuple[float, float, float], ...] | None
    creator: str
    license: str
    license_file: str

    @property
    def key(self) -> str:
        """The item's name inside its archive's path: ``"12-office-chair"``."""
        slug = slugify(self.name)
        return f"{self.index}-{slug}" if slug else str(self.index)


@dataclass(frozen=True)
class FurnitureLibrary:
    """A Sweet Home 3D furniture library as its catalogue describes it.

    Attributes:
        path: the archive.
        catalogue: the catalogue's name inside the archive.
        id, name, license: the library's ``id``, ``name`` and ``license`` keys (``""`` when absent).
        items: its furniture, by index.
    """

    path: Path
    catalogue: str
    id: str
    name: str
    license: str
    items: tuple[FurnitureItem, ...]

    def item_path(self, item: FurnitureItem) -> Path:
        """The path that names ``item`` as a shape: ``<archive>/<item.key>``."""
        return self.path / item.key

    def item(self, key: str) -> FurnitureItem:
        """The item named ``key`` (``"12-office-chair"`` or ``"12"``)."""
        match = _ITEM_KEY.match(key)
        if not match:
            raise DataError(f"{key!r} does not name an item: expected <number>-<name>, such as 12-office-chair")
        index = int(match.group("index"))
        found = next((item for item in self.items if item.index == index), None)
        if found is None:
            raise DataError(f"the catalogue has no item {index} (items: {_index_ranges([i.index for i in self.items])})")
        if match.group("slug") is not None and match.group("slug") != slugify(found.name):
            raise DataError(f"item {index} of the catalogue is {found.name!r}, not {match.group('slug')!r}")
        return found


def slugify(text: str) -> str:
    """Lower-case ASCII words joined by ``-``: ``"Chaise d'été 2"`` -> ``"chaise-d-ete-2"``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return "-".join(re.findall(r"[a-z0-9]+", ascii_text.lower()))


def _index_ranges(indices: list[int]) -> str:
    """``[1, 2, 3, 7]`` -> ``"1-3, 7"``."""
    runs: list[list[int]] = []
    for index in indices:
        if runs and index == runs[-1][1] + 1:
            runs[-1][1] = index
        else:
            runs.append([index, index])
    return ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in runs) or "none"


def decode_properties(data: bytes) -> str:
    """The text of a ``.properties`` file: UTF-8, or ISO-8859-1 when it is not valid UTF-8.

    Java's ``Properties.load`` reads ISO-8859-1; since Java 9 the resource bundles that Sweet
    Home 3D reads catalogues with try UTF-8 first and fall back to ISO-8859-1, as here. Both
    catalogues in the wild occur: the Debian libraries write ``©`` as the ISO-8859-1 byte 0xA9.
    """
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("iso-8859-1")


def parse_properties(text: str) -> dict[str, str]:
    """Parse Java ``.properties`` text: comments, ``=``/``:``/space separators, escapes
    (``\\u00e9``, ``\\:``, ``\\=``, ``\\ ``, ``\\t``...) and line continuations; a later key wins.

    Raises:
        DataError: for a malformed ``\\u`` escape.
    """
    import javaproperties

    try:
        return javaproperties.loads(text)
    except ValueError as error:  # javaproperties.InvalidUEscapeError
        raise DataError(f"bad properties: {error}") from None


def _number(props: dict[str, str], key: str, what: str) -> float:
    text = props.get(key)
    if text is None or not text.strip():
        raise DataError(f"{what} has no {key}")
    try:
        value = float(text)
    except ValueError:
        raise DataError(f"{key} {text!r} is not a number") from None
    if not np.isfinite(value) or value <= 0:
        raise DataError(f"{key} must be a positive size in cm, got {text!r}")
    return value


def _rotation(props: dict[str, str], index: int) -> tuple[tuple[float, float, float], ...] | None:
    key = f"modelRotation#{index}"
    text = props.get(key)
    if text is None:
        return None
    try:
        values = [float(word) for word in text.split()]
    except ValueError:
        values = []
    if len(values) != 9 or not np.isfinite(values).all():
        raise DataError(f"{key} {text!r}: expected nine numbers, a 3x3 matrix row by row")
    matrix = np.array(values).reshape(3, 3)
    if abs(np.linalg.det(matrix)) < 1e-6:
        raise DataError(f"{key} {text!r}: the matrix is singular, not a rotation")
    return tuple(tuple(float(v) for v in row) for row in matrix)


def _license_file(names: frozenset[str], model: str) -> str:
    """A licence file in the model's own folder (never the archive's root, nor a folder shared by many models)."""
    folder = posixpath.dirname(model)
    if not folder:
        return ""
    found = sorted(n for n in names if posixpath.dirname(n) == folder and "licen" in posixpath.basename(n).lower())
    return found[0] if found else ""


def parse_catalogue(props: dict[str, str], names: frozenset[str] = frozenset()) -> tuple[dict[str, str], list[FurnitureItem]]:
    """The library's own keys and its items, from parsed catalogue properties.

    Args:
        props: the catalogue's keys and values (:func:`parse_properties`).
        names: the archive's file names, to find each model's licence file.

    Returns:
        ``(library keys, items by index)``; an item is every ``N`` with a ``name#N`` or
        ``model#N`` key.

    Raises:
        DataError: naming the key, for an item without a name, model or size, a size that
            is not a positive number, or a ``modelRotation`` that is not nine numbers.
    """
    library = {key: value for key, value in props.items() if "#" not in key}
    indices = sorted({int(m.group("index")) for m in map(_INDEXED_KEY.match, props) if m and m.group("field") in ("name", "model")})
    items = []
    for index in indices:
        name = props.get(f"name#{index}", "").strip()
        if not name:
            raise DataError(f"item {index} has no name#{index}")
        what = f"item {index} ({name})"
        model = props.get(f"model#{index}", "").strip()
        if not model:
            raise DataError(f"{what} has no model#{index}")
        if "://" in model or model.startswith("jar:"):
            raise DataError(f"model#{index} {model!r} is a URL; only models inside the archive are read")
        model = model.lstrip("/")
        size = tuple(_number(props, f"{field}#{index}", what) for field in ("width", "depth", "height"))
        items.append(
            FurnitureItem(
                index=index,
                id=props.get(f"id#{index}", "").strip(),
                name=name,
                category=props.get(f"category#{index}", "").strip(),
                tags=tuple(t.strip() for t in props.get(f"tags#{index}", "").split(",") if t.strip()),
                model=model,
                size=size,
                rotation=_rotation(props, index),
                creator=props.get(f"creator#{index}", "").strip(),
                license=props.get(f"license#{index}", library.get("license", "")).strip(),
                license_file=_license_file(names, model),
            )
        )
    return library, items


# What reading a damaged member of a zip archive raises (bad CRC, truncated or corrupt data).
_ZIP_ERRORS = (zipfile.BadZipFile, EOFError, OSError, zlib.error)


def _open_archive(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise DataError("not a Sweet Home 3D library (not a zip archive, or a truncated one)") from None


def _read_member(archive: zipfile.ZipFile, name: str, what: str) -> bytes:
    try:
        return archive.read(name)
    except KeyError:
        raise DataError(f"{what} {name} is not in the archive") from None
    except _ZIP_ERRORS as error:
        raise DataError(f"{what} {name} cannot be read from the archive ({error})") from None


@lru_cache(maxsize=16)
def _read_library(path: Path, mtime_ns: int, size: int) -> FurnitureLibrary:
    """The library at ``path`` (cached per version of the file); errors do not name the file."""
    with _open_archive(path) as archive:
        names = frozenset(archive.namelist())
        catalogue = next((name for name in CATALOGUE_NAMES if name in names), None)
        if catalogue is None:
            raise DataError(f"the archive holds no furniture catalogue (looked for {' and '.join(CATALOGUE_NAMES)})")
        data = _read_member(archive, catalogue, "the catalogue")
    try:
        library, items = parse_catalogue(parse_properties(decode_properties(data)), names)
    except DataError as error:
        raise DataError(f"{catalogue}: {error}") from None
    return FurnitureLibrary(
        path=path,
        catalogue=catalogue,
        id=library.get("id", "").strip(),
        name=library.get("name", "").strip(),
        license=library.get("license", "").strip(),
        items=tuple(items),
    )


def read_library(path: str | os.PathLike) -> FurnitureLibrary:
    """Read the catalogue of a ``.sh3f`` file or of ``sweethome3d.jar`` (cached per file version).

    Raises:
        DataError: naming the file, for a missing file, an archive that is not a zip, one
            without a catalogue, or a catalogue that cannot be parsed (:func:`parse_catalogue`).
    """
    path = Path(path)
    try:
        return _library(path)
    except DataError as error:
        raise DataError(f"{path}: {error}") from None


def _library(path: Path) -> FurnitureLibrary:
    if not path.is_file():
        raise DataError("no such file")
    stat = path.stat()
    return _read_library(path, stat.st_mtime_ns, stat.st_size)


def _split_item_path(path: str | os.PathLike) -> tuple[FurnitureLibrary, FurnitureItem]:
    """The library and item ``LIBRARY.sh3f/<number>-<name>`` names; errors do not name the path."""
    split = split_archive_path(path)
    if split is None:
        raise DataError("not an item of a Sweet Home 3D library (expected LIBRARY.sh3f/<number>-<name>)")
    archive, key = split
    library = _library(archive)
    return library, library.item(key)


def _asset_path(folder: str, name: str) -> str:
    """Where a file an OBJ or MTL names lies in the archive (Windows separators forgiven)."""
    return posixpath.normpath(posixpath.join(folder, name.strip().strip('"').replace("\\", "/")))


class _ArchiveResolver:
    """Hands trimesh the files an OBJ names (its MTL, the MTL's textures) from the archive.

    Names are taken relative to the OBJ's folder; Windows separators and letter case that
    differ from the archive's are forgiven. trimesh skips a file it cannot get without a
    word, so every name not found is recorded in ``missing``.
    """

    def __init__(self, archive: zipfile.ZipFile, folder: str) -> None:
        self.archive = archive
        self.folder = folder
        self.by_lower = {name.lower(): name for name in archive.namelist()}
        self.missing: list[str] = []

    def get(self, name: str) -> bytes:
        found = self.by_lower.get(_asset_path(self.folder, name).lower())
        if found is None:
            self.missing.append(name.strip())
            raise KeyError(name)
        return self.archive.read(found)

    def __getitem__(self, name: str) -> bytes:
        return self.get(name)

    def namespaced(self, namespace: str) -> "_ArchiveResolver":
        return _ArchiveResolver(self.archive, posixpath.join(self.folder, namespace))

    def keys(self):
        return iter(self.archive.namelist())

    def write(self, name: str, data) -> None:
        raise DataError(f"{name}: a furniture library is read-only")


def _load_obj(archive: zipfile.ZipFile, item: FurnitureItem, materials: bool) -> "trimesh.Scene":
    """The item's OBJ as stored, with its materials and textures when ``materials``.

    An MTL file or texture the OBJ names but the archive lacks is left out, as Sweet Home 3D
    does (about one model in fifty of the Debian libraries names a texture by a path on its
    author's disk), and listed in ``scene.metadata["missing_files"]``.
    """
    import trimesh

    if not item.model.lower().endswith(".obj"):
        raise DataError(f"its model {item.model} is not a Wavefront OBJ file (the only model format read)")
    data = _read_member(archive, item.model, "its model")
    resolver = _ArchiveResolver(archive, posixpath.dirname(item.model))
    loaded = trimesh.load(io.BytesIO(data), file_type="obj", resolver=resolver, process=False, skip_materials=not materials)
    scene = loaded if isinstance(loaded, trimesh.Scene) else trimesh.Scene(loaded)
    scene.metadata["missing_files"] = sorted(set(resolver.missing))
    if not any(isinstance(g, trimesh.Trimesh) and len(g.faces) for g in scene.geometry.values()):
        raise DataError(f"its model {item.model} holds no triangles")
    return scene


def placement(item: FurnitureItem, vertices: np.ndarray, up: str = SWEETHOME_UP, front: str = SWEETHOME_FRONT) -> np.ndarray:
    """The transform that places a model as Sweet Home 3D does, in the canonical frame.

    Rotates by ``item.rotation``, scales the bounding box of the rotated vertices to
    width x height x depth (cm) along Sweet Home 3D's x, y, z (an axis along which the
    model is flat keeps its zero extent), turns Sweet Home 3D's frame (``up``/``front``)
    into the canonical one and puts the bottom centre of the bounding box at the origin.

    Args:
        vertices: FloatArray of shape (V, 3), the model's vertices as stored in its OBJ.

    Returns:
        FloatArray of shape (4, 4): canonical coordinates in cm are ``T @ [v, 1]``.
    """
    rotation = np.eye(3) if item.rotation is None else np.asarray(item.rotation, dtype=np.float64)
    rotated = vertices @ rotation.T
    extent = rotated.max(axis=0) - rotated.min(axis=0)
    width, depth, height = item.size
    target = np.array([width, height, depth])  # Sweet Home 3D's x, y, z
    scale = np.where(extent > 0, target / np.where(extent > 0, extent, 1.0), 1.0)
    linear = frame_rotation(up, front) @ np.diag(scale) @ rotation
    placed = vertices @ linear.T
    low, high = placed.min(axis=0), placed.max(axis=0)
    transform = np.eye(4)
    transform[:3, :3] = linear
    transform[:3, 3] = -np.array([(low[0] + high[0]) / 2, (low[1] + high[1]) / 2, low[2]])
    return transform


def _triangles(scene: "trimesh.Scene") -> tuple[np.ndarray, np.ndarray]:
    """All triangles of a scene as one mesh: FloatArray (V, 3) and IntArray (F, 3)."""
    import trimesh

    meshes = [g for g in scene.dump() if isinstance(g, trimesh.Trimesh) and len(g.faces)]
    mesh = trimesh.util.concatenate(meshes) if len(meshes) > 1 else meshes[0]
    return np.asarray(mesh.vertices, dtype=np.float64), np.asarray(mesh.faces, dtype=np.int64)


def _checked_placement(item: FurnitureItem, vertices: np.ndarray, faces: np.ndarray, up: str, front: str) -> np.ndarray:
    used = vertices[np.unique(faces)]
    if not np.isfinite(used).all():
        raise DataError(f"its model {item.model} has NaN or infinite coordinates")
    return placement(item, used, up, front)


def _placed_triangles(path, up: str, front: str) -> tuple[FurnitureItem, np.ndarray, np.ndarray]:
    """The item ``path`` names and its triangles, placed; errors do not name the path."""
    library, item = _split_item_path(path)
    with _open_archive(library.path) as archive:
        vertices, faces = _triangles(_load_obj(archive, item, materials=False))
    transform = _checked_placement(item, vertices, faces, up, front)
    return item, vertices @ transform[:3, :3].T + transform[:3, 3], faces


def item_geometry(path: str | os.PathLike, up: str = SWEETHOME_UP, front: str = SWEETHOME_FRONT) -> tuple[np.ndarray, np.ndarray]:
    """The triangles of one item, placed by :func:`placement` (no materials read).

    Args:
        path: ``LIBRARY.sh3f/<number>-<name>`` (:meth:`FurnitureLibrary.item_path`).

    Returns:
        ``(vertices, faces)``: FloatArray (V, 3) in cm, canonical frame, and IntArray (F, 3).

    Raises:
        DataError: naming ``path``, for an unreadable library, an unknown item, or a model
            that is missing from the archive, not an OBJ, without triangles or with NaN coordinates.
    """
    try:
        _, vertices, faces = _placed_triangles(path, up, front)
    except DataError as error:
        raise DataError(f"{path}: {error}") from None
    return vertices, faces


def load_item_scene(path: str | os.PathLike, up: str = SWEETHOME_UP, front: str = SWEETHOME_FRONT) -> "trimesh.Scene":
    """Load one item with its materials and textures, placed by :func:`placement`.

    Args:
        path: ``LIBRARY.sh3f/<number>-<name>`` (:meth:`FurnitureLibrary.item_path`).

    Returns:
        A trimesh scene in the canonical frame, in cm, the bottom centre of its bounding
        box at the origin; ``scene.metadata`` holds the item's ``name``, ``creator`` and
        ``license``, and ``missing_files``: the MTL files and textures the model names that
        the archive lacks (left out, as Sweet Home 3D does).

    Raises:
        DataError: naming ``path``, as :func:`item_geometry`.
    """
    import trimesh

    try:
        library, item = _split_item_path(path)
        with _open_archive(library.path) as archive:
            scene = _load_obj(archive, item, materials=True)
        transform = _checked_placement(item, *_triangles(scene), up, front)
    except DataError as error:
        raise DataError(f"{path}: {error}") from None
    placed = trimesh.Scene([geometry.copy().apply_transform(transform) for geometry in scene.dump() if isinstance(geometry, trimesh.Trimesh)])
    placed.metadata.update({"name": item.name, "creator": item.creator, "license": item.license, "missing_files": scene.metadata["missing_files"]})
    return placed


def read_sweethome_shape(path: Path, options: VoxelizeOptions) -> np.ndarray:
    """Voxelise one library item (``LIBRARY.sh3f/<number>-<name>``) into a canonical grid."""
    up, front = (SWEETHOME_UP, SWEETHOME_FRONT) if options.up is None else (options.up, options.front)
    _, vertices, faces = _placed_triangles(path, up, front)
    solid = True if options.solid is None else options.solid
    return mesh_to_voxels(vertices, faces, options.resolution, options.fill, solid=solid)


# Registered by the package (shapespace/io/__init__.py), not here.
SWEETHOME_FORMAT = ShapeFormat(
    name="sweethome3d",
    suffixes=LIBRARY_SUFFIXES,
    read=read_sweethome_shape,
    description="Sweet Home 3D furniture libraries (.sh3f, sweethome3d.jar), one shape per item (LIBRARY.sh3f/<N>-<name>); y up, facing +z",
    archive=True,
)
