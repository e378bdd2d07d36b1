"""The latent prior p(z) of the 3D-GAN, a named config field (PAPER.md section 1)."""

from __future__ import annotations

import torch

from shapespace.models.config import GANConfig


def sample_latents(
    config: GANConfig, n: int, generator: torch.Generator | None = None, device: torch.device | str = "cpu"
) -> torch.Tensor:
    """Draw ``n`` latent vectors from the configured prior.

    Randomness comes only from ``generator`` (a CPU ``torch.Generator``), so the same seed
    gives the same shapes on every device.

    Returns:
        FloatTensor of shape (n, latent_dim) on ``device``.
    """
    if config.latent_prior == "uniform":
        # The authors' released sampler: i.i.d. U[0, 1).
        z = torch.rand(n, config.latent_dim, generator=generator)
    else:
        z = torch.randn(n, config.latent_dim, generator=generator) * config.latent_std
    return z.to(device)


def latents_for_seeds(config: GANConfig, seeds: list[int], device: torch.device | str = "cpu") -> torch.Tensor:
    """One latent vector per seed: FloatTensor of shape (len(seeds), latent_dim).

    ``latents_for_seeds(cfg, [s])`` equals the first row of
    ``sample_latents(cfg, n, torch.Generator().manual_seed(s))``, so a shape can be named
    by its seed.
    """
    rows = [sample_latents(config, 1, torch.Generator().manual_seed(int(s))) for s in seeds]
    return torch.cat(rows).to(device)
