"""The pieces a ``train_step`` is made of: the real batch, the prior latents, D's scores,
the logged values, and the loop that runs steps into a run folder.

Each trainer composes these; none inherits another's internals.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable, Protocol

import numpy as np
import torch
from tqdm import tqdm

from shapespace.data.augment import augment_batch
from shapespace.data.sources import VoxelSet
from shapespace.errors import ConfigError, ShapespaceError
from shapespace.models.config import GANConfig
from shapespace.models.prior import sample_latents
from shapespace.training.rng import DataOrder, Stream, stream_rng
from shapespace.training.run_folder import RunFolder


def check_resolution(data: VoxelSet, config: GANConfig) -> None:
    if data.resolution != config.resolution:
        raise ConfigError(
            f"`data` {data.source!r} has resolution {data.resolution} but the model expects {config.resolution}"
        )


def check_penalties(model_config: GANConfig, train_config: Any) -> None:
    """Gradient penalties need a D that scores each shape on its own (no BatchNorm)."""
    if (train_config.r1_gamma > 0 or train_config.gp_weight > 0) and model_config.discriminator_norm == "batch":
        raise ConfigError(
            "`r1_gamma` and `gp_weight` penalise D's gradient per shape, which BatchNorm mixes across the batch; "
            "give D another `discriminator_norm` (none, layer or instance)"
        )


def discriminator_penalty(
    discriminator: torch.nn.Module, train_config: Any, real: torch.Tensor, fake: torch.Tensor, step: int
) -> torch.Tensor | float:
    """D's regulariser at ``step``: R1 on real shapes (every ``r1_every`` steps, scaled by
    it) and/or WGAN-GP's gradient penalty; 0 when the recipe has neither. Computed in fp32,
    outside autocast: it differentiates D's input gradients."""
    from shapespace.training import losses

    cfg, total = train_config, 0.0
    if cfg.r1_gamma > 0 and step % cfg.r1_every == 0:
        total = total + 0.5 * cfg.r1_gamma * cfg.r1_every * losses.r1_penalty(discriminator, real)
    if cfg.gp_weight > 0:
        total = total + cfg.gp_weight * losses.gradient_penalty(discriminator, real, fake, stream_rng(cfg.seed, Stream.PENALTY, step))
    return total


def real_shapes(data: VoxelSet, order: DataOrder, augment: tuple[str, ...], seed: int, step: int) -> torch.Tensor:
    """The real shapes of ``step``, augmented: ByteTensor of shape (B, R, R, R) on the CPU."""
    shapes = data.voxels[order.batch(step)]
    if augment:
        shapes = augment_batch(shapes, augment, stream_rng(seed, Stream.AUGMENT, step))
    return shapes


def prior_latents(config: GANConfig, count: int, seed: int, step: int, device: torch.device) -> torch.Tensor:
    """The prior latents of ``step``: FloatTensor of shape (count, latent_dim) on ``device``."""
    return sample_latents(config, count, stream_rng(seed, Stream.LATENT, step), device)


@torch.no_grad()
def preview_picture(
    generator: torch.nn.Module, config: GANConfig, count: int, seed: int, device: torch.device
) -> np.ndarray:
    """The sample picture of a run: ``count`` shapes from the fixed preview latents, as an RGB image."""
    from shapespace.rendering.figures import render_mosaic

    latents = sample_latents(config, count, stream_rng(seed, Stream.PREVIEW, 0), device)
    return render_mosaic(generator(latents)[:, 0].float().cpu(), size=128)


# The collapse guard (run_steps): samples of the fixed preview latents whose mean pairwise
# 1 - IoU is below this are "collapsed" (one shape for every latent), and a mean occupancy
# below this is "empty". Neither is judged in the first steps, when an untrained G gives
# near-identical blobs by construction.
COLLAPSE_DIVERSITY = 0.02
EMPTY_OCCUPANCY = 0.001
GUARD_AFTER_STEPS = 100


@torch.no_grad()
def sample_statistics(generator: torch.nn.Module, latents: torch.Tensor, precision: str) -> dict[str, float]:
    """``sample_occupancy`` (mean occupancy at 0.5) and ``sample_diversity`` (mean pairwise
    1 - IoU) of ``G(latents)``, with G in eval mode; G's mode is restored afterwards."""
    from shapespace.metrics.voxel import iou_distance_matrix
    from shapespace.training.runtime import autocast

    was_training = generator.training
    generator.eval()
    try:
        with autocast(precision, latents.device):
            shapes = generator(latents)[:, 0].float()  # (N, R, R, R)
    finally:
        generator.train(was_training)
    occupied = shapes > 0.5
    distances = iou_distance_matrix(occupied.cpu(), occupied.cpu())
    n = len(shapes)
    diversity = float((distances.sum() - distances.diagonal().sum()) / max(1, n * (n - 1)))
    return {"sample_occupancy": float(occupied.float().mean()), "sample_diversity": diversity}


def preview_statistics(
    generator: torch.nn.Module, config: GANConfig, count: int, seed: int, device: torch.device, precision: str
) -> dict[str, float]:
    """:func:`sample_statistics` of G for the run's fixed preview latents (what the collapse guard watches)."""
    latents = sample_latents(config, count, stream_rng(seed, Stream.PREVIEW, 0), device)
    return sample_statistics(generator, latents, precision)


class TrainingDiverged(ShapespaceError):
    """The losses became NaN or infinite; the last checkpoint is left as it was."""


def score(
    discriminator: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor, fake: torch.Tensor, joint: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """D's logits for real and generated shapes, each FloatTensor of shape (B,).

    With ``joint`` both go through D as one batch, so D's BatchNorm layers normalise them
    with shared statistics; with separate batches, the first BatchNorm removes each batch's
    mean occupancy and D cannot see that G's shapes are too sparse or too dense (the
    generator then drifts towards near-empty grids).
    """
    if joint:
        logits = discriminator(torch.cat([real, fake]))  # (2B,)
        return logits[: len(real)], logits[len(real) :]
    return discriminator(real), discriminator(fake)


@dataclass
class StepResult:
    """What one step reports; every field is logged (averaged between two log lines)."""

    loss_d: float
    loss_g: float
    d_accuracy: float
    d_updated: bool

    def log_values(self) -> dict[str, float]:
        """Every field as a float; ``d_updated`` logs as ``d_update_rate`` (its mean over the window)."""
        return {("d_update_rate" if k == "d_updated" else k): float(v) for k, v in asdict(self).items()}


class Trainable(Protocol):
    """What :func:`run_steps` needs of a trainer."""

    step: int
    run: RunFolder
    progress: bool
    PROGRESS_NAME: str

    def train_step(self) -> StepResult: ...

    def resolved_config(self) -> dict[str, Any]: ...

    def save_checkpoint(self) -> None: ...

    def write_preview(self) -> Any: ...

    def monitor(self) -> dict[str, float]: ...


def _guard(record: dict[str, Any], warned: set[str], warn: Callable[[str], None]) -> None:
    if record["sample_diversity"] < COLLAPSE_DIVERSITY and "collapse" not in warned:
        warned.add("collapse")
        warn(
            f"step {record['step']}: the samples have collapsed: mean pairwise 1 - IoU of the preview shapes is "
            f"{record['sample_diversity']:.4f} (below {COLLAPSE_DIVERSITY}); every latent gives nearly the same shape"
        )
    if record["sample_occupancy"] < EMPTY_OCCUPANCY and "empty" not in warned:
        warned.add("empty")
        warn(
            f"step {record['step']}: the samples are empty: {record['sample_occupancy']:.5f} of their voxels "
            f"are occupied (below {EMPTY_OCCUPANCY})"
        )


def run_steps(
    trainer: Trainable,
    steps: int,
    log_every: int,
    sample_every: int,
    checkpoint_every: int,
    on_log: Callable[[dict[str, Any]], None] | None = None,
    max_seconds: float | None = None,
    warn: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Train until ``steps`` (or ``max_seconds`` of training), logging, picturing and
    checkpointing on the given cadences, and always checkpointing at the end; returns a
    summary dict.

    Each log line also holds :func:`sample_statistics` of the preview latents
    (``trainer.monitor()``); after :data:`GUARD_AFTER_STEPS` steps a collapse or an empty
    generator is reported once through ``warn`` (default: a line on stderr). NaN or
    infinite losses stop the run with :class:`TrainingDiverged` naming the step, and no
    checkpoint is written over the last good one.
    """
    warn = warn or (lambda message: print(f"shapespace: warning: {message}", file=sys.stderr))
    warned: set[str] = set()
    from torch.utils.tensorboard import SummaryWriter

    run = trainer.run
    run.write_config(trainer.resolved_config())
    writer = SummaryWriter(str(run.tensorboard_dir), purge_step=trainer.step if trainer.step else None)
    start_step, started = trainer.step, time.perf_counter()
    window: list[StepResult] = []
    bar = tqdm(total=steps, initial=trainer.step, disable=not trainer.progress, desc=trainer.PROGRESS_NAME, unit="step", dynamic_ncols=True)
    try:
        while trainer.step < steps:
            if max_seconds is not None and time.perf_counter() - started >= max_seconds:
                break
            result = trainer.train_step()
            if not all(math.isfinite(v) for v in (result.loss_d, result.loss_g)):
                raise TrainingDiverged(
                    f"step {trainer.step}: the losses are not finite (loss_d {result.loss_d}, loss_g {result.loss_g}); "
                    f"training stopped and the last checkpoint in {run.path} was kept"
                )
            window.append(result)
            bar.update(1)
            if trainer.step % log_every == 0 or trainer.step == steps:
                values = [r.log_values() for r in window]
                means = {key: sum(v[key] for v in values) / len(values) for key in values[0]}
                means.update(trainer.monitor())
                record = {"step": trainer.step, **means, "seconds": time.perf_counter() - started}
                window.clear()
                if trainer.step >= GUARD_AFTER_STEPS:
                    _guard(record, warned, warn)
                for key, value in means.items():
                    writer.add_scalar(f"train/{key}", value, trainer.step)
                run.append_metrics(record)
                bar.set_postfix(
                    loss_d=f"{record['loss_d']:.3f}", loss_g=f"{record['loss_g']:.3f}",
                    d_acc=f"{record['d_accuracy']:.2f}", d_upd=f"{record['d_update_rate']:.2f}",
                )  # fmt: skip
                if on_log is not None:
                    on_log(record)
            if sample_every and trainer.step % sample_every == 0:
                trainer.write_preview()
            if checkpoint_every and trainer.step % checkpoint_every == 0 and trainer.step < steps:
                trainer.save_checkpoint()
    finally:
        bar.close()
        writer.close()
    if trainer.step != start_step or not run.model_dir.is_dir():
        trainer.save_checkpoint()
        if sample_every:
            trainer.write_preview()
    return {
        "run_dir": str(run.path),
        "steps": trainer.step,
        "steps_this_session": trainer.step - start_step,
        "seconds": time.perf_counter() - started,
    }
