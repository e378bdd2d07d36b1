"""The 3D-GAN as one inference artifact: generator, discriminator and their config.

Saved as a folder holding ``config.json`` (the :class:`GANConfig`) and ``model.safetensors``
(weights, including BatchNorm running statistics), loaded with
:meth:`ShapeGAN.from_pretrained` without unpickling anything.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from shapespace.errors import CheckpointError, ConfigError
from shapespace.models.config import GANConfig
from shapespace.models.discriminator import VoxelDiscriminator
from shapespace.models.generator import VoxelGenerator
from shapespace.models.pretrained import CONFIG_NAME, GAN_MODEL_TYPE, MODEL_TYPES, PretrainedMixin, read_model_meta
from shapespace.models.prior import sample_latents


def init_weights(module: nn.Module) -> None:
    """DCGAN initialisation: conv weights ~ N(0, 0.02), BatchNorm scale ~ N(1, 0.02), shift 0.

    The paper does not state an initialisation; this is the one its DCGAN lineage uses.
    """
    for m in module.modules():
        if isinstance(m, (nn.Conv3d, nn.ConvTranspose3d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm3d, nn.GroupNorm)):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


class ShapeGAN(PretrainedMixin, nn.Module):
    """A generator/discriminator pair built from one :class:`GANConfig`.

    Loads from a 3D-GAN folder and from a 3D-VAE-GAN folder (taking its G and D).
    """

    MODEL_TYPE = GAN_MODEL_TYPE
    LOADS = MODEL_TYPES
    WEIGHT_PREFIXES = ("generator.", "discriminator.")

    def __init__(self, config: GANConfig) -> None:
        super().__init__()
        self.config = config
        self.generator = VoxelGenerator(config)
        self.discriminator = VoxelDiscriminator(config)
        init_weights(self)
        if config.spectral_norm:
            self.discriminator.add_spectral_norm()

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Draw ``n`` shapes from the prior (G in eval mode).

        Returns:
            FloatTensor of shape (n, 1, R, R, R): occupancy probabilities.
        """
        device = next(self.parameters()).device
        z = sample_latents(self.config, n, generator, device)
        return self.generator(z)

    def config_entries(self) -> dict[str, Any]:
        return {"config": self.config.to_dict()}

    @classmethod
    def from_config_entries(cls, meta: dict[str, Any]) -> "ShapeGAN":
        return cls(GANConfig.from_dict(meta["config"]))


def read_model_config(directory: Path) -> GANConfig:
    """The :class:`GANConfig` of a model folder (a 3D-GAN's or a 3D-VAE-GAN's)."""
    meta = read_model_meta(directory)
    try:
        return GANConfig.from_dict(meta["config"])
    except ConfigError as exc:
        raise CheckpointError(f"{directory / CONFIG_NAME}: invalid model config ({exc})") from None
