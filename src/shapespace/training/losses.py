"""What D, G and E are trained on: the adversarial losses, D's input noise, the VAE terms.

Each function takes logits or tensors and returns a scalar loss (or the noise to add); a
trainer's ``train_step`` reads as a sequence of calls to them. A new recipe adds its loss
here and a config field that names it.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from shapespace.training.rng import Stream, stream_rng


def discriminator_bce(logit_real: torch.Tensor, logit_fake: torch.Tensor, real_label: float = 1.0) -> torch.Tensor:
    """The paper's D loss, ``-log D(x) - log(1 - D(G(z)))`` (docs/paper.md section 1), as binary
    cross-entropy on logits of shape (B,); ``real_label`` < 1 is one-sided label smoothing."""
    real_targets = torch.full((len(logit_real),), real_label, device=logit_real.device)
    zeros = torch.zeros(len(logit_fake), device=logit_fake.device)
    return F.binary_cross_entropy_with_logits(logit_real.float(), real_targets) + F.binary_cross_entropy_with_logits(
        logit_fake.float(), zeros
    )


def generator_nonsaturating(logit_fake: torch.Tensor) -> torch.Tensor:
    """G's loss ``-log D(G(z))`` (the non-saturating form of the paper's minimax term)."""
    ones = torch.ones(len(logit_fake), device=logit_fake.device)
    return F.binary_cross_entropy_with_logits(logit_fake.float(), ones)


def discriminator_hinge(logit_real: torch.Tensor, logit_fake: torch.Tensor) -> torch.Tensor:
    """The hinge loss of D (Lim and Ye 2017; Miyato et al. 2018): ``relu(1 - D(x)) + relu(1 + D(G(z)))``."""
    return F.relu(1.0 - logit_real.float()).mean() + F.relu(1.0 + logit_fake.float()).mean()


def discriminator_wasserstein(logit_real: torch.Tensor, logit_fake: torch.Tensor) -> torch.Tensor:
    """The critic's loss of a Wasserstein GAN (Arjovsky et al. 2017): ``D(G(z)) - D(x)``."""
    return logit_fake.float().mean() - logit_real.float().mean()


def generator_linear(logit_fake: torch.Tensor) -> torch.Tensor:
    """G's loss against a hinge or Wasserstein D: ``-D(G(z))``."""
    return -logit_fake.float().mean()


ADVERSARIAL_LOSSES = ("bce", "hinge", "wgan")


def discriminator_loss(kind: str, logit_real: torch.Tensor, logit_fake: torch.Tensor, real_label: float = 1.0) -> torch.Tensor:
    """D's loss of ``kind``: "bce" (the paper's), "hinge" or "wgan"; ``real_label`` applies to "bce" only."""
    if kind == "bce":
        return discriminator_bce(logit_real, logit_fake, real_label)
    if kind == "hinge":
        return discriminator_hinge(logit_real, logit_fake)
    return discriminator_wasserstein(logit_real, logit_fake)


def generator_loss(kind: str, logit_fake: torch.Tensor) -> torch.Tensor:
    """G's loss against a D trained with ``kind``: non-saturating for "bce", linear otherwise."""
    return generator_nonsaturating(logit_fake) if kind == "bce" else generator_linear(logit_fake)


def r1_penalty(discriminator: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor) -> torch.Tensor:
    """``mean ||grad_x D(x)||^2`` over real shapes (Mescheder et al. 2018), differentiable
    in D's weights; the trainer weighs it by ``gamma / 2``. D must score each sample on its
    own (no BatchNorm), or the gradients mix the batch."""
    real = real.detach().requires_grad_(True)
    (gradient,) = torch.autograd.grad(discriminator(real).float().sum(), real, create_graph=True)
    return gradient.pow(2).flatten(1).sum(1).mean()


def gradient_penalty(
    discriminator: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor, fake: torch.Tensor, rng: torch.Generator
) -> torch.Tensor:
    """WGAN-GP's ``mean (||grad D(x_hat)|| - 1)^2`` at random points between real and
    generated shapes (Gulrajani et al. 2017), differentiable in D's weights."""
    mix = torch.rand(len(real), 1, 1, 1, 1, generator=rng).to(real.device)
    points = (mix * real.detach() + (1 - mix) * fake.detach()).requires_grad_(True)
    (gradient,) = torch.autograd.grad(discriminator(points).float().sum(), points, create_graph=True)
    return (gradient.flatten(1).norm(dim=1) - 1).pow(2).mean()


def discriminator_correct(logit_real: torch.Tensor, logit_fake: torch.Tensor) -> torch.Tensor:
    """How many of D's calls are right (real scored > 0, generated < 0): a 0-d tensor on the device."""
    with torch.no_grad():
        return (logit_real > 0).sum() + (logit_fake < 0).sum()


def instance_noise(
    scale: float, horizon: int, step: int, shape: tuple[int, ...], seed: int, device: torch.device, rows: slice | None = None
) -> tuple[torch.Tensor | float, torch.Tensor | float]:
    """Gaussian noise for D's real and generated inputs at ``step`` (0 when there is none).

    Its standard deviation falls linearly from ``scale`` at step 0 to 0 at step ``horizon``
    (a fixed horizon, so a resumed run sees the same noise), so D sees overlapping
    distributions early (binary real grids against soft generated ones are otherwise
    trivially told apart) and the clean data at the end (Sonderby et al. 2017).

    Args:
        shape: the shape of one batch of D's inputs, (B, 1, R, R, R).
        rows: the rows of the batch to return (a data-parallel process's shard; None: all).
    """
    if scale == 0:
        return 0.0, 0.0
    sigma = scale * max(0.0, 1.0 - step / horizon)
    if sigma == 0:
        return 0.0, 0.0
    # Drawn on the training device: at 64^3 and batch 100 the noise is 210 MB a step.
    noise = torch.randn(2, *shape, generator=stream_rng(seed, Stream.NOISE, step, device), device=device).mul_(sigma)
    if rows is not None:
        noise = noise[:, rows]
    return noise[0], noise[1]


def reconstruction_loss(kind: str, predicted: torch.Tensor, target: torch.Tensor, positive_weight: float = 0.5) -> torch.Tensor:
    """Per-shape reconstruction loss summed over voxels, averaged over the batch (a scalar).

    Args:
        kind: "l2" (squared L2 distance, the paper's) or "bce" (binary cross-entropy).
        predicted: FloatTensor of shape (B, 1, R, R, R), occupancy probabilities.
        target: FloatTensor of the same shape, occupancies in {0, 1}.
        positive_weight: gamma; occupied voxels are weighted 2 * gamma, empty ones
            2 * (1 - gamma) (0.5: unweighted).
    """
    predicted, target = predicted.float(), target.float()
    if kind == "l2":
        per_voxel = (predicted - target).pow(2)
    else:
        per_voxel = F.binary_cross_entropy(predicted.clamp(1e-6, 1 - 1e-6), target, reduction="none")
    if positive_weight != 0.5:
        per_voxel = per_voxel * torch.where(target > 0.5, 2.0 * positive_weight, 2.0 * (1.0 - positive_weight))
    return per_voxel.flatten(1).sum(1).mean()
