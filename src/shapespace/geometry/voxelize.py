"""Turn points, meshes and voxel grids of any size into canonical occupancy grids.

All functions here work in the canonical frame (:mod:`shapespace.geometry.frame`): callers
rotate their source into it first. Every shape is normalised the same way, whatever it
came from: its bounding box is centred in the grid on all three axes and scaled, keeping
the aspect ratio, so that its longest side spans ``fill * R`` voxels. The default
``fill = 0.75`` is 24 of 32 voxels, the extent of ModelNet's 30^3 grids padded to 32^3
(3DShapeNets), so shapes from every source look alike to a model. :class:`VoxelizeOptions`
holds the choices a shape reader makes (resolution, fill, closing, solid fill, source
orientation).

Occupancy rules:

* **points**: a voxel is occupied when a point lies in it;
* **surfaces** (meshes): a voxel is occupied when the surface passes through it (faces are
  subdivided until every edge is shorter than half a voxel, then points just inside each
  small triangle and a hair behind it -- against its normal, into the solid -- are binned,
  so a face lying exactly on a voxel boundary marks the voxels of the solid it bounds);
* **solid** fill: the enclosed interior of the surface voxels is filled as well
  (:func:`scipy.ndimage.binary_fill_holes`, 6-connected background);
* **rescaling a grid**: enlarging samples the source at each target voxel's centre, so a
  source voxel always covers at least one target voxel; shrinking marks a target voxel when
  any occupied source voxel overlaps it, so thin parts (legs, slats) never vanish.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from shapespace.errors import DataError
from shapespace.geometry.frame import frame_rotation

DEFAULT_FILL = 0.75
# Grids larger than this are refused before anything is allocated: a corrupt header must
# not ask for terabytes.
MAX_RESOLUTION = 1024
# The largest grid R a shape is turned into. Every shape is held as a dense R^3 grid (R^3
# bytes as uint8, 4 R^3 as float32 in models and renderers) and data sets hold hundreds to
# thousands of shapes: 256^3 floats are 64 MiB per shape; 1000^3 bytes would be 0.9 GiB.
MAX_GRID_RESOLUTION = 256
GRID_MEMORY_REASON = (
    f"each shape is a dense R^3 grid in memory ({MAX_GRID_RESOLUTION}^3 floats = "
    f"{4 * MAX_GRID_RESOLUTION**3 // 2**20} MiB per shape)"
)
# Overlaps shorter than this (in target voxels) do not count: boundaries that merely touch
# because of floating-point rounding must not mark a neighbour.
_OVERLAP_EPS = 1e-6


def check_grid_resolution(resolution: int, minimum: int = 2, parameter: str = "resolution") -> int:
    """Check a target grid size R: an integer in ``[minimum, MAX_GRID_RESOLUTION]``.

    Raises:
        DataError: naming ``parameter``, with the memory reason for the upper bound.
    """
    if isinstance(resolution, bool) or not isinstance(resolution, (int, np.integer)) or resolution < minimum:
        raise DataError(f"`{parameter}` must be an integer >= {minimum}, got {resolution!r}")
    if resolution > MAX_GRID_RESOLUTION:
        raise DataError(f"`{parameter}` must be at most {MAX_GRID_RESOLUTION}, got {resolution}: {GRID_MEMORY_REASON}")
    return int(resolution)


def _check_resolution(resolution: int) -> int:
    if isinstance(resolution, float) and resolution.is_integer():
        resolution = int(resolution)  # 32.0 from a computation
    return check_grid_resolution(resolution)


def check_fill(fill: float) -> float:
    if not 0.0 < fill <= 1.0:
        raise DataError(f"fill must be in (0, 1], got {fill!r}")
    return float(fill)


def check_points(points: np.ndarray) -> np.ndarray:
    """Check a point set: FloatArray of shape (N, 3) with N > 0 and finite coordinates.

    Returns:
        The points as FloatArray of shape (N, 3), float64.

    Raises:
        DataError: for another shape, no points, or NaN or infinite coordinates.
    """
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 3:
        raise DataError(f"expected points of shape (N, 3), got {points.shape}")
    if len(points) == 0:
        raise DataError("the point cloud has no points")
    if not np.isfinite(points).all():
        bad = int((~np.isfinite(points)).any(axis=1).sum())
        raise DataError(f"{bad} of {len(points)} points have NaN or infinite coordinates")
    return points


@dataclass(frozen=True)
class VoxelizeOptions:
    """How a shape becomes a canonical grid: size, normalisation and source orientation.

    Attributes:
        resolution: grid size R of the result.
        fill: the longest side of the normalised shape spans ``fill * R`` voxels.
        solid: fill enclosed interiors (default per format: meshes yes, point clouds no).
        close: closing iterations for point clouds (default per format: 1).
        up, front: the source's up axis and facing direction such as ``"+z"`` / ``"-y"``;
            ``None`` uses the format's documented default.
        align: turn each shape about the up axis so that its back is at high axis 0
            (:func:`facing_turns`), for sources whose models do not all face one way.
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
        check_grid_resolution(self.resolution)
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

    def replace(self, **changes) -> VoxelizeOptions:
        return dataclasses.replace(self, **changes)


def normalizing_transform(points: np.ndarray, resolution: int, fill: float = DEFAULT_FILL) -> tuple[np.ndarray, float]:
    """The offset and scale that centre ``points`` in the grid with the longest side at ``fill * R``.

    Args:
        points: FloatArray of shape (N, 3), canonical frame, any units.

    Returns:
        ``(offset, scale)``: voxel coordinates are ``points * scale + offset`` (FloatArray of shape (3,), float).

    Raises:
        DataError: when a coordinate is not finite or all points coincide.
    """
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 3 or len(points) == 0:
        raise DataError(f"expected points of shape (N, 3) with N > 0, got {points.shape}")
    if not np.isfinite(points).all():
        bad = int((~np.isfinite(points)).any(axis=1).sum())
        raise DataError(f"{bad} of {len(points)} points have NaN or infinite coordinates")
    low, high = points.min(axis=0), points.max(axis=0)
    extent = float((high - low).max())
    if not extent > 0:
        raise DataError("all points coincide: the shape has no extent")
    scale = check_fill(fill) * resolution / extent
    offset = resolution / 2 - (low + high) / 2 * scale
    return offset, scale


def _bin(coords: np.ndarray, resolution: int) -> np.ndarray:
    """Voxel indices of points in voxel coordinates (FloatArray (N, 3) -> IntArray (N, 3)).

    Voxel ``i`` covers ``[i, i + 1)``, except that points on the top faces of the shape's
    bounding box fall into the last voxel inside it: a shape normalised to span exactly
    ``n`` voxels then occupies exactly ``n``, not ``n + 1``. The 1e-9 tolerance absorbs
    rounding in the normalisation.
    """
    index = np.floor(coords + 1e-9).astype(np.int64)
    low = np.floor(coords.min(axis=0) + 1e-9).astype(np.int64)
    high = np.maximum(np.ceil(coords.max(axis=0) - 1e-9).astype(np.int64) - 1, low)
    np.clip(index, np.maximum(low, 0), np.minimum(high, resolution - 1), out=index)
    return index


def points_to_voxels(
    points: np.ndarray, resolution: int, fill: float = DEFAULT_FILL, close: int = 0, solid: bool = False
) -> np.ndarray:
    """Voxelise a point set (canonical frame) at ``resolution``.

    Args:
        points: FloatArray of shape (N, 3).
        resolution: grid size R.
        fill: the longest side spans ``fill * R`` voxels.
        close: iterations of morphological closing that bridge gaps between sparse
            samples of a surface (0 keeps exactly the voxels that hold points).
        solid: fill the enclosed interior after closing.

    Returns:
        BoolArray of shape (R, R, R).
    """
    resolution = _check_resolution(resolution)
    offset, scale = normalizing_transform(points, resolution, fill)
    grid = np.zeros((resolution,) * 3, dtype=bool)
    index = _bin(np.asarray(points, dtype=np.float64) * scale + offset, resolution)
    grid[index[:, 0], index[:, 1], index[:, 2]] = True
    return finish_shell(grid, close=close, solid=solid)


def finish_shell(grid: np.ndarray, close: int = 0, solid: bool = False) -> np.ndarray:
    """Optionally close gaps in a voxel shell (``close`` iterations) and fill its interior (``solid``)."""
    from scipy import ndimage

    if int(close) != close or close < 0:
        raise DataError(f"close must be a non-negative integer, got {close!r}")
    if close:
        # Pad so that closing near the border behaves as if the grid went on empty. The
        # full 3x3x3 neighbourhood bridges a one-voxel hole in a one-voxel wall, which the
        # default 6-connected cross cannot.
        padded = np.pad(grid, close)
        padded = ndimage.binary_closing(padded, structure=np.ones((3, 3, 3), dtype=bool), iterations=int(close))
        grid = padded[(slice(close, -close),) * 3]
    if solid:
        grid = ndimage.binary_fill_holes(grid)
    return np.ascontiguousarray(grid, dtype=bool)


def mesh_to_voxels(
    vertices: np.ndarray, faces: np.ndarray, resolution: int, fill: float = DEFAULT_FILL, solid: bool = True
) -> np.ndarray:
    """Voxelise a triangle mesh (canonical frame) at ``resolution``.

    Args:
        vertices: FloatArray of shape (V, 3).
        faces: IntArray of shape (F, 3), indices into ``vertices``.
        solid: fill the enclosed interior; otherwise only the voxels the surface crosses.

    Returns:
        BoolArray of shape (R, R, R).

    Raises:
        DataError: for a mesh without faces, with out-of-range indices, non-finite or
            coincident vertices, or zero surface area.
    """
    from trimesh import remesh, triangles

    resolution = _check_resolution(resolution)
    vertices = np.asarray(vertices, dtype=np.float64)
    faces = np.asarray(faces)
    if faces.ndim != 2 or faces.shape[1] != 3 or len(faces) == 0:
        raise DataError(f"the mesh has no triangles (faces of shape {faces.shape})")
    if faces.min() < 0 or faces.max() >= len(vertices):
        raise DataError(f"face indices must lie in [0, {len(vertices)}), got [{faces.min()}, {faces.max()}]")
    used = vertices[np.unique(faces)]
    offset, scale = normalizing_transform(used, resolution, fill)
    local = vertices * scale + offset
    if not float(triangles.area(local[faces]).sum()) > 0:
        raise DataError("the mesh is degenerate: its triangles have zero area")
    # Half a voxel per edge: every voxel a triangle crosses then holds one of its sample
    # points, up to a sliver at a corner, which the 0.5 margin makes rare.
    fine_vertices, fine_faces = remesh.subdivide_to_size(local, faces, max_edge=0.5, max_iter=64)
    index = _bin(_surface_samples(np.asarray(fine_vertices), np.asarray(fine_faces)), resolution)
    grid = np.zeros((resolution,) * 3, dtype=bool)
    grid[index[:, 0], index[:, 1], index[:, 2]] = True
    return finish_shell(grid, solid=solid)


# How far (in voxels) sample points sit inside their triangle and behind its face.
_SURFACE_INSET = 1e-3


def _surface_samples(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Points on small triangles, nudged off their corners and edges into the solid.

    Args:
        vertices: FloatArray of shape (V, 3), voxel coordinates.
        faces: IntArray of shape (F, 3).

    Returns:
        FloatArray of shape (4 * F', 3): each non-degenerate triangle's centroid and its three
        corners moved towards the centroid, all moved against the face normal. Only vertices
        that faces use are sampled, and a face exactly on a voxel boundary falls into the
        voxel on the solid's side (for consistently oriented meshes).
    """
    corners = vertices[faces]  # (F, 3, 3)
    centroids = corners.mean(axis=1)  # (F, 3)
    normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    lengths = np.linalg.norm(normals, axis=1)
    keep = lengths > 1e-12
    corners, centroids, normals = corners[keep], centroids[keep], normals[keep] / lengths[keep, None]
    towards = centroids[:, None] - corners  # (F, 3, 3)
    distance = np.linalg.norm(towards, axis=2, keepdims=True)
    inset = corners + _SURFACE_INSET * towards / np.maximum(distance, 1e-12)
    points = np.concatenate([inset, centroids[:, None]], axis=1) - _SURFACE_INSET * normals[:, None]
    return points.reshape(-1, 3)


def _overlap_matrix(source_size: int, target_size: int, scale: float, offset: float) -> np.ndarray:
    """BoolArray (target, source): which source voxels a target voxel takes its value from.

    Source voxel ``s`` covers target coordinates ``[s * scale + offset, (s + 1) * scale + offset)``.
    """
    starts = np.arange(source_size) * scale + offset  # (S,)
    ends = starts + scale
    target = np.arange(target_size, dtype=np.float64)[:, None]  # (T, 1)
    if scale >= 1:
        centres = target + 0.5
        return (starts[None] <= centres) & (centres < ends[None])
    return (np.minimum(ends[None], target + 1) - np.maximum(starts[None], target)) > _OVERLAP_EPS


def _map_grid(grid: np.ndarray, resolution: int, scales: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    mapped = np.asarray(grid, dtype=np.float32)
    for axis in range(3):
        weights = _overlap_matrix(mapped.shape[axis], resolution, float(scales[axis]), float(offsets[axis])).astype(np.float32)
        mapped = np.moveaxis(np.tensordot(weights, np.moveaxis(mapped, axis, 0), axes=1), 0, axis)
    return mapped > 0


def fit_grid(grid: np.ndarray, resolution: int, fill: float = DEFAULT_FILL) -> np.ndarray:
    """Crop a grid to its occupied bounding box and normalise it like every other source.

    Args:
        grid: Array of shape (D, H, W), canonical frame, nonzero = occupied.

    Returns:
        BoolArray of shape (R, R, R), centred, longest side ``fill * R`` voxels.

    Raises:
        DataError: when the grid is empty.
    """
    resolution = _check_resolution(resolution)
    occupied = np.argwhere(np.asarray(grid) != 0)
    if len(occupied) == 0:
        raise DataError("the voxel grid is empty")
    low, high = occupied.min(axis=0), occupied.max(axis=0) + 1
    cropped = np.asarray(grid)[low[0] : high[0], low[1] : high[1], low[2] : high[2]] != 0
    sizes = np.asarray(cropped.shape, dtype=np.float64)
    scale = check_fill(fill) * resolution / sizes.max()
    offsets = resolution / 2 - sizes * scale / 2
    return _map_grid(cropped, resolution, np.full(3, scale), offsets)


def resample_grid(grid: np.ndarray, resolution: int) -> np.ndarray:
    """Rescale a cubic grid of any size to ``resolution`` (the whole grid, no cropping).

    Returns:
        BoolArray of shape (R, R, R).
    """
    resolution = _check_resolution(resolution)
    grid = np.asarray(grid) != 0
    if grid.shape[0] == resolution:
        return np.ascontiguousarray(grid)
    scale = resolution / grid.shape[0]
    return _map_grid(grid, resolution, np.full(3, scale), np.zeros(3))


def facing_turns(grid: np.ndarray) -> int:
    """Quarter turns about the up axis that put a shape's back (its taller half) at high axis 0.

    Chairs, sofas and beds have their backrest or headboard at the back, so the upper half
    of the shape leans backwards. This measures the horizontal offset of the voxels in the
    upper half of the shape from the centre of its footprint and returns ``k`` such that
    ``np.rot90(grid, k, axes=(0, 1))`` puts that offset along +axis 0. Shapes with no
    clear lean (tables, stools) return 0.
    """
    occupied = np.argwhere(np.asarray(grid) != 0)
    if len(occupied) == 0:
        return 0
    heights = occupied[:, 2]
    middle = (heights.min() + heights.max()) / 2
    upper = occupied[heights > middle]
    if len(upper) == 0:
        return 0
    centre = (occupied[:, :2].min(axis=0) + occupied[:, :2].max(axis=0)) / 2
    lean = upper[:, :2].mean(axis=0) - centre  # (axis 0, axis 1)
    if np.abs(lean).max() < 0.5:  # less than half a voxel: symmetric
        return 0
    # np.rot90(.., k, axes=(0, 1)) turns -axis 1 (k=1), -axis 0 (k=2) or +axis 1 (k=3) into +axis 0.
    directions = {0: (1, 0), 1: (0, -1), 2: (-1, 0), 3: (0, 1)}  # lean before the turn, per k
    return max(directions, key=lambda k: lean[0] * directions[k][0] + lean[1] * directions[k][1])


def align_facing(grid: np.ndarray) -> np.ndarray:
    """Turn a shape about the up axis so that its back is at high axis 0 (see :func:`facing_turns`)."""
    return np.ascontiguousarray(np.rot90(grid, facing_turns(grid), axes=(0, 1)))
