"""Figures: image mosaics with labels, rendered mosaics and atomic PNG files."""

import numpy as np
import pytest
from PIL import Image

from shapespace.errors import ConfigError, DataError
from shapespace.rendering.figures import image_mosaic, render_mosaic, save_png

R = 16
CUBE = np.zeros((R, R, R), dtype=np.float32)
CUBE[5:11, 5:11, 5:11] = 1.0


def test_image_mosaic_tiles_row_by_row_with_exact_dimensions():
    tiles = np.stack([np.full((20, 30, 3), 10 * (i + 1), dtype=np.uint8) for i in range(5)])
    mosaic = image_mosaic(tiles, ncols=3, pad=4, background=(255, 0, 255))
    assert mosaic.shape == (2 * 20 + 3 * 4, 3 * 30 + 4 * 4, 3)
    assert mosaic.dtype == np.uint8
    assert np.all(mosaic[4:24, 4:34] == 10)  # tile 0, top left
    assert np.all(mosaic[4:24, 38:68] == 20)  # tile 1, top middle
    assert np.all(mosaic[4:24, 72:102] == 30)  # tile 2, top right
    assert np.all(mosaic[28:48, 38:68] == 50)  # tile 4, second row, middle
    assert np.all(mosaic[28:48, 72:102] == (255, 0, 255))  # unused cell
    assert np.all(mosaic[:4] == (255, 0, 255))


def test_image_mosaic_accepts_a_list_and_caps_columns_at_the_image_count():
    tiles = [np.zeros((8, 8, 3), dtype=np.uint8)] * 2
    assert image_mosaic(tiles, ncols=5, pad=1).shape == (10, 19, 3)


def test_image_mosaic_labels_add_a_band_with_text():
    tiles = np.zeros((2, 24, 40, 3), dtype=np.uint8)
    plain = image_mosaic(tiles, ncols=2, pad=2)
    labelled = image_mosaic(tiles, ncols=2, pad=2, labels=["chair", "table"])
    assert labelled.shape[1] == plain.shape[1]
    band = labelled.shape[0] - plain.shape[0]
    assert band > 6
    text = labelled[2 + 24 : 2 + 24 + band, 2 : 2 + 40]
    assert (text < 200).any()  # dark glyphs on the white band


def test_image_mosaic_rejects_bad_input():
    tiles = np.zeros((2, 8, 8, 3), dtype=np.uint8)
    with pytest.raises(ConfigError):
        image_mosaic(tiles, ncols=0)
    with pytest.raises(ConfigError):
        image_mosaic(tiles, ncols=2, labels=["only one"])
    with pytest.raises(DataError):
        image_mosaic(tiles.astype(np.float32), ncols=2)
    with pytest.raises(DataError):
        image_mosaic([np.zeros((8, 8, 3), np.uint8), np.zeros((9, 8, 3), np.uint8)], ncols=2)


def test_render_mosaic_defaults_to_a_square_layout():
    volumes = np.stack([CUBE] * 5)
    mosaic = render_mosaic(volumes, size=32)
    assert mosaic.shape == (2 * 32 + 3 * 4, 3 * 32 + 4 * 4, 3)
    strip = render_mosaic(volumes, ncols=5, size=32)
    assert strip.shape == (32 + 2 * 4, 5 * 32 + 6 * 4, 3)


def test_save_png_round_trips_and_leaves_no_temporary_files(tmp_path):
    image = render_mosaic(np.stack([CUBE, CUBE]), size=32, labels=["a", "b"])
    path = save_png(image, tmp_path / "previews" / "mosaic.png")
    assert path == tmp_path / "previews" / "mosaic.png"
    with Image.open(path) as loaded:
        assert loaded.format == "PNG"
        assert np.array_equal(np.asarray(loaded.convert("RGB")), image)
    assert [p.name for p in (tmp_path / "previews").iterdir()] == ["mosaic.png"]


def test_save_png_rejects_non_images(tmp_path):
    with pytest.raises(DataError):
        save_png(np.zeros((8, 8), dtype=np.float32), tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()
