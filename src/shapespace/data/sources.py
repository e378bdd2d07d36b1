"""Resolve a ``--data`` specification into voxel grids for training.

A specification is one of

* ``builtin:<class>[,<class>...]`` or ``builtin:all``: the procedural furniture of
  :mod:`shapespace.data.builtin`;
* a cache folder made by ``shapespace data prepare`` (:mod:`shapespace.data.cache`),
  opened memory-mapped;
* a shape file or a folder of shape files in any layout :mod:`shapespace.data.catalog`
  understands, voxelised on load by the readers of :mod:`shapespace.io`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import torch

from shapespace.data.cache import PackedVoxels
from shapespace.errors import DataError

# Shapes per class in a built-in training set. Built-in shapes are indexed; held-out sets
# start far beyond the training indices so they never overlap.
BUILTIN_TRAIN_COUNT = 1000
BUILTIN_HELDOUT_START = 1_000_000


@dataclass(frozen=True)
class VoxelSet:
    """Binary voxel grids with class labels.

    Attributes:
        voxels: ByteTensor of shape (N, R, R, R), values {0, 1}, canonical frame, or a
            :class:`~shapespace.data.cache.PackedVoxels` that unpacks rows on indexing.
        labels: LongTensor of shape (N,), indices into ``classes``.
        classes: class names.
        source: the specification the set was built from.
        paths: the file of each shape (empty for built-in shapes).
        splits: ``"train"``/``"test"`` per shape (empty when not known).
        skipped: ``{"path", "error"}`` of each file left out as unreadable while loading
            (``skip_bad``); empty when none was.
    """

    voxels: torch.Tensor | PackedVoxels
    labels: torch.Tensor
    classes: tuple[str, ...]
    source: str
    paths: tuple[str, ...] = ()
    splits: tuple[str, ...] = ()
    skipped: tuple[dict[str, str], ...] = ()

    def __post_init__(self) -> None:
        if len(self.voxels.shape) != 4 or len(set(self.voxels.shape[1:])) != 1:
            raise DataError(f"{self.source}: voxels must have shape (N, R, R, R), got {tuple(self.voxels.shape)}")
        if len(self.voxels) == 0:
            raise DataError(f"{self.source}: the data set is empty")
        if self.labels.shape != (len(self.voxels),):
            raise DataError(f"{self.source}: {len(self.labels)} labels for {len(self.voxels)} shapes")
        for name in ("paths", "splits"):
            values = getattr(self, name)
            if values and len(values) != len(self.voxels):
                raise DataError(f"{self.source}: {len(values)} {name} for {len(self.voxels)} shapes")

    @property
    def resolution(self) -> int:
        return int(self.voxels.shape[-1])

    def __len__(self) -> int:
        return len(self.voxels)


@dataclass(frozen=True)
class DataSelection:
    """Which shapes of a source to use, and how shape files become voxel grids.

    The same selection serves every command that reads data (training, ``data``
    commands, evaluation); :func:`load_voxel_set` documents each field.

    Attributes:
        classes: keep only these classes (None: all).
        split: "train", "test" or "all".
        views: 3DShapeNets rotations to keep, "first" or "all".
        holdout: fraction of training shapes moved to the test split.
        read_options: the :class:`~shapespace.geometry.voxelize.VoxelizeOptions` fields
            the user set, as ``(name, value)`` pairs (the rest stay per-format defaults).
        skip_bad: skip unreadable files instead of failing.
        workers: reader processes (None: every core).
    """

    classes: tuple[str, ...] | None = None
    split: str = "all"
    views: str = "first"
    holdout: float = 0.0
    read_options: tuple[tuple[str, Any], ...] = ()
    skip_bad: bool = False
    workers: int | None = None

    def __post_init__(self) -> None:
        if self.classes is not None:
            object.__setattr__(self, "classes", tuple(self.classes))
        if isinstance(self.read_options, Mapping):
            object.__setattr__(self, "read_options", tuple(sorted(self.read_options.items())))

    @property
    def voxelize_overrides(self) -> dict[str, Any]:
        return dict(self.read_options)

    def replace(self, **changes: Any) -> "DataSelection":
        return dataclasses.replace(self, **changes)

    def load(
        self, spec: str, resolution: int, count: int | None = None, seed: int = 0, progress: bool = False
    ) -> "VoxelSet":
        """:func:`load_voxel_set` of ``spec`` with this selection."""
        return load_voxel_set(
            spec, resolution, split=self.split, count=count, seed=seed, classes=self.classes,
            read_options=self.voxelize_overrides, views=self.views, holdout=self.holdout,
            skip_bad=self.skip_bad, workers=self.workers, progress=progress,
        )  # fmt: skip

    def load_many(
        self, specs: Sequence[str], resolution: int, count: int | None = None, seed: int = 0, progress: bool = False
    ) -> "VoxelSet":
        """:func:`load_voxel_sets` of ``specs`` (each may carry ``#class,...``) with this selection."""
        sets = []
        for text in specs:
            spec, own = split_source_spec(text)
            chosen = self if own is None else self.replace(classes=own)
            try:
                sets.append(chosen.load(spec, resolution, count=count, seed=seed, progress=progress))
            except DataError as error:
                if own is None or "classes" not in error.parameters:
                    raise
                # The classes came from the spec's #class,... suffix, not from `classes`.
                described = error.describe(lambda name: f"the classes after {SOURCE_CLASS_SEPARATOR}" if name == "classes" else f"`{name}`")
                raise DataError(f"`data` {text!r}: {described}") from None
        return concat_voxel_sets(sets)


def mean_occupancy(data: VoxelSet, indices: torch.Tensor | None = None, chunk: int = 512) -> torch.Tensor:
    """Mean occupancy of the shapes at ``indices`` (default: every shape): FloatTensor (R, R, R).

    Unpacks ``chunk`` shapes at a time, so a large packed cache never needs its float copy."""
    indices = torch.arange(len(data)) if indices is None else torch.as_tensor(indices).flatten()
    if not len(indices):
        raise ValueError("the mean occupancy of no shapes is undefined")
    total = torch.zeros((data.resolution,) * 3, dtype=torch.float64)
    for start in range(0, len(indices), chunk):
        total += data.voxels[indices[start : start + chunk]].to(torch.float64).sum(0)
    return (total / len(indices)).float()


def load_voxel_set(
    spec: str,
    resolution: int,
    split: str = "train",
    count: int | None = None,
    seed: int = 0,
    classes: Sequence[str] | None = None,
    read_options: dict | None = None,
    views: str = "first",
    holdout: float = 0.0,
    skip_bad: bool = False,
    workers: int | None = None,
    progress: bool = False,
) -> VoxelSet:
    """Load the shapes named by ``spec`` at ``resolution``.

    Args:
        spec: ``builtin:<class>``, a cache folder, a shape file or a folder of them.
        resolution: grid size R, in [2, 256] (:data:`~shapespace.geometry.voxelize.MAX_GRID_RESOLUTION`).
        split: ``"train"``, ``"test"`` or ``"all"``; built-in test shapes never overlap
            built-in training shapes.
        count: shapes per class for built-in data (default :data:`BUILTIN_TRAIN_COUNT`).
        seed: seed of the built-in generator.
        classes: keep only these classes.
        read_options: :class:`~shapespace.geometry.voxelize.VoxelizeOptions` fields the
            user set (``fill``, ``solid``, ``close``, ``up``, ``front``, ``align``); a cache
            must have been prepared with the same values.
        views: 3DShapeNets rotations to keep, ``"first"`` or ``"all"`` (files only).
        holdout: fraction of training shapes moved to the test split (files only; a cache
            records the holdout it was prepared with).
        skip_bad: skip unreadable files instead of failing (files only).
        workers: reader processes (files only; default every core).
        progress: show a progress bar while voxelising files.
    """
    from shapespace.data import builtin
    from shapespace.data.cache import is_cache, load_entries, open_cache
    from shapespace.data.catalog import check_classes, check_split, scan_source
    from shapespace.geometry.voxelize import VoxelizeOptions, check_grid_resolution

    check_grid_resolution(resolution)
    check_split(split)
    if spec.startswith(builtin.SPEC_PREFIX):
        if holdout:
            raise DataError("`holdout`: built-in shapes have a test split of their own (`split` test)")
        categories = builtin.parse_builtin_spec(spec)
        if classes:
            check_classes(classes, categories)
            categories = [c for c in categories if c in classes]
        n = BUILTIN_TRAIN_COUNT if count is None else count
        starts = {"train": [0], "test": [BUILTIN_HELDOUT_START], "all": [0, BUILTIN_HELDOUT_START]}[split]
        parts = [builtin.builtin_voxels(categories, n, resolution, seed=seed, start=start) for start in starts]
        voxels = np.concatenate([p[0] for p in parts])
        labels = np.concatenate([p[1] for p in parts])
        return VoxelSet(torch.from_numpy(np.ascontiguousarray(voxels)), torch.from_numpy(labels), tuple(categories), spec)
    if is_cache(spec):
        cache = open_cache(spec, resolution, read_options)
        recorded = cache.meta.get("filters", {}).get("holdout", 0.0)
        if holdout and holdout != recorded:
            raise DataError(f"{spec}: the cache was prepared with `holdout` {recorded}, not {holdout}; its splits are fixed when prepared")
        shapes = cache.meta["shapes"]
        keep = [
            i for i, shape in enumerate(shapes) if (split == "all" or shape["split"] == split) and (not classes or shape["class"] in classes)
        ]
        check_classes(classes, {shape["class"] for shape in shapes}, f"cache {spec}")
        if not keep:
            raise DataError(f"`data` {spec}: the cache holds no shapes of split {split!r}" + (f" and classes {list(classes)}" if classes else ""))
        names = tuple(sorted({shapes[i]["class"] for i in keep}))
        voxels = cache.voxels if len(keep) == len(shapes) else PackedVoxels(cache.voxels.bits[keep], resolution)
        return VoxelSet(
            voxels,
            torch.tensor([names.index(shapes[i]["class"]) for i in keep]),
            names,
            spec,
            paths=tuple(str(Path(cache.meta["source"]) / shapes[i]["path"]) for i in keep),
            splits=tuple(shapes[i]["split"] for i in keep),
        )
    if not Path(spec).exists():
        raise DataError(
            f"`data` {spec!r}: no such file, folder or cache; or use builtin:<class> "
            f"(classes: {', '.join(builtin.CLASSES)}) or builtin:all"
        )
    catalog = scan_source(spec, classes=classes, split=split, views=views, holdout=holdout)
    options = VoxelizeOptions(resolution=resolution, **(read_options or {}))
    voxels, kept, skipped = load_entries(catalog.entries, options, skip_bad=skip_bad, workers=workers, progress=progress)
    entries = [catalog.entries[i] for i in kept]
    names = tuple(sorted({e.category for e in entries}))
    return VoxelSet(
        voxels,
        torch.tensor([names.index(e.category) for e in entries]),
        names,
        spec,
        paths=tuple(str(e.path) for e in entries),
        splits=tuple(e.split for e in entries),
        skipped=tuple(skipped),
    )



SOURCE_CLASS_SEPARATOR = "#"


def split_source_spec(text: str) -> tuple[str, tuple[str, ...] | None]:
    """``"caches/mn10#bed,sofa"`` -> ``("caches/mn10", ("bed", "sofa"))``; no ``#`` -> ``(text, None)``."""
    spec, sep, names = text.rpartition(SOURCE_CLASS_SEPARATOR)
    if not sep:
        return text, None
    classes = tuple(n.strip() for n in names.split(",") if n.strip())
    if not spec or not classes:
        raise DataError(f"`data` {text!r}: expected SOURCE or SOURCE#class[,class...]")
    return spec, classes


def concat_voxel_sets(sets: Sequence[VoxelSet]) -> VoxelSet:
    """One set holding the shapes of several, with class labels merged by name.

    Memory-mapped cache rows are unpacked (N x R^3 bytes). Shapes without a file (built-in
    ones) are named ``<source>[<index>]``.
    """
    if not sets:
        raise DataError("no data sources given")
    if len(sets) == 1:
        return sets[0]
    resolutions = {s.resolution for s in sets}
    if len(resolutions) != 1:
        raise DataError(f"data sources have different resolutions: {sorted(resolutions)}")
    classes = tuple(sorted({name for s in sets for name in s.classes}))
    voxels, labels, paths, splits = [], [], [], []
    for s in sets:
        rows = s.voxels if isinstance(s.voxels, torch.Tensor) else s.voxels[torch.arange(len(s))]
        voxels.append(rows)
        remap = torch.tensor([classes.index(name) for name in s.classes])
        labels.append(remap[s.labels])
        paths.extend(s.paths or (f"{s.source}[{i}]" for i in range(len(s))))
        splits.extend(s.splits or ("",) * len(s))
    return VoxelSet(
        torch.cat(voxels),
        torch.cat(labels),
        classes,
        " + ".join(s.source for s in sets),
        paths=tuple(paths),
        splits=tuple(splits) if all(splits) else (),
        skipped=tuple(item for s in sets for item in s.skipped),
    )


def load_voxel_sets(
    specs: Sequence[str],
    resolution: int,
    classes: Sequence[str] | None = None,
    split: str = "train",
    count: int | None = None,
    seed: int = 0,
    progress: bool = False,
    **selection: Any,
) -> VoxelSet:
    """One set from several specifications (:meth:`DataSelection.load_many`); ``selection``
    holds the other :class:`DataSelection` fields.

    A ``#class,...`` suffix selects classes of that source only; ``classes`` applies to
    the sources without one.
    """
    chosen = DataSelection(classes=classes, split=split, **selection)
    return chosen.load_many(specs, resolution, count=count, seed=seed, progress=progress)
