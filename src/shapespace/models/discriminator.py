"""The 3D-GAN discriminator (Wu et al., NeurIPS 2016; docs/paper.md section 1).

The mirror of the generator: 3D convolutions (kernel 4, stride 2, padding 1) with
BatchNorm + LeakyReLU(0.2) between, then a kernel-4 convolution from 4^3 to one output.
The paper ends with a sigmoid; this module returns the logit and
:meth:`VoxelDiscriminator.probability` applies the sigmoid, because the loss is computed
with ``binary_cross_entropy_with_logits`` (the same value, numerically stable and safe
under mixed precision). No parameters differ.

For the ``paper-64`` preset the shapes are::

    x (B, 1, 64, 64, 64) -> (B, 64, 32^3) -> (B, 128, 16^3) -> (B, 256, 8^3)
      -> (B, 512, 4^3) -> logit (B,)

The first block has no BatchNorm in many DCGAN variants; the paper's text puts BatchNorm
between all layers and the parameter count of docs/paper.md (11,048,832) includes it, so it is
kept.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from shapespace.models.config import GANConfig


def normalisation(kind: str, channels: int) -> nn.Module:
    """D's normalisation layer (:attr:`GANConfig.discriminator_norm`); every kind but "none"
    has a per-channel scale and shift, so the parameter count stays the paper's."""
    if kind == "batch":
        return nn.BatchNorm3d(channels)
    if kind == "layer":
        return nn.GroupNorm(1, channels)
    if kind == "instance":
        return nn.GroupNorm(channels, channels)
    return nn.Identity()


class DownBlock(nn.Sequential):
    """Conv (kernel 4, stride 2, padding 1) + normalisation + LeakyReLU: halves the resolution."""

    def __init__(self, in_channels: int, out_channels: int, slope: float, bias: bool, norm: str = "batch") -> None:
        super().__init__(
            nn.Conv3d(in_channels, out_channels, kernel_size=4, stride=2, padding=1, bias=bias),
            normalisation(norm, out_channels),
            nn.LeakyReLU(slope, inplace=True),
        )


class VoxelDiscriminator(nn.Module):
    """D: voxel grid -> logit of "real shape".

    Args:
        config: the architecture; see :class:`GANConfig`.
    """

    def __init__(self, config: GANConfig) -> None:
        super().__init__()
        self.config = config
        widths = config.discriminator_channels
        in_widths = (1,) + widths[:-1]
        self.blocks = nn.ModuleList(
            DownBlock(c_in, c_out, config.leaky_relu_slope, config.conv_bias, config.discriminator_norm)
            for c_in, c_out in zip(in_widths, widths)
        )
        self.to_logit = nn.Conv3d(widths[-1], 1, kernel_size=4, stride=1, padding=0, bias=config.conv_bias)

    def add_spectral_norm(self) -> None:
        """Reparametrise every convolution weight as ``W / sigma(W)`` (Miyato et al. 2018);
        called once, after the weights are initialised."""
        for module in self.modules():
            if isinstance(module, nn.Conv3d):
                spectral_norm(module)

    def _check(self, x: torch.Tensor) -> None:
        r = self.config.resolution
        if x.dim() != 5 or tuple(x.shape[1:]) != (1, r, r, r):
            raise ValueError(f"x must have shape (B, 1, {r}, {r}, {r}), got {tuple(x.shape)}")

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Responses of every hidden block, fine to coarse.

        Args:
            x: FloatTensor of shape (B, 1, R, R, R).

        Returns:
            One FloatTensor per block, of shape (B, C_i, R / 2^(i+1), ...); used for the
            paper's representation-learning experiment (docs/paper.md section 3).
        """
        self._check(x)
        responses = []
        for block in self.blocks:
            x = block(x)
            responses.append(x)
        return responses

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Score shapes.

        Args:
            x: FloatTensor of shape (B, 1, R, R, R), occupancies in [0, 1].

        Returns:
            FloatTensor of shape (B,): logits; ``sigmoid(logit)`` is D's probability
            that the shape is real.
        """
        self._check(x)
        for block in self.blocks:
            x = block(x)  # halves the resolution
        return self.to_logit(x).flatten(1)[:, 0]  # (B, 1, 1, 1, 1) -> (B,)

    def probability(self, x: torch.Tensor) -> torch.Tensor:
        """D's sigmoid output as in the paper: FloatTensor of shape (B,)."""
        return torch.sigmoid(self.forward(x))
