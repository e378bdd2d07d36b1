"""Triangle meshes (OFF, OBJ, STL, PLY, GLB) and PLY point clouds through trimesh, into canonical grids."""

import numpy as np
import pytest
import trimesh
from test_matlab import backrest_at_high_axis_0, backrest_side, upright

from shapespace.errors import ConfigError, DataError
from shapespace.geometry.frame import frame_rotation
from shapespace.geometry.mesh import voxels_to_mesh
from shapespace.geometry.voxelize import VoxelizeOptions
from shapespace.io.meshes import (
    GLTF_FROM_WORLD,
    load_geometry,
    write_mesh,
    write_points_ply,
)
from shapespace.io.pointclouds import points_to_shape
from shapespace.io.registry import read_shape

MESH_SUFFIXES = [".off", ".obj", ".stl", ".ply", ".glb"]
MODELNET = frame_rotation("+z", "-y")


def _block(resolution, low, high):
    grid = np.zeros((resolution,) * 3, dtype=bool)
    grid[low[0] : high[0], low[1] : high[1], low[2] : high[2]] = True
    return grid


def _chair_mesh():
    """A ModelNet-frame chair (z up, facing -y) made of boxes with float32-exact (dyadic) coordinates."""
    parts = [
        [[-1, -1, 0], [1, 1, 0.25]],  # seat
        [[-1, 0.75, 0.25], [1, 1, 2]],  # backrest at +y: the back of a chair facing -y
    ] + [[[x, y, -1], [x + 0.25, y + 0.25, 0]] for x in (-1, 0.75) for y in (-1, 0.75)]  # legs
    return trimesh.util.concatenate([trimesh.creation.box(bounds=np.array(b, dtype=float)) for b in parts])


def _export(mesh, path):
    mesh.export(path)
    return path


@pytest.mark.parametrize("suffix", MESH_SUFFIXES)
def test_box_reads_as_its_exact_block_in_every_format(tmp_path, suffix):
    """A ModelNet-frame 2x1x1 box (x longest) at R=16, fill 1: canonical block 8 x 16 x 8 = 1024 voxels."""
    path = _export(trimesh.creation.box(extents=(2.0, 1.0, 1.0)), tmp_path / f"box{suffix}")
    grid = read_shape(path, VoxelizeOptions(resolution=16, fill=1.0))
    assert grid.dtype == bool and grid.sum() == 1024
    assert np.array_equal(grid, _block(16, (4, 0, 4), (12, 16, 12)))


@pytest.mark.parametrize("suffix", MESH_SUFFIXES)
def test_box_surface_only(tmp_path, suffix):
    """solid=False keeps the one-voxel-thick boundary of the block: 1024 - 6 * 14 * 6 = 520 voxels."""
    path = _export(trimesh.creation.box(extents=(2.0, 1.0, 1.0)), tmp_path / f"box{suffix}")
    grid = read_shape(path, VoxelizeOptions(resolution=16, fill=1.0, solid=False))
    assert np.array_equal(grid, _block(16, (4, 0, 4), (12, 16, 12)) & ~_block(16, (5, 1, 5), (11, 15, 11)))
    assert grid.sum() == 520


def test_chair_is_the_same_grid_in_every_format_upright_and_facing_minus_axis_0(tmp_path):
    """All five formats give one grid; legs at low axis 2, backrest at high axis 0, longest side 24 voxels."""
    mesh = _chair_mesh()
    grids = [read_shape(_export(mesh, tmp_path / f"chair{s}")) for s in MESH_SUFFIXES]
    for grid in grids[1:]:
        assert np.array_equal(grid, grids[0])
    grid = grids[0]
    occupied = np.argwhere(grid)
    # z spans [-1, 2] = 3 units -> 24 voxels (scale 8): legs 4..11, seat 12..13, backrest 14..27.
    assert occupied[:, 2].min() == 4 and occupied[:, 2].max() == 27
    assert upright(grid) and backrest_at_high_axis_0(grid) and backrest_side(grid) == "+0"
    # Offset 16 on the horizontal axes: the backrest (y in [0.75, 1], x in [-1, 1]) fills canonical axis 0
    # voxels 22..23 (axis 0 = y) and axis 1 voxels 8..23 (axis 1 = -x) on every layer above the seat.
    layer = np.zeros((32, 32), dtype=bool)
    layer[22:24, 8:24] = True
    assert np.array_equal(grid[:, :, 20], layer)


def test_up_front_options_read_a_y_up_mesh(tmp_path):
    """The chair stored y-up facing -z (ShapeNet style) reads identically with up='+y', front='-z'."""
    mesh = _chair_mesh()
    reference = read_shape(_export(mesh, tmp_path / "zup.off"))
    turned = mesh.copy()
    # canonical -> ShapeNet frame is the inverse of frame_rotation('+y', '-z'); from ModelNet: compose both.
    to_shapenet = frame_rotation("+y", "-z").T @ MODELNET
    turned.vertices = mesh.vertices @ to_shapenet.T
    path = _export(turned, tmp_path / "yup.off")
    assert np.array_equal(read_shape(path, VoxelizeOptions(up="+y", front="-z")), reference)
    assert not np.array_equal(read_shape(path), reference)


def test_glb_scene_nodes_are_merged_with_their_transforms(tmp_path):
    """A GLB scene of two boxes, one placed by a node transform, reads like the same boxes as one mesh."""
    base = trimesh.creation.box(extents=(2.0, 2.0, 0.5))
    post = trimesh.creation.box(extents=(0.5, 0.5, 1.5))
    move = trimesh.transformations.translation_matrix([0.5, 0.5, 1.0])
    scene = trimesh.Scene()
    scene.add_geometry(base, node_name="base")
    scene.add_geometry(post, node_name="post", transform=move)
    merged = trimesh.util.concatenate([base, post.copy().apply_transform(move)])
    from_scene = read_shape(_export(scene, tmp_path / "scene.glb"), VoxelizeOptions(resolution=16))
    assert np.array_equal(from_scene, read_shape(_export(merged, tmp_path / "merged.off"), VoxelizeOptions(resolution=16)))
    heights = np.argwhere(from_scene)[:, 2]
    assert heights.max() - heights.min() + 1 == 12  # height 2 = the longest side -> 0.75 * 16 voxels


# -- writing meshes -----------------------------------------------------------------------
def _marching_cubes_block():
    """The mesh of a 4 x 3 x 8 block of voxels in an 8^3 grid, touching its floor and ceiling."""
    return voxels_to_mesh(_block(8, (2, 1, 0), (6, 4, 8)).astype(np.float32))


@pytest.mark.parametrize("fmt", ["obj", "stl", "ply", "glb"])
def test_write_mesh_round_trip(tmp_path, fmt):
    mesh = _marching_cubes_block()
    path = write_mesh(mesh, tmp_path / f"shape.{fmt}")
    loaded = trimesh.load(path, force="mesh")
    if fmt == "glb":  # written in glTF's frame (y up): turn it back
        loaded.apply_transform(np.block([[GLTF_FROM_WORLD.T, np.zeros((3, 1))], [np.zeros((1, 3)), np.ones((1, 1))]]))
    assert np.allclose(loaded.bounds, mesh.bounds, atol=1e-5)
    assert abs(loaded.volume - mesh.volume) < 1e-6
    assert [p.name for p in tmp_path.iterdir()] == [f"shape.{fmt}"]  # no temp file left


def test_write_mesh_rejects_unknown_format(tmp_path):
    with pytest.raises(ConfigError, match="unsupported mesh format 'fbx'"):
        write_mesh(_marching_cubes_block(), tmp_path / "shape.fbx")


# -- PLY point clouds ---------------------------------------------------------------------
def test_write_points_ply_round_trips_float32_exactly(tmp_path):
    """write_points_ply writes binary float32 x y z; load_geometry returns them exactly, with no faces."""
    points = np.random.default_rng(0).normal(size=(100, 3)) * [1.0, 1e-3, 1e3]
    path = tmp_path / "cloud.ply"
    write_points_ply(path, points)
    assert path.read_bytes().startswith(b"ply\nformat binary_little_endian 1.0\n")
    vertices, faces = load_geometry(path)
    assert faces is None
    assert np.array_equal(vertices, points.astype(np.float32))


def test_ply_point_cloud_is_read_as_points(tmp_path):
    """A PLY without faces goes through the point-cloud path (ModelNet frame, closing 1, not solid)."""
    points = np.random.default_rng(1).normal(size=(500, 3))
    path = tmp_path / "cloud.ply"
    write_points_ply(path, points)
    options = VoxelizeOptions(resolution=16)
    assert np.array_equal(read_shape(path, options), points_to_shape(points.astype(np.float32), options))


def test_write_points_ply_refuses_nan(tmp_path):
    """NaN points are refused and nothing is written."""
    with pytest.raises(DataError, match="NaN"):
        write_points_ply(tmp_path / "bad.ply", np.array([[0.0, 1.0, np.nan]]))
    assert not (tmp_path / "bad.ply").exists()


# -- broken meshes ------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "text", "message"), [
    ("points.off", "OFF\n3 0 0\n0 0 0\n1 0 0\n0 1 1\n", "the mesh has no faces"),
    ("points.obj", "v 0 0 0\nv 1 0 0\nv 0 1 1\n", "the mesh has no faces"),
    ("line.off", "OFF\n3 1 0\n0 0 0\n1 0 0\n2 0 0\n3 0 1 2\n", "degenerate: its triangles have zero area"),
    ("nan.off", "OFF\n4 1 0\n0 0 0\n1 0 0\n0 1 1\nnan 0 0\n3 0 1 2\n", "1 of 4 vertices have NaN"),
    ("index.off", "OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 1\n3 0 1 7\n", "not a readable mesh file"),
    ("dot.off", "OFF\n3 1 0\n1 1 1\n1 1 1\n1 1 1\n3 0 1 2\n", "coincide"),
])  # fmt: skip
def test_broken_meshes_raise_naming_the_path(tmp_path, name, text, message):
    """Vertex-only meshes, zero-area, NaN, out-of-range indices and point-like meshes are DataErrors."""
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(DataError, match=message) as info:
        read_shape(path)
    assert str(info.value).startswith(f"{path}: ")


# -- header counts ------------------------------------------------------------------------
_TETRA_VERTICES = "0 0 0\n1 0 0\n0 1 0\n0 0 1\n"
_TETRA_FACES = "3 0 1 2\n3 0 1 3\n3 0 2 3\n3 1 2 3\n"


def _ascii_ply(vertices, faces, body):
    header = (
        f"ply\nformat ascii 1.0\nelement vertex {vertices}\nproperty float x\nproperty float y\nproperty float z\n"
        f"element face {faces}\nproperty list uchar int vertex_indices\nend_header\n"
    )
    return header + body


@pytest.mark.parametrize(("name", "text", "message"), [
    ("faces.off", "OFF\n4 12 0\n" + _TETRA_VERTICES + _TETRA_FACES,
     "the header promises 4 vertices and 12 faces (16 lines) but the file holds 8"),
    ("vertices.off", "OFF\n6 4 0\n" + _TETRA_VERTICES, "the header promises 6 vertices and 4 faces (10 lines) but the file holds 4"),
    ("extra.off", "OFF\n4 3 0\n" + _TETRA_VERTICES + _TETRA_FACES,
     "the header promises 4 vertices and 3 faces (7 lines) but the file holds 8"),
    ("modelnet.off", "OFF4 12 0\n" + _TETRA_VERTICES + _TETRA_FACES,
     "the header promises 4 vertices and 12 faces (16 lines) but the file holds 8"),
    ("negative.off", "OFF\n4 -1 0\n" + _TETRA_VERTICES, "the header gives a negative count, -1 faces"),
    ("faces.ply", _ascii_ply(4, 12, _TETRA_VERTICES + _TETRA_FACES),
     "the header promises 4 vertices and 12 faces (16 lines) but the file holds 8"),
    ("vertices.ply", _ascii_ply(8, 4, _TETRA_VERTICES + _TETRA_FACES),
     "the header promises 8 vertices and 4 faces (12 lines) but the file holds 8"),
    ("extra.ply", _ascii_ply(4, 2, _TETRA_VERTICES + _TETRA_FACES),
     "the header promises 4 vertices and 2 faces (6 lines) but the file holds 8"),
])  # fmt: skip
def test_header_counts_must_match_the_data(tmp_path, name, text, message):
    """OFF and ASCII PLY files whose lines disagree with their header's counts are refused, naming the file."""
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(DataError) as info:
        read_shape(path)
    assert str(info.value) == f"{path}: {message}"


@pytest.mark.parametrize("name", ["tetra.off", "tetra.ply"])
def test_header_counts_that_match_read(tmp_path, name):
    """The same tetrahedron with honest counts (comments and blank lines allowed) reads."""
    if name.endswith(".off"):
        text = "OFF\n# a comment\n4 4 0\n\n" + _TETRA_VERTICES + _TETRA_FACES
    else:
        text = _ascii_ply(4, 4, _TETRA_VERTICES + _TETRA_FACES + "\n")
    path = tmp_path / name
    path.write_text(text)
    assert read_shape(path, VoxelizeOptions(resolution=8)).any()


def test_truncated_binary_ply_is_refused(tmp_path):
    """A binary PLY cut short of its header's faces is refused by trimesh's length check, naming the file."""
    data = trimesh.creation.box().export(file_type="ply", encoding="binary")
    path = tmp_path / "cut.ply"
    path.write_bytes(data[:-20])
    with pytest.raises(DataError, match="not a readable mesh file .*unexpected length") as info:
        read_shape(path)
    assert str(info.value).startswith(f"{path}: ")


def test_glb_files_stand_upright_in_gltf_frame(tmp_path):
    # A box tall along the world's up axis (z) and deep along its front axis (x).
    box = trimesh.creation.box(extents=(2.0, 1.0, 3.0))
    write_mesh(box, tmp_path / "box.glb")
    write_mesh(box, tmp_path / "box.obj")
    glb = trimesh.load(tmp_path / "box.glb", force="mesh")
    np.testing.assert_allclose(glb.extents, (1.0, 3.0, 2.0), atol=1e-6)  # glTF: y up, z the front axis
    np.testing.assert_allclose(trimesh.load(tmp_path / "box.obj", force="mesh").extents, (2.0, 1.0, 3.0), atol=1e-6)
    assert np.isclose(np.linalg.det(GLTF_FROM_WORLD), 1.0)  # a rotation, not a mirror
