"""The two IKEA layouts: photo/model pairs, classes, list errors, and the real development subset."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import SHARED_DATA, stool_grid
from shapespace.data.catalog import scan_source
from shapespace.data.ikea import ikea_layout, ikea_models, ikea_pairs
from shapespace.errors import DataError
from shapespace.io.matlab import write_mat


def make_3dgan_folder(root: Path) -> Path:
    """The 3D-GAN release layout: <class>/*.png, list/<class>.txt, model/<name>.mat (key 'voxel')."""
    for category, names in {"chair": ["chair_a", "chair_b", "chair_a"], "table": ["table_a"]}.items():
        (root / category).mkdir(parents=True)
        for i in range(len(names)):
            Image.new("RGB", (8, 8)).save(root / category / f"{i + 1:04d}.png")
        (root / "list").mkdir(exist_ok=True)
        (root / "list" / f"{category}.txt").write_text("\n".join(names) + "\n")
    (root / "model").mkdir()
    grid = np.moveaxis(stool_grid(20), 2, 0)
    for name in ("chair_a", "chair_b", "table_a"):
        write_mat(root / "model" / f"{name}.mat", grid, key="voxel")
    return root


def test_3dgan_layout_pairs_and_models(tmp_path):
    root = make_3dgan_folder(tmp_path / "ikea")
    assert ikea_layout(root) == "3dgan"
    pairs = ikea_pairs(root)
    assert [(p.image.name, p.model.name, p.category) for p in pairs] == [
        ("0001.png", "chair_a.mat", "chair"),
        ("0002.png", "chair_b.mat", "chair"),
        ("0003.png", "chair_a.mat", "chair"),
        ("0001.png", "table_a.mat", "table"),
    ]
    assert [(p.name, c) for p, c in ikea_models(root)] == [("chair_a.mat", "chair"), ("chair_b.mat", "chair"), ("table_a.mat", "table")]
    catalog = scan_source(root)
    assert catalog.layout == "ikea" and catalog.counts() == {"chair": {"train": 0, "test": 2}, "table": {"train": 0, "test": 1}}


def test_list_and_photo_count_mismatch_is_named(tmp_path):
    root = make_3dgan_folder(tmp_path / "ikea")
    (root / "chair" / "0003.png").unlink()
    with pytest.raises(DataError, match="chair.txt: 3 models listed for 2 photos"):
        ikea_pairs(root)


def test_missing_model_file_is_named(tmp_path):
    root = make_3dgan_folder(tmp_path / "ikea")
    (root / "model" / "chair_b.mat").unlink()
    with pytest.raises(DataError, match="chair_b.mat: listed in .* but missing"):
        ikea_pairs(root)


def test_not_an_ikea_folder(tmp_path):
    with pytest.raises(DataError, match="not an IKEA folder"):
        ikea_pairs(tmp_path)


@pytest.mark.skipif(not (SHARED_DATA / "ikea-dev").is_dir(), reason=f"IKEA development subset not found at {SHARED_DATA / 'ikea-dev'}")
def test_real_ikea_subset_pairs():
    """README section 3: 313 photos; 00000002_001.jpg shows model 68 (a POANG chair), 00000066_001.jpg model 26 (a bookcase)."""
    pairs = ikea_pairs(SHARED_DATA / "ikea-dev")
    assert len(pairs) == 313
    by_image = {p.image.name: p for p in pairs}
    assert (by_image["00000002_001.jpg"].model.name, by_image["00000002_001.jpg"].category) == ("68.mat", "chair")
    assert (by_image["00000066_001.jpg"].model.name, by_image["00000066_001.jpg"].category) == ("26.mat", "bookcase")
    counts = {}
    for p in pairs:
        counts[p.category] = counts.get(p.category, 0) + 1
    assert counts == {"bookcase": 106, "chair": 71, "table": 65, "sofa": 51, "desk": 12, "bed": 8}
