"""Triangle meshes (OFF, OBJ, STL, PLY, GLB) through trimesh, voxelised at R^3.

A mesh is rotated into the canonical frame (default: ModelNet's z up, facing -y, as the
ModelNet10 OFF files; ``VoxelizeOptions.up``/``front`` override it), normalised into the
grid keeping its aspect ratio and centred (:mod:`shapespace.geometry.voxelize`), and
voxelised as a surface, solid by default (``VoxelizeOptions.solid=False`` keeps only the
surface).

A PLY file without faces is a point cloud and is read as one
(:func:`shapespace.io.pointclouds.points_to_shape`). Scenes (GLB, multi-object OBJ) are
merged into one mesh with their node transforms applied.

:func:`write_mesh` writes a mesh (such as one from
:func:`shapespace.geometry.mesh.voxels_to_mesh`) as OBJ, STL, PLY or GLB;
:func:`write_points_ply` writes a point cloud as PLY.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from shapespace.errors import ConfigError, DataError
from shapespace.geometry.voxelize import VoxelizeOptions, check_points, mesh_to_voxels
from shapespace.io.atomic import atomic_path, write_with_atomic
from shapespace.io.pointclouds import POINTS_FRONT, POINTS_UP, points_to_shape
from shapespace.io.registry import ShapeFormat

if TYPE_CHECKING:
    import trimesh

MESH_SUFFIXES = (".off", ".obj", ".stl", ".ply", ".glb")
# The formats write_mesh writes.
MESH_FORMATS = ("obj", "stl", "ply", "glb")


def load_geometry(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray | None]:
    """Load a mesh or point cloud file as stored.

    Returns:
        ``(vertices, faces)``: FloatArray (V, 3) and IntArray (F, 3), or ``faces=None`` for
        a point cloud.
    """
    import trimesh

    path = Path(path)
    _check_header_counts(path)
    loaded = trimesh.load(str(path), file_type=path.suffix.lower().lstrip("."), process=False)
    if isinstance(loaded, trimesh.Scene):
        geometries = list(loaded.dump()) if loaded.geometry else []
        meshes = [g for g in geometries if isinstance(g, trimesh.Trimesh)]
        if meshes:
            loaded = trimesh.util.concatenate(meshes)
        elif geometries and isinstance(geometries[0], trimesh.PointCloud):
            loaded = trimesh.PointCloud(np.concatenate([g.vertices for g in geometries]))
        else:
            raise DataError("the file holds no mesh or points")
    if isinstance(loaded, trimesh.PointCloud):
        return np.asarray(loaded.vertices, dtype=np.float64), None
    if not isinstance(loaded, trimesh.Trimesh):
        raise DataError(f"the file holds a {type(loaded).__name__}, not a triangle mesh")
    vertices = np.asarray(loaded.vertices, dtype=np.float64)
    faces = np.asarray(loaded.faces, dtype=np.int64)
    if len(faces) == 0:
        if len(vertices) == 0:
            raise DataError("the file holds no vertices")
        return vertices, None
    return vertices, faces


def _check_header_counts(path: Path) -> None:
    """Refuse an OFF or ASCII PLY file whose data lines do not match its header's counts.

    trimesh reads the lines there are and ignores the rest, so a truncated file or a wrong
    header would otherwise lose faces without a word. Binary PLY is checked by trimesh
    (its length must match the header). Headers trimesh cannot parse are left to it.
    """
    suffix = path.suffix.lower()
    if suffix == ".off":
        promised, held = _off_counts(path.read_bytes())
    elif suffix == ".ply":
        promised, held = _ascii_ply_counts(path.read_bytes())
    else:
        return
    if promised is None:
        return
    for name, count in promised:
        if count < 0:
            raise DataError(f"the header gives a negative count, {count} {name}")
    expected = sum(count for _, count in promised)
    if held != expected:
        named = " and ".join(f"{count} {name}" for name, count in promised)
        raise DataError(f"the header promises {named} ({expected} lines) but the file holds {held}")


def _off_counts(data: bytes) -> tuple[list[tuple[str, int]] | None, int]:
    """``([("vertices", V), ("faces", F)], data lines after the counts)``, parsed as trimesh does."""
    import trimesh

    text = trimesh.util.comment_strip(trimesh.util.decode_text(data)).strip()
    parts = re.split("(COFF|OFF)", text, maxsplit=1)
    if len(parts) != 3:
        return None, 0
    lines = [line for line in (raw.strip() for raw in parts[2].splitlines()) if line]
    try:
        vertices, faces = (int(value) for value in lines[0].split()[:2])
    except (IndexError, ValueError):
        return None, 0
    return [("vertices", vertices), ("faces", faces)], len(lines) - 1


_PLY_NOUNS = {"vertex": "vertices", "face": "faces", "edge": "edges"}


def _ascii_ply_counts(data: bytes) -> tuple[list[tuple[str, int]] | None, int]:
    """``([(element, count), ...], data lines)`` of an ASCII PLY file; None for binary."""
    lines = data.split(b"\n")
    promised = []
    ascii_format = False
    for number, raw in enumerate(lines):
        words = raw.decode("latin-1").split()
        if words[:1] == ["end_header"]:
            break
        if words[:1] == ["format"]:
            ascii_format = words[1:2] == ["ascii"]
        elif words[:1] == ["element"] and len(words) == 3:
            try:
                count = int(words[2])
            except ValueError:
                return None, 0
            promised.append((_PLY_NOUNS.get(words[1], f"{words[1]!r} rows"), count))
    else:
        return None, 0
    if not ascii_format:
        return None, 0
    return promised, sum(1 for line in lines[number + 1 :] if line.strip())


def read_mesh_shape(path: Path, options: VoxelizeOptions) -> np.ndarray:
    vertices, faces = load_geometry(path)
    if faces is None:
        if path.suffix.lower() != ".ply":
            raise DataError("the mesh has no faces")
        return points_to_shape(vertices, options)
    if len(vertices) and not np.isfinite(vertices).all():
        bad = int((~np.isfinite(vertices)).any(axis=1).sum())
        raise DataError(f"{bad} of {len(vertices)} vertices have NaN or infinite coordinates")
    rotation = options.rotation(POINTS_UP, POINTS_FRONT)
    solid = True if options.solid is None else options.solid
    return mesh_to_voxels(vertices @ rotation.T, faces, options.resolution, options.fill, solid=solid)


# glTF's frame from shapespace's world frame (z up, the front facing -x; geometry/frame.py):
# glTF 2.0 ("Coordinate system and units") has +y up and the front facing +z, so
# x' = -y, y' = z, z' = -x. A proper rotation (determinant 1).
GLTF_FROM_WORLD = np.array([[0.0, -1.0, 0.0], [0.0, 0.0, 1.0], [-1.0, 0.0, 0.0]])


def write_mesh(mesh: trimesh.Trimesh, path: str | os.PathLike) -> Path:
    """Write ``mesh`` (world frame) to ``path`` atomically; the format comes from the suffix
    (obj, stl, ply, glb). OBJ, STL and PLY keep the world frame; GLB is turned into glTF's
    frame (:data:`GLTF_FROM_WORLD`), so that glTF viewers stand the shape upright, and
    carries vertex normals for smooth shading."""
    path = Path(path)
    file_type = path.suffix.lstrip(".").lower()
    if file_type not in MESH_FORMATS:
        raise ConfigError(f"{path}: unsupported mesh format {file_type!r}; use one of {', '.join(MESH_FORMATS)}")
    options = {}
    if file_type == "glb":
        mesh = mesh.copy()
        mesh.apply_transform(np.block([[GLTF_FROM_WORLD, np.zeros((3, 1))], [np.zeros((1, 3)), np.ones((1, 1))]]))
        options["include_normals"] = True
    with atomic_path(path) as tmp:
        mesh.export(str(tmp), file_type=file_type, **options)
    return path


def write_points_ply(path: str | os.PathLike, points: np.ndarray) -> None:
    """Write FloatArray (N, 3) as a binary PLY point cloud."""
    import trimesh

    cloud = trimesh.PointCloud(check_points(points))
    write_with_atomic(path, lambda tmp: cloud.export(str(tmp), file_type="ply"))


# Registered by the package (shapespace/io/__init__.py), not here.
MESH_FORMAT = ShapeFormat(
    name="mesh",
    suffixes=MESH_SUFFIXES,
    read=read_mesh_shape,
    description="triangle meshes via trimesh (PLY without faces: points); ModelNet frame (z up, facing -y)",
)
