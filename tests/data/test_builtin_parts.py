"""Built-in furniture, parts and rasterisation (shapespace.data.builtin.parts), on hand-made parts.

Every case uses R = 9 and fill = 1 with a longest side of 3 m, so one metre is three voxels
and voxel centres sit at the integers -4 .. 4 measured from the grid centre.
"""

from __future__ import annotations

import numpy as np

from shapespace.data.builtin.parts import Parts, rasterise

R = 9


def _rasterise(parts: Parts, resolution: int = R, fill: float = 1.0) -> np.ndarray:
    out = np.zeros((resolution,) * 3, dtype=bool)
    rasterise(parts, resolution, fill, out)
    return out


def test_a_box_is_centred_on_every_axis_and_spans_fill() -> None:
    parts = Parts()
    parts.boxes.append((-1.5, 1.5, -0.5, 0.5, 0.0, 1.0))  # 3 x 1 x 1 m, standing on the floor
    expected = np.zeros((R,) * 3, dtype=bool)
    expected[:, 3:6, 3:6] = True  # 9 x 3 x 3 voxels, centred in axes 1 and 2 as well
    np.testing.assert_array_equal(_rasterise(parts), expected)
    # At fill 2/3 the longest side is 6 voxels long, [-3, 3]; its faces lie on voxel centres,
    # which count as inside, so 7 voxels are set along it.
    smaller = np.zeros((R,) * 3, dtype=bool)
    smaller[1:8, 3:6, 3:6] = True
    np.testing.assert_array_equal(_rasterise(parts, fill=2 / 3), smaller)


def test_a_thin_plate_becomes_exactly_one_voxel_thick() -> None:
    parts = Parts()
    parts.boxes.append((-1.5, 1.5, -1.5, 1.5, 0.0, 0.1))  # 0.3 voxels thick
    expected = np.zeros((R,) * 3, dtype=bool)
    expected[:, :, 4] = True
    np.testing.assert_array_equal(_rasterise(parts), expected)


def test_a_thin_part_keeps_its_outer_face_and_grows_inwards() -> None:
    """A post 0.15 voxels thick with its outer face at +-3.9 voxels: [2.9, 3.9] holds centre 3
    (index 7); growing about its middle ([3.35, 4.35]) would have put it at index 8."""
    for x0, x1, index in ((1.25, 1.3, 7), (-1.3, -1.25, 1)):
        parts = Parts()
        parts.boxes.append((-1.5, 1.5, -1.5, 1.5, 0.0, 1.0))  # a base slab, layers 0-2
        parts.boxes.append((x0, x1, -0.05, 0.05, 1.0, 3.0))  # the post on top, layers 3-8
        expected = np.zeros((R,) * 3, dtype=bool)
        expected[:, :, 0:3] = True
        expected[index, 4, 3:9] = True
        np.testing.assert_array_equal(_rasterise(parts), expected)


def test_a_cylinder_is_a_disk_of_voxel_centres() -> None:
    parts = Parts()
    parts.cylinder(0.0, 0.0, 1.5, 0.0, 3.0)  # radius 4.5 voxels: i^2 + j^2 <= 20.25
    out = _rasterise(parts)
    # Per layer: rows i = 0, +-1, +-2 hold 9 centres, +-3 hold 7, +-4 hold 5: 69.
    assert int(out.sum()) == 69 * R
    assert all(np.array_equal(out[:, :, k], out[:, :, 0]) for k in range(R))
    assert out[0, :, 0].astype(int).tolist() == [0, 0, 1, 1, 1, 1, 1, 0, 0]
    assert out[1, :, 0].astype(int).tolist() == [0, 1, 1, 1, 1, 1, 1, 1, 0]


def test_a_thin_cylinder_becomes_a_square_post() -> None:
    parts = Parts()
    parts.boxes.append((-1.5, 1.5, -1.5, 1.5, 0.0, 1.0))
    parts.cylinder(0.0, 0.0, 0.05, 1.0, 3.0)  # radius 0.15 voxels: might hold no voxel centre
    expected = np.zeros((R,) * 3, dtype=bool)
    expected[:, :, 0:3] = True
    expected[4, 4, 3:9] = True
    np.testing.assert_array_equal(_rasterise(parts), expected)


def test_mirrored_parts_give_an_exactly_symmetric_grid() -> None:
    parts = Parts()
    parts.box_pair(0.1, 0.37, 0.123, 0.456, 0.0, 0.77)
    parts.row(-0.3, -0.1, 3, 0.21, 0.07, 0.2, 0.5)
    parts.cylinder_pair(0.5, 0.31, 0.05, 0.0, 0.9)
    parts.centred_box(-0.4, 0.6, 0.05, 0.8, 0.9)
    assert parts.boxes[1] == (0.1, 0.37, -0.456, -0.123, 0.0, 0.77)
    left, middle, right = parts.boxes[2:5]
    assert (left[2], left[3]) == (-right[3], -right[2]) and middle[2] == -middle[3] == -0.07
    assert parts.cylinders[1] == (0.5, -0.31, 0.05, 0.0, 0.9)
    out = _rasterise(parts, 17, 0.75)
    assert int(out.sum()) == 335
    np.testing.assert_array_equal(out, out[:, ::-1, :])
