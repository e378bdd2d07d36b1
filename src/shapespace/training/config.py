"""Training recipes for the 3D-GAN: the paper's, and named faster ones.

Every field that the paper specifies defaults to the paper's value (PAPER.md section 1,
Wu et al. 2016, section 3.1 and supplementary): Adam with beta1 = 0.5, learning rates
G 0.0025 and D 1e-5, batch size 100, and D updated only while its accuracy on the current
batch is at most 80%. :meth:`GANTrainConfig.deviations` lists every field that differs from
the paper; the list is saved with each run. Fields that only choose how the same computation
runs (``memory_format``, ``fused_optimizer``, ``compile``) are not recipe choices and are
not listed; like ``precision`` they change results by rounding only.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping

from shapespace.errors import ConfigError
from shapespace.training.runtime import MEMORY_FORMATS, PRECISIONS

FAST_STEPS = 360

# Paper values of the fields the paper states (PAPER.md section 1).
PAPER_VALUES: dict[str, Any] = {
    "batch_size": 100,
    "lr_generator": 0.0025,
    "lr_discriminator": 1e-5,
    "adam_beta1": 0.5,
    "d_accuracy_threshold": 0.8,
    "real_label": 1.0,
    "joint_d_batch": False,
    "instance_noise": 0.0,
    "generator_ema": 0.0,
    "augment": (),
}


@dataclass(frozen=True)
class GANTrainConfig:
    """How a 3D-GAN is trained.

    Attributes:
        recipe: name of the recipe these values came from ("paper", "fast", or "custom").
        steps: number of generator updates.
        batch_size: shapes per step (paper: 100).
        lr_generator, lr_discriminator: Adam learning rates (paper: 0.0025 and 1e-5).
        adam_beta1: Adam beta1 (paper: 0.5).
        adam_beta2: Adam beta2; the paper does not say, so Adam's default 0.999.
        d_accuracy_threshold: D is updated only when its accuracy on the current batch
            (real and generated shapes together) is at most this (paper: 0.8).
        real_label: the discriminator's target for real shapes; below 1 is one-sided
            label smoothing (Salimans et al. 2016). The paper uses hard labels (1.0).
        joint_d_batch: score real and generated shapes in one batch through D, so its
            BatchNorm statistics are shared. The paper does not say; the DCGAN code it
            builds on uses separate batches (False).
        instance_noise: standard deviation of Gaussian noise added to every voxel of D's
            inputs (real and generated) at step 0, falling linearly to 0 at step
            ``instance_noise_steps`` (Sonderby et al. 2017, "instance noise"). The paper
            adds none (0).
        instance_noise_steps: the step at which the instance noise reaches 0.
        generator_ema: decay of an exponential moving average of G's weights that samples
            and the saved model use (Karras et al. 2018; Yazici et al. 2019); 0 turns it off,
            as in the paper.
        augment: random transforms of the real shapes per step, any of "flip" (mirror
            left/right) and "rot90" (quarter turns about the up axis); see
            :mod:`shapespace.data.augment`. The paper states none.
        precision: "fp32", "bf16", "fp16" (CUDA only) or "auto" (bf16 on CPUs with native
            bf16 and on GPUs that have it, else fp16 on GPUs and fp32 on CPUs); the paper
            trained in fp32.
        memory_format: layout of 3D convolution weights and activations: "channels_last",
            "contiguous", or "auto" (channels-last on the CPU, where oneDNN is faster with
            it; contiguous on CUDA). See :mod:`shapespace.training.runtime`.
        fused_optimizer: use the fused Adam kernel where torch has one (CUDA; CPU from
            torch 2.4). Same updates to within float32 rounding, less time.
        compile: run G and D through ``torch.compile`` during training (needs a C++
            compiler on the CPU). Off by default: on the development CPU it compiled for
            about a minute and then ran no faster than eager mode.
        seed: seeds the data order, the latent draws and the initial weights.
        sample_every: write a sample picture every this many steps (0: never).
        checkpoint_every: write checkpoints every this many steps (and always at the end).
        log_every: log losses every this many steps.
        num_preview: shapes in the sample picture.
    """

    recipe: str = "paper"
    steps: int = 20000
    batch_size: int = 100
    lr_generator: float = 0.0025
    lr_discriminator: float = 1e-5
    adam_beta1: float = 0.5
    adam_beta2: float = 0.999
    d_accuracy_threshold: float = 0.8
    real_label: float = 1.0
    joint_d_batch: bool = False
    instance_noise: float = 0.0
    instance_noise_steps: int = 0
    generator_ema: float = 0.0
    augment: tuple[str, ...] = ()
    precision: str = "fp32"
    memory_format: str = "auto"
    fused_optimizer: bool = True
    compile: bool = False
    seed: int = 0
    sample_every: int = 500
    checkpoint_every: int = 1000
    log_every: int = 10
    num_preview: int = 16

    def __post_init__(self) -> None:
        from shapespace.data.augment import check_augment

        # JSON gives lists; the frozen config keeps a tuple.
        object.__setattr__(self, "augment", check_augment(self.augment))
        positive_ints = ("steps", "batch_size", "log_every", "num_preview")
        for name in positive_ints:
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("sample_every", "checkpoint_every"):
            if int(getattr(self, name)) < 0:
                raise ConfigError(f"{name} must be 0 or more, got {getattr(self, name)}")
        for name in ("lr_generator", "lr_discriminator"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"{name} must be positive, got {getattr(self, name)}")
        for name in ("adam_beta1", "adam_beta2"):
            if not 0 <= getattr(self, name) < 1:
                raise ConfigError(f"{name} must be in [0, 1), got {getattr(self, name)}")
        if not 0 <= self.d_accuracy_threshold <= 1:
            raise ConfigError(f"d_accuracy_threshold must be in [0, 1], got {self.d_accuracy_threshold}")
        if not 0.5 < self.real_label <= 1:
            raise ConfigError(f"real_label must be in (0.5, 1], got {self.real_label}")
        if not 0 <= self.generator_ema < 1:
            raise ConfigError(f"generator_ema must be in [0, 1), got {self.generator_ema}")
        if self.instance_noise < 0:
            raise ConfigError(f"instance_noise must be 0 or more, got {self.instance_noise}")
        if self.instance_noise > 0 and self.instance_noise_steps < 1:
            raise ConfigError("instance_noise needs instance_noise_steps >= 1 (the step at which it reaches 0)")
        if self.precision not in PRECISIONS:
            raise ConfigError(f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        if self.memory_format not in MEMORY_FORMATS:
            raise ConfigError(f"memory_format must be one of {', '.join(MEMORY_FORMATS)}, got {self.memory_format!r}")

    def deviations(self) -> dict[str, dict[str, Any]]:
        """Fields that differ from the paper: ``{field: {"value": ..., "paper": ...}}``."""
        out = {}
        for name, paper_value in PAPER_VALUES.items():
            value = getattr(self, name)
            if value != paper_value:
                out[name] = {"value": value, "paper": paper_value}
        if self.precision != "fp32":
            out["precision"] = {"value": self.precision, "paper": "fp32"}
        return out

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["augment"] = list(self.augment)  # as JSON stores it, so saved and new configs compare equal
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "GANTrainConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown training config fields: {', '.join(unknown)}")
        return cls(**dict(data))

    def replace(self, **changes: Any) -> "GANTrainConfig":
        return dataclasses.replace(self, **changes)


# The demo's recipe: what a few hundred CPU steps need (README "Training recipes"; the
# experiments behind each choice are summarised there).
# - joint_d_batch: with separate real/fake batches D's first BatchNorm hides how dense
#   G's shapes are, and short runs drift to near-empty grids;
# - instance_noise 0.3, fading towards 0 at twice the run's length: binary real grids and
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
    instance_noise_steps=2 * FAST_STEPS,
    generator_ema=0.98,
    precision="auto",
    sample_every=60,
    checkpoint_every=120,
)

RECIPES: dict[str, GANTrainConfig] = {
    "paper": GANTrainConfig(),
    "fast": FAST_RECIPE,
}


def get_recipe(name: str) -> GANTrainConfig:
    try:
        return RECIPES[name]
    except KeyError:
        raise ConfigError(f"unknown recipe {name!r}; known recipes: {', '.join(RECIPES)}") from None
