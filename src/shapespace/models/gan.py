"""The 3D-GAN as one inference artifact: generator, discriminator and their config.

Saved as a folder holding ``config.json`` (the :class:`GANConfig`) and ``model.safetensors``
(weights, including BatchNorm running statistics), loaded with
:meth:`ShapeGAN.from_pretrained` without unpickling anything.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from shapespace import __version__
from shapespace.errors import CheckpointError, ConfigError
from shapespace.io.atomic import atomic_path, write_text_atomic
from shapespace.models.config import GANConfig
from shapespace.models.discriminator import VoxelDiscriminator
from shapespace.models.generator import VoxelGenerator
from shapespace.models.prior import sample_latents

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
MODEL_TYPE = "3d-gan"
# A 3D-VAE-GAN folder holds the same generator and discriminator weights plus an encoder
# (shapespace.models.vaegan); ShapeGAN loads its G and D and ignores the rest.
VAE_GAN_MODEL_TYPE = "3d-vae-gan"
_GAN_PREFIXES = ("generator.", "discriminator.")


def init_weights(module: nn.Module) -> None:
    """DCGAN initialisation: conv weights ~ N(0, 0.02), BatchNorm scale ~ N(1, 0.02), shift 0.

    The paper does not state an initialisation; this is the one its DCGAN lineage uses.
    """
    for m in module.modules():
        if isinstance(m, (nn.Conv3d, nn.ConvTranspose3d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm3d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


class ShapeGAN(nn.Module):
    """A generator/discriminator pair built from one :class:`GANConfig`."""

    def __init__(self, config: GANConfig) -> None:
        super().__init__()
        self.config = config
        self.generator = VoxelGenerator(config)
        self.discriminator = VoxelDiscriminator(config)
        init_weights(self)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Draw ``n`` shapes from the prior (G in eval mode).

        Returns:
            FloatTensor of shape (n, 1, R, R, R): occupancy probabilities.
        """
        device = next(self.parameters()).device
        z = sample_latents(self.config, n, generator, device)
        return self.generator(z)

    def save_pretrained(self, directory: str | os.PathLike) -> Path:
        """Write ``config.json`` and ``model.safetensors`` into ``directory``, atomically each."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        tensors = {k: v.detach().cpu().contiguous() for k, v in self.state_dict().items()}
        with atomic_path(directory / WEIGHTS_NAME) as tmp:
            save_file(tensors, str(tmp), metadata={"format": "pt", "model_type": MODEL_TYPE})
        meta = {"model_type": MODEL_TYPE, "shapespace_version": __version__, "config": self.config.to_dict()}
        write_text_atomic(directory / CONFIG_NAME, json.dumps(meta, indent=2) + "\n")
        return directory

    @classmethod
    def from_pretrained(cls, directory: str | os.PathLike, device: torch.device | str = "cpu") -> "ShapeGAN":
        """Rebuild a model saved by :meth:`save_pretrained` (eval mode, on ``device``)."""
        directory = Path(directory)
        config = read_model_config(directory)
        weights = directory / WEIGHTS_NAME
        if not weights.is_file():
            raise CheckpointError(f"{weights}: missing weights file ({WEIGHTS_NAME})")
        state = read_weights(weights)
        state = {k: v for k, v in state.items() if k.startswith(_GAN_PREFIXES)}
        model = cls(config)
        expected = model.state_dict()
        missing = sorted(set(expected) - set(state))
        unexpected = sorted(set(state) - set(expected))
        wrong_shape = sorted(k for k in set(state) & set(expected) if state[k].shape != expected[k].shape)
        if missing or unexpected or wrong_shape:
            raise CheckpointError(
                f"{weights}: weights do not match config.json (missing {missing[:2]}, "
                f"unexpected {unexpected[:2]}, wrong shape {wrong_shape[:2]})"
            )
        model.load_state_dict(state)
        return model.to(device).eval()


def read_weights(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a safetensors file; an unreadable file raises CheckpointError naming it."""
    try:
        return load_file(str(path))
    except (SafetensorError, OSError) as exc:
        raise CheckpointError(f"{path}: not a readable safetensors file ({exc})") from None


def read_model_meta(directory: Path) -> dict:
    """The parsed ``config.json`` of a model folder (a 3D-GAN or a 3D-VAE-GAN)."""
    path = directory / CONFIG_NAME
    if not path.is_file():
        raise CheckpointError(f"{directory}: not a shapespace model folder (no {CONFIG_NAME})")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{path}: invalid JSON ({exc})") from None
    if not isinstance(meta, dict) or meta.get("model_type") not in (MODEL_TYPE, VAE_GAN_MODEL_TYPE) or "config" not in meta:
        raise CheckpointError(
            f"{path}: not a shapespace model config (expected model_type {MODEL_TYPE!r} or {VAE_GAN_MODEL_TYPE!r}, and config)"
        )
    return meta


def read_model_config(directory: Path) -> GANConfig:
    """The :class:`GANConfig` of a model folder."""
    path = directory / CONFIG_NAME
    meta = read_model_meta(directory)
    try:
        return GANConfig.from_dict(meta["config"])
    except (ConfigError, TypeError) as exc:
        raise CheckpointError(f"{path}: invalid model config ({exc})") from None
