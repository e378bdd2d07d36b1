"""An exponential moving average of the generator's weights, and the model sampled from it.

Karras et al. 2018; Yazici et al. 2019: G's weights still swing from step to step at the
end of a run; their average gives steadier shapes. BatchNorm statistics collected while
training belong to G's own weights, not to their average, so the sampled model's are
recomputed from a fixed set of latents ("precise BatchNorm").
"""

from __future__ import annotations

import copy

import torch

from shapespace.models.gan import ShapeGAN
from shapespace.models.prior import sample_latents
from shapespace.training.rng import Stream, stream_rng

BATCHNORM_CALIBRATION_BATCHES = 4  # x 32 latents: enough for stable per-channel statistics


@torch.no_grad()
def recalibrate_batchnorm(module: torch.nn.Module, inputs: list[torch.Tensor]) -> None:
    """Replace the running statistics of every BatchNorm in ``module`` by their exact
    average over ``inputs`` (each a batch the module accepts); leaves ``module`` in eval mode."""
    norms = [m for m in module.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the batches below
    module.train()
    for batch in inputs:
        module(batch)
    for m, momentum in zip(norms, momenta):
        m.momentum = momentum
    module.eval()


class GeneratorAverage:
    """The averaged generator: ``average = decay * average + (1 - decay) * G`` after each step.

    Args:
        generator: the generator being trained (copied as the starting average).
        decay: the average's decay in (0, 1).
        seed: the run's seed (for the BatchNorm calibration latents).
    """

    def __init__(self, generator: torch.nn.Module, decay: float, seed: int) -> None:
        self.network = copy.deepcopy(generator).requires_grad_(False)
        self.decay = decay
        self.seed = seed

    @torch.no_grad()
    def update(self, generator: torch.nn.Module) -> None:
        for averaged, current in zip(self.network.parameters(), generator.parameters()):
            averaged.lerp_(current, 1.0 - self.decay)
        for averaged, current in zip(self.network.buffers(), generator.buffers()):
            averaged.copy_(current)

    @torch.no_grad()
    def model(self, trained: ShapeGAN) -> ShapeGAN:
        """A copy of ``trained`` whose generator holds the averaged weights with recalibrated
        BatchNorm statistics (the averaged weights being trained are left untouched)."""
        model = copy.deepcopy(trained)
        model.generator.load_state_dict(self.network.state_dict())
        rng = stream_rng(self.seed, Stream.BATCHNORM, 0)
        device = next(trained.parameters()).device
        latents = [sample_latents(trained.config, 32, rng, device) for _ in range(BATCHNORM_CALIBRATION_BATCHES)]
        recalibrate_batchnorm(model.generator, latents)
        return model
