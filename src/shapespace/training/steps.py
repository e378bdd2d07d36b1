"""The pieces a ``train_step`` is made of: the real batch, the prior latents, D's scores,
the logged values, and the loop that runs steps into a run folder.

Each trainer composes these; none inherits another's internals.
"""

from __future__ import annotations

import contextlib
import math
import signal
import sys
import threading
import time
from dataclasses import dataclass
from dataclasses import fields as dataclass_fields
from typing import Any, Callable, Protocol

import numpy as np
import torch
from tqdm import tqdm

from shapespace.data.augment import apply_augmentation, augmentation_draws
from shapespace.data.sources import VoxelSet
from shapespace.errors import ConfigError, ShapespaceError
from shapespace.models.config import GANConfig
from shapespace.models.prior import sample_latents
from shapespace.training.interrupts import StopRequests, TrainingInterrupted
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


# On CUDA a training set up to this size lives on the device for the whole run (the 802
# ModelNet chairs at 64^3 are 210 MB as bytes); a larger one is gathered batch by batch.
DEVICE_RESIDENT_BYTES = 4 << 30


class RealBatches:
    """The real shapes of each step on the training device, augmented.

    Step ``s`` takes the shapes :class:`DataOrder` gives it, or with ``shard`` (data-parallel
    training) the rows ``shard`` of them; the augmentation draws are those of the whole
    batch, so a shard sees what the same rows of a single-process batch would. On CUDA the
    set is copied to the device once when it is a plain tensor of at most
    :data:`DEVICE_RESIDENT_BYTES`; otherwise each batch is gathered on the host into pinned
    memory, the next step's in a background thread while this one trains (``prefetch``),
    and copied without blocking.

    Args:
        data: the training set.
        order: the data order.
        augment: augmentation names (:mod:`shapespace.data.augment`).
        seed: the run's seed.
        device: the training device.
        shard: the rows of each batch this process trains on (None: all).
        prefetch: gather the next step's batch ahead (default: on CUDA when the set is not
            on the device; on a CPU the gathering thread would take the cores training uses).
    """

    def __init__(self, data: VoxelSet, order: DataOrder, augment: tuple[str, ...], seed: int, device: torch.device,
                 shard: slice | None = None, prefetch: bool | None = None) -> None:  # fmt: skip
        self.order, self.augment, self.seed, self.device, self.shard = order, augment, seed, torch.device(device), shard
        self.rows = slice(None) if shard is None else shard
        voxels = data.voxels
        self.resident = (
            self.device.type == "cuda" and isinstance(voxels, torch.Tensor) and voxels.numel() * voxels.element_size() <= DEVICE_RESIDENT_BYTES
        )
        self.voxels = voxels.to(self.device) if self.resident else voxels
        self.pin = self.device.type == "cuda" and not self.resident
        self.prefetch = self.pin if prefetch is None else (prefetch and not self.resident)
        self._pool = None
        self._ahead: tuple[int, Any] | None = None  # (step, future of its host batch)
        self._lock = threading.Lock()  # DataOrder caches an epoch: one caller at a time

    def indices(self, step: int) -> torch.Tensor:
        """LongTensor (b,): the data's indices of the step's shapes, or of its shard's."""
        with self._lock:
            return self.order.batch(step)[self.rows]

    def _host_batch(self, step: int) -> torch.Tensor:
        indices = self.indices(step)
        shapes = self.voxels[indices]
        return shapes.pin_memory() if self.pin else shapes

    def __call__(self, step: int) -> torch.Tensor:
        """ByteTensor of shape (b, R, R, R) on the device: the step's batch, or its shard."""
        if self.resident:
            shapes = self.voxels[self.order.batch(step)[self.rows].to(self.voxels.device)]
        else:
            ahead, self._ahead = self._ahead, None
            host = ahead[1].result() if ahead is not None and ahead[0] == step else self._host_batch(step)
            if self.prefetch:
                if self._pool is None:
                    from concurrent.futures import ThreadPoolExecutor

                    self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="shapespace-batches")
                self._ahead = (step + 1, self._pool.submit(self._host_batch, step + 1))
            shapes = host.to(self.device, non_blocking=True)
        if self.augment:
            flips, turns = augmentation_draws(self.augment, self.order.batch_size, stream_rng(self.seed, Stream.AUGMENT, step))
            shapes = apply_augmentation(shapes, flips[self.rows], turns[self.rows])
        return shapes


def prior_latents(config: GANConfig, count: int, seed: int, step: int, device: torch.device) -> torch.Tensor:
    """The prior latents of ``step``: FloatTensor of shape (count, latent_dim) on ``device``."""
    return sample_latents(config, count, stream_rng(seed, Stream.LATENT, step, device), device)


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
    """What one step reports; every field is logged (averaged between two log lines).

    The values may be 0-d tensors still on the training device: they are read (which waits
    for the device) only when a log line or a checkpoint needs them (:func:`run_steps`).
    """

    loss_d: float | torch.Tensor
    loss_g: float | torch.Tensor
    d_accuracy: float | torch.Tensor
    d_updated: bool

    def log_values(self) -> dict[str, float]:
        """Every field as a float; ``d_updated`` logs as ``d_update_rate`` (its mean over the window)."""
        fields = {("d_update_rate" if f.name == "d_updated" else f.name): getattr(self, f.name) for f in dataclass_fields(self)}
        tensors = [v for v in fields.values() if isinstance(v, torch.Tensor)]
        read = iter(torch.stack([t.detach().float() for t in tensors]).tolist() if tensors else [])  # one copy from the device
        return {k: next(read) if isinstance(v, torch.Tensor) else float(v) for k, v in fields.items()}


class Trainable(Protocol):
    """What :func:`run_steps` needs of a trainer."""

    step: int
    run: RunFolder
    progress: bool
    distributed: Any  # a shapespace.training.distributed.Distributed
    device: torch.device
    PROGRESS_NAME: str
    guard_note: str  # added to the collapse and empty-sample warnings ("" for none)
    adversarial: bool  # whether D and G's adversarial loss train (False in a VAE warm-up, --gan-weight 0)

    def train_step(self) -> StepResult: ...

    def resolved_config(self) -> dict[str, Any]: ...

    def save_checkpoint(self) -> None: ...

    def write_preview(self) -> Any: ...

    def monitor(self) -> dict[str, float]: ...


def _guard(record: dict[str, Any], warned: set[str], warn: Callable[[str], None], note: str = "") -> None:
    """Warn once each when the preview samples collapse or empty out; ``note`` is added to both."""
    if record["sample_diversity"] < COLLAPSE_DIVERSITY and "collapse" not in warned:
        warned.add("collapse")
        warn(
            f"step {record['step']}: the samples have collapsed: mean pairwise 1 - IoU of the preview shapes is "
            f"{record['sample_diversity']:.4f} (below {COLLAPSE_DIVERSITY}); every latent gives nearly the same shape{note}"
        )
    if record["sample_occupancy"] < EMPTY_OCCUPANCY and "empty" not in warned:
        warned.add("empty")
        warn(
            f"step {record['step']}: the samples are empty: {record['sample_occupancy']:.5f} of their voxels "
            f"are occupied (below {EMPTY_OCCUPANCY}){note}"
        )


def _settled(window: list[StepResult], step: int, run_path) -> list[dict[str, float]]:
    """The logged values of the steps in ``window`` (the last of which is ``step``), read
    from the device in one go; TrainingDiverged names the first step whose losses are not
    finite. A step's values stay on the device until a log line or a checkpoint needs them."""
    values = [result.log_values() for result in window]
    for offset, value in enumerate(values):
        bad = [f"{key} {v}" for key, v in value.items() if not math.isfinite(v)]  # the VAE's kl and recon too
        if bad:
            raise TrainingDiverged(
                f"step {step - len(window) + offset + 1}: the losses are not finite ({', '.join(bad)}); "
                f"training stopped and the last checkpoint in {run_path} was kept"
            )
    return values


def _shown(record: dict[str, Any], adversarial: bool = True) -> dict[str, str]:
    """The values a log line and the progress bar show: D's and G's adversarial losses when they
    train (not in a VAE warm-up with ``--gan-weight 0``), then the VAE's terms where logged,
    and the class loss when a class head trains."""
    shown = {}
    if adversarial:
        shown.update(loss_d=f"{record['loss_d']:.4f}", loss_g=f"{record['loss_g']:.4f}", d_acc=f"{record['d_accuracy']:.2f}",
                     d_upd=f"{record['d_update_rate']:.2f}")  # fmt: skip
    if "recon" in record:
        shown.update(recon=f"{record['recon']:.1f}", kl=f"{record['kl']:.1f}", recon_iou=f"{record['recon_iou']:.3f}")
    if record.get("class_loss"):  # a class head trains (always logged, 0 without one)
        shown.update(class_loss=f"{record['class_loss']:.3f}")
    return shown


def _log_line(record: dict[str, Any], steps: int, adversarial: bool = True) -> str:
    """A log record as one line, for runs without a progress bar."""
    values = "  ".join(f"{key} {value}" for key, value in _shown(record, adversarial).items())
    return (
        f"step {record['step']}/{steps}  {values}  occupancy {record['sample_occupancy']:.4f}  "
        f"diversity {record['sample_diversity']:.3f}  {record['seconds']:.0f} s"
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
    checkpoint_minutes: float = 0.0,
) -> dict[str, Any]:
    """Train until ``steps`` (or ``max_seconds`` of training), logging, picturing and
    checkpointing on the given cadences, and always checkpointing at the end; returns a
    summary dict.

    - Each log line also holds :func:`sample_statistics` of the preview latents
      (``trainer.monitor()``); after :data:`GUARD_AFTER_STEPS` steps a collapse or an empty
      generator is reported once through ``warn`` (default: a line on stderr). Without a
      progress bar each log record is also printed as a line on stderr.
    - NaN or infinite losses stop the run with :class:`TrainingDiverged` naming the step,
      and no checkpoint is written over the last good one.
    - Besides every ``checkpoint_every`` steps, a checkpoint is written after every
      ``checkpoint_minutes`` of training (0: never), which bounds what a crash or
      ``kill -9`` loses.
    - SIGINT or SIGTERM stops the run after the current step with a checkpoint, then raises
      :class:`~shapespace.training.interrupts.TrainingInterrupted`; a second signal aborts
      at once (:class:`~shapespace.training.interrupts.StopRequests`).
    - The run folder is locked while training (:meth:`RunFolder.lock`).
    """
    from torch.utils.tensorboard import SummaryWriter

    warn = warn or (lambda message: print(f"shapespace: warning: {message}", file=sys.stderr))
    run, distributed = trainer.run, trainer.distributed
    main = distributed.is_main  # with several processes, rank 0 alone writes the run folder
    with run.lock() if main else contextlib.nullcontext(), StopRequests() as stop:
        warned: set[str] = set()
        if main:
            run.write_config(trainer.resolved_config())
        writer = SummaryWriter(str(run.tensorboard_dir), purge_step=trainer.step if trainer.step else None) if main else None
        start_step, started = trainer.step, time.perf_counter()
        last_saved, stopped_by = started, None
        window: list[StepResult] = []
        bar = tqdm(total=steps, initial=trainer.step, disable=not trainer.progress, desc=trainer.PROGRESS_NAME, unit="step", dynamic_ncols=True)
        try:
            while trainer.step < steps:
                # Every process stops at the same step: on a signal to any, or at the time limit.
                time_up = max_seconds is not None and time.perf_counter() - started >= max_seconds
                signalled, time_up = distributed.any((stop.received is not None, time_up), trainer.device)
                if signalled:
                    stopped_by = stop.received or signal.SIGTERM  # a signal to another process: as a scheduler's
                    break
                if time_up:
                    break
                window.append(trainer.train_step())
                bar.update(1)
                log_due = trainer.step % log_every == 0 or trainer.step == steps
                due = checkpoint_every and trainer.step % checkpoint_every == 0
                overdue = checkpoint_minutes and time.perf_counter() - last_saved >= 60 * checkpoint_minutes
                if not (log_due or due or overdue):
                    continue  # the step's values stay on the device: no wait for it
                values = _settled(window, trainer.step, run.path)
                if log_due:
                    window.clear()
                if main and log_due:
                    means = {key: sum(v[key] for v in values) / len(values) for key in values[0]}
                    means.update(trainer.monitor())
                    record = {"step": trainer.step, **means, "seconds": time.perf_counter() - started}
                    window.clear()
                    if trainer.step >= GUARD_AFTER_STEPS:
                        _guard(record, warned, warn, trainer.guard_note)
                    for key, value in means.items():
                        writer.add_scalar(f"train/{key}", value, trainer.step)
                    run.append_metrics(record)
                    bar.set_postfix(_shown(record, trainer.adversarial))
                    if not trainer.progress:
                        print(_log_line(record, steps, trainer.adversarial), file=sys.stderr, flush=True)
                    if on_log is not None:
                        on_log(record)
                if main and sample_every and trainer.step % sample_every == 0:
                    trainer.write_preview()
                if main and (due or overdue) and trainer.step < steps and stop.received is None:
                    trainer.save_checkpoint()
                    last_saved = time.perf_counter()
            _settled(window, trainer.step, run.path)  # the steps since the last log line, before the last checkpoint
        finally:
            bar.close()
            if writer is not None:
                writer.close()
        if main and (trainer.step != start_step or not run.model_dir.is_dir()):
            trainer.save_checkpoint()
            if sample_every:
                trainer.write_preview()
        summary = {
            "run_dir": str(run.path),
            "steps": trainer.step,
            "steps_this_session": trainer.step - start_step,
            "seconds": time.perf_counter() - started,
        }
    if stopped_by is not None and trainer.step < steps:
        raise TrainingInterrupted(stopped_by, trainer.step, run.path)
    return summary
