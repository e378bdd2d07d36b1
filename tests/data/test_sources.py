"""--data specifications: built-in shapes, shape folders and caches give the same kind of set."""

import numpy as np
import pytest
import torch

from shapespace.data.sources import load_voxel_set
from shapespace.errors import DataError


def test_builtin_splits_are_disjoint_and_all_is_both():
    train = load_voxel_set("builtin:chair", 16, split="train", count=3)
    test = load_voxel_set("builtin:chair", 16, split="test", count=3)
    both = load_voxel_set("builtin:chair", 16, split="all", count=3)
    assert torch.equal(both.voxels, torch.cat([train.voxels, test.voxels]))
    assert not any(torch.equal(a, b) for a in train.voxels for b in test.voxels)


def test_builtin_class_filter():
    data = load_voxel_set("builtin:all", 16, count=2, classes=["table", "bed"])
    assert data.classes == ("bed", "table") and data.labels.tolist() == [0, 0, 1, 1]
    with pytest.raises(DataError, match="unknown class stool"):
        load_voxel_set("builtin:all", 16, count=2, classes=["stool"])


def test_folder_source_reads_every_format(shape_folder):
    data = load_voxel_set(str(shape_folder), 16, split="all", workers=1)
    assert len(data) == 8 and data.classes == ("chair", "table")
    assert data.labels.tolist() == [0, 0, 0, 0, 1, 1, 1, 1]
    assert data.voxels.shape == (8, 16, 16, 16)
    counts = [int(v.sum()) for v in data.voxels[:]]
    assert counts[1] == 6 * 6 * 12  # box.off: a solid 1 x 1 x 2 box, longest side 12 of 16 voxels
    # Every box fills its bounding box, longest side 12: pcd 4 x 8 x 12, obj 12 x 6 x 6,
    # npy 12^3, ply 12 x 4 x 4, xyz 12 x 12 x 6; the stools come from 32^3 (binvox) and 30^3 (mat).
    assert counts == [452, 6 * 6 * 12, 4 * 8 * 12, 12 * 6 * 6, 12**3, 12 * 4 * 4, 12 * 12 * 6, 308]


def test_unknown_source_names_the_choices(tmp_path):
    with pytest.raises(DataError, match="no such file, folder or cache; or use builtin:<class>"):
        load_voxel_set(str(tmp_path / "nothing"), 16)


def test_train_split_of_a_folder_without_test_files(shape_folder):
    data = load_voxel_set(str(shape_folder), 16, workers=1)
    assert set(data.splits) == {"train"} and len(data) == 5
    assert np.all([p.split("/")[-2] == "train" for p in data.paths])


def test_a_resolution_above_the_cap_is_refused_before_anything_is_allocated():
    """builtin:all at 1000^3 would ask for 5.5 TB; the cap refuses it at once, naming `resolution`."""
    with pytest.raises(DataError) as info:
        load_voxel_set("builtin:all", 1000)
    assert info.value.parameters == ["resolution"]
    assert "at most 256, got 1000" in info.value.message and "64 MiB per shape" in info.value.message
