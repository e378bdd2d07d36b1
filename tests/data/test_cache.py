"""Caches: bit-exact round trip, memory-mapped loading, recorded settings, refusals, bad files."""

import json

import numpy as np
import pytest
import torch

from shapespace.data.cache import BITS_NAME, META_NAME, PackedVoxels, open_cache, prepare_cache
from shapespace.data.catalog import scan_source
from shapespace.data.sources import load_voxel_set
from shapespace.errors import DataError
from shapespace.geometry.voxelize import VoxelizeOptions
from shapespace.io.registry import read_shape


def _prepare(folder, out, **kwargs):
    catalog = scan_source(folder)
    return prepare_cache(catalog, out, VoxelizeOptions(resolution=16), {"split": "all"}, workers=1, progress=False, **kwargs)


def test_packed_voxels_index_like_a_tensor():
    grids = torch.randint(0, 2, (5, 6, 6, 6), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    bits = np.packbits(grids.reshape(5, -1).numpy(), axis=1)
    packed = PackedVoxels(bits, 6)
    assert packed.shape == (5, 6, 6, 6) and len(packed) == 5
    assert torch.equal(packed[2], grids[2])
    assert torch.equal(packed[torch.tensor([4, 0, 4])], grids[[4, 0, 4]])
    assert torch.equal(packed[1:3], grids[1:3])
    assert torch.equal(torch.cat(list(packed.chunks(2))), grids)


def test_cache_holds_exactly_what_the_readers_return(shape_folder, tmp_path):
    meta = _prepare(shape_folder, tmp_path / "cache")
    cache = open_cache(tmp_path / "cache", resolution=16)
    assert isinstance(cache.voxels.bits, np.memmap)
    assert meta["count"] == 8 and meta["skipped"] == []
    assert (tmp_path / "cache" / BITS_NAME).stat().st_size == 8 * 16**3 // 8
    for i, shape in enumerate(meta["shapes"]):
        expected = read_shape(shape_folder / shape["path"], VoxelizeOptions(resolution=16))
        assert np.array_equal(cache.voxels[i].numpy().astype(bool), expected), shape["path"]
    assert meta["options"] == VoxelizeOptions(resolution=16).to_dict()
    assert meta["source"] == str(shape_folder.resolve())
    assert [s["split"] for s in meta["shapes"]].count("test") == 3


def test_cache_refuses_mismatched_loads(shape_folder, tmp_path):
    _prepare(shape_folder, tmp_path / "cache")
    with pytest.raises(DataError, match="holds 16\\^3 grids but 32\\^3 are needed; prepare a cache with resolution 32"):
        load_voxel_set(str(tmp_path / "cache"), 32)
    with pytest.raises(DataError, match="prepared with other settings: fill=0.5 \\(cache: 0.75\\)"):
        load_voxel_set(str(tmp_path / "cache"), 16, read_options={"fill": 0.5})
    data = load_voxel_set(str(tmp_path / "cache"), 16, split="test", classes=["table"])
    assert len(data) == 2 and data.classes == ("table",) and set(data.splits) == {"test"}


def test_damaged_caches_are_named(shape_folder, tmp_path):
    _prepare(shape_folder, tmp_path / "cache")
    bits = tmp_path / "cache" / BITS_NAME
    bits.write_bytes(bits.read_bytes()[:-10])
    with pytest.raises(DataError, match=f"{bits}: .* the cache is damaged"):
        open_cache(tmp_path / "cache")
    (tmp_path / "cache" / META_NAME).write_text("{not json")
    with pytest.raises(DataError, match="not a readable cache description"):
        open_cache(tmp_path / "cache")


def test_bad_files_stop_prepare_or_are_skipped_and_listed(shape_folder, tmp_path):
    bad = shape_folder / "chair" / "train" / "broken.binvox"
    bad.write_bytes(b"#binvox 1\ndim 8 8 8\ndata\n\x01\x05")
    with pytest.raises(DataError, match=f"{bad}: run-length data decodes to 5 voxels, expected 512: the file is truncated"):
        _prepare(shape_folder, tmp_path / "cache")
    assert not (tmp_path / "cache").exists()
    assert not list(tmp_path.glob(".cache*")), "no half-written cache is left behind"
    meta = _prepare(shape_folder, tmp_path / "cache", skip_bad=True)
    assert meta["count"] == 8
    assert meta["skipped"] == [{"path": str(bad), "error": f"{bad}: run-length data decodes to 5 voxels, expected 512: the file is truncated"}]
    assert json.loads((tmp_path / "cache" / META_NAME).read_text())["skipped"] == meta["skipped"]


def test_prepare_will_not_overwrite_by_accident(shape_folder, tmp_path):
    _prepare(shape_folder, tmp_path / "cache")
    with pytest.raises(DataError, match="already exists; pass overwrite"):
        _prepare(shape_folder, tmp_path / "cache")
    _prepare(shape_folder, tmp_path / "cache", overwrite=True)
    (tmp_path / "precious").mkdir()
    with pytest.raises(DataError, match="is not a shapespace cache; refusing"):
        _prepare(shape_folder, tmp_path / "precious", overwrite=True)


def test_parallel_prepare_equals_serial(shape_folder, tmp_path):
    catalog = scan_source(shape_folder)
    options = VoxelizeOptions(resolution=16)
    prepare_cache(catalog, tmp_path / "one", options, {}, workers=1, progress=False)
    prepare_cache(catalog, tmp_path / "two", options, {}, workers=2, progress=False)
    assert (tmp_path / "one" / BITS_NAME).read_bytes() == (tmp_path / "two" / BITS_NAME).read_bytes()


def test_cache_keeps_the_holdout_it_was_prepared_with(shape_folder, tmp_path):
    catalog = scan_source(shape_folder, holdout=0.5)
    prepare_cache(catalog, tmp_path / "cache", VoxelizeOptions(resolution=16), {"holdout": 0.5}, workers=1, progress=False)
    splits = [s["split"] for s in json.loads((tmp_path / "cache" / META_NAME).read_text())["shapes"]]
    assert splits == [e.split for e in catalog.entries]
    with pytest.raises(DataError, match="prepared with holdout 0.5, not 0.2"):
        load_voxel_set(str(tmp_path / "cache"), 16, holdout=0.2)
    with pytest.raises(DataError, match="built-in shapes have a test split"):
        load_voxel_set("builtin:chair", 16, holdout=0.2)
