"""Networks: pure ``nn.Module``s built from a frozen :class:`GANConfig`."""

from shapespace.models.config import GANConfig
from shapespace.models.discriminator import VoxelDiscriminator
from shapespace.models.gan import ShapeGAN, count_parameters
from shapespace.models.generator import VoxelGenerator
from shapespace.models.presets import Preset, get_preset, preset_names

__all__ = [
    "GANConfig",
    "Preset",
    "ShapeGAN",
    "VoxelDiscriminator",
    "VoxelGenerator",
    "count_parameters",
    "get_preset",
    "preset_names",
]
