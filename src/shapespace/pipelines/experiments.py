"""The paper's latent-space experiments (docs/paper.md section 3), each writing a figure.

* interpolation -- shapes along the line between two latent codes
  (:func:`~shapespace.pipelines.sampling.interpolate_shapes`), given as seeds or as two
  shapes (:func:`latents_for`; a shape's code is found by :func:`invert_shapes`);
* :func:`arithmetic` -- ``z_a - z_b + z_c`` ("a chair with arms minus one without, plus a
  sofa");
* :func:`nearest_neighbours` -- samples beside their nearest training shapes (1 - IoU),
  the paper's check that the generator does not copy its training set.

There is no image/shape encoder in this release yet; a shape's latent code is the one that
makes G reproduce it best (:func:`invert_shapes`: Adam on ``z`` minimising the binary
cross-entropy between ``G(z)`` and the shape, starting from the prior's mean).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Sequence

import torch
import torch.nn.functional as F

from shapespace.errors import ConfigError
from shapespace.metrics.voxel import iou_distance_matrix
from shapespace.models.gan import ShapeGAN
from shapespace.models.prior import latents_for_seeds, sample_latents
from shapespace.pipelines.sampling import generate_from_latents


def _bar(total: int, desc: str, unit: str, progress: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, disable=not progress, leave=False, file=sys.stderr, dynamic_ncols=True)


def invert_shapes(
    model: ShapeGAN, voxels: torch.Tensor, steps: int = 300, lr: float = 0.05, seed: int = 0, progress: bool = False
) -> torch.Tensor:
    """Latent codes whose generated shapes match ``voxels`` best.

    Args:
        voxels: (N, R, R, R) target occupancies at the model's resolution.
        steps: Adam steps on ``z``.
        progress: show a progress bar (in steps) on stderr.

    Returns:
        FloatTensor of shape (N, latent_dim).
    """
    if steps < 1:
        raise ConfigError(f"inversion steps must be at least 1, got {steps}")
    device = next(model.parameters()).device
    model.eval()
    target = torch.as_tensor(voxels).float().to(device).unsqueeze(1)  # (N, 1, R, R, R)
    # Start from a few prior draws' mean: the centre of the prior, where G is best trained.
    z0 = sample_latents(model.config, 64, torch.Generator().manual_seed(seed), device).mean(0)
    z = z0.expand(len(target), -1).clone().requires_grad_(True)
    optimizer = torch.optim.Adam([z], lr=lr)
    for p in model.generator.parameters():
        p.requires_grad_(False)
    try:
        with _bar(steps, "inverting G", "step", progress) as bar:
            for _ in range(steps):
                optimizer.zero_grad(set_to_none=True)
                loss = F.binary_cross_entropy(model.generator(z).clamp(1e-6, 1 - 1e-6), target)
                loss.backward()
                optimizer.step()
                bar.update(1)
    finally:
        for p in model.generator.parameters():
            p.requires_grad_(True)
    return z.detach()


def latents_for(
    model: ShapeGAN,
    seeds: Sequence[int] | None = None,
    shapes: torch.Tensor | Sequence[str | os.PathLike] | None = None,
    steps: int = 300,
    progress: bool = False,
) -> torch.Tensor:
    """Latent codes from seeds (one prior draw each) or from shapes (by inversion): (N, latent_dim).

    ``shapes`` is a (N, R, R, R) tensor, or shape files in any readable format (voxelised at
    the model's resolution). ``progress`` shows the inversion's progress bar.
    """
    if (seeds is None) == (shapes is None):
        raise ConfigError("give `seeds` or `shapes`, not both")
    if seeds is not None:
        return latents_for_seeds(model.config, seeds, next(model.parameters()).device)
    if not isinstance(shapes, torch.Tensor):
        from shapespace.geometry.voxelize import VoxelizeOptions
        from shapespace.io.registry import read_shape

        options = VoxelizeOptions(resolution=model.config.resolution)
        shapes = torch.stack([torch.from_numpy(read_shape(path, options)) for path in shapes])
    return invert_shapes(model, shapes, steps=steps, progress=progress)


def arithmetic(model: ShapeGAN, z_a: torch.Tensor, z_b: torch.Tensor, z_c: torch.Tensor) -> torch.Tensor:
    """``G(z_a)``, ``G(z_b)``, ``G(z_c)`` and ``G(z_a - z_b + z_c)``: (4, R, R, R)."""
    return generate_from_latents(model, torch.stack([z_a, z_b, z_c, z_a - z_b + z_c]))


def nearest_neighbours(
    samples: torch.Tensor, train, k: int = 3, threshold: float = 0.5, chunk: int = 1024, progress: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``k`` nearest training shapes (1 - IoU) of each sample.

    The training shapes are compared ``chunk`` at a time, so a memory-mapped set is never
    unpacked whole.

    Args:
        samples: (N, R, R, R) occupancies.
        train: (T, R, R, R) shapes (tensor or :class:`~shapespace.data.cache.PackedVoxels`).
        progress: show a progress bar (in training shapes) on stderr.

    Returns:
        ``(indices, distances)``: LongTensor and FloatTensor of shape (N, k).
    """
    columns = []
    with _bar(len(train), "nearest training shapes", "shape", progress) as bar:
        for start in range(0, len(train), chunk):
            block = train[torch.arange(start, min(start + chunk, len(train)))]
            columns.append(iou_distance_matrix(samples, block, threshold))
            bar.update(len(block))
    d = torch.cat(columns, dim=1)  # (N, T)
    distances, indices = d.topk(min(k, d.shape[1]), dim=1, largest=False)
    return indices, distances


def save_figure(volumes: torch.Tensor, path: str | os.PathLike, ncols: int, labels: Sequence[str] | None = None) -> Path:
    from shapespace.rendering.figures import render_mosaic, save_png

    return save_png(render_mosaic(torch.as_tensor(volumes).float(), ncols=ncols, labels=labels), path)


def neighbours_figure(
    model: ShapeGAN, train, path: str | os.PathLike, n: int = 6, k: int = 3, seed: int = 0, progress: bool = False
) -> dict:
    """Samples (first column) beside their ``k`` nearest training shapes, with the distances;
    ``progress`` shows the search's progress bar."""
    from shapespace.pipelines.sampling import sample_shapes

    samples = sample_shapes(model, n, seed=seed)
    indices, distances = nearest_neighbours(samples, train, k, progress=progress)
    rows, labels = [], []
    for sample, idx, dist in zip(samples, indices, distances):
        rows.append(sample[None])
        labels.append("sample")
        rows.append(train[idx].float())
        labels.extend(f"train {int(i)}: {float(d):.2f}" for i, d in zip(idx, dist))
    save_figure(torch.cat(rows), path, ncols=k + 1, labels=labels)
    return {"out": str(path), "nearest_distance_mean": float(distances[:, 0].mean()), "indices": indices.tolist()}

