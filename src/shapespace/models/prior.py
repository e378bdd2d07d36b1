"""The latent prior p(z) of the 3D-GAN, a named config field (docs/paper.md section 1): draws
from it, the latent of a seed, and lines between latents."""

from __future__ import annotations

from typing import Sequence

import torch

from shapespace.errors import ConfigError
from shapespace.models.config import GANConfig


def sample_latents(
    config: GANConfig, n: int, generator: torch.Generator | None = None, device: torch.device | str = "cpu"
) -> torch.Tensor:
    """Draw ``n`` latent vectors from the configured prior.

    Randomness comes only from ``generator``; the draws are made on its device. A CPU
    generator (the usual) gives the same shapes on every device.

    Returns:
        FloatTensor of shape (n, latent_dim) on ``device``.
    """
    where = "cpu" if generator is None else generator.device  # drawn on the generator's device
    if config.latent_prior == "uniform":
        # The authors' released sampler: i.i.d. U[0, 1).
        z = torch.rand(n, config.latent_dim, generator=generator, device=where)
    else:
        z = torch.randn(n, config.latent_dim, generator=generator, device=where) * config.latent_std
    return z.to(device)


def latents_for_seeds(config: GANConfig, seeds: Sequence[int], device: torch.device | str = "cpu") -> torch.Tensor:
    """One latent vector per seed, so a shape can be named by its seed: FloatTensor of
    shape (len(seeds), latent_dim) on ``device``.

    Row ``i`` is ``sample_latents(config, 1, torch.Generator().manual_seed(seeds[i]))``. With
    the uniform prior that is also the first row of ``sample_latents(config, n, ...)`` for
    any ``n``; with the normal prior it is not for ``n > 1``, because torch's CPU normal
    sampler draws 16 or more values at once in a different (vectorised) order.
    """
    rows = [sample_latents(config, 1, torch.Generator().manual_seed(int(s))) for s in seeds]
    return torch.cat(rows).to(device)


def interpolate_latents(z_a: torch.Tensor, z_b: torch.Tensor, steps: int) -> torch.Tensor:
    """Points on the line from ``z_a`` to ``z_b`` (each of shape (latent_dim,)), equally
    spaced, endpoints included: FloatTensor of shape (steps, latent_dim) on ``z_a``'s device.

    Linear (not spherical) because the paper's uniform prior has no norm shell to stay on.
    """
    if steps < 2:
        raise ConfigError(f"interpolation steps must be at least 2 (the two endpoints), got {steps}")
    t = torch.linspace(0.0, 1.0, steps, device=z_a.device)[:, None]
    return (1 - t) * z_a[None, :] + t * z_b[None, :]
