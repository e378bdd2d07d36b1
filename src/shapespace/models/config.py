"""Frozen, typed configuration of the 3D-GAN networks (docs/paper.md section 1).

A config fully determines the architecture; it is saved as ``config.json`` beside the
weights so that :func:`shapespace.models.gan.ShapeGAN.from_pretrained` rebuilds the model
without unpickling anything.
"""

from __future__ import annotations

from dataclasses import dataclass

from shapespace.config import ConfigBase, at_least, one_of, positive, setting
from shapespace.errors import ConfigError

LATENT_PRIORS = ("uniform", "normal")
DISCRIMINATOR_NORMS = ("batch", "none", "layer", "instance")


@dataclass(frozen=True)
class GANConfig(ConfigBase):
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
        discriminator_norm: D's normalisation between convolutions: "batch" (the paper's
            BatchNorm), "none", "layer" (GroupNorm with one group: each sample's layer
            normalised over channels and space) or "instance" (each channel of each sample
            on its own). Penalties on D's input gradients (R1, WGAN-GP) need D to score
            each sample on its own, which BatchNorm does not.
        spectral_norm: divide each of D's convolution weights by its largest singular
            value (Miyato et al. 2018), estimated by one power iteration per training step.
    """

    resolution: int = setting(64, check=at_least(1), help="edge length R of the voxel grid")
    latent_dim: int = setting(200, paper=200, recipe=False, check=at_least(1), help="size of z")
    generator_channels: tuple[int, ...] = setting((512, 256, 128, 64), convert=lambda v: tuple(int(c) for c in v))
    discriminator_channels: tuple[int, ...] = setting((64, 128, 256, 512), convert=lambda v: tuple(int(c) for c in v))
    latent_prior: str = setting("uniform", paper="uniform", recipe=False, check=one_of(*LATENT_PRIORS), help="the prior p(z)")
    latent_std: float = setting(0.33, check=positive(), help="standard deviation of the normal prior")
    leaky_relu_slope: float = setting(0.2, paper=0.2, recipe=False, help="D's LeakyReLU slope")
    conv_bias: bool = setting(False, paper=False, recipe=False, help="convolution biases (the release removes them)")
    discriminator_norm: str = setting(
        "batch", paper="batch", recipe=False, check=one_of(*DISCRIMINATOR_NORMS), help="D's normalisation between convolutions"
    )
    spectral_norm: bool = setting(False, paper=False, recipe=False, help="spectral normalisation of D's convolutions")

    def validate(self) -> None:
        for name in ("generator_channels", "discriminator_channels"):
            widths = getattr(self, name)
            if not widths or any(c < 1 for c in widths):
                raise ConfigError(f"`{name}` must be a non-empty list of positive widths, got {list(widths)}")
            expected = 4 * 2 ** len(widths)
            if expected != self.resolution:
                raise ConfigError(
                    f"`{name}` has {len(widths)} widths, which gives resolution {expected}, "
                    f"but resolution is {self.resolution} (resolution must be 4 * 2**len({name}))",
                )
