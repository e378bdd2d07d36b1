"""Training recipes for the 3D-VAE-GAN (PAPER.md section 2).

The loss is the paper's ``L = L_GAN + a1 * L_KL + a2 * L_recon`` with ``a1 = kl_weight``
(paper: 5) and ``a2 = recon_weight`` (paper: 1e-4), both recalled values (PAPER.md tags
them [recalled]). ``L_KL`` is KL(q(z|y) || p(z)) summed over the latent dimensions and
``L_recon`` is the squared L2 distance ``||G(E(y)) - x||^2`` summed over the voxels, each
averaged over the batch. Every GAN field keeps its meaning and paper default from
:class:`~shapespace.training.config.GANTrainConfig`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shapespace.errors import ConfigError
from shapespace.training.config import GANTrainConfig

RECON_LOSSES = ("l2", "bce")
VAE_PAPER_VALUES: dict[str, Any] = {
    "kl_weight": 5.0,
    "recon_weight": 1e-4,
    "recon_loss": "l2",
    "recon_positive_weight": 0.5,
    "gan_weight": 1.0,
}


@dataclass(frozen=True)
class VAEGANTrainConfig(GANTrainConfig):
    """How a 3D-VAE-GAN is trained: a :class:`GANTrainConfig` plus the encoder's terms.

    Attributes:
        lr_encoder: Adam learning rate of the encoder (the paper does not say; 1e-4).
        kl_weight: a1, the weight of KL(q(z|y) || p(z)) (paper: 5).
        recon_weight: a2, the weight of the reconstruction term (paper: 1e-4).
        recon_loss: "l2" (the paper's squared L2 distance summed over voxels) or "bce"
            (binary cross-entropy summed over voxels, a deviation that gives thin parts a
            stronger gradient).
        recon_positive_weight: gamma in (0, 1), the share of the reconstruction loss given to
            occupied voxels: each occupied voxel's term is weighted 2 * gamma and each empty
            one's 2 * (1 - gamma), so 0.5 (the paper's plain loss) weights all alike. Shapes
            fill a few percent of the grid; values near 0.9 (Brock et al. 2016 use 0.97)
            keep thin parts from being predicted empty.
        gan_weight: the weight of L_GAN in the E+G loss (paper: 1). 0 trains E and G as a
            plain VAE: no D updates and no prior samples, about half the compute per step;
            a warm-up for a later run with the GAN term on (``--init-from``).
        photo_clutter: chance that a training photo shows another shape of the batch,
            zoomed in, behind its object (:class:`~shapespace.rendering.photos.PhotoSettings`).
        photo_occluders: chance that a plain band covers part of a training photo from an edge.
        photo_texture: chance that a training photo's object gets a pattern on its surface.
        photo_blur: chance that a training photo is blurred.
    """

    lr_encoder: float = 1e-4
    kl_weight: float = 5.0
    recon_weight: float = 1e-4
    recon_loss: str = "l2"
    recon_positive_weight: float = 0.5
    gan_weight: float = 1.0
    photo_clutter: float = 0.0
    photo_occluders: float = 0.0
    photo_texture: float = 0.0
    photo_blur: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.lr_encoder > 0:
            raise ConfigError(f"lr_encoder must be positive, got {self.lr_encoder}")
        if not 0 < self.recon_positive_weight < 1:
            raise ConfigError(f"recon_positive_weight must be between 0 and 1 (exclusive), got {self.recon_positive_weight}")
        for name in ("photo_clutter", "photo_occluders", "photo_texture", "photo_blur"):
            if not 0 <= getattr(self, name) <= 1:
                raise ConfigError(f"{name} is a chance in [0, 1], got {getattr(self, name)}")
        for name in ("kl_weight", "recon_weight", "gan_weight"):
            if not getattr(self, name) >= 0:
                raise ConfigError(f"{name} must be 0 or more, got {getattr(self, name)}")
        if self.recon_loss not in RECON_LOSSES:
            raise ConfigError(f"recon_loss must be one of {', '.join(RECON_LOSSES)}, got {self.recon_loss!r}")
        if self.generator_ema != 0:
            # E is trained against G's current weights; decoding its codes with an average
            # of past weights would mismatch them.
            raise ConfigError("generator_ema must be 0 for a 3D-VAE-GAN")

    def deviations(self) -> dict[str, dict[str, Any]]:
        out = super().deviations()
        for name, paper_value in VAE_PAPER_VALUES.items():
            if getattr(self, name) != paper_value:
                out[name] = {"value": getattr(self, name), "paper": paper_value}
        return out


# The CPU recipe (README "3D-VAE-GAN"), meant to start from a trained 3D-GAN run
# (--init-from) so that G already makes shapes and E only has to find their codes:
# - the GAN settings of the fast 3D-GAN recipe (joint D batch, label smoothing, D learning
#   rate 1e-4 without the 80% gate), with weaker instance noise since G starts trained;
# - kl_weight = recon_weight = 1e-2 with the summed BCE, i.e. the plain VAE objective
#   scaled to the size of the GAN term: with the paper's 5 and 1e-4 the KL term outweighs
#   the reconstruction by orders of magnitude at 32^3 and q(z|y) collapses onto the prior
#   (every photo decodes to the same shape); with a much weaker KL weight (1e-3) the codes
#   leave the region of latent space G was trained on and the first hundreds of steps
#   only relearn G;
# - batch 16 in bf16: more updates per hour on two cores.
FAST_VAE_RECIPE = VAEGANTrainConfig(
    recipe="fast",
    steps=1500,
    batch_size=16,
    lr_generator=2e-4,
    lr_discriminator=1e-4,
    lr_encoder=3e-4,
    d_accuracy_threshold=1.0,
    real_label=0.9,
    joint_d_batch=True,
    instance_noise=0.1,
    instance_noise_steps=3000,
    kl_weight=1e-2,
    recon_weight=1e-2,
    recon_loss="bce",
    precision="auto",
    sample_every=100,
    checkpoint_every=250,
)

VAE_RECIPES: dict[str, VAEGANTrainConfig] = {"paper": VAEGANTrainConfig(), "fast": FAST_VAE_RECIPE}


def get_vae_recipe(name: str) -> VAEGANTrainConfig:
    try:
        return VAE_RECIPES[name]
    except KeyError:
        raise ConfigError(f"unknown recipe {name!r}; known 3D-VAE-GAN recipes: {', '.join(VAE_RECIPES)}") from None
