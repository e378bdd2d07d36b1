"""Sweet Home 3D furniture libraries: the catalogue, the models placed as Sweet Home 3D places
them, and one-line errors. Every library here is a small .sh3f made in the test."""

import hashlib
import zipfile

import numpy as np
import pytest
import trimesh
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from sweethome_library import box_library, make_library, obj_files
from test_meshes import _chair_mesh

from shapespace.errors import DataError
from shapespace.geometry.voxelize import VoxelizeOptions
from shapespace.io.registry import format_for, read_shape, split_archive_path
from shapespace.io.sweethome import (
    SWEETHOME_FORMAT,
    decode_properties,
    item_geometry,
    load_item_scene,
    parse_properties,
    placement,
    read_library,
    slugify,
)

# Sweet Home 3D's own quarter turn for a model stored z up (as ModelNet's): (x, y, z) -> (x, z, -y).
Z_UP_TO_Y_UP = "1 0 0 0 0 1 0 -1 0"


def block(resolution, low, high):
    grid = np.zeros((resolution,) * 3, dtype=bool)
    grid[low[0] : high[0], low[1] : high[1], low[2] : high[2]] = True
    return grid


# -- the catalogue --------------------------------------------------------------------------


def test_properties_escapes_separators_comments_and_continuations():
    text = (
        "# a comment\n"
        "! another comment\n"
        "name#1 = Chaise d'\\u00e9t\\u00e9\n"
        "key\\:with\\=signs\\ and\\ spaces : value\n"
        "tags#1   Seat, Wood\n"
        "description=first line \\\n"
        "     and the next\n"
        "escapes=tab\\there\\nnew\\\\slash\\q\n"
        "empty=\n"
        "twice=1\n"
        "twice=2\n"
    )
    assert parse_properties(text) == {
        "name#1": "Chaise d'été",
        "key:with=signs and spaces": "value",
        "tags#1": "Seat, Wood",
        "description": "first line and the next",
        "escapes": "tab\there\nnew\\slashq",
        "empty": "",
        "twice": "2",
    }


def test_properties_are_utf8_or_else_iso_8859_1():
    assert decode_properties("license=© eTeks".encode("utf-8")) == "license=© eTeks"
    assert decode_properties(b"license=\xa9 eTeks") == "license=© eTeks"  # the Debian libraries' bytes


def test_catalogue_items_with_licences_creators_and_licence_files(tmp_path):
    files = {f"box/{name}": data for name, data in obj_files(trimesh.creation.box(), "box").items()}
    files["box/BLENDSWAP_LICENSE.txt"] = b"You MUST give credit to Ada."
    catalogue = (
        "id=Test#library\nname=Test library\nlicense=CC-BY 3.0 \\u00a9 Someone\n"
        "id#1=Test#chair\nname#1=Chaise d'\\u00e9t\\u00e9\ncategory#1=Living room\ntags#1=Seat, Wood\n"
        "model#1=/box/box.obj\nwidth#1=40\ndepth#1=42.5\nheight#1=90\ncreator#1=Ada\n"
        "modelRotation#1=0 0 1 0 1 0 -1 0 0\n"
        "id#2=Test#table\nname#2=Table\ncategory#2=Living room\nmodel#2=/box/box.obj\n"
        "width#2=1.2e2\ndepth#2=80\nheight#2=74\nlicense#2=CC0\n"
    )
    library = read_library(make_library(tmp_path / "test.sh3f", catalogue, files))
    assert (library.id, library.name, library.license) == ("Test#library", "Test library", "CC-BY 3.0 © Someone")
    assert library.catalogue == "PluginFurnitureCatalog.properties"
    chair, table = library.items
    assert (chair.index, chair.id, chair.name, chair.category, chair.tags) == (1, "Test#chair", "Chaise d'été", "Living room", ("Seat", "Wood"))
    assert chair.model == "box/box.obj" and chair.size == (40.0, 42.5, 90.0)
    assert chair.rotation == ((0.0, 0.0, 1.0), (0.0, 1.0, 0.0), (-1.0, 0.0, 0.0))
    assert (chair.creator, chair.license, chair.license_file) == ("Ada", "CC-BY 3.0 © Someone", "box/BLENDSWAP_LICENSE.txt")
    assert (table.size, table.rotation, table.creator, table.license) == ((120.0, 80.0, 74.0), None, "", "CC0")
    assert [item.key for item in library.items] == ["1-chaise-d-ete", "2-table"]
    assert library.item_path(chair) == tmp_path / "test.sh3f" / "1-chaise-d-ete"
    assert library.item("2") is table and library.item("2-table") is table


def test_the_jar_keeps_its_default_catalogue_elsewhere(tmp_path):
    files = {f"com/eteks/sweethome3d/io/resources/{n}": d for n, d in obj_files(trimesh.creation.box(), "chair").items()}
    catalogue = "name#1=Chair\nmodel#1=/com/eteks/sweethome3d/io/resources/chair.obj\nwidth#1=40\ndepth#1=42\nheight#1=90\n"
    jar = make_library(tmp_path / "sweethome3d.jar", catalogue, files, "com/eteks/sweethome3d/io/DefaultFurnitureCatalog.properties")
    library = read_library(jar)
    assert library.catalogue == "com/eteks/sweethome3d/io/DefaultFurnitureCatalog.properties"
    assert [(item.key, item.license_file) for item in library.items] == [("1-chair", "")]
    assert read_shape(jar / "1-chair", VoxelizeOptions(resolution=8)).any()


def test_slugify():
    assert slugify("Bed 140x190") == "bed-140x190"
    assert slugify("Captain's bed") == "captain-s-bed"
    assert slugify("Bill 10€") == "bill-10"
    assert slugify("Ça été") == "ca-ete"


# -- placing the models ------------------------------------------------------------------------


def test_the_real_size_is_applied_axis_by_axis(tmp_path):
    """A unit cube of 80 (width) x 20 (depth) x 40 (height) cm at R=16, fill 1: 0.2 voxel per cm, so
    canonical 4 (front-back, axis 0) x 16 (left-right, axis 1) x 8 (up, axis 2) voxels, centred."""
    library = box_library(tmp_path / "lib.sh3f", size=(80, 20, 40))
    grid = read_shape(library / "1-box", VoxelizeOptions(resolution=16, fill=1.0))
    assert np.array_equal(grid, block(16, (6, 0, 4), (10, 16, 12)))


def test_the_model_rotation_comes_before_the_size(tmp_path):
    """A 2 x 1 x 4 box stored z up, turned y up by its modelRotation: its 4 becomes the height, and
    width 80 / depth 20 / height 40 cm then scale the turned box exactly as the cube above."""
    library = box_library(tmp_path / "lib.sh3f", size=(80, 20, 40), rotation=Z_UP_TO_Y_UP, extents=(2.0, 1.0, 4.0))
    vertices, faces = item_geometry(library / "1-box")
    assert np.allclose(vertices.min(axis=0), [-10, -40, 0]) and np.allclose(vertices.max(axis=0), [10, 40, 40])
    grid = read_shape(library / "1-box", VoxelizeOptions(resolution=16, fill=1.0))
    assert np.array_equal(grid, block(16, (6, 0, 4), (10, 16, 12)))


def test_a_chair_reads_as_the_same_grid_as_its_mesh_file(tmp_path):
    """The chair of the mesh tests (ModelNet frame: z up, facing -y; 2 x 2 x 3) in a library with
    Sweet Home 3D's z-up-to-y-up rotation and its own size gives exactly the grid its OBJ file gives:
    upright, backrest at high axis 0."""
    chair = _chair_mesh()
    (tmp_path / "chair.obj").write_bytes(obj_files(chair, "chair")["chair.obj"])
    files = {f"chair/{name}": data for name, data in obj_files(chair, "chair").items()}
    catalogue = f"name#1=Chair\nmodel#1=/chair/chair.obj\nwidth#1=2\ndepth#1=2\nheight#1=3\nmodelRotation#1={Z_UP_TO_Y_UP}\n"
    library = make_library(tmp_path / "lib.sh3f", catalogue, files)
    expected = read_shape(tmp_path / "chair.obj", VoxelizeOptions(resolution=32))
    grid = read_shape(library / "1-chair", VoxelizeOptions(resolution=32))
    assert np.array_equal(grid, expected)
    top = np.argwhere(grid)[:, 2] >= np.argwhere(grid)[:, 2].max() - 2
    assert np.argwhere(grid)[top][:, 0].min() >= 16  # the top of the backrest lies in the back half


def test_front_plus_z_and_up_plus_y_map_to_the_canonical_frame(tmp_path):
    """A seat with its backrest on Sweet Home 3D's back side (-z), y up: backrest at high axis 0,
    seat at low axis 2; VoxelizeOptions up/front override the frame."""
    seat = trimesh.creation.box(bounds=[[-1, 0, -1], [1, 0.5, 1]])
    back = trimesh.creation.box(bounds=[[-1, 0.5, -1], [1, 3, -0.5]])
    files = {f"c/{n}": d for n, d in obj_files(trimesh.util.concatenate([seat, back]), "c").items()}
    library = make_library(tmp_path / "lib.sh3f", "name#1=Chair\nmodel#1=/c/c.obj\nwidth#1=2\ndepth#1=2\nheight#1=3\n", files)
    grid = read_shape(library / "1-chair", VoxelizeOptions(resolution=12, fill=1.0))
    # scale 4 voxels per unit: seat 8 x 8 x 2 at the bottom, backrest 2 (axis 0, at the back) x 8 x 10 above it
    assert np.array_equal(grid, block(12, (2, 2, 0), (10, 10, 2)) | block(12, (8, 2, 2), (10, 10, 12)))
    turned = read_shape(library / "1-chair", VoxelizeOptions(resolution=12, fill=1.0, up="+y", front="-z"))
    assert np.array_equal(turned, np.rot90(grid, 2, axes=(0, 1)))


def test_placement_puts_the_bottom_centre_at_the_origin_in_cm(tmp_path):
    library = read_library(box_library(tmp_path / "lib.sh3f", size=(80, 20, 40), extents=(3.0, 5.0, 7.0)))
    item = library.items[0]
    corners = np.array([[0, 0, 0], [3, 5, 7]], dtype=float) + 10  # anywhere in the OBJ's space
    transform = placement(item, corners)
    placed = corners @ transform[:3, :3].T + transform[:3, 3]
    assert np.allclose(np.sort(placed, axis=0), [[-10, -40, 0], [10, 40, 40]])


def test_the_scene_keeps_materials_and_textures_in_the_canonical_frame(tmp_path):
    texture = Image.new("RGB", (4, 2), (200, 30, 30))
    files = {f"box/{n}": d for n, d in obj_files(trimesh.creation.box(), "box", texture=texture).items()}
    assert any(name.endswith(".png") for name in files)
    library = make_library(tmp_path / "lib.sh3f", "name#1=Box\nmodel#1=/box/box.obj\nwidth#1=80\ndepth#1=20\nheight#1=40\ncreator#1=Ada\n", files)
    scene = load_item_scene(library / "1-box")
    (mesh,) = scene.geometry.values()
    assert mesh.visual.material.image.size == (4, 2)
    assert np.allclose(scene.bounds, [[-10, -40, 0], [10, 40, 40]])
    assert scene.metadata == {"name": "Box", "creator": "Ada", "license": "", "missing_files": []}


def test_a_texture_missing_from_the_archive_is_left_out_and_listed(tmp_path):
    texture = Image.new("RGB", (4, 2))
    files = {f"box/{n}": d for n, d in obj_files(trimesh.creation.box(), "box", texture=texture).items() if not n.endswith(".png")}
    library = make_library(tmp_path / "lib.sh3f", "name#1=Box\nmodel#1=/box/box.obj\nwidth#1=1\ndepth#1=1\nheight#1=1\n", files)
    scene = load_item_scene(library / "1-box")
    assert len(scene.metadata["missing_files"]) == 1 and scene.metadata["missing_files"][0].endswith(".png")
    assert read_shape(library / "1-box", VoxelizeOptions(resolution=8, fill=1.0)).all()


# -- paths into a library -------------------------------------------------------------------------


def test_a_library_is_an_archive_read_one_item_at_a_time(tmp_path):
    library = box_library(tmp_path / "lib.sh3f")
    assert SWEETHOME_FORMAT.archive and format_for(library / "1-box") is SWEETHOME_FORMAT
    assert split_archive_path(library / "1-box") == (library, "1-box")
    assert split_archive_path(tmp_path / "box.obj") is None
    with pytest.raises(DataError, match=r"lib\.sh3f: a sweethome3d file holds many shapes; name one as lib\.sh3f/ITEM"):
        read_shape(library)


# -- one-line errors naming the file -------------------------------------------------------------------


def _error(call, *args) -> str:
    with pytest.raises(DataError) as info:
        call(*args)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_a_corrupt_or_truncated_zip(tmp_path):
    bad = tmp_path / "bad.sh3f"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    assert _error(read_library, bad) == f"{bad}: not a Sweet Home 3D library (not a zip archive, or a truncated one)"
    assert _error(read_shape, bad / "1-box") == f"{bad / '1-box'}: not a Sweet Home 3D library (not a zip archive, or a truncated one)"
    truncated = tmp_path / "truncated.sh3f"
    truncated.write_bytes(box_library(tmp_path / "lib.sh3f").read_bytes()[:-40])
    assert _error(read_library, truncated).startswith(f"{truncated}: not a Sweet Home 3D library")


def test_a_missing_library_or_catalogue(tmp_path):
    assert _error(read_library, tmp_path / "absent.sh3f") == f"{tmp_path / 'absent.sh3f'}: no such file"
    assert _error(read_shape, tmp_path / "absent.sh3f" / "1-box") == f"{tmp_path / 'absent.sh3f'}: no such file"
    empty = tmp_path / "empty.sh3f"
    with zipfile.ZipFile(empty, "w") as archive:
        archive.writestr("readme.txt", "no catalogue")
    assert _error(read_library, empty) == (
        f"{empty}: the archive holds no furniture catalogue (looked for PluginFurnitureCatalog.properties "
        "and com/eteks/sweethome3d/io/DefaultFurnitureCatalog.properties)"
    )


def test_a_missing_or_broken_model(tmp_path):
    library = make_library(tmp_path / "lib.sh3f", "name#1=Box\nmodel#1=/box/box.obj\nwidth#1=1\ndepth#1=1\nheight#1=1\n", {})
    assert _error(read_shape, library / "1-box") == f"{library / '1-box'}: its model box/box.obj is not in the archive"
    assert _error(load_item_scene, library / "1-box") == f"{library / '1-box'}: its model box/box.obj is not in the archive"
    lines = make_library(tmp_path / "lines.sh3f", "name#1=Box\nmodel#1=/a.obj\nwidth#1=1\ndepth#1=1\nheight#1=1\n", {"a.obj": b"v 0 0 0\nv 1 0 0\nl 1 2\n"})
    assert _error(read_shape, lines / "1-box") == f"{lines / '1-box'}: its model a.obj holds no triangles"
    other = make_library(tmp_path / "other.sh3f", "name#1=Box\nmodel#1=/a.3ds\nwidth#1=1\ndepth#1=1\nheight#1=1\n", {"a.3ds": b"x"})
    assert _error(read_shape, other / "1-box") == f"{other / '1-box'}: its model a.3ds is not a Wavefront OBJ file (the only model format read)"


def test_an_unknown_item(tmp_path):
    library = box_library(tmp_path / "lib.sh3f")
    assert _error(read_shape, library / "2-box") == f"{library / '2-box'}: the catalogue has no item 2 (items: 1)"
    assert _error(read_shape, library / "1-chair") == f"{library / '1-chair'}: item 1 of the catalogue is 'Box', not 'chair'"
    assert _error(read_shape, library / "box") == f"{library / 'box'}: 'box' does not name an item: expected <number>-<name>, such as 12-office-chair"


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        ("name#2=Bad\\u00zz\n", "bad properties: Invalid \\u escape sequence: \\u00zz"),
        ("name#2=Chair\nwidth#2=1\ndepth#2=1\nheight#2=1\n", "item 2 (Chair) has no model#2"),
        ("model#2=/box/box.obj\n", "item 2 has no name#2"),
        ("name#2=Chair\nmodel#2=/box/box.obj\nwidth#2=1\ndepth#2=1\n", "item 2 (Chair) has no height#2"),
        ("name#2=Chair\nmodel#2=/box/box.obj\nwidth#2=wide\ndepth#2=1\nheight#2=1\n", "width#2 'wide' is not a number"),
        ("name#2=Chair\nmodel#2=/box/box.obj\nwidth#2=0\ndepth#2=1\nheight#2=1\n", "width#2 must be a positive size in cm, got '0'"),
        ("name#2=Chair\nmodel#2=/box/box.obj\nwidth#2=1\ndepth#2=nan\nheight#2=1\n", "depth#2 must be a positive size in cm, got 'nan'"),
        (
            "name#2=Chair\nmodel#2=/box/box.obj\nwidth#2=1\ndepth#2=1\nheight#2=1\nmodelRotation#2=1 0 0 0 1 0 0 0\n",
            "modelRotation#2 '1 0 0 0 1 0 0 0': expected nine numbers, a 3x3 matrix row by row",
        ),
        (
            "name#2=Chair\nmodel#2=/box/box.obj\nwidth#2=1\ndepth#2=1\nheight#2=1\nmodelRotation#2=1 0 0 0 0 0 0 0 1\n",
            "modelRotation#2 '1 0 0 0 0 0 0 0 1': the matrix is singular, not a rotation",
        ),
        (
            "name#2=Chair\nmodel#2=http://example.com/chair.obj\nwidth#2=1\ndepth#2=1\nheight#2=1\n",
            "model#2 'http://example.com/chair.obj' is a URL; only models inside the archive are read",
        ),
    ],
)
def test_bad_properties_name_the_library_the_catalogue_and_the_key(tmp_path, extra, problem):
    library = box_library(tmp_path / "lib.sh3f", extra=extra)
    assert _error(read_library, library) == f"{library}: PluginFurnitureCatalog.properties: {problem}"
    assert _error(read_shape, library / "1-box") == f"{library / '1-box'}: PluginFurnitureCatalog.properties: {problem}"


def test_a_corrupt_model_inside_a_sound_archive(tmp_path):
    """A model whose compressed bytes are damaged (bad CRC): one line naming the item and the model."""
    library = box_library(tmp_path / "lib.sh3f")
    with zipfile.ZipFile(library) as archive:
        info = archive.getinfo("box/box.obj")
        data = bytearray(library.read_bytes())
        offset = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra) + info.compress_size // 2
    data[offset] ^= 0xFF
    library.write_bytes(bytes(data))
    message = _error(read_shape, library / "1-box")
    assert message.startswith(f"{library / '1-box'}: its model box/box.obj cannot be read from the archive (")


def test_the_library_is_read_again_when_the_file_changes(tmp_path):
    path = box_library(tmp_path / "lib.sh3f", size=(80, 20, 40))
    assert read_library(path).items[0].size == (80.0, 20.0, 40.0)
    box_library(tmp_path / "lib.sh3f", size=(10, 20, 30), extra="name#2=Box\nmodel#2=/box/box.obj\nwidth#2=1\ndepth#2=1\nheight#2=1\n")
    assert [item.size for item in read_library(path).items] == [(10.0, 20.0, 30.0), (1.0, 1.0, 1.0)]


def test_reading_extracts_nothing(tmp_path):
    """Items are read from the archive in memory: the library's folder holds only the library."""
    library = box_library(tmp_path / "lib.sh3f")
    read_shape(library / "1-box", VoxelizeOptions(resolution=8))
    load_item_scene(library / "1-box")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lib.sh3f"]


# -- whatever the bytes: a library or a DataError ------------------------------------------------


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=2048))
def test_random_bytes_are_a_data_error(tmp_path, data):
    path = tmp_path / "random.sh3f"
    path.write_bytes(data)
    with pytest.raises(DataError):
        read_library(path)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=400))
def test_any_catalogue_text_gives_a_library_or_a_data_error(tmp_path, text):
    # One file per text: the library cache tells versions of a file by size and time, and
    # examples follow each other faster than the file system's clock ticks.
    path = make_library(tmp_path / f"{hashlib.sha256(text.encode()).hexdigest()[:16]}.sh3f", text, {})
    try:
        library = read_library(path)
    except DataError as error:
        assert "\n" not in str(error) and str(error).startswith(f"{path}: PluginFurnitureCatalog.properties: ")
    else:
        assert all(item.name and item.model for item in library.items)


def test_every_truncation_of_a_library_is_a_data_error_or_reads(tmp_path):
    whole = box_library(tmp_path / "whole.sh3f").read_bytes()
    cut = tmp_path / "cut.sh3f"
    for size in range(1, len(whole), max(1, len(whole) // 97)):
        cut.write_bytes(whole[:size])
        try:
            read_shape(cut / "1-box", VoxelizeOptions(resolution=8))
        except DataError as error:
            assert str(error).startswith(f"{cut}")
