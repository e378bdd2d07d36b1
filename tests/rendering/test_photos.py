"""Photo-like renders of voxel shapes: determinism, range, and exact silhouettes of known shapes."""

import pytest
import torch

from shapespace.errors import ConfigError
from shapespace.rendering.photos import (
    PhotoParameters,
    PhotoSettings,
    _add_blur,
    random_photo_parameters,
    render_photos,
    render_photos_with_aspects,
    render_with_parameters,
)

R = 16


def _volume(*boxes: tuple[slice, slice, slice]) -> torch.Tensor:
    """One (1, R, R, R) grid with the given boxes of voxels set."""
    volume = torch.zeros(1, R, R, R)
    for box in boxes:
        volume[(0, *box)] = 1.0
    return volume


def _expected_front_silhouette(volume: torch.Tensor, size: int) -> torch.Tensor:
    """The silhouette seen from azimuth 0, elevation 0 with the cube framing, from world extents.

    The camera is on -x looking along +x; screen right is world -y (axis 1 decreasing) and
    screen up is world +z (axis 2). The image shows [-0.5, 0.5] on both screen axes with
    pixel centres at (p + 0.5) / S across, and voxel i spans [i / R - 0.5, (i + 1) / R - 0.5].
    A pixel is covered when its centre lies inside the world extent of an occupied column.
    """
    occupied = volume.bool().any(0)  # (axis 1, axis 2): seen along axis 0
    centres = (torch.arange(size, dtype=torch.float64) + 0.5) / size
    world_y = 0.5 - centres  # column c: screen x = centre - 0.5, world y = -screen x
    world_z = 0.5 - centres  # row r counts down from the top: screen y = 0.5 - centre
    j = torch.floor((world_y + 0.5) * R).long()  # voxel index along axis 1 of each column
    k = torch.floor((world_z + 0.5) * R).long()  # voxel index along axis 2 of each row
    return occupied[j[None, :], k[:, None]]  # (rows, columns)


def _front(count: int, size: int) -> PhotoParameters:
    return PhotoParameters.fixed(count, size, azimuth=0.0, elevation=0.0)


BOX = (slice(3, 9), slice(5, 12), slice(2, 7))
# An L seen from the front: an upright bar on the +y side (image left) and a foot along the floor.
L_BAR, L_FOOT = (slice(4, 10), slice(10, 14), slice(2, 12)), (slice(4, 10), slice(2, 14), slice(2, 5))


@pytest.mark.parametrize("size", [R, 2 * R])
def test_a_box_renders_to_its_exact_silhouette(size):
    volume = _volume(BOX)
    images, silhouettes = render_with_parameters(volume, _front(1, size), size, framing="cube")
    assert images.shape == (1, 3, size, size) and silhouettes.shape == (1, size, size)
    assert silhouettes.dtype == torch.bool
    expected = _expected_front_silhouette(volume[0], size)
    assert torch.equal(silhouettes[0], expected)
    # By hand at S = 2R: axis 1 voxels 5..11 are columns 2 * (15 - 11) = 8 .. 2 * (15 - 5) + 1 = 21,
    # axis 2 voxels 2..6 are rows 2 * (15 - 6) = 18 .. 2 * (15 - 2) + 1 = 27.
    if size == 2 * R:
        rows, cols = silhouettes[0].nonzero().unbind(1)
        assert (int(rows.min()), int(rows.max()), int(cols.min()), int(cols.max())) == (18, 27, 8, 21)
        assert int(silhouettes[0].sum()) == 10 * 14


def test_an_asymmetric_shape_keeps_left_right_and_up_down():
    volume = _volume(L_BAR, L_FOOT)
    size = 2 * R
    _, silhouettes = render_with_parameters(volume, _front(1, size), size, framing="cube")
    silhouette = silhouettes[0]
    assert torch.equal(silhouette, _expected_front_silhouette(volume[0], size))
    # The bar (high axis 1 = world +y) is on the image's left, rising from the foot at the bottom.
    bar_row = silhouette[2 * (15 - 8)]  # a row through axis 2 voxel 8: above the foot, only the bar
    assert bar_row.nonzero().flatten().tolist() == list(range(2 * (15 - 13), 2 * (15 - 10) + 2))  # columns 4..11
    foot_row = silhouette[2 * (15 - 3)]  # a row through the foot (axis 2 voxel 3)
    assert foot_row.nonzero().flatten().tolist() == list(range(2 * (15 - 13), 2 * (15 - 2) + 2))  # columns 4..27
    assert not silhouette[: 2 * (15 - 11)].any()  # nothing above the bar's top (axis 2 voxel 11)
    assert not silhouette[: 2 * (15 - 4), 2 * (15 - 9) :].any()  # right of the bar (axis 1 < 10), above the foot (axis 2 > 4)


def test_a_plain_view_shows_white_background_and_grey_shape():
    volume = _volume(BOX)
    images, silhouettes = render_with_parameters(volume, _front(1, 2 * R), 2 * R, framing="cube")
    background = ~silhouettes[0]
    assert torch.equal(images[0][:, background], torch.ones(3, int(background.sum())))
    # Grey material 0.7 lit by ambient 0.35 + diffuse 0.7: at most 0.7 * 1.05, grey (R = G = B).
    shape = images[0][:, silhouettes[0]]
    assert float(shape.max()) <= 0.7 * 1.05 + 1e-6 and float(shape.min()) > 0.0
    assert torch.equal(shape[0], shape[1]) and torch.equal(shape[1], shape[2])


def test_an_empty_volume_shows_only_the_background():
    empty = torch.zeros(2, R, R, R)
    images, silhouettes = render_with_parameters(empty, _front(2, 24), 24, framing="object")
    assert not silhouettes.any()
    assert torch.equal(images, torch.ones(2, 3, 24, 24))
    views = random_photo_parameters(2, 24, torch.Generator().manual_seed(3))
    images, silhouettes = render_with_parameters(empty, views, 24)
    assert not silhouettes.any()
    expected = (views.background * views.gain[:, None, None, None] + views.noise_std[:, None, None, None] * views.noise).clamp(0, 1)
    assert torch.equal(images, expected)


@pytest.mark.parametrize("azimuth", [0.0, 90.0, 180.0, 270.0])
def test_object_framing_without_margin_touches_all_four_borders(azimuth):
    volume = _volume(BOX)
    size = 32
    _, silhouettes = render_with_parameters(volume, PhotoParameters.fixed(1, size, azimuth=azimuth, elevation=0.0), size, framing="object")
    silhouette = silhouettes[0]
    # The crop is the box's face stretched to the square: the middle row and column are
    # covered from border to border; only the corner pixels fall outside the iso-surface,
    # which rounds the box's edges.
    assert bool(silhouette[size // 2].all()) and bool(silhouette[:, size // 2].all())
    assert bool(silhouette[2:-2, 2:-2].all())
    assert not bool(silhouette[0, 0]) and not bool(silhouette[-1, -1])


def test_object_framing_of_an_oblique_view_leaves_at_most_a_few_empty_pixels():
    volume = _volume(BOX)
    size = 64
    _, silhouettes = render_with_parameters(volume, PhotoParameters.fixed(1, size, azimuth=35.0, elevation=20.0), size, framing="object")
    rows = silhouettes[0].any(1).nonzero().flatten()
    cols = silhouettes[0].any(0).nonzero().flatten()
    # The crop bounds the voxel cubes; the rendered iso-surface rounds their outer edges by
    # under half a voxel, so at most a few pixels stay empty on each side.
    gaps = [int(rows.min()), size - 1 - int(rows.max()), int(cols.min()), size - 1 - int(cols.max())]
    assert all(0 <= g <= 3 for g in gaps), gaps
    # Centred: the same gap on opposite sides of this symmetric view (up to one pixel).
    assert abs(gaps[0] - gaps[1]) <= 1 and abs(gaps[2] - gaps[3]) <= 1


def test_object_and_cube_framing_differ_by_a_stretch():
    # Cube framing at S = 2R vs the object crop: the box fills the object-framed image.
    volume = _volume(BOX)
    _, cube = render_with_parameters(volume, _front(1, 32), 32, framing="cube")
    _, crop = render_with_parameters(volume, _front(1, 32), 32, framing="object")
    assert int(cube.sum()) == 10 * 14
    assert int(crop.sum()) > 32 * 32 - 4 * 4  # all but a few pixels in each corner
    with pytest.raises(ConfigError, match="framing must be one of object, cube, got 'sphere'"):
        render_with_parameters(volume, _front(1, 32), 32, framing="sphere")


def test_random_photos_are_deterministic_for_a_seed_and_in_range():
    shapes = torch.stack([_volume(BOX)[0], _volume(L_BAR, L_FOOT)[0], torch.zeros(R, R, R)]).to(torch.uint8)
    a = render_photos(shapes, 32, torch.Generator().manual_seed(11))
    b = render_photos(shapes, 32, torch.Generator().manual_seed(11))
    c = render_photos(shapes, 32, torch.Generator().manual_seed(12))
    assert a.shape == (3, 3, 32, 32) and a.dtype == torch.float32
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    assert float(a.min()) >= 0.0 and float(a.max()) <= 1.0
    # PhotoParameters drawn from one generator: the same parameters twice, and within the settings' ranges.
    v1 = random_photo_parameters(50, 8, torch.Generator().manual_seed(5))
    v2 = random_photo_parameters(50, 8, torch.Generator().manual_seed(5))
    assert all(torch.equal(getattr(v1, f), getattr(v2, f)) for f in ("azimuth", "elevation", "margin", "light", "albedo", "background", "noise"))
    assert float(v1.azimuth.min()) >= 0.0 and float(v1.azimuth.max()) < 360.0
    assert float(v1.elevation.min()) >= 0.0 and float(v1.elevation.max()) < 40.0
    assert float(v1.margin.min()) >= 0.0 and float(v1.margin.max()) < 0.12
    assert torch.allclose(v1.light.norm(dim=1), torch.ones(50))


def test_random_photos_come_with_their_crop_windows_aspect_ratios():
    shapes = torch.stack([_volume(BOX)[0], _volume(L_BAR, L_FOOT)[0], torch.zeros(R, R, R)]).to(torch.uint8)
    images, aspects = render_photos_with_aspects(shapes, 32, torch.Generator().manual_seed(11))
    assert torch.equal(images, render_photos(shapes, 32, torch.Generator().manual_seed(11)))  # the same photos
    assert aspects.shape == (3,) and bool((aspects > 0).all())
    # Seen straight from the front and the side without margins, the window is the box's
    # face: BOX spans 7 voxels along axis 1, 6 along axis 0 and 5 up.
    for azimuth, expected in ((0.0, 7 / 5), (90.0, 6 / 5)):
        settings = PhotoSettings(azimuth=(azimuth, azimuth), elevation=(0.0, 0.0), margin=(0.0, 0.0))
        _, aspects = render_photos_with_aspects(_volume(BOX).repeat(2, 1, 1, 1), 32, torch.Generator().manual_seed(0), settings)
        torch.testing.assert_close(aspects, torch.full((2,), expected))
    # A tall post and a flat slab, from any view of the default settings.
    post, slab = _volume((slice(7, 9), slice(7, 9), slice(1, 15)))[0], _volume((slice(2, 14), slice(2, 14), slice(7, 9)))[0]
    _, aspects = render_photos_with_aspects(torch.stack([post] * 8 + [slab] * 8), 32, torch.Generator().manual_seed(2))
    assert float(aspects[:8].max()) < 0.5 and float(aspects[8:].min()) > 1.1


def _three_shapes() -> torch.Tensor:
    return torch.stack([_volume(BOX)[0], _volume(L_BAR, L_FOOT)[0], _volume(BOX)[0]]).to(torch.uint8)


def test_clutter_replaces_only_the_background_by_another_shapes_photo():
    shapes = _three_shapes()
    plain = render_photos(shapes, 32, torch.Generator().manual_seed(11))
    # PhotoParameters are drawn first, so the objects are the same as without clutter.
    _, hit = render_with_parameters(shapes, random_photo_parameters(3, 32, torch.Generator().manual_seed(11)), 32)
    cluttered = render_photos(shapes, 32, torch.Generator().manual_seed(11), PhotoSettings(clutter=1.0))
    again = render_photos(shapes, 32, torch.Generator().manual_seed(11), PhotoSettings(clutter=1.0))
    assert torch.equal(cluttered, again)
    assert torch.equal(render_photos(shapes, 32, torch.Generator().manual_seed(11), PhotoSettings(clutter=0.0)), plain)
    mask = hit[:, None].expand_as(plain)
    assert torch.equal(cluttered[mask], plain[mask])
    for i in range(3):
        background = ~hit[i]
        assert int(background.sum()) > 20
        changed = (cluttered[i] - plain[i]).abs().amax(0) > 1e-3
        assert float(changed[background].float().mean()) > 0.5, i
    assert float(cluttered.min()) >= 0.0 and float(cluttered.max()) <= 1.0


def test_occluders_are_plain_bands_entering_from_an_edge():
    shapes = _three_shapes().repeat(4, 1, 1, 1)
    plain = render_photos(shapes, 32, torch.Generator().manual_seed(4))
    occluded = render_photos(shapes, 32, torch.Generator().manual_seed(4), PhotoSettings(occluders=1.0))
    for i in range(len(shapes)):
        changed = (occluded[i] - plain[i]).abs().amax(0) > 0  # (S, S)
        rows, cols = changed.nonzero().unbind(1)
        assert len(rows) >= 0.08 * 0.3 * 32 * 32 * 0.5, i
        # One colour, on a rectangle touching the left, right or bottom border.
        colours = occluded[i][:, changed]
        assert torch.equal(colours, colours[:, :1].expand_as(colours))
        box = changed[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
        assert bool(box.all())
        assert int(cols.min()) == 0 or int(cols.max()) == 31 or int(rows.max()) == 31
        assert len(rows) <= 0.34 * 32 * 32
    half = render_photos(shapes, 32, torch.Generator().manual_seed(4), PhotoSettings(occluders=0.5))
    assert 0 < sum(not torch.equal(half[i], plain[i]) for i in range(len(shapes))) < len(shapes)


def test_texture_changes_only_the_object_by_a_bounded_factor():
    shapes = _three_shapes()
    plain = render_photos(shapes, 32, torch.Generator().manual_seed(6))
    _, hit = render_with_parameters(shapes, random_photo_parameters(3, 32, torch.Generator().manual_seed(6)), 32)
    textured = render_photos(shapes, 32, torch.Generator().manual_seed(6), PhotoSettings(texture=1.0))
    assert torch.equal(textured, render_photos(shapes, 32, torch.Generator().manual_seed(6), PhotoSettings(texture=1.0)))
    background = ~hit[:, None].expand_as(plain)
    assert torch.equal(textured[background], plain[background])
    obj = hit[:, None].expand_as(plain)
    # Each object pixel is its plain colour times a factor in [0.5, 1.5] (then clipped to 1).
    low, high = (0.5 * plain).clamp(max=1.0), (1.5 * plain).clamp(max=1.0)
    assert bool((textured[obj] >= low[obj] - 1e-6).all() and (textured[obj] <= high[obj] + 1e-6).all())
    for i in range(3):
        changed = (textured[i] - plain[i]).abs().amax(0) > 1e-3
        assert float(changed[hit[i]].float().mean()) > 0.5, i
        # A pattern, not one factor for the whole object: the ratio varies over the object.
        ratio = (textured[i] / plain[i].clamp(min=0.05))[:, hit[i]]
        assert float(ratio.std()) > 0.02, i


def test_blur_is_a_normalised_gaussian_that_keeps_flat_images():
    images = torch.rand(3, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    blurred = _add_blur(images, torch.Generator().manual_seed(1), 1.0)
    assert torch.equal(blurred, _add_blur(images, torch.Generator().manual_seed(1), 1.0))
    assert float(blurred.std()) < 0.8 * float(images.std())  # smoother
    # A flat image stays exactly as it was (the kernel sums to 1, edges are replicated).
    flat = torch.full((2, 3, 8, 8), 0.25)
    assert torch.allclose(_add_blur(flat, torch.Generator().manual_seed(2), 1.0), flat, atol=1e-6)
    # A single bright pixel spreads symmetrically, with its centre the largest value.
    dot = torch.zeros(1, 1, 9, 9)
    dot[0, 0, 4, 4] = 1.0
    spread = _add_blur(dot, torch.Generator().manual_seed(3), 1.0)[0, 0]
    assert float(spread.sum()) == pytest.approx(1.0, abs=1e-6)
    assert torch.allclose(spread, spread.flip(0)) and torch.allclose(spread, spread.T)
    assert float(spread[4, 4]) == float(spread.max()) and float(spread[4, 4]) < 1.0
    assert torch.equal(_add_blur(images, torch.Generator().manual_seed(1), 0.0), images)


def test_batched_rendering_equals_one_by_one():
    # More shapes than one chunk (8): chunking must not change any image.
    rng = torch.Generator().manual_seed(0)
    shapes = (torch.rand(10, R, R, R, generator=rng) > 0.6).float()
    views = random_photo_parameters(10, 16, torch.Generator().manual_seed(1))
    images, silhouettes = render_with_parameters(shapes, views, 16)
    for i in (0, 9):
        one, hit = render_with_parameters(shapes[i : i + 1], views.select(slice(i, i + 1)), 16)
        assert torch.allclose(one[0], images[i], atol=1e-5) and torch.equal(hit[0], silhouettes[i])


def test_bad_settings_and_inputs():
    with pytest.raises(ConfigError, match="photo setting azimuth must be a"):
        PhotoSettings(azimuth=(10.0, 0.0))
    with pytest.raises(ConfigError, match="photo backgrounds"):
        PhotoSettings(backgrounds=("marble",))
    with pytest.raises(ConfigError, match="elevation range must lie in"):
        PhotoSettings(elevation=(0.0, 95.0))
    with pytest.raises(ConfigError, match="elevation range must lie in"):
        PhotoSettings(elevation=(-10.0, 20.0))
    with pytest.raises(ConfigError, match="photo setting clutter is a chance in \\[0, 1\\], got 1.5"):
        PhotoSettings(clutter=1.5)
    with pytest.raises(ConfigError, match="photo setting occluders is a chance"):
        PhotoSettings(occluders=-0.1)
    with pytest.raises(ConfigError, match="photo setting texture is a chance"):
        PhotoSettings(texture=2.0)
    with pytest.raises(ConfigError, match="photo setting blur is a chance"):
        PhotoSettings(blur=-1.0)
    with pytest.raises(ValueError, match="3 volumes need 3 parameter sets of size 16, got 2 of size 16"):
        render_with_parameters(torch.zeros(3, R, R, R), _front(2, 16), 16)
    with pytest.raises(ValueError, match="volumes must have shape"):
        render_with_parameters(torch.zeros(1, R, R, 8), _front(1, 16), 16)
