"""Inference with a trained 3D-GAN: sample, interpolate, and write the results.

Usable from Python::

    from shapespace.pipelines.sampling import load_gan, sample_shapes, write_shapes
    model = load_gan("runs/demo")
    shapes = sample_shapes(model, n=16, seed=0)      # (16, R, R, R) float32
    write_shapes(shapes, "out", formats=("npy", "png", "obj"))
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from shapespace.errors import ConfigError
from shapespace.geometry.mesh import voxels_to_mesh
from shapespace.io.atomic import atomic_path
from shapespace.io.meshes import MESH_FORMATS, write_mesh
from shapespace.models.gan import ShapeGAN
from shapespace.models.pretrained import resolve_model_dir
from shapespace.models.prior import interpolate_latents, sample_latents
from shapespace.training.runtime import autocast, resolve_device, resolve_memory_format, resolve_precision, to_memory_format

OUTPUT_FORMATS = ("npy", "png") + MESH_FORMATS


def load_gan(path: str | os.PathLike, device: str = "auto") -> ShapeGAN:
    """Load the 3D-GAN of a run folder or model folder, in eval mode, with its 3D
    convolution weights in the device's faster layout (channels-last on the CPU; see
    :func:`~shapespace.training.runtime.resolve_memory_format`)."""
    resolved = resolve_device(device)
    model = ShapeGAN.from_pretrained(resolve_model_dir(path), device=resolved)
    return to_memory_format(model, resolve_memory_format("auto", resolved))


@torch.no_grad()
def generate_from_latents(model: ShapeGAN, z: torch.Tensor, batch_size: int = 32, precision: str = "auto") -> torch.Tensor:
    """Decode latents in batches: (N, latent_dim) -> FloatTensor (N, R, R, R) on the CPU.

    ``precision`` "auto" runs G under bf16 autocast on CPUs with native bf16 (about twice
    as fast; probabilities differ from fp32 by rounding, a few thousandths) and bf16 or
    fp16 on GPUs; "fp32" turns mixed precision off. See
    :func:`~shapespace.training.runtime.resolve_precision`.
    """
    device = next(model.parameters()).device
    resolved = resolve_precision(precision, device)
    model.eval()
    with autocast(resolved, device):
        out = [model.generator(chunk.to(device))[:, 0].float().cpu() for chunk in z.split(batch_size)]
    return torch.cat(out)


def sample_shapes(model: ShapeGAN, n: int, seed: int = 0, precision: str = "auto") -> torch.Tensor:
    """``n`` shapes from the prior; the same seed gives the same shapes on any device (to
    within the rounding of ``precision``, see :func:`generate_from_latents`).

    Returns:
        FloatTensor of shape (n, R, R, R): occupancy probabilities, canonical frame.
    """
    if n < 1:
        raise ConfigError(f"`n` must be at least 1, got {n}")
    z = sample_latents(model.config, n, torch.Generator().manual_seed(seed))
    return generate_from_latents(model, z, precision=precision)


def interpolate_shapes(model: ShapeGAN, z_a: torch.Tensor, z_b: torch.Tensor, steps: int = 8) -> torch.Tensor:
    """Shapes along the line from latent ``z_a`` to ``z_b`` (each (latent_dim,)), endpoints
    included: FloatTensor of shape (steps, R, R, R).

    Latents come from seeds (:func:`~shapespace.models.prior.latents_for_seeds`) or from
    shapes (:func:`~shapespace.pipelines.experiments.latents_for`).
    """
    return generate_from_latents(model, interpolate_latents(z_a, z_b, steps))


def parse_formats(text: str | Sequence[str]) -> tuple[str, ...]:
    """``"npy,png,obj"`` -> ``("npy", "png", "obj")``; unknown names raise ConfigError."""
    items = [f.strip().lower() for f in (text.split(",") if isinstance(text, str) else text) if f.strip()]
    unknown = [f for f in items if f not in OUTPUT_FORMATS]
    if unknown or not items:
        raise ConfigError(f"`format` {text!r}: unknown or empty format list; choose from {', '.join(OUTPUT_FORMATS)}")
    return tuple(dict.fromkeys(items))


def write_shapes(
    shapes: torch.Tensor | np.ndarray,
    out_dir: str | os.PathLike,
    formats: Sequence[str] = ("npy", "png", "obj"),
    name: str = "samples",
    ncols: int | None = None,
    threshold: float = 0.5,
) -> dict[str, list[str]]:
    """Write shapes (N, R, R, R) as ``{name}.npy``, ``{name}.png`` and ``{name}_NNN.{mesh}``.

    ``npy`` holds float32 occupancy probabilities in the canonical frame; meshes are the
    marching-cubes surfaces at ``threshold`` in the world frame of
    :mod:`shapespace.geometry.frame`. Returns the written paths by format.
    """
    from shapespace.rendering.figures import render_mosaic, save_png

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    array = np.asarray(shapes.cpu() if isinstance(shapes, torch.Tensor) else shapes, dtype=np.float32)
    written: dict[str, list[str]] = {}
    for fmt in parse_formats(formats):
        if fmt == "npy":
            with atomic_path(out_dir / f"{name}.npy") as tmp:
                with open(tmp, "wb") as fh:
                    np.save(fh, array)
            written["npy"] = [str(out_dir / f"{name}.npy")]
        elif fmt == "png":
            image = render_mosaic(array, ncols=ncols, threshold=threshold)
            written["png"] = [str(save_png(image, out_dir / f"{name}.png"))]
        else:
            written[fmt] = [
                str(write_mesh(voxels_to_mesh(vol, threshold), out_dir / f"{name}_{i:03d}.{fmt}"))
                for i, vol in enumerate(array)
            ]
    return written
