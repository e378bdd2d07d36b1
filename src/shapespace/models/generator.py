"""The 3D-GAN generator (Wu et al., NeurIPS 2016; docs/paper.md section 1).

A stack of 3D transposed convolutions (kernel 4): the first maps the latent vector, seen
as a 1^3 grid, to 4^3 (stride 1, padding 0); each further one doubles the resolution
(stride 2, padding 1). BatchNorm + ReLU between layers, a sigmoid at the end, no fully
connected or pooling layers, no convolution biases (as in the authors' release).

For the ``paper-64`` preset the shapes are::

    z (B, 200, 1, 1, 1) -> (B, 512, 4, 4, 4) -> (B, 256, 8, 8, 8) -> (B, 128, 16, 16, 16)
      -> (B, 64, 32, 32, 32) -> (B, 1, 64, 64, 64)
"""

from __future__ import annotations

import torch
from torch import nn

from shapespace.models.config import GANConfig


class UpBlock(nn.Sequential):
    """Transposed conv (kernel 4) + BatchNorm + ReLU."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, padding: int, bias: bool) -> None:
        super().__init__(
            nn.ConvTranspose3d(in_channels, out_channels, kernel_size=4, stride=stride, padding=padding, bias=bias),
            nn.BatchNorm3d(out_channels),
            nn.ReLU(inplace=True),
        )


class VoxelGenerator(nn.Module):
    """G: latent z -> voxel occupancy probabilities.

    Args:
        config: the architecture; see :class:`GANConfig`.
    """

    def __init__(self, config: GANConfig) -> None:
        super().__init__()
        self.config = config
        widths = config.generator_channels
        blocks = [UpBlock(config.latent_dim, widths[0], stride=1, padding=0, bias=config.conv_bias)]  # 1^3 -> 4^3
        for c_in, c_out in zip(widths[:-1], widths[1:]):
            blocks.append(UpBlock(c_in, c_out, stride=2, padding=1, bias=config.conv_bias))  # doubles resolution
        self.blocks = nn.Sequential(*blocks)
        self.to_occupancy = nn.ConvTranspose3d(widths[-1], 1, kernel_size=4, stride=2, padding=1, bias=config.conv_bias)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Decode latent vectors.

        Args:
            z: FloatTensor of shape (B, latent_dim) or (B, latent_dim, 1, 1, 1).

        Returns:
            FloatTensor of shape (B, 1, R, R, R): occupancy probabilities in [0, 1],
            in the canonical voxel frame (:mod:`shapespace.geometry.frame`); float32
            also under bf16/fp16 autocast.
        """
        if z.dim() == 2:
            z = z[:, :, None, None, None]  # (B, latent_dim, 1, 1, 1)
        if z.dim() != 5 or z.shape[1] != self.config.latent_dim or z.shape[2:] != (1, 1, 1):
            raise ValueError(f"z must have shape (B, {self.config.latent_dim}) or (B, {self.config.latent_dim}, 1, 1, 1), got {tuple(z.shape)}")
        features = self.blocks(z)  # (B, C_last, R/2, R/2, R/2)
        logits = self.to_occupancy(features)  # (B, 1, R, R, R)
        # The sigmoid in at least float32: in bf16, probabilities near the 0.5 surface
        # threshold would be rounded to steps of 1/256 (cheap: one channel).
        return torch.sigmoid(logits.to(torch.promote_types(logits.dtype, torch.float32)))
