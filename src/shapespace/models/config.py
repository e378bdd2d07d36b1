"""Frozen, typed configuration of the 3D-GAN networks (PAPER.md section 1).

A config fully determines the architecture; it is saved as ``config.json`` beside the
weights so that :func:`shapespace.models.gan.ShapeGAN.from_pretrained` rebuilds the model
without unpickling anything.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Mapping

from shapespace.errors import ConfigError

LATENT_PRIORS = ("uniform", "normal")


@dataclass(frozen=True)
class GANConfig:
    """Architecture of a 3D-GAN generator/discriminator pair.

    The generator maps ``z`` of shape (B, latent_dim) to a 4^3 grid with
    ``generator_channels[0]`` channels (a transposed conv, kernel 4, stride 1, padding 0),
    then doubles the resolution once per further channel width and once more for the
    single-channel sigmoid output: ``resolution == 4 * 2 ** len(generator_channels)``.
    The discriminator mirrors it: stride-2 convs through ``discriminator_channels``,
    then a kernel-4 convolution from 4^3 to one logit.

    Attributes:
        resolution: edge length R of the voxel grid (B, 1, R, R, R).
        latent_dim: size of z; 200 in the paper.
        generator_channels: channel widths of G's hidden layers, coarse to fine.
        discriminator_channels: channel widths of D's hidden layers, fine to coarse.
        latent_prior: "uniform" (i.i.d. U[0, 1), the authors' released sampler) or
            "normal" (N(0, latent_std^2), common in reimplementations).
        latent_std: standard deviation of the "normal" prior.
        leaky_relu_slope: D's LeakyReLU slope (0.2 in the paper).
        conv_bias: convolution biases; the release removes them (False).
    """

    resolution: int = 64
    latent_dim: int = 200
    generator_channels: tuple[int, ...] = (512, 256, 128, 64)
    discriminator_channels: tuple[int, ...] = (64, 128, 256, 512)
    latent_prior: str = "uniform"
    latent_std: float = 0.33
    leaky_relu_slope: float = 0.2
    conv_bias: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "generator_channels", tuple(int(c) for c in self.generator_channels))
        object.__setattr__(self, "discriminator_channels", tuple(int(c) for c in self.discriminator_channels))
        for name in ("generator_channels", "discriminator_channels"):
            widths = getattr(self, name)
            if not widths or any(c < 1 for c in widths):
                raise ConfigError(f"{name} must be a non-empty list of positive widths, got {list(widths)}")
            expected = 4 * 2 ** len(widths)
            if expected != self.resolution:
                raise ConfigError(
                    f"{name} has {len(widths)} widths, which gives resolution {expected}, "
                    f"but resolution is {self.resolution} (resolution must be 4 * 2**len({name}))"
                )
        if self.latent_dim < 1:
            raise ConfigError(f"latent_dim must be positive, got {self.latent_dim}")
        if self.latent_prior not in LATENT_PRIORS:
            raise ConfigError(f"latent_prior must be one of {', '.join(LATENT_PRIORS)}, got {self.latent_prior!r}")
        if not self.latent_std > 0:
            raise ConfigError(f"latent_std must be positive, got {self.latent_std}")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (tuples become lists)."""
        data = dataclasses.asdict(self)
        data["generator_channels"] = list(self.generator_channels)
        data["discriminator_channels"] = list(self.discriminator_channels)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "GANConfig":
        """Rebuild a config; unknown keys are an error, not silently ignored."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown GANConfig fields: {', '.join(unknown)}")
        return cls(**dict(data))

    def replace(self, **changes: Any) -> "GANConfig":
        return dataclasses.replace(self, **changes)
