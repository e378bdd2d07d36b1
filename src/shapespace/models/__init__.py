"""Networks: pure ``nn.Module``s built from frozen configs, and their inference artifacts."""

from shapespace.models.config import GANConfig
from shapespace.models.discriminator import VoxelDiscriminator
from shapespace.models.gan import ShapeGAN, count_parameters
from shapespace.models.generator import VoxelGenerator
from shapespace.models.presets import MODEL_PRESETS, get_preset, preset_names
from shapespace.models.pretrained import resolve_model_dir

__all__ = [
    "GANConfig",
    "MODEL_PRESETS",
    "ShapeGAN",
    "VoxelDiscriminator",
    "VoxelGenerator",
    "count_parameters",
    "get_preset",
    "preset_names",
    "resolve_model_dir",
]
