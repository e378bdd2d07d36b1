"""Shared fixtures: tiny configs and a tiny, fixed target distribution of shapes."""

from __future__ import annotations

import ast
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import torch
import trimesh

from shapespace.data.sources import VoxelSet
from shapespace.io.binvox import write_binvox
from shapespace.io.matlab import write_mat
from shapespace.io.meshes import write_points_ply
from shapespace.io.pointclouds import write_npy, write_pcd, write_xyz
from shapespace.models import GANConfig

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


def box_voxels(n: int, resolution: int = 16, seed: int = 0) -> torch.Tensor:
    """``n`` solid boxes standing on the floor (axis 2) and centred in axes 0 and 1.

    Widths/depths vary in [4, 10] voxels and heights in [6, 14]: a simple, fixed target
    distribution for learning tests. ByteTensor of shape (n, R, R, R).
    """
    rng = torch.Generator().manual_seed(seed)
    out = torch.zeros(n, resolution, resolution, resolution, dtype=torch.uint8)
    for i in range(n):
        w, d = torch.randint(4, 11, (2,), generator=rng).tolist()
        h = int(torch.randint(6, 15, (1,), generator=rng))
        a0, a1 = (resolution - w) // 2, (resolution - d) // 2
        out[i, a0 : a0 + w, a1 : a1 + d, 1 : 1 + h] = 1
    return out


@pytest.fixture
def single_thread():
    """Run tiny networks on one thread: for them, OpenMP's synchronisation costs more than a
    second core gains, and on a busy machine its spinning threads stall each other."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def tiny_config() -> GANConfig:
    return GANConfig(resolution=16, latent_dim=8, generator_channels=(16, 8), discriminator_channels=(8, 16))


@pytest.fixture
def box_set() -> VoxelSet:
    voxels = box_voxels(64)
    return VoxelSet(voxels, torch.zeros(len(voxels), dtype=torch.long), ("box",), "test:boxes")


# -- a small shape folder in ModelNet layout holding every kind of file the readers accept --

def box_points(extents=(1.0, 2.0, 3.0), n: int = 6) -> np.ndarray:
    """Points on a regular lattice filling a box (source frame), FloatArray (n^3, 3)."""
    axes = [np.linspace(-e / 2, e / 2, n) for e in extents]
    return np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)


def stool_grid(size: int = 30) -> np.ndarray:
    """A canonical-frame stool: a seat slab on four legs, 3-voxel border as in 3DShapeNets."""
    grid = np.zeros((size,) * 3, dtype=np.uint8)
    lo, hi = 3, size - 3
    grid[lo:hi, lo:hi, 14:17] = 1  # seat
    for i in (lo, hi - 2):
        for j in (lo, hi - 2):
            grid[i : i + 2, j : j + 2, lo:14] = 1  # legs
    return grid


def make_shape_folder(root: Path) -> Path:
    """``root/<class>/{train,test}/`` with one file per format; returns ``root``."""
    (root / "chair" / "train").mkdir(parents=True)
    (root / "chair" / "test").mkdir(parents=True)
    (root / "table" / "train").mkdir(parents=True)
    (root / "table" / "test").mkdir(parents=True)
    trimesh.creation.box(extents=(1.0, 1.0, 2.0)).export(root / "chair" / "train" / "box.off")
    trimesh.creation.box(extents=(2.0, 1.0, 1.0)).export(root / "chair" / "train" / "flat.obj")
    write_pcd(root / "chair" / "train" / "cloud.pcd", box_points())
    write_binvox(root / "chair" / "test" / "grid.binvox", stool_grid(32))
    write_mat(root / "table" / "train" / "stool.mat", stool_grid())
    write_xyz(root / "table" / "train" / "cloud.xyz", box_points((2.0, 2.0, 1.0)))
    write_npy(root / "table" / "test" / "cloud.npy", box_points((1.0, 1.0, 1.0)))
    write_points_ply(root / "table" / "test" / "cloud.ply", box_points((3.0, 1.0, 1.0)))
    return root


@pytest.fixture
def shape_folder(tmp_path: Path) -> Path:
    return make_shape_folder(tmp_path / "shapes")


# -- a small IKEA folder in the layout of Girdhar et al. (shapespace.data.ikea) --

# Source grids, 20^3 with axis 0 up and +axis 1 the front; each box's longest side spans the
# grid, so reading them (fill 1) only reorients: source axes (0, 1, 2) become canonical axes
# (2, 0, 1) and the boxes stay centred. Ids are 1-based lines of all_obj_class.txt.
IKEA_MODELS = {
    1: ("chair", (slice(0, 20), slice(6, 14), slice(4, 16))),
    2: ("table", (slice(4, 16), slice(0, 20), slice(2, 18))),
    3: ("chair", (slice(0, 20), slice(2, 18), slice(8, 12))),
}
# The same boxes in the canonical frame (axis 2 up).
IKEA_CANONICAL = {
    1: (slice(6, 14), slice(4, 16), slice(0, 20)),
    2: (slice(0, 20), slice(2, 18), slice(4, 16)),
    3: (slice(2, 18), slice(8, 12), slice(0, 20)),
}
IKEA_PHOTOS = [("a.jpg", 1), ("b.jpg", 2), ("c.jpg", 3), ("d.jpg", 1)]


def make_ikea_folder(root: Path) -> Path:
    """``root/{Images,Voxels,Lists}`` with four photos of three models in two classes."""
    import scipy.io
    from PIL import Image

    for sub in ("Images", "Voxels", "Lists"):
        (root / sub).mkdir(parents=True)
    for model_id, (_, box) in IKEA_MODELS.items():
        grid = np.zeros((20, 20, 20), dtype=np.uint8)
        grid[box] = 1
        scipy.io.savemat(root / "Voxels" / f"{model_id}.mat", {"grid": grid})
    rng = np.random.default_rng(0)
    for name, _ in IKEA_PHOTOS:
        Image.fromarray(rng.integers(0, 256, (24, 20, 3), dtype=np.uint8)).save(root / "Images" / name, quality=95)
    (root / "Lists" / "Images.txt").write_text("".join(f"{name}\n" for name, _ in IKEA_PHOTOS))
    (root / "Lists" / "ModelID.txt").write_text("".join(f"{model_id}\n" for _, model_id in IKEA_PHOTOS))
    (root / "Lists" / "all_obj_class.txt").write_text("".join(f"{IKEA_MODELS[i][0]}\n" for i in sorted(IKEA_MODELS)))
    return root


def imported_modules(module: ModuleType) -> set[str]:
    """Every name a module's source imports, anywhere in it, as absolute dotted names.

    ``import a.b`` gives ``a.b``; ``from a import b`` gives ``a`` and ``a.b`` (``b`` may be a
    module or a name in ``a``); relative imports are resolved against the module's package.
    """
    names: set[str] = set()
    for node in ast.walk(ast.parse(Path(module.__file__).read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.__package__.split(".")
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names
