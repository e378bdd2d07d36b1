"""The built-in furniture as painted meshes (data/builtin/meshes.py): placement, agreement
with the voxel grids, finishes, item paths."""

import numpy as np
import pytest

from shapespace.data.builtin import CLASSES, furniture_shape
from shapespace.data.builtin.meshes import (
    FABRICS,
    FINISHES,
    builtin_item_path,
    builtin_item_scene,
    is_builtin_item,
    parse_builtin_item,
    parts_scene,
)
from shapespace.data.builtin.parts import Parts
from shapespace.errors import DataError
from shapespace.geometry.voxelize import mesh_to_voxels


def _mesh(scene):
    import trimesh

    return trimesh.util.concatenate(scene.dump())


def test_a_box_and_a_post_are_placed_in_cm_bottom_centre_at_the_origin():
    parts = Parts()
    parts.boxes.append((0.0, 1.0, -0.25, 0.25, 0.5, 0.55))  # a top 100 x 50 cm, 5 cm thick, at 50 cm
    parts.cylinder(0.5, 0.0, 0.02, 0.0, 0.5)  # one post below it
    body, soft = np.array([10.0, 20.0, 30.0]), np.array([200.0, 100.0, 0.0])
    mesh = _mesh(parts_scene(parts, body, soft))
    assert np.allclose(mesh.bounds, [[-50, -25, 0], [50, 25, 55]])
    assert len(mesh.faces) == 12 + 4 * 16  # a box, and a 16-sided prism with its two caps
    # Flat faces: no vertex is shared between faces, so every normal is its face's.
    assert len(mesh.vertices) == 3 * len(mesh.faces)
    # Neither part is thicker than 8 cm every way: both in the body's colour.
    assert {tuple(c[:3]) for c in mesh.visual.face_colors} == {(10, 20, 30)}


def test_thick_boxes_take_the_upholstery():
    parts = Parts()
    parts.centred_box(0.0, 0.6, 0.3, 0.2, 0.4)  # a 20 cm seat cushion
    parts.centred_box(0.55, 0.6, 0.3, 0.0, 0.9)  # a 5 cm back board
    scene = parts_scene(parts, np.array([1.0, 2.0, 3.0]), np.array([200.0, 100.0, 50.0]))
    colours = [tuple(g.visual.face_colors[0, :3]) for g in scene.dump()]
    assert colours == [(200, 100, 50), (1, 2, 3)]


def test_the_mesh_voxelises_to_the_built_in_grid():
    """A picture of the mesh shows the shape of its training target: the project's mesh
    voxeliser marks every voxel the surface crosses, so a thin part can take one voxel more
    on each side than the grid's one-voxel-thick part; nothing lies farther apart."""
    from scipy.ndimage import binary_dilation

    for category in CLASSES:
        for index in range(3):
            mesh = _mesh(builtin_item_scene(builtin_item_path(category, index)))
            mine = mesh_to_voxels(mesh.vertices, mesh.faces, 32)
            grid = furniture_shape(category, index, 32)
            assert not (grid & ~binary_dilation(mine)).any(), (category, index)
            assert (mine & binary_dilation(grid)).sum() / mine.sum() > 0.85, (category, index)
            low, high = np.argwhere(mine), np.argwhere(grid)
            assert np.abs(low.min(0) - high.min(0)).max() <= 1 and np.abs(low.max(0) - high.max(0)).max() <= 1, (category, index)


def test_finishes_are_the_shapes_own():
    a = [tuple(g.visual.face_colors[0, :3]) for g in builtin_item_scene("builtin:bookcase/5").dump()]
    b = [tuple(g.visual.face_colors[0, :3]) for g in builtin_item_scene("builtin:bookcase/5").dump()]
    assert a == b and len(set(a)) == 1  # the same each time; a bookcase has no upholstery

    def near(colour, palette):  # a palette colour times a brightness in [0.9, 1.1], rounded
        return any(np.all(np.abs(np.array(colour) - np.array(p)) <= 0.1 * np.array(p) + 1) for p in palette.values())

    seen = set()
    for index in range(40):
        colours = {tuple(int(v) for v in g.visual.face_colors[0, :3]) for g in builtin_item_scene(f"builtin:sofa/{index}").dump()}
        assert all(near(c, FINISHES) or near(c, FABRICS) for c in colours)
        seen |= colours
    assert len(seen) > 20  # finishes, fabrics and brightness vary between shapes
    assert builtin_item_scene("builtin:chair/0", seed=1).metadata["name"] == "builtin:chair/0"


def test_item_paths():
    assert builtin_item_path("table", 12) == "builtin:table/12" and parse_builtin_item("builtin:table/12") == ("table", 12)
    assert is_builtin_item("builtin:table/12") and not is_builtin_item("builtin:table") and not is_builtin_item("a/b.sh3f/1-chair")
    for bad, message in [
        ("builtin:lamp/1", "unknown built-in class 'lamp'"),
        ("builtin:chair", "expected builtin:<class>/<index>"),
        ("builtin:chair/-1", "expected builtin:<class>/<index>"),
        ("chair/1", "expected builtin:<class>/<index>"),
    ]:
        with pytest.raises(DataError, match=message):
            parse_builtin_item(bad)
    with pytest.raises(DataError, match="index must be a whole number of at least 0, got -1"):
        builtin_item_path("chair", -1)
    with pytest.raises(DataError, match="unknown built-in class 'lamp'"):
        builtin_item_path("lamp", 0)
    with pytest.raises(DataError, match="no parts"):
        parts_scene(Parts(), np.zeros(3), np.zeros(3))
