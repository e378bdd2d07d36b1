"""Built-in procedural furniture: the six IKEA classes as parametric voxel shapes.

The project's embedded default training set (``--data builtin:chair``), a test fixture and
a source of shapes without downloads. Each class is a small generator of parts -- axis-aligned
boxes and vertical cylinders in metres -- whose sizes, counts and styles are drawn at random:

* **chair**: four square or round legs (optional H stretcher), a pedestal on a disc or a
  cross with castors, solid side panels, or sled runners; a seat of varied width, depth,
  height and thickness; a solid, slatted, framed (with a hole) or ladder backrest; optional
  armrests on posts or panels.
* **table**: a rectangular, square or round top of varied size and thickness at coffee or
  dining height; four legs (optional apron, lower shelf or stretcher), a pedestal, or two
  panel ends (optional shelf or beam).
* **desk**: a top at desk height on two drawer pedestals, four legs or two panel ends; a
  drawer box hung under the middle of the top, a modesty panel at the back, a hutch.
* **bed**: a frame box on legs or on the floor, a mattress, a solid, padded or slatted
  headboard at the back, optional footboard and pillows; single to king size.
* **sofa**: one to three seat cushions on a base block, a backrest along the back with
  optional back cushions, box or thin armrests or none, optional feet.
* **bookcase**: two sides, top and bottom boards, 2-6 shelves, optional plinth, back
  panel, middle divider and doors over the lowest compartment.

Frame (see :mod:`shapespace.geometry.frame`): axis 2 is up with the floor at low indices;
the front faces -axis 0, so backrests, headboards and back panels sit at high axis-0
indices; every shape is exactly mirror-symmetric about the mid plane of axis 1 (parts come
in mirrored pairs, computed so that the voxel grid equals its flip along axis 1 bit for bit).
A desk's drawers therefore sit under both ends or under the middle, never under one end.

Normalisation: the union of a shape's parts has a bounding box that is centred in the
grid on all three axes and scaled, keeping the aspect ratio, so that its longest side spans
``fill`` of the grid. The default ``fill = 0.75`` is 24 of 32 voxels, the extent of
ModelNet's 30^3 grids padded to 32^3 (3DShapeNets), so built-in and real data look alike.
Voxel ``(i, j, k)`` is occupied when its centre ``((i + 0.5) / R, (j + 0.5) / R, (k + 0.5) / R)``
lies inside (or on the surface of) a part. A part thinner than one voxel along an axis at
the target resolution is thickened to exactly one voxel along that axis, keeping its face
farther from the grid centre and growing inwards (a thin round leg becomes a square post).
So legs, slats, boards and back panels never vanish at low resolution, parts that touch
stay face-connected (every built-in shape is one 6-connected piece down to 8^3), and the
bounding box never grows; an inner face can move inwards by less than one voxel.

Determinism and splits: shape number ``index`` of a class depends only on
``(seed, class, index)`` -- its random generator is seeded with
``np.random.SeedSequence([seed, class_id, index])`` -- and not on how many shapes are
requested at once. Disjoint index ranges give disjoint sets: training uses ``start=0`` and
a held-out set starts far beyond, e.g. ``start=1_000_000`` (see
:mod:`shapespace.data.sources`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from shapespace.errors import DataError
from shapespace.geometry.voxelize import DEFAULT_FILL

CLASSES: tuple[str, ...] = ("bed", "bookcase", "chair", "desk", "sofa", "table")
SPEC_PREFIX = "builtin:"
MIN_RESOLUTION = 8

# A disk of this radius (in voxels) contains at least one voxel centre wherever its centre
# lies: no point of the plane is farther than sqrt(0.5) from a lattice point.
_MIN_DISK_RADIUS = math.sqrt(0.5)


@dataclass
class _Parts:
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


def _choose(rng: np.random.Generator, options: Sequence[str], weights: Sequence[float]) -> str:
    """One of ``options`` with probabilities proportional to ``weights``."""
    u = rng.random() * sum(weights)
    for option, weight in zip(options, weights):
        if u < weight:
            return option
        u -= weight
    # Only reached through rounding when u lands on the total: never pick a zero-weight option.
    return [option for option, weight in zip(options, weights) if weight > 0][-1]


def _uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(rng.uniform(low, high))


# ---------------------------------------------------------------------------------------
# Class generators. Sizes are in metres and follow common furniture dimensions (e.g. seat
# heights 0.38-0.52 m, dining tables 0.68-0.78 m high, desks 0.72-0.78 m high).
# ---------------------------------------------------------------------------------------


def _chair(rng: np.random.Generator) -> _Parts:
    parts = _Parts()
    seat_width = _uniform(rng, 0.38, 0.60)
    seat_depth = _uniform(rng, 0.36, 0.55)
    seat_top = _uniform(rng, 0.38, 0.52)
    seat_bottom = seat_top - _uniform(rng, 0.03, 0.10)
    hx, hy = seat_depth / 2, seat_width / 2
    parts.centred_box(-hx, hx, hy, seat_bottom, seat_top)

    # Posts of the backrest and armrests share the legs' thickness, as on most chairs.
    post = _uniform(rng, 0.025, 0.06)
    base = _choose(rng, ("legs", "pedestal", "panels", "sled"), (0.55, 0.2, 0.13, 0.12))
    panel_arms = False
    if base == "legs":
        inset = _uniform(rng, 0.0, 0.04)
        x_out, y_out = hx - inset, hy - inset
        _four_legs(rng, parts, x_out, y_out, post, seat_bottom)
        if rng.random() < 0.35:
            _h_stretcher(parts, x_out, y_out, post * _uniform(rng, 0.5, 0.8), _uniform(rng, 0.06, 0.4 * seat_bottom))
    elif base == "pedestal":
        foot_radius = _uniform(rng, 0.18, 0.27)
        foot_thickness = _uniform(rng, 0.02, 0.05)
        if rng.random() < 0.4:
            foot_top = foot_thickness
            parts.cylinder(0.0, 0.0, foot_radius, 0.0, foot_top)
        else:
            # A four-armed cross on castors (an office chair seen axis-aligned).
            castor = _uniform(rng, 0.0, 0.06) if rng.random() < 0.6 else 0.0
            arm = _uniform(rng, 0.035, 0.06)
            foot_top = castor + foot_thickness
            parts.centred_box(-foot_radius, foot_radius, arm / 2, castor, foot_top)
            parts.centred_box(-arm / 2, arm / 2, foot_radius, castor, foot_top)
            if castor > 0.0:
                parts.centred_box(-foot_radius, -foot_radius + arm, arm / 2, 0.0, castor)
                parts.centred_box(foot_radius - arm, foot_radius, arm / 2, 0.0, castor)
                parts.box_pair(-arm / 2, arm / 2, foot_radius - arm, foot_radius, 0.0, castor)
        parts.cylinder(0.0, 0.0, _uniform(rng, 0.022, 0.045), foot_top, seat_bottom)
        if rng.random() < 0.5:
            # The tilt mechanism under the seat.
            half = _uniform(rng, 0.06, 0.11)
            parts.centred_box(-half, half, half, seat_bottom - _uniform(rng, 0.03, 0.06), seat_bottom)
    elif base == "panels":
        thickness = _uniform(rng, 0.02, 0.05)
        inset = _uniform(rng, 0.0, 0.05)
        panel_arms = rng.random() < 0.4
        top = seat_top + _uniform(rng, 0.16, 0.24) if panel_arms else seat_bottom
        parts.box_pair(-hx + inset, hx - inset, hy - thickness, hy, 0.0, top)
    else:
        # Sled: on each side a floor runner and front and back uprights, a closed loop with the seat.
        rod = _uniform(rng, 0.02, 0.04)
        parts.box_pair(-hx, hx, hy - rod, hy, 0.0, rod)
        parts.box_pair(-hx, -hx + rod, hy - rod, hy, 0.0, seat_bottom)
        parts.box_pair(hx - rod, hx, hy - rod, hy, 0.0, seat_bottom)

    back_height = _uniform(rng, 0.25, 0.60)
    back_top = seat_top + back_height
    bx0, bx1 = hx - _uniform(rng, 0.02, 0.07), hx
    style = _choose(rng, ("panel", "slats", "frame", "ladder"), (0.4, 0.2, 0.2, 0.2))
    if style == "panel":
        gap = _uniform(rng, 0.04, 0.12) if rng.random() < 0.3 else 0.0
        parts.centred_box(bx0, bx1, hy, seat_top + gap, back_top)
        if gap > 0.0:
            parts.box_pair(bx0, bx1, hy - post, hy, seat_top, back_top)
    else:
        parts.box_pair(bx0, bx1, hy - post, hy, seat_top, back_top)
        rail = min(_uniform(rng, 0.04, 0.10), back_height / 4)
        parts.centred_box(bx0, bx1, hy, back_top - rail, back_top)
        inner = hy - post
        if style == "slats":
            count = int(rng.integers(2, 6))
            pitch = 2 * inner / count
            parts.row(bx0, bx1, count, pitch, pitch / 2 * _uniform(rng, 0.3, 0.6), seat_top, back_top - rail)
        elif style == "frame":
            lift = _uniform(rng, 0.03, 0.12)
            parts.centred_box(bx0, bx1, hy, seat_top + lift, seat_top + lift + rail)
        else:
            count = int(rng.integers(2, 5))
            lowest = seat_top + 0.3 * back_height
            step = (back_top - 2 * rail - lowest) / max(count - 1, 1)
            for n in range(count):
                z = lowest + n * step
                parts.centred_box(bx0, bx1, hy, z, z + rail * 0.8)

    if not panel_arms and rng.random() < 0.35:
        arm_top = seat_top + _uniform(rng, 0.16, min(0.28, back_height - 0.02))
        arm_width = _uniform(rng, 0.03, 0.08)
        front = -hx + _uniform(rng, 0.0, 0.08)
        parts.box_pair(front, hx, hy - arm_width, hy, arm_top - _uniform(rng, 0.025, 0.05), arm_top)
        if rng.random() < 0.3:
            parts.box_pair(front, hx, hy - arm_width, hy, seat_top, arm_top)
        else:
            parts.box_pair(front, front + post, hy - min(post, arm_width), hy, seat_top, arm_top)
    return parts


def _four_legs(
    rng: np.random.Generator, parts: _Parts, x_out: float, y_out: float, thickness: float, top: float
) -> None:
    """Four square or round legs whose outer faces touch ``x = +-x_out``, ``y = +-y_out``."""
    if rng.random() < 0.35:
        radius = thickness / 2
        for x in (-x_out + radius, x_out - radius):
            parts.cylinder_pair(x, y_out - radius, radius, 0.0, top)
    else:
        for x0 in (-x_out, x_out - thickness):
            parts.box_pair(x0, x0 + thickness, y_out - thickness, y_out, 0.0, top)


def _h_stretcher(parts: _Parts, x_out: float, y_out: float, rail: float, z: float) -> None:
    """An H stretcher between four legs: a rail along each side and a cross rail between them.

    The side rails are flush with the legs' outer faces and the cross rail spans the full
    width, so the rails share voxels with the legs and each other at any resolution.
    """
    parts.box_pair(-x_out, x_out, y_out - rail, y_out, z, z + rail)
    parts.centred_box(-rail / 2, rail / 2, y_out, z, z + rail)


def _table(rng: np.random.Generator) -> _Parts:
    parts = _Parts()
    top_shape = _choose(rng, ("rect", "square", "round"), (0.55, 0.2, 0.25))
    if top_shape == "rect":
        width = _uniform(rng, 0.9, 2.0)
        depth = _uniform(rng, 0.55, min(1.0, 0.8 * width))
    else:
        width = depth = _uniform(rng, 0.6, 1.3)
    hx, hy = depth / 2, width / 2
    coffee = rng.random() < 0.35
    # Tables are lower than they are wide: a small bistro table loses some height.
    height = min(_uniform(rng, 0.35, 0.5) if coffee else _uniform(rng, 0.68, 0.78), 0.9 * width)
    top_bottom = height - _uniform(rng, 0.02, 0.06)
    if top_shape == "round":
        parts.cylinder(0.0, 0.0, hx, top_bottom, height)
    else:
        parts.centred_box(-hx, hx, hy, top_bottom, height)

    base_weights = {"rect": (0.65, 0.0, 0.35), "square": (0.6, 0.25, 0.15), "round": (0.45, 0.55, 0.0)}
    base = _choose(rng, ("legs", "pedestal", "panels"), base_weights[top_shape])
    if base == "legs":
        leg = _uniform(rng, 0.035, 0.08)
        if top_shape == "round":
            # Legs on a square inscribed in the round top.
            x_out = y_out = hx * _uniform(rng, 0.45, 0.68)
        else:
            inset = _uniform(rng, 0.0, 0.12)
            x_out, y_out = hx - inset, hy - inset
        _four_legs(rng, parts, x_out, y_out, leg, top_bottom)
        if top_shape != "round" and rng.random() < 0.5:
            apron_bottom = top_bottom - _uniform(rng, 0.05, 0.12)
            apron = _uniform(rng, 0.015, 0.03)
            parts.centred_box(-x_out, -x_out + apron, y_out, apron_bottom, top_bottom)
            parts.centred_box(x_out - apron, x_out, y_out, apron_bottom, top_bottom)
            parts.box_pair(-x_out, x_out, y_out - apron, y_out, apron_bottom, top_bottom)
        lower = _choose(rng, ("none", "shelf", "stretcher"), (0.55, 0.25, 0.2))
        z = _uniform(rng, 0.06, 0.3 * height)
        if lower == "shelf":
            parts.centred_box(-x_out, x_out, y_out, z, z + _uniform(rng, 0.02, 0.04))
        elif lower == "stretcher":
            _h_stretcher(parts, x_out, y_out, leg * _uniform(rng, 0.5, 0.8), z)
    elif base == "pedestal":
        foot_radius = min(hx, hy) * _uniform(rng, 0.45, 0.8)
        foot_top = _uniform(rng, 0.02, 0.06)
        if rng.random() < 0.6:
            parts.cylinder(0.0, 0.0, foot_radius, 0.0, foot_top)
        else:
            arm = _uniform(rng, 0.04, 0.08)
            parts.centred_box(-foot_radius, foot_radius, arm / 2, 0.0, foot_top)
            parts.centred_box(-arm / 2, arm / 2, foot_radius, 0.0, foot_top)
        if rng.random() < 0.7:
            parts.cylinder(0.0, 0.0, _uniform(rng, 0.04, 0.1), foot_top, top_bottom)
        else:
            half = _uniform(rng, 0.03, 0.07)
            parts.centred_box(-half, half, half, foot_top, top_bottom)
    else:
        thickness = _uniform(rng, 0.03, 0.08)
        x_out = hx - _uniform(rng, 0.0, 0.08)
        y_out = hy - _uniform(rng, 0.0, 0.1)
        parts.box_pair(-x_out, x_out, y_out - thickness, y_out, 0.0, top_bottom)
        lower = _choose(rng, ("none", "shelf", "beam"), (0.3, 0.35, 0.35))
        if lower == "shelf":
            z = _uniform(rng, 0.05, 0.3 * height)
            parts.centred_box(-x_out, x_out, y_out, z, z + _uniform(rng, 0.02, 0.04))
        elif lower == "beam":
            half = _uniform(rng, 0.02, 0.05)
            z = _uniform(rng, 0.1, 0.5 * top_bottom)
            parts.centred_box(-half, half, y_out, z, z + _uniform(rng, 0.05, 0.12))
    return parts


def _desk(rng: np.random.Generator) -> _Parts:
    parts = _Parts()
    support = _choose(rng, ("pedestals", "legs", "panels"), (0.35, 0.35, 0.3))
    # Two drawer pedestals need a wider top to leave a knee hole of at least 0.55 m.
    width = _uniform(rng, 1.3, 1.8) if support == "pedestals" else _uniform(rng, 1.0, 1.8)
    depth = _uniform(rng, 0.5, 0.8)
    height = _uniform(rng, 0.72, 0.78)
    top_bottom = height - _uniform(rng, 0.025, 0.05)
    hx, hy = depth / 2, width / 2
    parts.centred_box(-hx, hx, hy, top_bottom, height)

    if support == "pedestals":
        pedestal_width = _uniform(rng, 0.33, min(0.5, (width - 0.55) / 2))
        front = -hx + _uniform(rng, 0.0, 0.04)
        y_out = hy - _uniform(rng, 0.0, 0.04)
        plinth = _uniform(rng, 0.02, 0.08) if rng.random() < 0.4 else 0.0
        parts.box_pair(front, hx, y_out - pedestal_width, y_out, plinth, top_bottom)
        if plinth > 0.0:
            parts.box_pair(front + 0.03, hx - 0.02, y_out - pedestal_width, y_out, 0.0, plinth)
        if rng.random() < 0.5:
            # Drawer handles standing proud of the pedestal fronts.
            drawers = int(rng.integers(2, 5))
            drawer_height = (top_bottom - plinth) / drawers
            handle = _uniform(rng, 0.06, 0.12) / 2
            y_mid = y_out - pedestal_width / 2
            for n in range(drawers):
                z = plinth + (n + 0.5) * drawer_height
                parts.box_pair(front - 0.025, front, y_mid - handle, y_mid + handle, z - 0.01, z + 0.01)
        knee, back = y_out - pedestal_width, hx - _uniform(rng, 0.0, 0.06)
    elif support == "legs":
        leg = _uniform(rng, 0.035, 0.07)
        x_out, y_out = hx - _uniform(rng, 0.0, 0.05), hy - _uniform(rng, 0.0, 0.08)
        _four_legs(rng, parts, x_out, y_out, leg, top_bottom)
        knee, back = y_out - leg, x_out
    else:
        thickness = _uniform(rng, 0.025, 0.07)
        x_out, y_out = hx - _uniform(rng, 0.0, 0.05), hy - _uniform(rng, 0.0, 0.08)
        parts.box_pair(-x_out, x_out, y_out - thickness, y_out, 0.0, top_bottom)
        knee, back = y_out - thickness, x_out - _uniform(rng, 0.0, 0.06)

    if support != "pedestals" and rng.random() < 0.5:
        # A drawer box hung under the middle of the top.
        half = _uniform(rng, 0.2, min(0.35, knee))
        parts.centred_box(-hx + 0.03, hx - 0.05, half, top_bottom - _uniform(rng, 0.08, 0.15), top_bottom)
    if rng.random() < 0.5:
        # A modesty panel between the supports, near or flush with their back faces.
        thickness = _uniform(rng, 0.015, 0.03)
        parts.centred_box(back - thickness, back, knee, top_bottom - _uniform(rng, 0.25, 0.45), top_bottom)
    if rng.random() < 0.15:
        # A hutch: two side boards, a shelf and a back panel standing on the back of the top.
        hutch_top = height + _uniform(rng, 0.3, 0.5)
        front = hx - _uniform(rng, 0.2, 0.3)
        board = _uniform(rng, 0.015, 0.03)
        parts.box_pair(front, hx, hy - board, hy, height, hutch_top)
        parts.centred_box(front, hx, hy, hutch_top - board, hutch_top)
        parts.centred_box(hx - board, hx, hy, height, hutch_top)
    return parts


def _bed(rng: np.random.Generator) -> _Parts:
    parts = _Parts()
    # Single (0.9 m) to king size (1.85 m), always longer than wide.
    length = _uniform(rng, 1.9, 2.2)
    width = _uniform(rng, 0.9, 1.85)
    hx, hy = length / 2, width / 2
    leg_height = _uniform(rng, 0.05, 0.22) if rng.random() < 0.7 else 0.0
    frame_top = leg_height + _uniform(rng, 0.12, 0.3)
    mattress_top = frame_top + _uniform(rng, 0.12, 0.25)
    head_thickness = _uniform(rng, 0.03, 0.1)
    head_x = hx - head_thickness
    parts.centred_box(-hx, head_x, hy, leg_height, frame_top)
    inset = _uniform(rng, 0.0, 0.04)
    parts.centred_box(-hx + inset, head_x, hy - inset, frame_top, mattress_top)
    if leg_height > 0.0:
        leg = _uniform(rng, 0.04, 0.08)
        _four_legs(rng, parts, hx, hy, leg, leg_height)

    head_top = _uniform(rng, max(0.8, mattress_top + 0.25), 1.3)
    style = _choose(rng, ("panel", "padded", "slats"), (0.45, 0.25, 0.3))
    if style == "panel":
        parts.centred_box(head_x, hx, hy, leg_height, head_top)
    elif style == "padded":
        # A thick upholstered board in front of the thin one, above the mattress.
        parts.centred_box(head_x, hx, hy, leg_height, head_top)
        pad = _uniform(rng, 0.06, 0.12)
        parts.centred_box(head_x - pad, head_x, hy - _uniform(rng, 0.0, 0.08), mattress_top, head_top - 0.05)
    else:
        post = _uniform(rng, 0.04, 0.08)
        rail = _uniform(rng, 0.04, 0.09)
        parts.box_pair(head_x, hx, hy - post, hy, 0.0, head_top)
        parts.centred_box(head_x, hx, hy, head_top - rail, head_top)
        parts.centred_box(head_x, hx, hy, leg_height, mattress_top)
        count = int(rng.integers(4, 11))
        pitch = 2 * (hy - post) / count
        parts.row(head_x, hx, count, pitch, pitch / 2 * _uniform(rng, 0.35, 0.6), mattress_top, head_top - rail)

    if rng.random() < 0.4:
        foot_thickness = _uniform(rng, 0.03, 0.08)
        foot_top = min(mattress_top + _uniform(rng, 0.0, 0.3), head_top - 0.1)
        parts.centred_box(-hx, -hx + foot_thickness, hy, leg_height, foot_top)
    if rng.random() < 0.5:
        pillow_top = mattress_top + _uniform(rng, 0.08, 0.15)
        pillow_front = head_x - _uniform(rng, 0.3, 0.45)
        if width > 1.3:
            half = _uniform(rng, 0.22, min(0.35, hy / 2 - 0.02))
            centre = hy / 2
            parts.box_pair(pillow_front, head_x, centre - half, centre + half, mattress_top, pillow_top)
        else:
            parts.centred_box(pillow_front, head_x, _uniform(rng, 0.25, hy - 0.08), mattress_top, pillow_top)
    return parts


def _sofa(rng: np.random.Generator) -> _Parts:
    parts = _Parts()
    seats = int(rng.choice(3, p=(0.25, 0.35, 0.4))) + 1
    seat_width = _uniform(rng, 0.5, 0.7)
    inner = seats * seat_width / 2
    depth = _uniform(rng, 0.75, 1.0)
    hx = depth / 2
    feet = _uniform(rng, 0.04, 0.15) if rng.random() < 0.6 else 0.0
    seat_top = _uniform(rng, 0.38, 0.48)
    cushion_bottom = seat_top - _uniform(rng, 0.08, 0.16)
    back_thickness = _uniform(rng, 0.15, 0.3)
    back_x = hx - back_thickness
    back_top = _uniform(rng, 0.7, 0.95)

    arms = _choose(rng, ("box", "thin", "none"), (0.6, 0.25, 0.15))
    arm_width = {"box": _uniform(rng, 0.12, 0.3), "thin": _uniform(rng, 0.05, 0.1), "none": 0.0}[arms]
    outer = inner + arm_width
    parts.centred_box(-hx, hx, inner, feet, cushion_bottom)
    gap = _uniform(rng, 0.0, 0.02)
    parts.row(-hx + _uniform(rng, 0.0, 0.04), back_x, seats, seat_width, (seat_width - gap) / 2, cushion_bottom, seat_top)
    parts.centred_box(back_x, hx, outer if rng.random() < 0.6 else inner, feet, back_top)
    if rng.random() < 0.5:
        cushion = _uniform(rng, 0.08, 0.15)
        top = back_top - _uniform(rng, 0.0, 0.1)
        parts.row(back_x - cushion, back_x, seats, seat_width, (seat_width - gap) / 2, seat_top, top)
    if arms != "none":
        arm_top = seat_top + _uniform(rng, 0.1, 0.3)
        parts.box_pair(-hx, hx, inner, outer, feet, arm_top)
    if feet > 0.0:
        # At the outer corners, under the arms (or the base when there are none).
        _four_legs(rng, parts, hx, outer, _uniform(rng, 0.04, 0.08), feet)
    return parts


def _bookcase(rng: np.random.Generator) -> _Parts:
    parts = _Parts()
    height = _uniform(rng, 0.9, 2.1)
    # Bookcases stand taller than they are wide.
    width = _uniform(rng, 0.4, min(1.2, height / 1.15))
    depth = _uniform(rng, 0.22, 0.45)
    board = _uniform(rng, 0.015, 0.035)
    hx, hy = depth / 2, width / 2
    inner = hy - board
    plinth = _uniform(rng, 0.04, 0.1) if rng.random() < 0.6 else 0.0
    bottom_top = plinth + board
    top_bottom = height - board

    parts.box_pair(-hx, hx, inner, hy, 0.0, height)
    overhang = _uniform(rng, 0.01, 0.03) if rng.random() < 0.3 else 0.0
    parts.centred_box(-hx - overhang, hx, hy + overhang, top_bottom, height)
    parts.centred_box(-hx, hx, inner, plinth, bottom_top)
    if plinth > 0.0:
        recess = _uniform(rng, 0.0, 0.04)
        parts.centred_box(-hx + recess, -hx + recess + board, inner, 0.0, plinth)
    back = hx
    if rng.random() < 0.65:
        back = hx - _uniform(rng, 0.004, 0.012)
        parts.centred_box(back, hx, inner, bottom_top, top_bottom)

    # 2-6 shelves, at least about 0.18 m apart so books fit.
    most = max(2, min(6, int((top_bottom - bottom_top) / 0.18) - 1))
    shelves = int(rng.integers(2, most + 1))
    pitch = (top_bottom - bottom_top) / (shelves + 1)
    shelf_front = -hx + _uniform(rng, 0.0, 0.02)
    levels = [bottom_top + (n + 1) * pitch for n in range(shelves)]
    for z in levels:
        parts.centred_box(shelf_front, back, inner, z - board / 2, z + board / 2)
    if width > 0.75 and rng.random() < 0.3:
        parts.centred_box(shelf_front, back, board / 2, bottom_top, top_bottom)
    if rng.random() < 0.2:
        # Doors closing the lowest compartment.
        parts.centred_box(-hx, -hx + board, inner, bottom_top, levels[0] - board / 2)
    return parts


_GENERATORS = {
    "bed": _bed,
    "bookcase": _bookcase,
    "chair": _chair,
    "desk": _desk,
    "sofa": _sofa,
    "table": _table,
}


# ---------------------------------------------------------------------------------------
# Rasterisation
# ---------------------------------------------------------------------------------------


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


def _rasterise(parts: _Parts, resolution: int, fill: float, out: np.ndarray) -> None:
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


# ---------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------


def _check_category(category: str) -> int:
    if category not in _GENERATORS:
        raise DataError(f"unknown built-in class {category!r}; valid classes: {', '.join(CLASSES)}")
    return CLASSES.index(category)


def _check_int(name: str, value: int, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise DataError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise DataError(f"{name} must be at least {minimum}, got {value}")
    return int(value)


def _check_fill(fill: float) -> float:
    if not 0.0 < fill <= 1.0:
        raise DataError(f"fill must be in (0, 1], got {fill!r}")
    return float(fill)


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
        if name not in _GENERATORS:
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
        resolution: grid size R (>= 8).
        seed: data set seed (>= 0).
        fill: fraction of the grid spanned by the longest side of the bounding box.

    Returns:
        BoolArray of shape (R, R, R).
    """
    class_id = _check_category(category)
    index = _check_int("index", index, 0)
    resolution = _check_int("resolution", resolution, MIN_RESOLUTION)
    seed = _check_int("seed", seed, 0)
    fill = _check_fill(fill)
    out = np.zeros((resolution,) * 3, dtype=bool)
    _rasterise(_shape_parts(class_id, index, seed), resolution, fill, out)
    return out


def _shape_parts(class_id: int, index: int, seed: int) -> _Parts:
    rng = np.random.default_rng(np.random.SeedSequence([seed, class_id, index]))
    return _GENERATORS[CLASSES[class_id]](rng)


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
        resolution: grid size R (>= 8).
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
    resolution = _check_int("resolution", resolution, MIN_RESOLUTION)
    seed = _check_int("seed", seed, 0)
    start = _check_int("start", start, 0)
    fill = _check_fill(fill)

    voxels = np.zeros((len(names) * count, resolution, resolution, resolution), dtype=np.uint8)
    labels = np.repeat(np.arange(len(names), dtype=np.int64), count)
    for label, class_id in enumerate(class_ids):
        for n in range(count):
            _rasterise(_shape_parts(class_id, start + n, seed), resolution, fill, voxels[label * count + n])
    return voxels, labels
