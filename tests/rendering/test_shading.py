"""Shading helpers: Gaussian blur, normals, ambient occlusion, lighting and floor shadows."""

import pytest
import torch

from shapespace.rendering.shading import (
    PREVIEW_AMBIENT_GROUND,
    PREVIEW_AMBIENT_SKY,
    PREVIEW_KEY_STRENGTH,
    ShadowMaps,
    blinn_phong,
    facing_camera,
    gaussian_blur,
    gaussian_blur3d,
    gaussian_taps,
    occlusion_factor,
    studio_light,
    surface_normals,
)


@pytest.mark.parametrize("sigma, radius", [(0.3, 1), (0.8, 2), (1.2, 3), (1.5, 3)])
def test_gaussian_taps_are_symmetric_normalised_and_of_radius_ceil_two_sigma(sigma, radius):
    taps = gaussian_taps(sigma)
    assert taps.shape == (2 * radius + 1,) and taps.dtype == torch.float32
    assert torch.equal(taps, taps.flip(0))
    assert float(taps.sum()) == pytest.approx(1.0, abs=1e-6)
    assert int(taps.argmax()) == radius
    assert gaussian_taps(sigma, dtype=torch.float64).dtype == torch.float64


def test_blurring_a_delta_spreads_the_taps_and_keeps_its_sum():
    delta = torch.zeros(1, 9)
    delta[0, 4] = 1.0
    blurred = gaussian_blur(delta, 1.2, (1,))
    taps = gaussian_taps(1.2)
    assert torch.equal(blurred[0, 1:8], taps)  # radius 3 around index 4
    assert torch.equal(blurred[0, [0, 8]], torch.zeros(2))

    volume = torch.zeros(1, 11, 11, 11)
    volume[0, 5, 5, 5] = 1.0
    spread = gaussian_blur(volume, 1.2, (1, 2, 3))
    assert float(spread.sum()) == pytest.approx(1.0, abs=1e-6)
    assert torch.equal(spread, spread.flip(1)) and torch.allclose(spread, spread.transpose(1, 3), rtol=1e-6, atol=0.0)
    outer = taps[:, None, None] * taps[None, :, None] * taps[None, None, :]
    assert torch.allclose(spread[0, 2:9, 2:9, 2:9], outer, rtol=1e-6, atol=1e-9)


def test_the_convolution_blur_agrees_with_the_shifted_sums_up_to_rounding():
    volumes = torch.rand(2, 1, 10, 10, 10, generator=torch.Generator().manual_seed(0))
    by_conv = gaussian_blur3d(volumes, 0.8)
    by_sums = gaussian_blur(volumes, 0.8, (2, 3, 4))
    assert by_conv.shape == volumes.shape
    assert torch.allclose(by_conv, by_sums, atol=1e-6)
    delta = torch.zeros(1, 1, 7, 7, 7)
    delta[0, 0, 3, 3, 3] = 1.0
    assert float(gaussian_blur3d(delta, 0.8).sum()) == pytest.approx(1.0, abs=1e-6)


def test_surface_normals_point_out_of_the_solid():
    # The field grows into the solid, so the normal is the negated, normalised gradient.
    gradient = torch.tensor([[0.0, 0.0, -2.0], [3.0, 0.0, 4.0], [0.0, 0.0, 0.0]])
    normals = surface_normals(gradient)
    assert torch.equal(normals[:2], torch.tensor([[0.0, 0.0, 1.0], [-0.6, 0.0, -0.8]]))
    assert torch.equal(normals[2], torch.zeros(3))
    fallback = torch.tensor([0.0, 1.0, 0.0])
    assert torch.equal(surface_normals(gradient, fallback=fallback)[2], fallback)


def test_normals_facing_away_from_the_camera_are_flipped():
    forward = torch.tensor([1.0, 0.0, 0.0])
    normals = torch.tensor([[1.0, 0.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    assert torch.equal(facing_camera(normals, forward), torch.tensor([[-1.0, 0.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]))


def test_occlusion_factor_clamps_crowding_to_zero_and_one():
    factor = occlusion_factor(torch.tensor([-1.0, 0.0, 0.5, 1.0, 3.0]), 0.6)
    assert torch.equal(factor[:2], torch.ones(2))
    assert torch.equal(factor[3], factor[4])
    assert torch.allclose(factor, torch.tensor([1.0, 1.0, 0.7, 0.4, 0.4]))


def test_blinn_phong_terms_for_known_geometry():
    up = torch.tensor([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 0.0, -1.0]])
    light = torch.tensor([0.0, 0.0, 1.0])
    forward = torch.tensor([0.0, 0.0, -1.0])  # the camera looks straight down
    lambert, highlight = blinn_phong(up, light, forward)
    assert torch.equal(lambert, torch.tensor([1.0, 0.0, 0.0]))
    assert torch.equal(highlight, torch.tensor([1.0, 0.0, 0.0]))


def test_studio_light_is_brighter_on_top_and_adds_the_key_light():
    normals = torch.tensor([[0.0, 0.0, 1.0], [0.0, 0.0, -1.0]])
    away = torch.tensor([1.0, 0.0, 0.0])  # perpendicular to both normals: no direct light
    light = studio_light(normals, away, away)
    assert float(light[0]) == pytest.approx(PREVIEW_AMBIENT_SKY)
    assert float(light[1]) == pytest.approx(PREVIEW_AMBIENT_GROUND)
    lit = studio_light(normals[:1], torch.tensor([0.0, 0.0, 1.0]), away)
    assert float(lit[0]) == pytest.approx(PREVIEW_AMBIENT_SKY + PREVIEW_KEY_STRENGTH)


def test_shadow_maps_darken_only_under_the_shape():
    solid = torch.zeros(2, 16, 16, 16, dtype=torch.bool)
    solid[0, 4:12, 4:12, 0:3] = True  # a slab on the floor; shape 1 is empty
    shadow = ShadowMaps(solid)
    floor = torch.tensor([[0.0, 0.0], [-0.49, -0.49], [0.0, 0.0]])  # under the slab, a far corner (blur radius 3 voxels)
    darkness = shadow.sample(torch.tensor([0, 0, 1]), floor)
    assert float(darkness[0]) == pytest.approx(1.0, abs=1e-5)  # the slab's lowest voxels are at height 0
    assert float(darkness[1]) == 0.0
    assert float(darkness[2]) == 0.0
