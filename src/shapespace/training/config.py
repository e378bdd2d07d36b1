"""Training recipes for the 3D-GAN: the paper's, and named faster ones.

Every field that the paper specifies defaults to the paper's value and records it as field
metadata (docs/paper.md section 1; Wu et al. 2016, section 3.1 and supplementary): Adam with
beta1 = 0.5, learning rates G 0.0025 and D 1e-5, batch size 100, and D updated only while
its accuracy on the current batch is at most 80%. :meth:`GANTrainConfig.deviations` lists
every field that differs from the paper, and the list is saved with each run. Fields that
only choose how the same computation runs (``memory_format``, ``fused_optimizer``,
``compile``) are not recipe choices and have no paper value; like ``precision`` they change
results by rounding only.
"""

from __future__ import annotations

from dataclasses import dataclass

from shapespace.config import ConfigBase, Registry, at_least, in_range, non_negative, one_of, positive, setting
from shapespace.data.augment import check_augment
from shapespace.errors import ConfigError
from shapespace.models.config import GANConfig
from shapespace.training.losses import ADVERSARIAL_LOSSES
from shapespace.training.runtime import MEMORY_FORMATS, PRECISIONS

FAST_STEPS = 360


@dataclass(frozen=True)
class GANTrainConfig(ConfigBase):
    """How a 3D-GAN is trained. Each field's metadata holds its help line, range and paper value.

    Notes on the fields whose meaning needs more than a line:

    - ``joint_d_batch``: with separate batches D's first BatchNorm removes each batch's mean
      occupancy, so D cannot see that G's shapes are too sparse or too dense. The paper does
      not say; the DCGAN code it builds on uses separate batches.
    - ``instance_noise``: Sonderby et al. 2017. Its scale falls linearly from the given
      value at step 0 to 0 at step ``instance_noise_steps``, or with 0 at twice ``steps``
      (:attr:`noise_end_step`).
    - ``generator_ema``: Karras et al. 2018; Yazici et al. 2019. Samples and the saved model
      use the average.
    - ``precision``: "auto" is bf16 on CPUs with native bf16 and on GPUs that have it, else
      fp16 on GPUs and fp32 on CPUs; see :mod:`shapespace.training.runtime`.
    - ``compile``: off by default; on the development CPU it compiled for about a minute and
      then ran no faster than eager mode.
    """

    recipe: str = setting("paper", help="name of the recipe these values came from", recipe=False)
    steps: int = setting(20000, check=at_least(1), help="generator updates in total")
    batch_size: int = setting(100, paper=100, check=at_least(1), help="shapes per step")
    lr_generator: float = setting(0.0025, paper=0.0025, check=positive(), help="generator learning rate")
    lr_discriminator: float = setting(1e-5, paper=1e-5, check=positive(), help="discriminator learning rate")
    adam_beta1: float = setting(0.5, paper=0.5, check=in_range(0, 1, high_open=True), help="Adam beta1")
    adam_beta2: float = setting(
        0.999, check=in_range(0, 1, high_open=True), help="Adam beta2 (the paper does not say; Adam's default)"
    )
    loss: str = setting(
        "bce", paper="bce", check=one_of(*ADVERSARIAL_LOSSES),
        help="adversarial loss: bce (the paper's, G non-saturating), hinge or wgan",
    )  # fmt: skip
    r1_gamma: float = setting(
        0.0, paper=0.0, check=non_negative(), help="R1 penalty gamma on D's input gradients at real shapes (0: off)"
    )
    r1_every: int = setting(1, check=at_least(1), recipe=True, help="apply the R1 penalty every N steps, scaled by N (lazy regularisation)")
    gp_weight: float = setting(0.0, paper=0.0, check=non_negative(), help="WGAN-GP gradient penalty weight (0: off)")
    d_accuracy_threshold: float = setting(
        0.8, paper=0.8, check=in_range(0, 1), help="update D only while its batch accuracy is at most this"
    )
    real_label: float = setting(
        1.0, paper=1.0, check=in_range(0.5, 1, low_open=True),
        help="D's target for real shapes; below 1 is one-sided label smoothing",
    )  # fmt: skip
    joint_d_batch: bool = setting(
        False, paper=False, help="score real and generated shapes in one D batch (shared BatchNorm statistics)"
    )
    instance_noise: float = setting(
        0.0, paper=0.0, check=non_negative(), help="std of Gaussian noise on D's inputs at step 0, fading to 0"
    )
    instance_noise_steps: int = setting(
        0, check=non_negative(), recipe=True, help="the step at which the instance noise reaches 0 (0: twice --steps)"
    )
    generator_ema: float = setting(
        0.0, paper=0.0, check=in_range(0, 1, high_open=True),
        help="decay of an average of G's weights that samples use; 0 turns it off",
    )  # fmt: skip
    augment: tuple[str, ...] = setting(
        (), paper=(), convert=check_augment, help="random transforms of real shapes: flip, rot90"
    )
    precision: str = setting("fp32", paper="fp32", recipe=False, check=one_of(*PRECISIONS), help="numeric precision; auto = bf16 on CPUs with native bf16")
    memory_format: str = setting("auto", check=one_of(*MEMORY_FORMATS), help="layout of 3D convolution tensors")
    fused_optimizer: bool = setting(True, help="use the fused Adam kernel where torch has one (same updates within rounding)")
    compile: bool = setting(False, help="run G and D through torch.compile during training")
    sync_batchnorm: bool = setting(
        True, help="with several processes (torchrun), BatchNorm uses the statistics of the whole global batch, as one process "
        "would; off: each process those of its own rows"
    )
    seed: int = setting(0, check=non_negative(), help="seed for weights, data order and latents")
    sample_every: int = setting(500, check=non_negative(), help="write a sample picture every N steps (0: never)")
    checkpoint_every: int = setting(1000, check=non_negative(), help="write checkpoints every N steps (0: only at the end)")
    checkpoint_minutes: float = setting(
        10.0, check=non_negative(), help="also write a checkpoint after every N minutes of training (0: never); bounds what a crash loses"
    )
    log_every: int = setting(10, check=at_least(1), help="log losses every N steps")
    num_preview: int = setting(16, check=at_least(1), help="shapes in the sample picture")

    def validate(self) -> None:
        if self.loss != "bce" and self.real_label != 1.0:
            raise ConfigError("`real_label` below 1 (label smoothing) applies to the bce `loss` only")

    @property
    def noise_end_step(self) -> int:
        """The step at which the instance noise reaches 0: ``instance_noise_steps``, or with 0
        twice ``steps``, so the schedule follows the run's length."""
        return self.instance_noise_steps or 2 * self.steps


# The demo's recipe: what a few hundred CPU steps need (README "Training recipes"; the
# experiments behind each choice are summarised there).
# - joint_d_batch: with separate real/fake batches D's first BatchNorm hides how dense
#   G's shapes are, and short runs drift to near-empty grids;
# - instance_noise 0.3, fading towards 0 at twice the run's length (instance_noise_steps 0,
#   so it follows --steps): binary real grids and
#   soft generated ones are otherwise told apart from single voxels and G only learns
#   speckle; with the noise gone at the last step, the final steps undid the shapes;
# - d_accuracy_threshold 1.0, lr_discriminator 1e-4: with the paper's 1e-5 and the 80%
#   gate, D stays confidently wrong for hundreds of steps while G moves;
# - lr_generator 5e-4, real_label 0.9: the paper's 0.0025 against this D overshoots to
#   empty grids, and hard labels make D's logits explode;
# - generator_ema 0.98: G's weights still swing from step to step at the end of so short
#   a run; their average over the last ~50 steps gives steadier, more complete shapes;
# - batch_size 8 and bf16: more updates in the same ten minutes.
FAST_RECIPE = GANTrainConfig(
    recipe="fast",
    steps=FAST_STEPS,
    batch_size=8,
    lr_generator=5e-4,
    lr_discriminator=1e-4,
    d_accuracy_threshold=1.0,
    real_label=0.9,
    joint_d_batch=True,
    instance_noise=0.3,
    generator_ema=0.98,
    precision="auto",
    sample_every=60,
    checkpoint_every=120,
)

# The robust recipe (README "Training recipes"; benchmarks/time_to_quality.py measured it
# against the others):
# - the non-saturating loss with an R1 penalty on real shapes (Mescheder et al. 2018),
#   applied lazily every 4 steps and scaled by 4, as StyleGAN2 does: D's gradient stays
#   small near the data, which keeps D and G from oscillating without the paper's 80% gate
#   or instance noise;
# - D with layer norm instead of BatchNorm (RECIPE_ARCHITECTURE below): R1 needs each shape
#   scored on its own;
# - Adam betas (0, 0.99) and equal learning rates 2e-4 for G and D;
# - an average of G's weights (decay 0.99) for sampling;
# - batch 32 in bf16 on CPUs with it.
ROBUST_STEPS = 2000
ROBUST_RECIPE = GANTrainConfig(
    recipe="robust",
    steps=ROBUST_STEPS,
    batch_size=32,
    lr_generator=2e-4,
    lr_discriminator=2e-4,
    adam_beta1=0.0,
    adam_beta2=0.99,
    d_accuracy_threshold=1.0,
    r1_gamma=1.0,
    r1_every=4,
    generator_ema=0.99,
    precision="auto",
    sample_every=200,
    checkpoint_every=500,
)

# Architecture fields a recipe sets on top of the preset (shapespace recipes lists them).
RECIPE_ARCHITECTURE: dict[str, dict[str, object]] = {"robust": {"discriminator_norm": "layer"}}

GAN_RECIPES: Registry[GANTrainConfig] = Registry("recipe")
GAN_RECIPES.register("paper", GANTrainConfig(), "exactly the paper's values (docs/paper.md section 1)")
GAN_RECIPES.register("fast", FAST_RECIPE, "a few hundred CPU steps at batch 8: instance noise, label smoothing, joint D batch (README, Training recipes)")
GAN_RECIPES.register("robust", ROBUST_RECIPE, "non-saturating loss + lazy R1, D with layer norm, G average (README, Training recipes)")


def recipe_architecture(recipe: str, config: GANConfig) -> GANConfig:
    """``config`` with the architecture fields the named recipe sets (D's normalisation)."""
    return config.replace(**RECIPE_ARCHITECTURE.get(recipe, {}))
