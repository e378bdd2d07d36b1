"""The shaded preview renderer: input forms, framing, orientation, lighting and batching."""

import numpy as np
import pytest
import torch

from shapespace.errors import ConfigError, DataError
from shapespace.rendering.preview import BACKGROUND, render_voxels

R = 16
SIZE = 64


def _box(i: slice, j: slice, k: slice, resolution: int = R) -> np.ndarray:
    volume = np.zeros((resolution,) * 3, dtype=np.float32)
    volume[i, j, k] = 1.0
    return volume


def _object_pixels(image: np.ndarray) -> np.ndarray:
    """Mask (H, W) of pixels showing the (blue-grey) object, not the white floor or its grey shadow."""
    rgb = image.astype(np.int32)
    return rgb[..., 2] - rgb[..., 0] > 12


def _non_background(image: np.ndarray) -> np.ndarray:
    return np.any(image != np.array(BACKGROUND, dtype=np.uint8), axis=-1)


def _extent(mask: np.ndarray) -> tuple[int, int]:
    """(height, width) in pixels of the bounding box of a mask."""
    rows, cols = np.nonzero(mask)
    return int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1)


CUBE = _box(slice(5, 11), slice(5, 11), slice(5, 11))


@pytest.mark.parametrize(
    "volumes, expected",
    [
        (CUBE, (SIZE, SIZE, 3)),
        (np.stack([CUBE, CUBE]), (2, SIZE, SIZE, 3)),
        (torch.from_numpy(np.stack([CUBE] * 3))[:, None], (3, SIZE, SIZE, 3)),
        (CUBE > 0.5, (SIZE, SIZE, 3)),
        (torch.from_numpy(CUBE).to(torch.uint8)[None], (1, SIZE, SIZE, 3)),
        (torch.from_numpy(CUBE).requires_grad_(), (SIZE, SIZE, 3)),
        (np.zeros((0, R, R, R), dtype=np.float32), (0, SIZE, SIZE, 3)),
    ],
)
def test_output_shape_and_dtype_for_every_input_form(volumes, expected):
    image = render_voxels(volumes, size=SIZE)
    assert image.shape == expected
    assert image.dtype == np.uint8


def test_binary_inputs_render_like_float_probabilities():
    as_float = render_voxels(CUBE, size=SIZE)
    assert np.array_equal(render_voxels(CUBE > 0.5, size=SIZE), as_float)
    assert np.array_equal(render_voxels(CUBE.astype(np.uint8), size=SIZE), as_float)


def test_empty_volume_is_blank_background():
    image = render_voxels(np.zeros((R, R, R)), size=SIZE)
    assert np.all(image == np.array(BACKGROUND, dtype=np.uint8))


def test_centred_cube_covers_the_centre_and_leaves_the_corners_blank():
    image = render_voxels(CUBE, size=SIZE)
    mask = _object_pixels(image)
    c = SIZE // 2
    assert mask[c - 3 : c + 3, c - 3 : c + 3].all()
    for corner in (image[:4, :4], image[:4, -4:], image[-4:, :4], image[-4:, -4:]):
        assert np.all(corner == 255)


def test_a_full_grid_closes_at_the_border():
    image = render_voxels(np.ones((R, R, R)), size=SIZE)
    assert _object_pixels(image)[SIZE // 2, SIZE // 2]


def test_slab_is_wider_than_tall_and_pillar_taller_than_wide():
    slab = _box(slice(2, 14), slice(2, 14), slice(0, 2))  # thin along axis 2 (up)
    pillar = _box(slice(6, 10), slice(6, 10), slice(0, 16))
    slab_h, slab_w = _extent(_object_pixels(render_voxels(slab, size=SIZE)))
    pillar_h, pillar_w = _extent(_object_pixels(render_voxels(pillar, size=SIZE)))
    assert slab_w > 1.5 * slab_h
    assert pillar_h > 2 * pillar_w


def test_up_is_up():
    top = _box(slice(4, 12), slice(4, 12), slice(12, 16))
    bottom = _box(slice(4, 12), slice(4, 12), slice(0, 4))
    top_rows = np.nonzero(_object_pixels(render_voxels(top, size=SIZE)))[0]
    bottom_rows = np.nonzero(_object_pixels(render_voxels(bottom, size=SIZE)))[0]
    assert top_rows.max() < SIZE // 2
    assert bottom_rows.min() >= SIZE // 2


def test_camera_is_in_front_and_to_the_minus_y_side():
    # Looking down from the front (-x), near things sit lower in the picture; with the
    # default azimuth the -y side of the object is on the right of the picture.
    front = _object_pixels(render_voxels(_box(slice(0, 3), slice(7, 9), slice(0, 3)), size=SIZE))
    back = _object_pixels(render_voxels(_box(slice(13, 16), slice(7, 9), slice(0, 3)), size=SIZE))
    assert np.nonzero(front)[0].mean() > np.nonzero(back)[0].mean() + 5
    minus_y = _object_pixels(render_voxels(_box(slice(7, 9), slice(0, 3), slice(7, 9)), size=SIZE))
    plus_y = _object_pixels(render_voxels(_box(slice(7, 9), slice(13, 16), slice(7, 9)), size=SIZE))
    assert np.nonzero(minus_y)[1].mean() > SIZE / 2 > np.nonzero(plus_y)[1].mean()


def test_top_faces_are_lit_brighter_than_side_faces():
    image = render_voxels(_box(slice(3, 13), slice(3, 13), slice(0, 6)), size=SIZE).astype(np.int32)
    mask = _object_pixels(image)
    rows, cols = np.nonzero(mask)
    top = image[rows.min() + 3, (cols.min() + cols.max()) // 2]
    lower_right = image[rows.max() - 6, cols.max() - 6]
    assert top.sum() > lower_right.sum() + 60


def test_rendering_is_deterministic():
    rng = np.random.default_rng(0)
    volumes = rng.random((3, R, R, R)).astype(np.float32)
    assert np.array_equal(render_voxels(volumes, size=SIZE), render_voxels(volumes, size=SIZE))


def test_threshold_is_respected():
    volume = np.full((R, R, R), 0.4, dtype=np.float32)
    assert np.all(render_voxels(volume, size=SIZE, threshold=0.5) == 255)
    assert _object_pixels(render_voxels(volume, size=SIZE, threshold=0.3)).any()


def test_batches_render_each_shape_like_alone():
    pillar = _box(slice(6, 10), slice(6, 10), slice(0, 16))
    batch = render_voxels(np.stack([CUBE, np.zeros_like(CUBE), pillar]), size=SIZE)
    assert np.array_equal(batch[0], render_voxels(CUBE, size=SIZE))
    assert np.all(batch[1] == 255)
    assert np.array_equal(batch[2], render_voxels(pillar, size=SIZE))


def test_64_cubed_grids_render():
    volume = np.zeros((64, 64, 64), dtype=np.float32)
    volume[20:44, 20:44, 0:30] = 1.0
    image = render_voxels(volume, size=SIZE)
    assert _object_pixels(image)[SIZE // 2, SIZE // 2]


@pytest.mark.parametrize(
    "volumes",
    [np.zeros((R, R)), np.zeros((2, 2, R, R, R)), np.zeros((1, 2, 3, 4, 5, 6)), np.zeros((R, R, R + 1))],
)
def test_bad_volume_shapes_raise(volumes):
    with pytest.raises(DataError):
        render_voxels(volumes, size=SIZE)


def test_bad_values_and_settings_raise():
    with pytest.raises(DataError):
        render_voxels(np.full((R, R, R), np.nan), size=SIZE)
    with pytest.raises(ConfigError):
        render_voxels(CUBE, size=8)
    with pytest.raises(ConfigError):
        render_voxels(CUBE, size=SIZE, threshold=1.5)
    with pytest.raises(ConfigError):
        render_voxels(CUBE, size=SIZE, elevation=90.0)
    with pytest.raises(ConfigError):
        render_voxels(CUBE, size=SIZE, color=(200, 100, 50))
