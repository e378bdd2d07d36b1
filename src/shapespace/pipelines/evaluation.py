"""Evaluation as Python functions: generation quality and the paper's representation experiment.

``shapespace eval gen`` and ``shapespace eval classify`` call these.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from shapespace.data.sources import DataSelection, VoxelSet
from shapespace.errors import DataError
from shapespace.io.atomic import write_text_atomic
from shapespace.metrics.generation import POINTS_PER_SHAPE, generation_metrics

# The default cap on the shapes per set of eval gen. Its Chamfer distances take three
# all-pairs matrices, ~2n^2 pairs: measured on a busy 2-core machine (load ~3 per core),
# 50 shapes took 20 s, 100 took 90 s and 200 took 6.5 min (~4 ms a pair; fewer on an idle
# machine), so 500 take over half an hour and 1,000 hours.
DEFAULT_MAX_REFERENCE = 200

# The paper's feature recipe (docs/paper.md section 3): the 2nd, 3rd and 4th conv responses of the
# 64^3 D (16^3, 8^3, 4^3) max-pooled with kernels 8, 4, 2, i.e. each to 2^3.
FEATURE_GRID = 2


def load_samples_file(path: str | os.PathLike) -> torch.Tensor:
    """Read an array (N, R, R, R) of occupancies in [0, 1] written by any model (never unpickled)."""
    path = Path(path)
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as error:
        raise DataError(f"`samples_file` {path}: not a readable .npy array ({error})") from None
    if array.ndim != 4 or len(set(array.shape[1:])) != 1:
        raise DataError(f"`samples_file` {path}: expected an array of shape (N, R, R, R), got {array.shape}")
    if not np.issubdtype(array.dtype, np.number) or np.iscomplexobj(array):
        raise DataError(f"`samples_file` {path}: array type {array.dtype} is not real-valued")
    array = array.astype(np.float32)
    if not np.isfinite(array).all() or array.min() < 0 or array.max() > 1:
        raise DataError(f"`samples_file` {path}: values must be finite occupancies in [0, 1]")
    return torch.from_numpy(array)


def _subset(voxels, n: int, seed: int) -> torch.Tensor:
    """``n`` shapes of a set chosen with a fixed seed (all of them, in order, when n covers the set)."""
    if n >= len(voxels):
        return voxels[torch.arange(len(voxels))]
    order = torch.randperm(len(voxels), generator=torch.Generator().manual_seed(seed))[:n].sort().values
    return voxels[order]


def evaluate_generation(
    reference: str,
    checkpoint: str | os.PathLike | None = None,
    samples_file: str | os.PathLike | None = None,
    n: int | None = None,
    selection: DataSelection = DataSelection(split="test"),
    train_split: str | None = "train",
    seed: int = 0,
    n_points: int = POINTS_PER_SHAPE,
    device: str = "auto",
    out: str | os.PathLike | None = None,
    progress: bool = False,
    notice: Callable[[str], None] | None = None,
) -> dict:
    """Measure samples of a checkpoint (or from a file) against a reference set.

    Args:
        reference: a data specification (``--ref``).
        checkpoint: a run or model folder to sample from; or
        samples_file: an ``.npy`` array (N, R, R, R) of occupancies, canonical frame.
        n: shapes per set; default: the reference set's size (equal set sizes), at most
            :data:`DEFAULT_MAX_REFERENCE` (a subset chosen with ``seed``). With a file, its
            first ``n`` shapes are used.
        selection: which shapes of ``reference`` to compare with; its split defaults to
            ``test`` (shapes training never saw).
        train_split: split of ``reference`` holding the training shapes, for the
            memorisation check (``None`` skips it).
        seed: latent seed for sampling, subset choice and surface sampling.
        n_points: surface points per shape for Chamfer and JSD.
        out: also write the result as JSON here.
        progress: show progress bars on stderr.
        notice: called with a line that says when the default ``n`` leaves reference shapes
            out (default: printed on stderr).

    Returns:
        The measures of :func:`shapespace.metrics.generation.generation_metrics` with the
        set-up, and ``skipped_files``: ``{"path", "error"}`` of each reference file left out
        as unreadable (``selection.skip_bad``).
    """
    from shapespace.pipelines.sampling import load_gan, sample_shapes

    if checkpoint is None and samples_file is None:
        raise DataError("give a `checkpoint` or `samples_file`: there are no samples to measure")
    if checkpoint is not None and samples_file is not None:
        raise DataError("give a `checkpoint` or `samples_file`, not both")
    model = load_gan(checkpoint, device=device) if checkpoint is not None else None
    file_samples = load_samples_file(samples_file) if samples_file is not None else None
    resolution = model.config.resolution if model is not None else int(file_samples.shape[-1])
    ref_set = selection.load(reference, resolution, progress=progress)
    skipped = list(ref_set.skipped)
    if n is None:
        n = min(len(ref_set), DEFAULT_MAX_REFERENCE)
        if n < len(ref_set):
            (notice or (lambda line: print(line, file=sys.stderr)))(f"comparing {n} of {len(ref_set)} reference shapes; `n` to change")
    if n < 1:
        raise DataError(f"`n` must be at least 1, got {n}")
    reference_voxels = _subset(ref_set.voxels, n, seed)
    if model is not None:
        samples = sample_shapes(model, len(reference_voxels), seed=seed)
    else:
        if len(file_samples) < len(reference_voxels):
            raise DataError(f"`samples_file` {samples_file}: {len(file_samples)} shapes, {len(reference_voxels)} needed (`n`)")
        samples = file_samples[: len(reference_voxels)]
    train = None
    if train_split is not None:
        try:
            train_set = selection.replace(split=train_split).load(reference, resolution, progress=progress)
            train = train_set.voxels
            skipped += [item for item in train_set.skipped if item not in skipped]
        except DataError:
            train = None  # the reference source has no training split: no memorisation check
    result = generation_metrics(
        samples, reference_voxels, train=_subset(train, 2000, seed) if train is not None else None,
        n_points=n_points, seed=seed, progress=progress,
    )  # fmt: skip
    result["setup"] = {
        "reference": reference,
        "reference_split": selection.split,
        "classes": list(selection.classes or ref_set.classes),
        "samples": str(checkpoint if checkpoint is not None else samples_file),
        "seed": seed,
        "points_per_shape": n_points,
        "resolution": resolution,
        "normalisation": "grid world cube [-0.5, 0.5]^3 for both sets, no per-shape rescaling",
    }
    result["skipped_files"] = [dict(item) for item in skipped]
    if out is not None:
        write_text_atomic(out, json.dumps(result, indent=2) + "\n")
    return result


# -- representation: D features + linear SVM (docs/paper.md section 3) ---------------------------
@torch.no_grad()
def discriminator_features(discriminator, voxels, batch_size: int = 64, device: str = "cpu", progress: bool = False) -> np.ndarray:
    """The paper's D features: the last three conv responses, max-pooled to 2^3, concatenated.

    For ``paper-64`` these are the 2nd, 3rd and 4th conv layers (128 x 16^3, 256 x 8^3,
    512 x 4^3) pooled with kernels 8, 4 and 2 -- the paper's recipe, 7,168 features.
    ``paper-32``'s D drops the first 64-channel layer, so its three blocks are exactly those
    three layers (same widths and sizes) and give the same 7,168 features.

    Args:
        voxels: (N, R, R, R) shapes (tensor or :class:`~shapespace.data.cache.PackedVoxels`).
        progress: show a progress bar on stderr.

    Returns:
        FloatArray of shape (N, F).
    """
    from tqdm import tqdm

    discriminator.eval()
    rows = []
    bar = tqdm(total=len(voxels), desc="D features", unit="shape", disable=not progress, leave=False, file=sys.stderr, dynamic_ncols=True)
    with bar:
        for start in range(0, len(voxels), batch_size):
            batch = voxels[torch.arange(start, min(start + batch_size, len(voxels)))]
            x = batch.to(device, torch.float32).unsqueeze(1)  # (B, 1, R, R, R)
            responses = discriminator.features(x)[-3:]
            pooled = [torch.nn.functional.adaptive_max_pool3d(r, FEATURE_GRID).flatten(1) for r in responses]
            rows.append(torch.cat(pooled, dim=1).float().cpu())
            bar.update(len(batch))
    return torch.cat(rows).numpy()


def _load_split(selection: DataSelection, data: str, resolution: int, split: str, progress: bool) -> VoxelSet:
    """One split of the classifier's data; an empty split is explained in the classifier's
    terms (it chooses its splits itself, so no `split` to give)."""
    try:
        return selection.replace(split=split).load(data, resolution, progress=progress)
    except DataError as error:
        if "split" not in error.parameters:
            raise
        if "holdout" in error.parameters:  # built-in shapes, whose test split is fixed
            raise DataError(f"`holdout`: {data} has a test split of its own, which the classifier is scored on; drop `holdout`") from None
        hint = "; `holdout` moves a fraction of the training shapes to the test split" if split == "test" else ""
        raise DataError(
            f"`data` {data}: no shapes in the {split} split; the classifier is fitted on the train split "
            f"and scored on the test split{hint}"
        ) from None


def evaluate_classification(
    checkpoint: str | os.PathLike,
    data: str,
    selection: DataSelection = DataSelection(),
    c: float = 0.01,
    device: str = "auto",
    out: str | os.PathLike | None = None,
    progress: bool = False,
) -> dict:
    """Fit a linear SVM on D's features of the train split and score it on the test split.

    Args:
        checkpoint: a run folder (its training state holds D) or a folder saved by
            :meth:`ShapeGAN.save_pretrained` with D weights.
        data: a data specification with train and test splits (e.g. ModelNet10).
        selection: which shapes of ``data`` to use (its split is ignored: train, then test).
        c: the SVM's regularisation strength (``LinearSVC(C=c)``) on standardised features.
        progress: show progress bars on stderr (reading files, D's features).

    Returns:
        ``{"overall_accuracy", "per_class_accuracy", "n_train", "n_test", ..., "skipped_files"}``;
        ``skipped_files``: ``{"path", "error"}`` of each file left out as unreadable.
    """
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import LinearSVC

    from shapespace.pipelines.sampling import load_gan
    from shapespace.training.runtime import resolve_device

    model = load_gan(checkpoint, device=device)
    resolution = model.config.resolution
    train = _load_split(selection, data, resolution, "train", progress)
    test = _load_split(selection, data, resolution, "test", progress)
    if train.classes != test.classes:
        raise DataError(f"{data}: train classes {train.classes} differ from test classes {test.classes}")
    dev = str(resolve_device(device))
    x_train = discriminator_features(model.discriminator, train.voxels, device=dev, progress=progress)
    x_test = discriminator_features(model.discriminator, test.voxels, device=dev, progress=progress)
    y_train, y_test = train.labels.numpy(), test.labels.numpy()
    classifier = make_pipeline(StandardScaler(), LinearSVC(C=c, max_iter=20000, random_state=0))
    classifier.fit(x_train, y_train)
    predicted = classifier.predict(x_test)
    per_class = {name: float((predicted[y_test == k] == k).mean()) for k, name in enumerate(test.classes) if (y_test == k).any()}
    result = {
        "overall_accuracy": float((predicted == y_test).mean()),
        "mean_class_accuracy": float(np.mean(list(per_class.values()))),
        "per_class_accuracy": per_class,
        "n_train": len(train),
        "n_test": len(test),
        "features": int(x_train.shape[1]),
        "svm": f"StandardScaler + LinearSVC(C={c})",
        "checkpoint": str(checkpoint),
        "data": data,
        "paper_modelnet10_accuracy": 0.910,
        "skipped_files": [dict(item) for item in (*train.skipped, *test.skipped)],
    }
    if out is not None:
        write_text_atomic(out, json.dumps(result, indent=2) + "\n")
    return result
