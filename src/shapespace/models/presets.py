"""Named model presets, each with its provenance.

``paper-64`` is the architecture of docs/paper.md section 1 and reproduces its parameter counts
exactly (G 17,569,664; D 11,048,832). ``paper-32`` is the same design with one stage fewer
(docs/paper.md asks for it: CPU-friendly, fits 30^3 ModelNet data padded to 32^3): the finest
stage of each network is dropped, so G goes 512@4^3 -> 256@8^3 -> 128@16^3 -> 1@32^3 and D
goes 1@32^3 -> 128@16^3 -> 256@8^3 -> 512@4^3 -> 1; the coarse layers keep the paper's
widths. ``tiny-16`` exists for tests only.
"""

from __future__ import annotations

from shapespace.config import Registry
from shapespace.models.config import GANConfig

MODEL_PRESETS: Registry[GANConfig] = Registry("preset")
MODEL_PRESETS.register(
    "paper-64",
    GANConfig(resolution=64, generator_channels=(512, 256, 128, 64), discriminator_channels=(64, 128, 256, 512)),
    "3D-GAN of Wu et al. 2016 at 64^3, exactly as specified (docs/paper.md section 1)",
)
MODEL_PRESETS.register(
    "paper-32",
    GANConfig(resolution=32, generator_channels=(512, 256, 128), discriminator_channels=(128, 256, 512)),
    "the same design at 32^3 with the finest stage dropped (CPU-friendly; ModelNet 30^3 padded to 32^3)",
)
MODEL_PRESETS.register(
    "lite-32",
    GANConfig(resolution=32, generator_channels=(256, 128, 64), discriminator_channels=(64, 128, 256)),
    "a CPU-sized 32^3 model: paper-32 at half the widths, about a quarter of its work per shape (a deviation for speed)",
)
MODEL_PRESETS.register(
    "tiny-16",
    GANConfig(resolution=16, latent_dim=16, generator_channels=(32, 16), discriminator_channels=(16, 32)),
    "a 16^3 toy for tests and smoke runs; not for real use",
)


def get_preset(name: str) -> GANConfig:
    """The architecture of a preset; an unknown name raises ConfigError listing the known ones."""
    return MODEL_PRESETS.get(name)


def preset_names() -> list[str]:
    return MODEL_PRESETS.names()
