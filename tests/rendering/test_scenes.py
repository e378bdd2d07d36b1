"""Pictures of furniture in random rooms (rendering/scenes.py): determinism, framing, the room
textures, settings. The libraries and the texture jar are small zips made here. Skipped, with
the install commands, where moderngl or Mesa's EGL is missing."""

import numpy as np
import pytest

from shapespace.errors import ConfigError, DataError
from shapespace.io.sweethome import load_item_scene, read_library
from shapespace.rendering.gl import GLRenderer, RendererUnavailable
from shapespace.rendering.scenes import SceneRenderer, SceneSettings, read_room_textures
from sweethome_library import furniture_room_library, make_library, texture_jar

# No camera effects, no other furniture: the object alone in its room.
BARE = SceneSettings(neighbour_chance=0.0, noise=(0.0, 0.0), jpeg_quality=(100, 100))


@pytest.fixture(scope="module")
def egl():
    try:
        GLRenderer(8).release()
    except RendererUnavailable as error:
        pytest.skip(str(error))


@pytest.fixture(scope="module")
def room(tmp_path_factory, egl):
    folder = tmp_path_factory.mktemp("room")
    library = read_library(furniture_room_library(folder / "Room.sh3f", count=3))
    paths = [library.item_path(item) for item in library.items]
    textures = read_room_textures(texture_jar(folder / "sweethome3d.jar"))
    return paths, textures


def _renderer(room, settings=BARE, size=32) -> SceneRenderer:
    paths, textures = room
    return SceneRenderer(size, lambda i: load_item_scene(paths[i]), len(paths), textures, settings)


def test_the_room_textures_are_the_floor_and_wall_entries_of_the_catalogue(tmp_path):
    textures = read_room_textures(texture_jar(tmp_path / "sweethome3d.jar"))
    assert [(t.name, t.category, t.size, t.image.size) for t in textures] == [("Checks", "Floor", (40.0, 40.0), (8, 8)), ("Paint", "Wall", (100.0, 100.0), (8, 8))]


def test_a_jar_without_a_texture_catalogue_or_a_broken_one_is_named(tmp_path):
    bare = make_library(tmp_path / "plain.jar", "x=1\n", {})
    with pytest.raises(DataError, match=r"plain\.jar: not Sweet Home 3D's jar: .*DefaultTexturesCatalog.properties"):
        read_room_textures(bare)
    broken = tmp_path / "broken.jar"
    broken.write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(DataError, match=r"broken\.jar: not a readable Sweet Home 3D jar"):
        read_room_textures(broken)


def test_pictures_are_deterministic_per_seed_shape_and_view(room):
    renderer = _renderer(room, SceneSettings())
    first, aspect = renderer.render(0, seed=5, view=1)
    assert first.shape == (32, 32, 3) and first.dtype == np.uint8
    again, aspect_again = renderer.render(0, seed=5, view=1)
    assert np.array_equal(first, again) and aspect == aspect_again
    assert np.array_equal(first, _renderer(room, SceneSettings()).render(0, seed=5, view=1)[0])  # another renderer, same picture
    assert not np.array_equal(first, renderer.render(0, seed=5, view=2)[0])
    assert not np.array_equal(first, renderer.render(0, seed=6, view=1)[0])


def test_the_aspect_ratio_is_the_crop_windows_before_the_stretch(room):
    # The chair (40 x 40 x 90 cm) is tall; the table (120 x 80 x 75 cm) is wide. Without
    # margins the window is the box around the object's projection, so its width / height
    # follows the object's proportions as seen: below 1 for the chair, above for the table.
    renderer = _renderer(room, SceneSettings(**{**BARE.to_dict(), "margin": (0.0, 0.0)}))
    chair = [renderer.render(0, seed=0, view=view)[1] for view in range(6)]
    table = [renderer.render(1, seed=0, view=view)[1] for view in range(6)]
    assert all(0.3 < a < 0.8 for a in chair), chair
    assert max(chair) < min(table) and 1.1 < float(np.mean(table)) < 3.0, table
    # A margin widens each side by a random fraction of the box: the ratio changes, the picture is still square.
    wide = _renderer(room, SceneSettings(**{**BARE.to_dict(), "margin": (0.3, 0.3)}))
    image, aspect = wide.render(0, seed=0, view=0)
    assert image.shape == (32, 32, 3) and aspect == pytest.approx(chair[0])  # equal margins on all four sides


def test_the_crop_is_around_the_object(room):
    # With no margin the green chair spans the picture: every edge row and column touches it,
    # and its colour dominates the middle.
    renderer = _renderer(room, SceneSettings(**{**BARE.to_dict(), "margin": (0.0, 0.0)}))
    for view in range(4):
        image = renderer.render(0, seed=0, view=view)[0].astype(int)
        green = (image[..., 1] > image[..., 0] + 30) & (image[..., 1] > image[..., 2] + 30)
        assert green[12:20, 12:20].mean() > 0.5
        assert green[0].any() or green[1].any()
        assert green[:, 0].any() or green[:, 1].any()
        assert green[-1].any() or green[-2].any()
        assert green[:, -1].any() or green[:, -2].any()


def test_other_furniture_stands_around_the_object(room):
    # The blue table shows in pictures of the green chair when neighbours are on.
    def shows_blue(image: np.ndarray) -> bool:
        image = image.astype(int)
        return bool(((image[..., 2] > image[..., 0] + 40) & (image[..., 2] > image[..., 1] + 40)).any())

    crowded = _renderer(room, SceneSettings(**{**BARE.to_dict(), "neighbour_chance": 1.0, "margin": (0.5, 0.5)}))
    alone = _renderer(room, SceneSettings(**{**BARE.to_dict(), "margin": (0.5, 0.5)}))
    with_table = [shows_blue(crowded.render(0, 0, view)[0]) for view in range(16)]
    assert sum(with_table) >= 4  # the other items are the table and a second green chair
    assert not any(shows_blue(alone.render(0, 0, view)[0]) for view in range(16))


def test_settings_are_checked_and_round_trip():
    assert SceneSettings.from_dict(SceneSettings().to_dict()) == SceneSettings()
    with pytest.raises(ConfigError, match="scene setting fov must be a range"):
        SceneSettings(fov=(60.0, 30.0))
    with pytest.raises(ConfigError, match="scene setting occluder_chance is a chance"):
        SceneSettings(occluder_chance=2.0)
    with pytest.raises(ConfigError, match="scene setting elevation must lie strictly between 0 and 90"):
        SceneSettings(elevation=(0.0, 40.0))
    with pytest.raises(ConfigError, match="scene setting jpeg_quality must lie in 1..100"):
        SceneSettings(jpeg_quality=(0, 90))
    with pytest.raises(ConfigError, match="scene setting max_neighbours must be at least 1 when neighbour_chance is above 0"):
        SceneSettings(max_neighbours=0)
    assert SceneSettings(max_neighbours=0, neighbour_chance=0.0).max_neighbours == 0
    with pytest.raises(ConfigError, match="scene setting fov must lie strictly between 0 and 180"):
        SceneSettings(fov=(0.0, 40.0))
    with pytest.raises(ConfigError, match="scene setting distance must be at least 1"):
        SceneSettings(distance=(0.5, 1.5))
    with pytest.raises(ConfigError, match="scene setting margin must not be negative"):
        SceneSettings(margin=(-0.1, 0.2))
    with pytest.raises(ConfigError, match=r"unknown scene settings \['zoom'\]"):
        SceneSettings.from_dict({"zoom": 2})


def test_the_models_of_one_picture_stay_uploaded(room):
    with pytest.raises(ConfigError, match=r"keep_models must be at least max_neighbours \+ 1 = 4"):
        SceneRenderer(16, lambda i: None, 3, room[1], SceneSettings(), keep_models=3)
    # With room for exactly one picture's models, pictures with neighbours still render.
    paths, textures = room
    renderer = SceneRenderer(16, lambda i: load_item_scene(paths[i]), 3, textures, SceneSettings(neighbour_chance=1.0, max_neighbours=2), keep_models=3)
    for view in range(6):
        assert renderer.render(view % 3, 0, view)[0].shape == (16, 16, 3)
    assert len(renderer.models) <= 3
    renderer.release()
