import numpy as np
import pytest
import trimesh

from shapespace.errors import ConfigError
from shapespace.geometry.frame import voxel_to_world
from shapespace.geometry.mesh import signed_volume, voxels_to_mesh


def _block():
    volume = np.zeros((8, 8, 8), dtype=np.float32)
    volume[2:6, 1:4, 0:8] = 1.0  # touches the floor and ceiling of the grid
    return volume


def test_voxel_to_world_maps_centres_into_the_unit_cube():
    assert np.allclose(voxel_to_world(np.array([[0, 0, 0], [7, 7, 7]]), 8), [[-0.4375] * 3, [0.4375] * 3])


def test_marching_cubes_mesh_is_closed_oriented_and_in_the_world_frame():
    mesh = voxels_to_mesh(_block())
    assert mesh.is_watertight
    assert mesh.volume > 0
    lo, hi = mesh.bounds
    # Iso-surface 0.5 lies half a voxel outside the occupied centres: voxel 2..5 -> [2-0.5, 5+0.5].
    assert np.allclose(lo, voxel_to_world(np.array([1.5, 0.5, -0.5]), 8))
    assert np.allclose(hi, voxel_to_world(np.array([5.5, 3.5, 7.5]), 8))


def test_signed_volume_is_trimesh_volume_with_orientation():
    box = trimesh.creation.box(extents=(1.0, 2.0, 3.0))
    assert signed_volume(box) == pytest.approx(6.0) and box.volume == pytest.approx(6.0)
    box.invert()
    assert signed_volume(box) == pytest.approx(-6.0)
    mesh = voxels_to_mesh(_block())  # a 4 x 3 x 8 voxel block with marching cubes' cut edges
    assert signed_volume(mesh) == pytest.approx(mesh.volume, rel=1e-12) and 0 < signed_volume(mesh) < 4 * 3 * 8 / 8**3


def test_empty_volume_gives_an_empty_mesh():
    assert len(voxels_to_mesh(np.zeros((8, 8, 8))).vertices) == 0


def test_non_cubic_volume_is_rejected():
    with pytest.raises(ConfigError, match=r"\(R, R, R\)"):
        voxels_to_mesh(np.zeros((4, 4, 5)))
