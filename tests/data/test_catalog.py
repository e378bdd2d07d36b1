"""Finding shape files: layouts, classes, splits, 3DShapeNets views, filters and errors."""

from pathlib import Path

import numpy as np
import pytest

from shapespace.data.catalog import scan_source
from shapespace.errors import DataError
from shapespace.io.matlab import write_mat

from conftest import SHARED_DATA

needs_shared = pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=f"shared data not found at {SHARED_DATA}")


def test_modelnet_layout_classes_and_splits(shape_folder):
    catalog = scan_source(shape_folder)
    assert catalog.layout == "modelnet"
    assert catalog.classes == ("chair", "table")
    assert catalog.counts() == {"chair": {"train": 3, "test": 1}, "table": {"train": 2, "test": 2}}
    assert [e.path.name for e in catalog.entries][:4] == ["grid.binvox", "box.off", "cloud.pcd", "flat.obj"]


def test_split_and_class_filters(shape_folder):
    train = scan_source(shape_folder, split="train", classes=["table"])
    assert [(e.category, e.split, e.path.name) for e in train.entries] == [("table", "train", "cloud.xyz"), ("table", "train", "stool.mat")]
    with pytest.raises(DataError, match="unknown class sofa.*classes: chair, table"):
        scan_source(shape_folder, classes=["sofa"])
    with pytest.raises(DataError, match="split 'val'"):
        scan_source(shape_folder, split="val")


def _views_folder(root: Path) -> Path:
    (root / "train").mkdir(parents=True)
    grid = np.zeros((30, 30, 30), dtype=np.uint8)
    grid[10:20, 10:20, 3:20] = 1
    for shape in ("chair_000000001", "night_stand_000000002"):
        for view in range(1, 13):
            write_mat(root / "train" / f"{shape}_{view}.mat", grid)
    return root


def test_3dshapenets_views_first_keeps_rotation_1_only(tmp_path):
    root = _views_folder(tmp_path / "vox30")
    first = scan_source(root)
    assert first.layout == "split"
    assert [e.path.name for e in first.entries] == ["chair_000000001_1.mat", "night_stand_000000002_1.mat"]
    assert first.classes == ("chair", "night_stand")
    every = scan_source(root, views="all")
    assert every.counts() == {"chair": {"train": 12, "test": 0}, "night_stand": {"train": 12, "test": 0}}


def test_missing_source_and_empty_folder(tmp_path):
    with pytest.raises(DataError, match="no such file or folder"):
        scan_source(tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("not a shape")
    with pytest.raises(DataError, match="holds no shape files"):
        scan_source(tmp_path / "empty")


def test_single_file_source(shape_folder):
    catalog = scan_source(shape_folder / "chair" / "train" / "box.off")
    assert catalog.layout == "file" and len(catalog.entries) == 1 and catalog.entries[0].split == "train"
    assert catalog.classes == ("box",)
    named = shape_folder / "chair_0001.off"
    named.write_bytes((shape_folder / "chair" / "train" / "box.off").read_bytes())
    assert scan_source(named).classes == ("chair",)


@needs_shared
def test_real_sources_have_the_documented_counts():
    """Counts from ../shared/data/README.md."""
    assert scan_source(SHARED_DATA / "modelnet10-chair-vox30", views="all").counts() == {
        "chair": {"train": 10656, "test": 0},
        "night_stand": {"train": 12, "test": 0},
    }
    assert len(scan_source(SHARED_DATA / "modelnet10-chair-vox30").entries) == 889
    clouds = scan_source(SHARED_DATA / "modelnet10-pcd")
    assert len(clouds.entries) == 4899 and clouds.counts()["chair"] == {"train": 889, "test": 100}
    ikea = scan_source(SHARED_DATA / "ikea-dev")
    assert ikea.layout == "ikea"
    assert {c: sum(r.values()) for c, r in ikea.counts().items()} == {"bed": 2, "bookcase": 9, "chair": 10, "desk": 4, "sofa": 8, "table": 8}
    shapenet = scan_source(SHARED_DATA / "shapenet-chair-binvox64")
    assert shapenet.layout == "shapenet" and len(shapenet.entries) == 5


def test_holdout_moves_whole_shapes_to_test_reproducibly(tmp_path):
    root = _views_folder(tmp_path / "vox30")
    for n in range(3, 40):  # more chairs, so that a fraction means something
        for view in (1, 2):
            write_mat(root / "train" / f"chair_{n:09d}_{view}.mat", np.ones((30, 30, 30), dtype=np.uint8))
    every = scan_source(root, views="all", holdout=0.3)
    held = {e.path.stem.rsplit("_", 1)[0] for e in every.entries if e.split == "test"}
    kept = {e.path.stem.rsplit("_", 1)[0] for e in every.entries if e.split == "train"}
    assert held and kept and not held & kept, "all views of a shape stay on one side"
    assert 0.1 < len(held) / len(held | kept) < 0.5
    again = scan_source(root, views="first", holdout=0.3)
    assert {e.path.stem[:-2] for e in again.entries if e.split == "test"} == held
    assert not any(e.split == "test" for e in scan_source(root, holdout=0.0).entries)
    with pytest.raises(DataError, match="holdout must be in"):
        scan_source(root, holdout=1.0)
