"""Data commands as Python functions: prepare a cache, describe, show and export a source.

``shapespace data prepare|info|show|export`` call these; each takes a data specification
(``builtin:<class>``, a cache folder, a shape file or a folder of shape files; see
:mod:`shapespace.data.sources`).
"""

from __future__ import annotations

import io
import os
from collections import Counter
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from shapespace.data import builtin
from shapespace.data.cache import is_cache, load_entries, open_cache, prepare_cache
from shapespace.data.catalog import check_classes, check_split, scan_source
from shapespace.data.sources import BUILTIN_TRAIN_COUNT, DataSelection, VoxelSet
from shapespace.errors import DataError
from shapespace.geometry.voxelize import VoxelizeOptions, check_grid_resolution
from shapespace.io.atomic import write_with_atomic
from shapespace.io.registry import split_archive_path


def prepare(
    source: str,
    out: str | os.PathLike,
    resolution: int = 32,
    selection: DataSelection = DataSelection(),
    progress: bool = True,
    overwrite: bool = False,
) -> dict:
    """Voxelise the shape files of ``source`` (those ``selection`` keeps) once into a cache folder at ``out``.

    Returns:
        A summary: cache path, resolution, shapes per class and split, files skipped.
    """
    if source.startswith(builtin.SPEC_PREFIX) or is_cache(source):
        raise DataError(f"`data` {source}: give a shape file or a folder of shape files (built-in shapes and caches need no preparing)")
    check_grid_resolution(resolution)
    sel = selection
    catalog = scan_source(source, classes=sel.classes, split=sel.split, views=sel.views, holdout=sel.holdout)
    options = VoxelizeOptions(resolution=resolution, **sel.voxelize_overrides)
    filters = {"classes": list(sel.classes or []), "split": sel.split, "views": sel.views, "holdout": sel.holdout}
    meta = prepare_cache(
        catalog, out, options, filters, skip_bad=sel.skip_bad, workers=sel.workers, progress=progress, overwrite=overwrite
    )
    return {
        "cache": str(out),
        "resolution": resolution,
        "shapes": meta["count"],
        "counts": _count_table((s["class"], s["split"]) for s in meta["shapes"]),
        "skipped": len(meta["skipped"]),
        "skipped_files": meta["skipped"],
    }


def _count_table(pairs) -> dict[str, dict[str, int]]:
    counts = Counter(pairs)
    table: dict[str, dict[str, int]] = {}
    for (category, split), n in sorted(counts.items()):
        table.setdefault(category, {"train": 0, "test": 0})[split] = n
    return table


def describe(spec: str, selection: DataSelection = DataSelection()) -> dict:
    """Counts per class and split of a source, without voxelising anything."""
    classes, split, views, holdout = selection.classes, selection.split, selection.views, selection.holdout
    check_split(split)
    if spec.startswith(builtin.SPEC_PREFIX):
        categories = builtin.parse_builtin_spec(spec)
        if classes:
            check_classes(classes, categories)
            categories = [c for c in categories if c in classes]
        per_split = {s: (BUILTIN_TRAIN_COUNT if split in (s, "all") else 0) for s in ("train", "test")}
        return {
            "source": spec,
            "kind": "builtin",
            "note": f"procedural: any number of shapes; {BUILTIN_TRAIN_COUNT} per class by default, test shapes never overlap train",
            "counts": {c: dict(per_split) for c in categories},
            "total": sum(per_split.values()) * len(categories),
        }
    if is_cache(spec):
        cache = open_cache(spec)
        check_classes(classes, {s["class"] for s in cache.meta["shapes"]}, f"cache {spec}")
        shapes = [
            s for s in cache.meta["shapes"] if (split == "all" or s["split"] == split) and (not classes or s["class"] in classes)
        ]
        info = {
            "source": spec,
            "kind": "cache",
            "resolution": cache.meta["resolution"],
            "prepared_from": cache.meta["source"],
            "options": cache.meta["options"],
            "counts": _count_table((s["class"], s["split"]) for s in shapes),
            "total": len(shapes),
            "skipped": len(cache.meta["skipped"]),
            "skipped_files": cache.meta["skipped"],
        }
        credited = [{"path": s["path"], "class": s["class"], **s["attribution"]} for s in shapes if s.get("attribution")]
        return info | _credits(credited, cache.meta.get("left_out", []))
    catalog = scan_source(spec, classes=classes, split=split, views=views, holdout=holdout)
    suffixes = Counter(_container(e.path).suffix.lower() for e in catalog.entries)
    info = {
        "source": spec,
        "kind": "files",
        "layout": catalog.layout,
        "file_types": dict(sorted(suffixes.items())),
        "counts": catalog.counts(),
        "total": len(catalog.entries),
    }
    credited = [{"path": str(e.path), "class": e.category, **dict(e.attribution)} for e in catalog.entries if e.attribution]
    return info | _credits(credited, list(catalog.left_out))


def _container(path: Path) -> Path:
    """The file a shape is in: itself, or the archive of ``<archive>/<item>``."""
    inside = split_archive_path(path)
    return path if inside is None else inside[0]


def _credits(credited: list[dict], left_out: list[dict]) -> dict:
    """``attribution`` (per model: path, class, name, creator, licence...) and ``left_out``
    (items of no class), for sources that have them (Sweet Home 3D)."""
    return ({"attribution": credited} if credited else {}) | ({"left_out": left_out} if left_out else {})


def _spread(labels: Sequence[int], n: int) -> list[int]:
    """Up to ``n`` indices taking classes in turn and spreading evenly within each class."""
    by_class: dict[int, list[int]] = {}
    for index, label in enumerate(labels):
        by_class.setdefault(int(label), []).append(index)
    quota = {c: n // len(by_class) + (1 if k < n % len(by_class) else 0) for k, c in enumerate(sorted(by_class))}
    chosen = []
    for c, members in sorted(by_class.items()):
        take = min(quota[c], len(members))
        positions = np.linspace(0, len(members) - 1, take).round().astype(int) if take else []
        chosen.extend(members[p] for p in positions)
    # Classes with fewer members than their quota leave room for more of the others.
    rest = [i for i in range(len(labels)) if i not in set(chosen)]
    chosen.extend(rest[: max(0, n - len(chosen))])
    return sorted(chosen)[:n]


def pick_shapes(
    spec: str,
    n: int,
    resolution: int,
    selection: DataSelection = DataSelection(),
) -> tuple[torch.Tensor, list[str], list[dict[str, str]]]:
    """``n`` shapes of a source spread over its classes, reading only those files.

    Returns:
        ``(voxels, labels, skipped)``: ByteTensor of shape (n', R, R, R) with n' <= n, a
        caption per shape, and ``{"path", "error"}`` of each file left out as unreadable
        (``selection.skip_bad``).
    """
    if n < 1:
        raise DataError(f"`n` must be at least 1, got {n}")
    check_grid_resolution(resolution)
    if spec.startswith(builtin.SPEC_PREFIX) or is_cache(spec):
        data = selection.load(spec, resolution, count=max(1, n))
        chosen = _spread(data.labels.tolist(), n)
        names = [data.classes[int(data.labels[i])] for i in chosen]
        captions = [_caption(name, data.paths[i]) if data.paths else name for name, i in zip(names, chosen)]
        return data.voxels[torch.tensor(chosen)], captions, list(data.skipped)
    sel = selection
    catalog = scan_source(spec, classes=sel.classes, split=sel.split, views=sel.views, holdout=sel.holdout)
    chosen = _spread([catalog.classes.index(e.category) for e in catalog.entries], n)
    entries = [catalog.entries[i] for i in chosen]
    options = VoxelizeOptions(resolution=resolution, **sel.voxelize_overrides)
    voxels, kept, skipped = load_entries(entries, options, skip_bad=sel.skip_bad, workers=1)
    return voxels[:], [_caption(entries[i].category, entries[i].path) for i in kept], skipped


def _caption(category: str, path: str | Path) -> str:
    stem = Path(path).stem
    return stem if stem.startswith(category) else f"{category} {stem}"


def show(
    spec: str,
    out: str | os.PathLike,
    n: int = 16,
    resolution: int = 32,
    ncols: int | None = None,
    size: int = 160,
    selection: DataSelection = DataSelection(),
) -> dict:
    """Render ``n`` shapes of a source into one PNG picture (see :func:`pick_shapes`).

    Returns:
        A summary: the picture, shapes shown, their captions and the files skipped as bad.
    """
    from shapespace.rendering.figures import render_mosaic, save_png

    voxels, captions, skipped = pick_shapes(spec, n, resolution, selection)
    ncols = ncols or int(np.ceil(np.sqrt(len(voxels))))
    save_png(render_mosaic(voxels.float(), ncols=ncols, size=size, labels=captions), out)
    return {"out": str(out), "shapes": len(voxels), "captions": captions, "skipped": len(skipped), "skipped_files": skipped}


def export(
    spec: str,
    out: str | os.PathLike,
    resolution: int = 32,
    selection: DataSelection = DataSelection(),
    progress: bool = False,
) -> dict:
    """Write a source as ``.npz``: ``voxels`` (N, R, R, R) uint8 canonical frame, ``labels``
    (N,) int64, ``classes`` (C,) str, ``paths`` (N,) str (empty strings for built-in shapes)."""
    if Path(out).suffix.lower() != ".npz":
        raise DataError(f"`out` {out}: the export file must end in .npz")
    data: VoxelSet = selection.load(spec, resolution, progress=progress)
    voxels = data.voxels
    if not isinstance(voxels, torch.Tensor):
        voxels = torch.cat(list(voxels.chunks()))
    arrays = {
        "voxels": voxels.numpy().astype(np.uint8, copy=False),
        "labels": data.labels.numpy().astype(np.int64),
        "classes": np.array(data.classes, dtype=str),
        "paths": np.array(data.paths or [""] * len(data), dtype=str),
    }

    def write(tmp: Path) -> None:
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)
        tmp.write_bytes(buffer.getvalue())

    write_with_atomic(out, write)
    skipped = [dict(item) for item in data.skipped]
    return {
        "out": str(out), "shapes": len(data), "resolution": resolution, "classes": list(data.classes),
        "skipped": len(skipped), "skipped_files": skipped,
    }  # fmt: skip
