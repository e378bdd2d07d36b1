"""The format registry and read_shape's contract: a canonical bool grid or a DataError naming the file."""

import sys

import numpy as np
import pytest
from conftest import imported_modules

from shapespace.errors import DataError
from shapespace.io import registry
from shapespace.geometry.voxelize import VoxelizeOptions
from shapespace.io.matlab import write_mat
from shapespace.io.registry import (
    ShapeFormat,
    archive_suffixes,
    format_for,
    formats,
    read_shape,
    register_format,
    shape_suffixes,
)


def _chair(resolution=30):
    """A canonical chair (backrest at high axis 0) in a 30^3 grid with a 3-voxel border, like 3DShapeNets."""
    grid = np.zeros((resolution,) * 3, dtype=np.int8)
    for i, j in ((3, 3), (3, 25), (25, 3), (25, 25)):
        grid[i : i + 2, j : j + 2, 3:13] = 1  # legs
    grid[3:27, 3:27, 13:15] = 1  # seat
    grid[24:27, 3:27, 15:27] = 1  # backrest
    return grid


def test_builtin_formats_and_suffixes():
    """Four formats read exactly these ten one-shape suffixes; Sweet Home 3D libraries are archives."""
    assert set(formats()) == {"mat", "binvox", "points", "mesh", "sweethome3d"}
    assert shape_suffixes() == {".mat", ".binvox", ".pcd", ".xyz", ".npy", ".off", ".obj", ".stl", ".ply", ".glb"}
    assert archive_suffixes() == {".sh3f", ".jar"}


@pytest.mark.parametrize(("name", "fmt"), [
    ("a.mat", "mat"), ("b.binvox", "binvox"), ("c.pcd", "points"), ("d.xyz", "points"), ("e.npy", "points"),
    ("f.off", "mesh"), ("g.obj", "mesh"), ("h.stl", "mesh"), ("i.ply", "mesh"), ("j.glb", "mesh"),
    ("UPPER.MAT", "mat"), ("dir.v2/x.Binvox", "binvox"), ("x.tar.ply", "mesh"),
])  # fmt: skip
def test_format_for_picks_by_suffix_case_insensitively(name, fmt):
    """The last suffix, lower-cased, selects the format."""
    assert format_for(name).name == fmt


@pytest.mark.parametrize("name", ["shape.txt", "shape", "shape.mat.gz", ".mat"])
def test_unknown_suffix_raises_naming_the_path(tmp_path, name):
    """Unknown or missing suffixes are DataErrors starting with the path and listing what is readable."""
    path = tmp_path / name
    path.write_bytes(b"x")
    with pytest.raises(DataError, match="unknown shape file type") as info:
        read_shape(path)
    assert str(info.value).startswith(str(path))
    assert ".binvox" in str(info.value)


def test_missing_file_and_directory_raise(tmp_path):
    """A path that is not a file: 'no such file', whatever its suffix."""
    (tmp_path / "folder.mat").mkdir()
    for path in (tmp_path / "absent.binvox", tmp_path / "folder.mat"):
        with pytest.raises(DataError, match="no such file") as info:
            read_shape(path)
        assert str(info.value).startswith(str(path))


@pytest.mark.parametrize("suffix", [".mat", ".binvox", ".pcd", ".xyz", ".npy", ".off", ".obj", ".stl", ".ply", ".glb"])
def test_empty_file_raises_saying_empty(tmp_path, suffix):
    """A zero-byte file of any format is 'empty'."""
    path = tmp_path / f"shape{suffix}"
    path.touch()
    with pytest.raises(DataError, match="the file is empty") as info:
        read_shape(path)
    assert str(info.value).startswith(f"{path}: ")


def test_read_shape_returns_a_canonical_bool_grid(tmp_path):
    """The default read is 32^3 bool; a 30^3 ModelNet-style grid comes back padded by one voxel."""
    path = tmp_path / "chair.mat"
    write_mat(path, _chair())
    grid = read_shape(path)
    assert grid.shape == (32, 32, 32) and grid.dtype == bool
    assert np.array_equal(grid, np.pad(_chair() != 0, 1))
    assert np.array_equal(read_shape(path, VoxelizeOptions(resolution=16)).shape, (16, 16, 16))


def test_reader_errors_are_prefixed_with_the_path(tmp_path):
    """An error raised inside a reader (here: an all-empty grid) names the file first."""
    path = tmp_path / "blank.mat"
    write_mat(path, np.zeros((30,) * 3))
    with pytest.raises(DataError, match=r"the shape is empty at 32\^3") as info:
        read_shape(path)
    assert str(info.value).startswith(f"{path}: ")
    write_mat(path, np.zeros((30,) * 3), key="grid")  # IKEA files are normalised: fit_grid refuses empty grids
    with pytest.raises(DataError, match="the voxel grid is empty") as info:
        read_shape(path)
    assert str(info.value).startswith(f"{path}: ")


def test_align_option_turns_the_backrest_to_high_axis_0(tmp_path):
    """A chair stored facing +axis 0 (rotation _7 style) is turned by align=True, untouched without it."""
    path = tmp_path / "turned.mat"
    turned = np.rot90(_chair(), 2, axes=(0, 1))
    write_mat(path, turned)
    assert np.array_equal(read_shape(path), np.pad(turned != 0, 1))
    assert np.array_equal(read_shape(path, VoxelizeOptions(align=True)), np.pad(_chair() != 0, 1))


def test_up_front_options_override_the_format_default(tmp_path):
    """A chair written in the IKEA frame ('grid') and read as if canonical gives a different grid."""
    path = tmp_path / "chair.mat"
    write_mat(path, _chair(), key="grid")
    default = read_shape(path)
    overridden = read_shape(path, VoxelizeOptions(up="+z", front="-x"))
    assert not np.array_equal(default, overridden)
    assert np.array_equal(read_shape(path, VoxelizeOptions(up="+0", front="+1")), default)


def test_register_format_refuses_a_taken_suffix():
    """A second format cannot steal a suffix; the registry is unchanged."""
    before = dict(formats())
    with pytest.raises(ValueError, match="already registered"):
        register_format(ShapeFormat("other", (".mat",), lambda path, options: None, "test"))
    assert formats() == before
    assert format_for("x.mat").name == "mat"


def test_registry_imports_no_format_module():
    """The registry never imports a format module, nor does a format module register itself.

    The package ``shapespace.io`` imports the format modules and registers them (pytorch3d's
    ``IO`` pattern), so there is no import cycle between the registry and the formats.
    """
    format_modules = {fmt.read.__module__ for fmt in formats().values()}
    assert format_modules == {
        "shapespace.io.binvox", "shapespace.io.matlab", "shapespace.io.pointclouds", "shapespace.io.meshes", "shapespace.io.sweethome",
    }  # fmt: skip
    imported = imported_modules(registry)
    assert "shapespace.errors" in imported  # the parse sees the registry's imports
    assert not {name for name in imported if name.startswith("shapespace.io")}
    for name in format_modules:
        assert "shapespace.io.registry.register_format" not in imported_modules(sys.modules[name])
