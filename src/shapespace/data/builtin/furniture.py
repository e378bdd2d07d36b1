"""The procedural generators of the six built-in classes: random parts for one shape.

Each class draws its parts (:class:`~shapespace.data.builtin.parts.Parts`, in metres) with
sizes, counts and styles taken from the random generator it is given:

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

Frame (see :mod:`shapespace.geometry.frame`): ``z`` is up with the floor at ``z = 0``; the
front faces ``-x``, so backrests, headboards and back panels sit at high ``x``; every part
off the mid plane ``y = 0`` comes in a mirrored pair, so every shape is exactly
mirror-symmetric about it (see :mod:`shapespace.data.builtin.parts`). A desk's drawers
therefore sit under both ends or under the middle, never under one end.

The order of the draws is part of the data set: changing it changes every shape of a seed.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from shapespace.data.builtin.parts import Parts


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
# The classes. Sizes are in metres and follow common furniture dimensions (e.g. seat
# heights 0.38-0.52 m, dining tables 0.68-0.78 m high, desks 0.72-0.78 m high).
# ---------------------------------------------------------------------------------------


def chair_parts(rng: np.random.Generator) -> Parts:
    parts = Parts()
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
    rng: np.random.Generator, parts: Parts, x_out: float, y_out: float, thickness: float, top: float
) -> None:
    """Four square or round legs whose outer faces touch ``x = +-x_out``, ``y = +-y_out``."""
    if rng.random() < 0.35:
        radius = thickness / 2
        for x in (-x_out + radius, x_out - radius):
            parts.cylinder_pair(x, y_out - radius, radius, 0.0, top)
    else:
        for x0 in (-x_out, x_out - thickness):
            parts.box_pair(x0, x0 + thickness, y_out - thickness, y_out, 0.0, top)


def _h_stretcher(parts: Parts, x_out: float, y_out: float, rail: float, z: float) -> None:
    """An H stretcher between four legs: a rail along each side and a cross rail between them.

    The side rails are flush with the legs' outer faces and the cross rail spans the full
    width, so the rails share voxels with the legs and each other at any resolution.
    """
    parts.box_pair(-x_out, x_out, y_out - rail, y_out, z, z + rail)
    parts.centred_box(-rail / 2, rail / 2, y_out, z, z + rail)


def table_parts(rng: np.random.Generator) -> Parts:
    parts = Parts()
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


def desk_parts(rng: np.random.Generator) -> Parts:
    parts = Parts()
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


def bed_parts(rng: np.random.Generator) -> Parts:
    parts = Parts()
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


def sofa_parts(rng: np.random.Generator) -> Parts:
    parts = Parts()
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


def bookcase_parts(rng: np.random.Generator) -> Parts:
    parts = Parts()
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


# The class names of :data:`shapespace.data.builtin.CLASSES`, each with the function that
# draws one shape's parts.
CLASS_PARTS: dict[str, Callable[[np.random.Generator], Parts]] = {
    "bed": bed_parts,
    "bookcase": bookcase_parts,
    "chair": chair_parts,
    "desk": desk_parts,
    "sofa": sofa_parts,
    "table": table_parts,
}
