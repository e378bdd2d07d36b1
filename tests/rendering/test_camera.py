"""Camera helpers: view directions, screen axes and framing boxes for known angles and grids."""

import math

import pytest
import torch

from shapespace.rendering.camera import (
    OrthographicCamera,
    cube_bounds,
    cube_extent,
    occupied_bounds,
    screen_axes,
    view_direction,
)


def test_view_direction_for_known_angles():
    # Azimuth 0: straight in front of the object, on -x; positive azimuth turns towards -y.
    assert torch.equal(view_direction(torch.tensor(0.0), torch.tensor(0.0)), torch.tensor([-1.0, 0.0, 0.0]))
    double = torch.float64
    angles = torch.tensor([[90.0, 0.0], [180.0, 0.0], [270.0, 0.0], [0.0, 90.0], [45.0, 0.0]], dtype=double)
    expected = torch.tensor(
        [[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [-math.sqrt(0.5), -math.sqrt(0.5), 0.0]],
        dtype=double,
    )
    directions = view_direction(angles[:, 0], angles[:, 1])
    assert directions.shape == (5, 3) and directions.dtype == double
    assert torch.allclose(directions, expected, rtol=0.0, atol=1e-15)


def test_view_directions_are_unit_vectors_in_the_inputs_dtype():
    azimuth = torch.linspace(-720.0, 720.0, 97)
    elevation = torch.linspace(0.0, 89.0, 97)
    directions = view_direction(azimuth, elevation)
    assert directions.dtype == torch.float32
    assert torch.allclose(directions.norm(dim=-1), torch.ones(97), atol=1e-6)
    assert torch.allclose(directions[:, 2], torch.sin(torch.deg2rad(elevation)))


@pytest.mark.parametrize("azimuth", [-170.0, -50.0, 0.0, 15.0, 35.0, 105.0, 300.5])
@pytest.mark.parametrize("elevation", [0.0, 10.0, 25.0, 55.0, 89.0])
def test_preview_camera_matches_the_double_precision_formula_exactly(azimuth, elevation):
    # The preview's camera and lights come from the double-precision direction rounded once
    # to float32, as its images always have: same bits as Python's math on floats.
    def by_math(az: float, el: float) -> torch.Tensor:
        a, e = math.radians(az), math.radians(el)
        return torch.tensor([-math.cos(e) * math.cos(a), -math.cos(e) * math.sin(a), math.sin(e)])

    camera = OrthographicCamera.framing_unit_cube(azimuth, elevation, 32)
    assert torch.equal(camera.forward, -by_math(azimuth, elevation))
    assert torch.equal(camera.light(-50.0, 55.0), by_math(azimuth - 50.0, 55.0))  # the key light
    assert torch.equal(camera.light(70.0, 10.0), by_math(azimuth + 70.0, 10.0))  # the fill light


def test_screen_axes_of_the_front_view_are_exact():
    # Looking along +x from the front: screen right is world -y, screen up is world +z.
    right, up = screen_axes(torch.tensor([1.0, 0.0, 0.0]))
    assert torch.equal(right, torch.tensor([0.0, -1.0, 0.0]))
    assert torch.equal(up, torch.tensor([0.0, 0.0, 1.0]))


def test_screen_axes_are_orthonormal_and_right_handed():
    forward = -view_direction(torch.tensor([0.0, 35.0, 123.0, -80.0]), torch.tensor([0.0, 25.0, 60.0, 5.0]))
    right, up = screen_axes(forward)
    assert torch.allclose(right.norm(dim=-1), torch.ones(4)) and torch.allclose(up.norm(dim=-1), torch.ones(4))
    assert torch.allclose((right * up).sum(-1), torch.zeros(4), atol=1e-7)
    assert torch.allclose((right * forward).sum(-1), torch.zeros(4), atol=1e-7)
    assert torch.equal(right[:, 2], torch.zeros(4))  # right stays horizontal
    assert torch.allclose(torch.linalg.cross(right, up), -forward, atol=1e-6)


def _front_axes(count: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    forward = torch.tensor([[1.0, 0.0, 0.0]]).expand(count, 3)
    right, up = screen_axes(forward)
    return forward, right, up


def test_cube_bounds_of_the_front_view_are_the_unit_cube():
    forward, right, up = _front_axes(2)
    assert torch.equal(cube_extent(forward, right, up), torch.full((2, 3), 0.5))
    assert torch.equal(cube_bounds(forward, right, up), torch.tensor([[-0.5, 0.5] * 3] * 2))


def test_occupied_bounds_of_one_voxel_from_the_front():
    # Voxel (i, j, k) of an R = 4 grid spans [i / 4 - 0.5, (i + 1) / 4 - 0.5] along each axis;
    # screen x is world -y, screen y is world z and depth is world x. An empty grid gets the cube.
    occupied = torch.zeros(2, 4, 4, 4, dtype=torch.bool)
    occupied[0, 1, 3, 0] = True
    bounds = occupied_bounds(occupied, *_front_axes(2))
    assert torch.equal(bounds[0], torch.tensor([-0.5, -0.25, -0.5, -0.25, -0.25, 0.0]))
    assert torch.equal(bounds[1], torch.tensor([-0.5, 0.5] * 3))


def test_orthographic_camera_frames_the_unit_cube_and_shoots_from_outside():
    camera = OrthographicCamera.framing_unit_cube(0.0, 0.0, 2)
    assert camera.half_extent == pytest.approx(0.5 * 1.03)
    # The image centre (row 1, column 1 of a 2-pixel image) looks at the cube's centre.
    origin = camera.ray_origins(torch.tensor([1.0]), torch.tensor([1.0]))
    assert torch.equal(origin, torch.tensor([[-2.0, 0.0, 0.0]]))
    # The top-left corner of the image is the top of the +y side (screen left is world +y).
    corner = camera.ray_origins(torch.tensor([0.0]), torch.tensor([0.0]))[0]
    assert corner[1] == pytest.approx(0.515) and corner[2] == pytest.approx(0.515)
    assert torch.equal(camera.light(0.0, 0.0), torch.tensor([-1.0, 0.0, 0.0]))
