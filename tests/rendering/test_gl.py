"""The OpenGL rasterizer (moderngl on EGL): colours, textures, framing, crops. Skipped, with the
install commands, where moderngl or Mesa's EGL is missing (`make test` installs both)."""

import numpy as np
import pytest
import trimesh
from PIL import Image

from shapespace.rendering.gl import GLRenderer, Light, Placed, RendererUnavailable, crop_to_window, look_at, perspective, project

# Ambient light alone, white from every side: a surface shows its own sRGB colour.
FLAT = Light(direction=(0.0, 0.0, 1.0), colour=(0.0, 0.0, 0.0), sky=(1.0, 1.0, 1.0), ground=(1.0, 1.0, 1.0), exposure=1.0)


@pytest.fixture(scope="module")
def gl():
    try:
        renderer = GLRenderer(32)
    except RendererUnavailable as error:
        pytest.skip(str(error))
    yield renderer
    renderer.release()


EYE = (0.0, 0.0, 10.0)


def _top_view(width: float = 2.0) -> np.ndarray:
    """Looking straight down the z axis at the square [-1, 1]^2 of the plane z = 0 (x right, y up)."""
    view = look_at(np.array([0.0, 0.0, 10.0]), np.zeros(3), up=np.array([0.0, 1.0, 0.0]))
    projection = perspective(30.0, 1.0, 100.0)
    corners = project(projection @ view, np.array([[-1.0, -1.0, 0.0], [1.0, 1.0, 0.0]]))
    return crop_to_window(corners.min(axis=0) * width / 2, corners.max(axis=0) * width / 2) @ projection @ view


def test_look_at_without_an_up_vector_of_its_own():
    # The default up is +z; looking straight down falls back to +x for the side.
    view = look_at(np.array([0.0, 0.0, 5.0]), np.zeros(3))
    assert np.allclose(view[:3, :3] @ view[:3, :3].T, np.eye(3))
    assert np.allclose(view @ [0, 0, 0, 1], [0, 0, -5, 1])


def test_the_crop_maps_the_window_onto_the_whole_picture():
    projection_view = perspective(50.0, 0.1, 100.0) @ look_at(np.array([3.0, -4.0, 2.0]), np.zeros(3))
    points = np.random.default_rng(0).uniform(-1, 1, size=(50, 3))
    device = project(projection_view, points)
    low, high = device.min(axis=0), device.max(axis=0)
    cropped = project(crop_to_window(low, high) @ projection_view, points)
    assert np.allclose(cropped.min(axis=0), -1) and np.allclose(cropped.max(axis=0), 1)


def test_a_plain_quad_shows_its_srgb_colour_under_white_ambient_light(gl):
    quad = gl.quad(np.array([[-1, -1, 0], [1, -1, 0], [1, 1, 0], [-1, 1, 0]], float), (0.8, 0.2, 0.4))
    image = gl.render([Placed(quad, np.eye(4))], _top_view(), FLAT, EYE, background=(0.0, 0.0, 0.0))
    quad.release()
    assert image.shape == (32, 32, 3) and image.dtype == np.uint8
    assert np.abs(image.astype(int) - [204, 51, 102]).max() <= 1  # the whole picture, to a rounding


def test_the_background_shows_around_a_smaller_quad_and_exposure_scales_linear_light(gl):
    quad = gl.quad(np.array([[-0.5, -0.5, 0], [0.5, -0.5, 0], [0.5, 0.5, 0], [-0.5, 0.5, 0]], float), (0.5, 0.5, 0.5))
    image = gl.render([Placed(quad, np.eye(4))], _top_view(), FLAT, EYE, background=(0.0, 1.0, 0.0))
    brighter = gl.render([Placed(quad, np.eye(4))], _top_view(), Light(**{**FLAT.__dict__, "exposure": 2.0}), EYE, background=(0.0, 1.0, 0.0))
    quad.release()
    assert (image[0, 0] == [0, 255, 0]).all() and (image[-1, -1] == [0, 255, 0]).all()
    assert np.abs(image[16, 16].astype(int) - 128).max() <= 1
    # 0.5 in sRGB is 0.218 in linear light; twice that, encoded again, is 0.686.
    assert abs(int(brighter[16, 16, 0]) - round(255 * (2 * 0.5**2.2) ** (1 / 2.2))) <= 1


def test_lambert_light_and_both_sides_of_a_face(gl):
    # The quad's normal (from its winding) points away from the camera: it is turned to face it.
    quad = gl.quad(np.array([[-1, -1, 0], [-1, 1, 0], [1, 1, 0], [1, -1, 0]], float), (1.0, 1.0, 1.0))  # wound clockwise from above
    light = Light(direction=(0.0, 0.0, 1.0), colour=(0.25, 0.25, 0.25), sky=(0.0, 0.0, 0.0), ground=(0.0, 0.0, 0.0))
    image = gl.render([Placed(quad, np.eye(4))], _top_view(), light, EYE)
    quad.release()
    assert np.abs(image.astype(int) - round(255 * 0.25 ** (1 / 2.2))).max() <= 1  # lit although its normal points down


def test_textures_keep_their_orientation_through_mesh_uvs(gl):
    # Quarters: red top-left, green top-right, blue bottom-left, white bottom-right (8x8 texels
    # each, so that linear filtering reads one colour away from the borders).
    quarters = np.array([[[255, 0, 0], [0, 255, 0]], [[0, 0, 255], [255, 255, 255]]], np.uint8)
    texture = Image.fromarray(quarters.repeat(8, axis=0).repeat(8, axis=1))
    vertices = np.array([[-1, -1, 0], [1, -1, 0], [1, 1, 0], [-1, 1, 0]], float)
    mesh = trimesh.Trimesh(vertices, [[0, 1, 2], [0, 2, 3]], process=False)
    mesh.visual = trimesh.visual.TextureVisuals(uv=np.array([[0, 0], [1, 0], [1, 1], [0, 1]], float), image=texture)
    model = gl.upload_scene(trimesh.Scene(mesh))
    image = gl.render([Placed(model, np.eye(4))], _top_view(), FLAT, EYE)
    model.release()
    # Sampled away from the middle, where the texels blend.
    assert (image[3, 3] == [255, 0, 0]).all() and (image[3, -4] == [0, 255, 0]).all()
    assert (image[-4, 3] == [0, 0, 255]).all() and (image[-4, -4] == [255, 255, 255]).all()


def test_world_planar_texture_coordinates_tile_a_floor(gl):
    stripes = Image.fromarray(np.array([[[0, 0, 0], [255, 255, 255]]], np.uint8).repeat(8, axis=0).repeat(8, axis=1))  # black | white
    texture = gl.texture(stripes)
    floor = gl.quad(np.array([[-1, -1, 0], [1, -1, 0], [1, 1, 0], [-1, 1, 0]], float), (1.0, 1.0, 1.0), texture)
    # One texture repeat per unit of x: two repeats, four stripes of 8 pixels across the picture.
    axes = (np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0]))
    image = gl.render([Placed(floor, np.eye(4), axes)], _top_view(), FLAT, EYE)
    floor.release()
    texture.release()
    row = image[16, :, 0].astype(int)
    assert row[4] < 60 and row[12] > 200 and row[20] < 60 and row[28] > 200  # black, white, black, white


def test_the_mesh_colour_drops_out_where_a_texture_is_drawn(gl):
    # Sweet Home 3D libraries pair textures with dark Kd values; the texture is drawn alone.
    mesh = trimesh.Trimesh([[-1, -1, 0], [1, -1, 0], [1, 1, 0], [-1, 1, 0]], [[0, 1, 2], [0, 2, 3]], process=False)
    material = trimesh.visual.material.SimpleMaterial(image=Image.new("RGB", (2, 2), (200, 200, 200)), diffuse=[50, 20, 10, 255])
    mesh.visual = trimesh.visual.TextureVisuals(uv=np.array([[0, 0], [1, 0], [1, 1], [0, 1]], float), material=material)
    model = gl.upload_scene(trimesh.Scene(mesh))
    image = gl.render([Placed(model, np.eye(4))], _top_view(), FLAT, EYE)
    model.release()
    assert np.abs(image.astype(int) - 200).max() <= 1


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError, match="size must be between 8 and 1024 pixels, got 4"):
        GLRenderer(4)


def test_a_missing_egl_names_the_install_commands(monkeypatch):
    moderngl = pytest.importorskip("moderngl", reason="moderngl is not installed (pip install 'shapespace[photos]')")

    def fail(**kwargs):
        raise Exception("libEGL.so: cannot open shared object file")

    monkeypatch.setattr(moderngl, "create_standalone_context", fail)
    with pytest.raises(RendererUnavailable, match="no OpenGL context through EGL.*apt-get install libegl1 libegl-mesa0 libgl1-mesa-dri"):
        GLRenderer(16)


def test_a_shadow_decal_darkens_the_floor_under_a_footprint_softly(gl):
    floor = gl.quad(np.array([[-1, -1, 0], [1, -1, 0], [1, 1, 0], [-1, 1, 0]], float), (1.0, 1.0, 1.0))
    decal = gl.shadow_decal(np.array([-0.3, -0.3]), np.array([0.3, 0.3]), height=0.01)
    image = gl.render([Placed(floor, np.eye(4)), Placed(decal, np.eye(4), shadow=0.5)], _top_view(), FLAT, EYE)
    floor.release()
    decal.release(textures=False)
    grey = image[..., 0].astype(int)
    assert abs(grey[16, 16] - 128) <= 2  # half-way to black in the middle
    assert grey[0, 0] == 255 and grey[16, 0] == 255  # untouched beyond the spread
    assert 128 < grey[16, 10] < 250  # soft in between
