"""Several --data sources at once: SOURCE#class,... specifications and concatenated sets."""

import numpy as np
import pytest
import torch

from shapespace.data.cache import PackedVoxels
from shapespace.data.sources import VoxelSet, concat_voxel_sets, load_voxel_set, load_voxel_sets, split_source_spec
from shapespace.errors import DataError


@pytest.mark.parametrize(
    "text, expected",
    [
        ("a#b,c", ("a", ("b", "c"))),
        ("a", ("a", None)),
        ("caches/mn10#bed, sofa ,", ("caches/mn10", ("bed", "sofa"))),
        ("builtin:all#chair", ("builtin:all", ("chair",))),
        ("dir#with#hash#table", ("dir#with#hash", ("table",))),  # the last '#' separates
    ],
)
def test_split_source_spec(text, expected):
    assert split_source_spec(text) == expected


@pytest.mark.parametrize("text", ["a#", "#b", "a#,", "#"])
def test_malformed_source_spec_names_the_flag(text):
    with pytest.raises(DataError, match=r"data .*: expected SOURCE or SOURCE#class\[,class...\]"):
        split_source_spec(text)


def _set(values: list[int], labels: list[int], classes: tuple[str, ...], source: str, resolution: int = 4, **kw) -> VoxelSet:
    voxels = torch.zeros(len(values), resolution, resolution, resolution, dtype=torch.uint8)
    for i, v in enumerate(values):
        voxels[i, 0, 0, :v] = 1  # v voxels set: tells the shapes apart
    return VoxelSet(voxels, torch.tensor(labels), classes, source, **kw)


def test_concat_merges_classes_by_name():
    a = _set([1, 2, 3], [0, 1, 1], ("chair", "table"), "A", paths=("a0", "a1", "a2"), splits=("train", "train", "test"))
    b = _set([4, 0], [1, 0], ("bed", "chair"), "B")
    merged = concat_voxel_sets([a, b])
    assert merged.classes == ("bed", "chair", "table")
    assert merged.labels.tolist() == [1, 2, 2, 1, 0]  # chair, table, table | chair, bed
    assert [merged.classes[i] for i in merged.labels] == ["chair", "table", "table", "chair", "bed"]
    assert torch.equal(merged.voxels, torch.cat([a.voxels, b.voxels]))
    assert [int(v.sum()) for v in merged.voxels] == [1, 2, 3, 4, 0]
    assert merged.source == "A + B"
    assert merged.paths == ("a0", "a1", "a2", "B[0]", "B[1]")
    assert merged.splits == ()  # B's splits are unknown
    both_split = concat_voxel_sets([a, _set([1], [0], ("sofa",), "C", splits=("test",))])
    assert both_split.splits == ("train", "train", "test", "test")
    assert concat_voxel_sets([a]) is a


def test_concat_unpacks_packed_rows():
    grids = np.zeros((2, 4, 4, 4), dtype=np.uint8)
    grids[0, 1, 2, 3] = grids[1, 0, 0, 0] = 1
    packed = PackedVoxels(np.packbits(grids.reshape(2, -1), axis=1), 4)
    cache_like = VoxelSet(packed, torch.tensor([0, 0]), ("lamp",), "cache")
    merged = concat_voxel_sets([cache_like, _set([2], [0], ("lamp",), "B")])
    assert isinstance(merged.voxels, torch.Tensor) and merged.voxels.dtype == torch.uint8
    assert torch.equal(merged.voxels[:2], torch.from_numpy(grids))
    assert merged.labels.tolist() == [0, 0, 0] and merged.classes == ("lamp",)


def test_concat_refuses_mixed_resolutions_and_nothing():
    with pytest.raises(DataError, match=r"different resolutions: \[4, 8\]"):
        concat_voxel_sets([_set([1], [0], ("a",), "A"), _set([1], [0], ("a",), "B", resolution=8)])
    with pytest.raises(DataError, match="no data sources given"):
        concat_voxel_sets([])


def test_load_voxel_sets_applies_classes_per_source():
    data = load_voxel_sets(["builtin:all#table", "builtin:chair,bed"], 16, count=2)
    tables = load_voxel_set("builtin:table", 16, count=2)
    chairs_beds = load_voxel_set("builtin:chair,bed", 16, count=2)
    assert data.classes == ("bed", "chair", "table")
    assert torch.equal(data.voxels, torch.cat([tables.voxels, chairs_beds.voxels]))
    assert [data.classes[i] for i in data.labels] == ["table"] * 2 + [chairs_beds.classes[i] for i in chairs_beds.labels]
    # ``classes`` applies to sources without their own selection.
    only_bed = load_voxel_sets(["builtin:all#table", "builtin:chair,bed"], 16, classes=["bed"], count=2)
    assert only_bed.classes == ("bed", "table") and len(only_bed) == 4
    with pytest.raises(DataError, match="data 'builtin:all#'"):
        load_voxel_sets(["builtin:all#"], 16, count=2)
