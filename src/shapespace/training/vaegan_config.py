"""Training recipes for the 3D-VAE-GAN (docs/paper.md section 2).

The loss is the paper's ``L = L_GAN + a1 * L_KL + a2 * L_recon`` with ``a1 = kl_weight``
(paper: 5) and ``a2 = recon_weight`` (paper: 1e-4), both recalled values (docs/paper.md tags
them [recalled]). ``L_KL`` is KL(q(z|y) || p(z)) summed over the latent dimensions and
``L_recon`` is the squared L2 distance ``||G(E(y)) - x||^2`` summed over the voxels, each
averaged over the batch. Every GAN field keeps its meaning and paper default from
:class:`~shapespace.training.config.GANTrainConfig`.
"""

from __future__ import annotations

from dataclasses import dataclass

from shapespace.config import Registry, in_range, non_negative, one_of, positive, setting
from shapespace.errors import ConfigError
from shapespace.training.config import ROBUST_RECIPE, GANTrainConfig

RECON_LOSSES = ("l2", "bce")


@dataclass(frozen=True)
class VAEGANTrainConfig(GANTrainConfig):
    """How a 3D-VAE-GAN is trained: a :class:`GANTrainConfig` plus the encoder's terms.

    Notes on the fields whose meaning needs more than a line:

    - ``recon_loss``: "bce" is a deviation that gives thin parts a stronger gradient.
    - ``recon_positive_weight`` (gamma): each occupied voxel's term is weighted 2 * gamma and
      each empty one's 2 * (1 - gamma), so 0.5 (the paper's plain loss) weights all alike.
      Shapes fill a few percent of the grid; values near 0.9 (Brock et al. 2016 use 0.97)
      keep thin parts from being predicted empty.
    - ``gan_weight`` 0 trains E and G as a plain VAE: no D updates and no prior samples,
      about half the compute per step; a warm-up for a later run with the GAN term on.
    - the ``photo_*`` chances are those of
      :class:`~shapespace.rendering.photos.PhotoSettings`.
    - ``photo_cache``: with a cache, ``round(photo_cache_share * batch_size)`` rows of every
      batch are (picture, shape) pairs drawn from it at random (their shapes are not
      augmented: a flipped shape would no longer match its picture); the other rows are
      shapes of the data, rendered on the fly.
    - ``class_weight`` > 0 gives a backbone encoder a class head over the data's classes and
      adds ``class_weight * cross_entropy`` to the E+G loss (docs/backbone.md, "The class head
      and the class prior"); the model then also keeps each class's mean training shape.
    """

    lr_encoder: float = setting(1e-4, check=positive(), help="encoder learning rate (the paper does not say)")
    kl_weight: float = setting(5.0, paper=5.0, check=non_negative(), help="a1, weight of KL(q(z|y) || p(z))")
    recon_weight: float = setting(1e-4, paper=1e-4, check=non_negative(), help="a2, weight of the reconstruction loss")
    recon_loss: str = setting("l2", paper="l2", check=one_of(*RECON_LOSSES), help="reconstruction loss summed over voxels: l2 or bce")
    recon_positive_weight: float = setting(
        0.5, paper=0.5, check=in_range(0, 1, low_open=True, high_open=True),
        help="gamma: occupied voxels weigh 2*gamma in the reconstruction loss, empty ones 2*(1-gamma)",
    )  # fmt: skip
    gan_weight: float = setting(
        1.0, paper=1.0, check=non_negative(), help="weight of L_GAN in the E+G loss; 0 trains E and G as a plain VAE, without D"
    )
    photo_clutter: float = setting(
        0.0, check=in_range(0, 1), help="chance that a training photo shows another shape, zoomed in, behind its object"
    )
    photo_occluders: float = setting(
        0.0, check=in_range(0, 1), help="chance that a plain band covers part of a training photo from an edge"
    )
    photo_texture: float = setting(0.0, check=in_range(0, 1), help="chance that a training photo's object gets a patterned surface")
    photo_blur: float = setting(0.0, check=in_range(0, 1), help="chance that a training photo is blurred, sigma 0.4-1.2 px")
    photo_cache: str = setting(
        "",
        help="a photo cache (shapespace data photos): rendered pictures of textured furniture with their shapes; "
        "CACHE#class[,class...] takes those classes only; empty: none",
    )
    photo_cache_share: float = setting(
        0.5, check=in_range(0, 1), help="the share of every batch drawn from --photo-cache (the rest: --data, rendered on the fly)"
    )
    class_weight: float = setting(
        0.0, check=non_negative(),
        help="weight of the class loss: the cross-entropy of a class head on the encoder (backbone encoders) against "
        "each picture's class; 0: no class head",
    )  # fmt: skip

    def validate(self) -> None:
        super().validate()
        if self.generator_ema != 0:
            # E is trained against G's current weights; decoding its codes with an average
            # of past weights would mismatch them.
            raise ConfigError("`generator_ema` must be 0 for a 3D-VAE-GAN")


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
    kl_weight=1e-2,
    recon_weight=1e-2,
    recon_loss="bce",
    precision="auto",
    sample_every=100,
    checkpoint_every=250,
)

# The fields that make the robust 3D-GAN recipe's GAN terms, and the fast 3D-VAE-GAN recipe's
# encoder terms and run length.
ROBUST_GAN_TERMS = ("lr_generator", "lr_discriminator", "adam_beta1", "adam_beta2", "d_accuracy_threshold", "r1_gamma", "r1_every", "precision")
FAST_ENCODER_TERMS = ("steps", "batch_size", "lr_encoder", "kl_weight", "recon_weight", "recon_loss", "sample_every", "checkpoint_every")

# The robust recipe: the GAN part of the robust 3D-GAN recipe (non-saturating loss, lazy R1
# every 4 steps with D in layer norm, Adam betas (0, 0.99), equal learning rates 2e-4, no
# accuracy gate, no instance noise or label smoothing), with the fast recipe's encoder and
# loss weights (summed BCE, a1 = a2 = 1e-2; see above). Meant to start from a 3D-GAN trained
# with the robust recipe (its D has layer norm); without --init-from it trains from scratch.
ROBUST_VAE_RECIPE = VAEGANTrainConfig(
    recipe="robust",
    **{name: getattr(ROBUST_RECIPE, name) for name in ROBUST_GAN_TERMS},
    **{name: getattr(FAST_VAE_RECIPE, name) for name in FAST_ENCODER_TERMS},
)

VAE_RECIPES: Registry[VAEGANTrainConfig] = Registry("3D-VAE-GAN recipe")
VAE_RECIPES.register("paper", VAEGANTrainConfig(), "the paper's values (docs/paper.md section 2; a1 and a2 are recalled values)")
VAE_RECIPES.register("fast", FAST_VAE_RECIPE, "the CPU recipe, meant to start from a trained 3D-GAN (README, 3D-VAE-GAN)")
VAE_RECIPES.register(
    "robust", ROBUST_VAE_RECIPE, "the robust 3D-GAN recipe's GAN terms (R1, D in layer norm) with the fast recipe's encoder terms"
)
