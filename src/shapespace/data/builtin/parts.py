"""Furniture as solid parts -- axis-aligned boxes and vertical cylinders in metres -- and
their rasterisation into a canonical voxel grid.

Normalisation: the union of a shape's parts has a bounding box that is centred in the
grid on all three axes and scaled, keeping the aspect ratio, so that its longest side spans
``fill`` of the grid. The default ``fill = 0.75``
(:data:`shapespace.geometry.voxelize.DEFAULT_FILL`) is 24 of 32 voxels, the extent of
ModelNet's 30^3 grids padded to 32^3 (3DShapeNets), so built-in and real data look alike.
Voxel ``(i, j, k)`` is occupied when its centre ``((i + 0.5) / R, (j + 0.5) / R, (k + 0.5) / R)``
lies inside (or on the surface of) a part. A part thinner than one voxel along an axis at
the target resolution is thickened to exactly one voxel along that axis, keeping its face
farther from the grid centre and growing inwards (a thin round leg becomes a square post).
So legs, slats, boards and back panels never vanish at low resolution, parts that touch
stay face-connected, and the bounding box never grows; an inner face can move inwards by
less than one voxel.

Symmetry: parts made in mirrored pairs (:meth:`Parts.box_pair`, :meth:`Parts.cylinder_pair`,
:meth:`Parts.row`) have exactly negated ``y`` bounds, and rasterisation uses only
negation-symmetric arithmetic, so such a shape's voxel grid equals its flip along axis 1
bit for bit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

# A disk of this radius (in voxels) contains at least one voxel centre wherever its centre
# lies: no point of the plane is farther than sqrt(0.5) from a lattice point.
_MIN_DISK_RADIUS = math.sqrt(0.5)


@dataclass
class Parts:
    """Solid parts of one piece of furniture, in metres.

    ``x`` runs along axis 0 (the front faces -x), ``y`` along axis 1 (left/right, the
    mid plane is ``y = 0``) and ``z`` along axis 2 (up, the floor is ``z = 0``).

    Attributes:
        boxes: ``(x0, x1, y0, y1, z0, z1)`` per axis-aligned box.
        cylinders: ``(x, y, radius, z0, z1)`` per vertical cylinder.
    """

    boxes: list[tuple[float, float, float, float, float, float]] = field(default_factory=list)
    cylinders: list[tuple[float, float, float, float, float]] = field(default_factory=list)

    def centred_box(self, x0: float, x1: float, half_width: float, z0: float, z1: float) -> None:
        """A box spanning ``y`` in ``[-half_width, half_width]``."""
        self.boxes.append((x0, x1, -half_width, half_width, z0, z1))

    def box_pair(self, x0: float, x1: float, y0: float, y1: float, z0: float, z1: float) -> None:
        """A box and its mirror image across ``y = 0``.

        The mirror's bounds are exact negations, which keeps the voxel grid exactly symmetric.
        """
        self.boxes.append((x0, x1, y0, y1, z0, z1))
        self.boxes.append((x0, x1, -y1, -y0, z0, z1))

    def cylinder(self, x: float, y: float, radius: float, z0: float, z1: float) -> None:
        self.cylinders.append((x, y, radius, z0, z1))

    def cylinder_pair(self, x: float, y: float, radius: float, z0: float, z1: float) -> None:
        """A vertical cylinder and its mirror image across ``y = 0``."""
        self.cylinders.append((x, y, radius, z0, z1))
        self.cylinders.append((x, -y, radius, z0, z1))

    def row(self, x0: float, x1: float, count: int, pitch: float, half_width: float, z0: float, z1: float) -> None:
        """``count`` equal boxes side by side along ``y``, centred on ``y = 0``, ``pitch`` apart."""
        for i in range(count):
            # (i - (count - 1) / 2) is exact in floating point, so slot i mirrors slot count-1-i exactly.
            centre = (i - (count - 1) / 2) * pitch
            self.boxes.append((x0, x1, centre - half_width, centre + half_width, z0, z1))


def _thicken(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Widen intervals shorter than one voxel to exactly one voxel, towards the grid centre.

    Bounds are in voxel units from the grid centre. Keeping the outer end fixed and growing
    inwards keeps a thin part that is flush with the outer face of a thicker one (a back
    post at the rear edge of a seat, a leg at a table corner) inside that part's voxels, so
    the two stay connected; growing about the middle could put it one voxel outside. It also
    never grows the bounding box. Intervals centred on the grid centre grow symmetrically.
    Mirrored intervals stay exact mirrors (only negation-symmetric operations are used).
    """
    thin = hi - lo < 1.0
    middle = (lo + hi) / 2
    new_lo = np.where(middle > 0, hi - 1.0, np.where(middle < 0, lo, middle - 0.5))
    new_hi = np.where(middle > 0, hi, np.where(middle < 0, lo + 1.0, middle + 0.5))
    return np.where(thin, new_lo, lo), np.where(thin, new_hi, hi)


def rasterise(parts: Parts, resolution: int, fill: float, out: np.ndarray) -> None:
    """Set to 1 the voxels of ``out`` whose centres lie in a part (see the module docstring).

    Args:
        parts: the shape's parts in metres.
        resolution: grid size R.
        fill: fraction of the grid spanned by the longest side of the bounding box.
        out: bool or uint8 array of shape (R, R, R), written in place.
    """
    boxes = np.asarray(parts.boxes, dtype=np.float64).reshape(-1, 3, 2)  # (B, axis, lo/hi)
    cylinders = np.asarray(parts.cylinders, dtype=np.float64).reshape(-1, 5)  # (C, x/y/r/z0/z1)
    x, y, radius = cylinders[:, 0], cylinders[:, 1], cylinders[:, 2]
    cylinder_boxes = np.stack(
        [np.stack([x - radius, x + radius], 1), np.stack([y - radius, y + radius], 1), cylinders[:, 3:5]], 1
    )  # (C, 3, 2)
    extents = np.concatenate([boxes, cylinder_boxes])
    lower, upper = extents[:, :, 0].min(0), extents[:, :, 1].max(0)
    # The mid point of mirrored bounds is exactly 0 on axis 1, which keeps the grid symmetric.
    centre = (lower + upper) / 2
    scale = fill * resolution / float((upper - lower).max())

    # Voxel centres measured from the grid centre in voxel units: -(R-1)/2 ... (R-1)/2,
    # exact and symmetric, so comparisons with mirrored bounds give mirrored answers.
    centres = np.arange(resolution) - (resolution - 1) / 2

    voxel_boxes = (boxes - centre[:, None]) * scale  # (B, 3, 2)
    cx = (x - centre[0]) * scale
    cy = (y - centre[1]) * scale
    radius_voxels = radius * scale
    cz = (cylinders[:, 3:5] - centre[2]) * scale  # (C, 2)
    # A cylinder too thin to be sure of holding a voxel centre is drawn as a square post.
    thin = radius_voxels < _MIN_DISK_RADIUS
    posts = np.stack(
        [
            np.stack([cx[thin] - radius_voxels[thin], cx[thin] + radius_voxels[thin]], 1),
            np.stack([cy[thin] - radius_voxels[thin], cy[thin] + radius_voxels[thin]], 1),
            cz[thin],
        ],
        1,
    )
    voxel_boxes = np.concatenate([voxel_boxes, posts])
    lo, hi = _thicken(voxel_boxes[..., 0], voxel_boxes[..., 1])
    starts = np.searchsorted(centres, lo, side="left").tolist()
    stops = np.searchsorted(centres, hi, side="right").tolist()
    for (i0, j0, k0), (i1, j1, k1) in zip(starts, stops):
        out[i0:i1, j0:j1, k0:k1] = 1

    disks = ~thin
    if disks.any():
        z_lo, z_hi = _thicken(cz[disks, 0], cz[disks, 1])
        dx, dy, dr = cx[disks], cy[disks], radius_voxels[disks]
        i_starts = np.searchsorted(centres, dx - dr, side="left").tolist()
        i_stops = np.searchsorted(centres, dx + dr, side="right").tolist()
        j_starts = np.searchsorted(centres, dy - dr, side="left").tolist()
        j_stops = np.searchsorted(centres, dy + dr, side="right").tolist()
        k_starts = np.searchsorted(centres, z_lo, side="left").tolist()
        k_stops = np.searchsorted(centres, z_hi, side="right").tolist()
        for n in range(len(dx)):
            i0, i1, j0, j1 = i_starts[n], i_stops[n], j_starts[n], j_stops[n]
            disk = (centres[i0:i1, None] - dx[n]) ** 2 + (centres[None, j0:j1] - dy[n]) ** 2 <= dr[n] ** 2
            block = out[i0:i1, j0:j1, k_starts[n] : k_stops[n]]
            block |= disk[:, :, None]
