"""Resolve a ``--data`` specification into voxel grids for training.

Supported today: ``builtin:<class>[,<class>...]`` and ``builtin:all`` (the procedural
furniture of :mod:`shapespace.data.builtin`). Readers for real file formats plug in here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from shapespace.errors import DataError

# Shapes per class in a built-in training set. Built-in shapes are indexed; held-out sets
# start far beyond the training indices so they never overlap.
BUILTIN_TRAIN_COUNT = 1000
BUILTIN_HELDOUT_START = 1_000_000


@dataclass(frozen=True)
class VoxelSet:
    """Binary voxel grids with class labels.

    Attributes:
        voxels: ByteTensor of shape (N, R, R, R), values {0, 1}, canonical frame.
        labels: LongTensor of shape (N,), indices into ``classes``.
        classes: class names.
        source: the specification the set was built from.
    """

    voxels: torch.Tensor
    labels: torch.Tensor
    classes: tuple[str, ...]
    source: str

    def __post_init__(self) -> None:
        if self.voxels.dim() != 4 or len(set(self.voxels.shape[1:])) != 1:
            raise DataError(f"{self.source}: voxels must have shape (N, R, R, R), got {tuple(self.voxels.shape)}")
        if len(self.voxels) == 0:
            raise DataError(f"{self.source}: the data set is empty")
        if self.labels.shape != (len(self.voxels),):
            raise DataError(f"{self.source}: {len(self.labels)} labels for {len(self.voxels)} shapes")

    @property
    def resolution(self) -> int:
        return int(self.voxels.shape[-1])

    def __len__(self) -> int:
        return len(self.voxels)


def load_voxel_set(
    spec: str, resolution: int, split: str = "train", count: int | None = None, seed: int = 0
) -> VoxelSet:
    """Load the shapes named by ``spec`` at ``resolution``.

    Args:
        spec: a data specification, e.g. ``"builtin:chair"``.
        resolution: grid size R.
        split: ``"train"`` or ``"heldout"`` (built-in held-out shapes never overlap training ones).
        count: shapes per class for built-in data (default :data:`BUILTIN_TRAIN_COUNT`).
        seed: seed of the built-in generator.
    """
    from shapespace.data import builtin

    if split not in ("train", "heldout"):
        raise DataError(f"unknown split {split!r}; expected 'train' or 'heldout'")
    if spec.startswith("builtin:"):
        categories = builtin.parse_builtin_spec(spec)
        n = BUILTIN_TRAIN_COUNT if count is None else count
        start = 0 if split == "train" else BUILTIN_HELDOUT_START
        voxels, labels = builtin.builtin_voxels(categories, n, resolution, seed=seed, start=start)
        return VoxelSet(torch.from_numpy(np.ascontiguousarray(voxels)), torch.from_numpy(labels), tuple(categories), spec)
    raise DataError(
        f"--data {spec!r}: unsupported data source; use builtin:<class> (classes: {', '.join(builtin.CLASSES)}) or builtin:all"
    )
