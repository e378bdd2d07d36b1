"""Voxelise a source once, in parallel, into a compact cache that loads memory-mapped.

A cache is a folder::

    cache.json     what is inside: format version, resolution, read options, the source
                   folder, every shape's path (relative to the source), class, split,
                   file size and, where the source credits each model, its attribution;
                   the files skipped as bad with their errors, and the items the source
                   left out as of no class (Sweet Home 3D)
    voxels.bits    N x ceil(R^3 / 8) bytes: each grid flattened in C order (canonical frame)
                   and bit-packed with numpy.packbits (big bit order)

At 32^3 a shape takes 4,096 bytes. :func:`open_cache` maps ``voxels.bits`` without reading
it; :class:`PackedVoxels` unpacks only the rows a batch asks for. The cache is written into a
temporary folder and renamed into place, so a crash never leaves a half-written cache.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import torch

from shapespace.data.catalog import Catalog, ShapeEntry
from shapespace.errors import DataError
from shapespace.geometry.voxelize import VoxelizeOptions
from shapespace.io.atomic import current_umask
from shapespace.io.jsonfile import read_json
from shapespace.io.registry import read_shape

CACHE_FORMAT = "shapespace-voxel-cache"
CACHE_VERSION = 1
META_NAME = "cache.json"
BITS_NAME = "voxels.bits"


class PackedVoxels:
    """Bit-packed binary grids, unpacked on indexing.

    Indexing with an int gives a ByteTensor of shape (R, R, R); with a slice, a sequence,
    a numpy array or a LongTensor, a ByteTensor of shape (K, R, R, R). The rows may live
    in memory or in a memory-mapped file.

    Args:
        bits: UInt8Array of shape (N, ceil(R^3 / 8)).
        resolution: grid size R.
    """

    def __init__(self, bits: np.ndarray, resolution: int) -> None:
        if bits.ndim != 2 or bits.shape[1] != packed_size(resolution):
            raise DataError(f"packed voxels of shape {bits.shape} do not hold {resolution}^3 grids")
        self.bits = bits
        self.resolution = int(resolution)

    @property
    def shape(self) -> tuple[int, int, int, int]:
        r = self.resolution
        return (len(self.bits), r, r, r)

    def __len__(self) -> int:
        return len(self.bits)

    def __getitem__(self, index) -> torch.Tensor:
        if isinstance(index, torch.Tensor):
            index = index.cpu().numpy()
        single = isinstance(index, (int, np.integer))
        rows = np.asarray(self.bits[[index] if single else index])
        r = self.resolution
        grids = np.unpackbits(rows, axis=1, count=r**3).reshape(-1, r, r, r)
        out = torch.from_numpy(grids)
        return out[0] if single else out

    def chunks(self, size: int = 1024) -> Iterator[torch.Tensor]:
        """ByteTensors of shape (<= size, R, R, R) covering the set in order."""
        for start in range(0, len(self), size):
            yield self[start : start + size]


def packed_size(resolution: int) -> int:
    return (resolution**3 + 7) // 8


def _read_packed(job: tuple[str, VoxelizeOptions]) -> tuple[bytes | None, str | None]:
    path, options = job
    try:
        grid = read_shape(path, options)
    except DataError as error:
        return None, str(error)
    return np.packbits(grid.reshape(-1)).tobytes(), None


def voxelize_entries(
    entries: Sequence[ShapeEntry],
    options: VoxelizeOptions,
    sink,
    skip_bad: bool = False,
    workers: int | None = None,
    progress: bool = True,
) -> tuple[list[int], list[dict[str, str]]]:
    """Read every entry (in parallel over ``workers`` processes) and write its packed grid to ``sink``.

    Args:
        entries: the files to read.
        options: resolution, normalisation, orientation.
        sink: a binary file object; packed rows are written in entry order.
        skip_bad: skip unreadable files (listed in the result) instead of raising.
        workers: processes (default: every core; 1 reads in this process).
        progress: show a progress bar on stderr.

    Returns:
        ``(kept, skipped)``: indices of the entries written, and ``{"path", "error"}`` of
        the entries skipped.

    Raises:
        DataError: the first bad file's error, unless ``skip_bad``.
    """
    from tqdm import tqdm

    if workers is None:
        workers = os.cpu_count() or 1
    if int(workers) != workers or workers < 1:
        raise DataError(f"`workers` must be a positive integer, got {workers!r}")
    jobs = [(str(entry.path), options) for entry in entries]
    kept: list[int] = []
    skipped: list[dict[str, str]] = []
    bar = tqdm(total=len(jobs), desc="voxelising", unit="file", disable=not progress, file=sys.stderr, dynamic_ncols=True)
    executor = ProcessPoolExecutor(max_workers=workers) if workers > 1 and len(jobs) > 1 else None
    try:
        # Big chunks keep inter-process traffic low; files are small and fast to read.
        chunk = max(1, min(256, len(jobs) // (4 * workers) or 1))
        results = executor.map(_read_packed, jobs, chunksize=chunk) if executor else map(_read_packed, jobs)
        for index, (row, error) in enumerate(results):
            bar.update(1)
            if error is not None:
                if not skip_bad:
                    raise DataError(f"{error} (use `skip_bad` to skip bad files)")
                skipped.append({"path": jobs[index][0], "error": error})
                continue
            sink.write(row)
            kept.append(index)
    finally:
        bar.close()
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
    return kept, skipped


def load_entries(
    entries: Sequence[ShapeEntry], options: VoxelizeOptions, skip_bad: bool = False, workers: int | None = None, progress: bool = False
) -> tuple[PackedVoxels, list[int], list[dict[str, str]]]:
    """Voxelise entries into memory: ``(voxels, kept indices, skipped)``."""
    import io

    buffer = io.BytesIO()
    kept, skipped = voxelize_entries(entries, options, buffer, skip_bad=skip_bad, workers=workers, progress=progress)
    if not kept:
        raise DataError(f"every one of the {len(entries)} files was bad")
    bits = np.frombuffer(buffer.getbuffer(), dtype=np.uint8).reshape(len(kept), packed_size(options.resolution))
    return PackedVoxels(bits, options.resolution), kept, skipped


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return -1


def prepare_cache(
    catalog: Catalog,
    out: str | os.PathLike,
    options: VoxelizeOptions,
    filters: dict,
    skip_bad: bool = False,
    workers: int | None = None,
    progress: bool = True,
    overwrite: bool = False,
) -> dict:
    """Voxelise ``catalog`` into a cache folder at ``out`` and return its metadata.

    Raises:
        DataError: when ``out`` exists (unless ``overwrite``) or a file is bad (unless ``skip_bad``).
    """
    from shapespace import __version__

    out = Path(out)
    if out.exists() and not overwrite:
        raise DataError(f"`out` {out}: already exists; pass `overwrite` to replace it")
    if out.exists() and not is_cache(out):
        raise DataError(f"`out` {out}: exists and is not a shapespace cache; refusing to replace it")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        with open(staging / BITS_NAME, "wb") as sink:
            kept, skipped = voxelize_entries(catalog.entries, options, sink, skip_bad, workers, progress)
        if not kept:
            raise DataError(f"every one of the {len(catalog.entries)} files was bad")
        entries = [catalog.entries[i] for i in kept]
        root = catalog.root.resolve()
        base = root if root.is_dir() else root.parent
        meta = {
            "format": CACHE_FORMAT,
            "version": CACHE_VERSION,
            "shapespace": __version__,
            "resolution": options.resolution,
            "count": len(entries),
            "options": options.to_dict(),
            "source": str(root),
            "layout": catalog.layout,
            "filters": filters,
            "classes": sorted({e.category for e in entries}),
            "shapes": [
                {"path": str(e.path.resolve().relative_to(base)), "class": e.category, "split": e.split, "bytes": _file_size(e.path)}
                | ({"attribution": dict(e.attribution)} if e.attribution else {})
                for e in entries
            ],
            "skipped": [{"path": s["path"], "error": s["error"]} for s in skipped],
            "left_out": [item | {"path": str(Path(item["path"]).resolve().relative_to(base))} for item in catalog.left_out],
        }
        (staging / META_NAME).write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
        os.chmod(staging, 0o777 & ~current_umask())
        if out.exists():
            trash = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".old", dir=out.parent))
            os.replace(out, trash / out.name)
            os.replace(staging, out)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return meta


def is_cache(path: str | os.PathLike) -> bool:
    return (Path(path) / META_NAME).is_file()


@dataclass(frozen=True)
class Cache:
    """An opened cache: memory-mapped grids and the metadata that describes them."""

    path: Path
    voxels: PackedVoxels
    meta: dict


def open_cache(path: str | os.PathLike, resolution: int | None = None, requested: dict | None = None) -> Cache:
    """Open a cache, refusing one that does not match what the caller needs.

    Args:
        path: the cache folder.
        resolution: the grid size the caller needs (e.g. the model's); ``None`` accepts any.
        requested: read options the caller asked for explicitly (a subset of
            :class:`VoxelizeOptions` fields); each must equal the recorded one.

    Raises:
        DataError: for a missing, corrupt or truncated cache, or any mismatch, naming it.
    """
    path = Path(path)
    meta_path = path / META_NAME
    meta = read_json(meta_path, "cache description", error=DataError)
    if meta.get("format") != CACHE_FORMAT:
        raise DataError(f"{meta_path}: not a shapespace voxel cache")
    if meta.get("version") != CACHE_VERSION:
        raise DataError(f"{meta_path}: cache version {meta.get('version')!r}; this shapespace reads version {CACHE_VERSION}: prepare it again")
    try:
        cached_res, count, shapes = int(meta["resolution"]), int(meta["count"]), meta["shapes"]
        recorded = VoxelizeOptions(**meta["options"])
    except (KeyError, TypeError, ValueError, DataError) as error:
        raise DataError(f"{meta_path}: damaged cache description ({error})") from None
    if len(shapes) != count:
        raise DataError(f"{meta_path}: lists {len(shapes)} shapes but says count {count}")
    if resolution is not None and cached_res != resolution:
        raise DataError(
            f"{path}: the cache holds {cached_res}^3 grids but {resolution}^3 are needed; "
            f"prepare a cache with `resolution` {resolution}"
        )
    if requested:
        have = recorded.to_dict()
        unknown = sorted(set(requested) - set(have))
        if unknown:
            raise DataError(f"unknown read options {unknown}")
        differ = {k: (have[k], v) for k, v in requested.items() if k != "resolution" and v != have[k]}
        if differ:
            named = ", ".join(f"{k}={new!r} (cache: {old!r})" for k, (old, new) in differ.items())
            raise DataError(f"{path}: the cache was prepared with other settings: {named}; prepare it again")
    bits_path = path / BITS_NAME
    expected = count * packed_size(cached_res)
    if not bits_path.is_file():
        raise DataError(f"{bits_path}: missing; the cache is damaged: prepare it again")
    size = _file_size(bits_path)
    if size != expected:
        raise DataError(f"{bits_path}: {size} bytes, expected {expected} for {count} grids of {cached_res}^3: the cache is damaged")
    bits = np.memmap(bits_path, dtype=np.uint8, mode="r", shape=(count, packed_size(cached_res)))
    return Cache(path, PackedVoxels(bits, cached_res), meta)
