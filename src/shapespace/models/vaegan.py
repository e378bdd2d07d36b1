"""The 3D-VAE-GAN as one inference artifact: image encoder, generator and discriminator.

Saved like :class:`shapespace.models.gan.ShapeGAN` (``config.json`` + ``model.safetensors``)
with ``model_type`` ``"3d-vae-gan"``, the encoder's config under ``"encoder"`` and its
weights under ``encoder.*``. Every command that takes a 3D-GAN also takes this folder (it
loads G and D and ignores E); ``reconstruct`` and ``eval recon`` need the encoder.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import torch
from safetensors.torch import save_file

from shapespace import __version__
from shapespace.errors import CheckpointError, ConfigError
from shapespace.io.atomic import atomic_path, write_text_atomic
from shapespace.models.config import GANConfig
from shapespace.models.encoder import DiagonalGaussian, EncoderConfig, ImageEncoder
from shapespace.models.gan import (
    CONFIG_NAME,
    VAE_GAN_MODEL_TYPE,
    WEIGHTS_NAME,
    ShapeGAN,
    read_model_config,
    read_model_meta,
    read_weights,
)


class ShapeVAEGAN(ShapeGAN):
    """E, G and D of the 3D-VAE-GAN (PAPER.md section 2): a :class:`ShapeGAN` plus an encoder.

    Args:
        gan_config: architecture of G and D.
        encoder_config: architecture of E; its ``latent_dim`` must equal G's.
    """

    def __init__(self, gan_config: GANConfig, encoder_config: EncoderConfig) -> None:
        if encoder_config.latent_dim != gan_config.latent_dim:
            raise ConfigError(
                f"the encoder's latent_dim {encoder_config.latent_dim} differs from the generator's {gan_config.latent_dim}"
            )
        if gan_config.latent_prior != "normal":
            raise ConfigError(
                "a 3D-VAE-GAN needs a normal latent prior (KL(q || p) of a Gaussian posterior against the "
                "uniform prior is infinite); train or start from a GAN with --latent-prior normal"
            )
        super().__init__(gan_config)
        self.encoder_config = encoder_config
        self.encoder = ImageEncoder(encoder_config)
        # The mean occupancy of the training shapes (set by the trainer): the trivial
        # baseline every reconstruction is compared with (``eval recon``).
        r = gan_config.resolution
        self.register_buffer("mean_shape", torch.zeros(r, r, r))
        # Start with q(z|y) close to the prior N(0, latent_std^2 I) for every image, so the
        # first reconstructions are G's typical shapes and the KL term starts near 0.
        with torch.no_grad():
            self.encoder.to_posterior.weight.mul_(0.1)
            self.encoder.to_posterior.bias[gan_config.latent_dim :] = 2.0 * math.log(gan_config.latent_std)

    @property
    def prior_std(self) -> float:
        """Standard deviation of the latent prior p(z) = N(0, prior_std^2 I)."""
        return self.config.latent_std

    def encode(self, images: torch.Tensor) -> DiagonalGaussian:
        """q(z|y) for images (B, 3, S, S) in [0, 1]."""
        return self.encoder(images)

    @torch.no_grad()
    def reconstruct(self, images: torch.Tensor) -> torch.Tensor:
        """Shapes for images, decoded from the posterior mean.

        Args:
            images: FloatTensor of shape (B, 3, S, S), RGB in [0, 1].

        Returns:
            FloatTensor of shape (B, 1, R, R, R): occupancy probabilities, canonical frame.
        """
        return self.generator(self.encode(images).mode())

    def save_pretrained(self, directory: str | os.PathLike) -> Path:
        """Write ``config.json`` and ``model.safetensors`` into ``directory``, atomically each."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        tensors = {k: v.detach().cpu().contiguous() for k, v in self.state_dict().items()}
        with atomic_path(directory / WEIGHTS_NAME) as tmp:
            save_file(tensors, str(tmp), metadata={"format": "pt", "model_type": VAE_GAN_MODEL_TYPE})
        meta = {
            "model_type": VAE_GAN_MODEL_TYPE,
            "shapespace_version": __version__,
            "config": self.config.to_dict(),
            "encoder": self.encoder_config.to_dict(),
        }
        write_text_atomic(directory / CONFIG_NAME, json.dumps(meta, indent=2) + "\n")
        return directory

    @classmethod
    def from_pretrained(cls, directory: str | os.PathLike, device: torch.device | str = "cpu") -> "ShapeVAEGAN":
        """Rebuild a model saved by :meth:`save_pretrained` (eval mode, on ``device``)."""
        directory = Path(directory)
        meta = read_model_meta(directory)
        if meta.get("model_type") != VAE_GAN_MODEL_TYPE or "encoder" not in meta:
            raise CheckpointError(
                f"{directory}: a 3D-GAN without an image encoder; reconstruction needs a model trained "
                "with `shapespace train vae-gan`"
            )
        gan_config = read_model_config(directory)
        try:
            encoder_config = EncoderConfig.from_dict(meta["encoder"])
            model = cls(gan_config, encoder_config)
        except (ConfigError, TypeError) as exc:
            raise CheckpointError(f"{directory / CONFIG_NAME}: invalid encoder config ({exc})") from None
        weights = directory / WEIGHTS_NAME
        if not weights.is_file():
            raise CheckpointError(f"{weights}: missing weights file ({WEIGHTS_NAME})")
        state = read_weights(weights)
        expected = model.state_dict()
        bad = sorted(set(expected) ^ set(state)) + sorted(
            k for k in set(state) & set(expected) if state[k].shape != expected[k].shape
        )
        if bad:
            raise CheckpointError(f"{weights}: weights do not match config.json (first mismatches: {bad[:3]})")
        model.load_state_dict(state)
        return model.to(device).eval()
