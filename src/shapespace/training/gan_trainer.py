"""Training loop of the 3D-GAN (Wu et al. 2016, docs/paper.md section 1).

Per step (:meth:`GANTrainer.train_step`, top to bottom): draw a batch of real shapes and
latents, score both with D, update D only while its batch accuracy is at most
``d_accuracy_threshold`` (the paper's adaptive update), then update G with the
non-saturating loss ``-log D(G(z))``, then the weight average of G.

Randomness is a pure function of ``(seed, step)`` (:mod:`shapespace.training.rng`), so
``resume`` continues exactly where a run stopped. The run folder's layout is in
:mod:`shapespace.training.run_folder`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import torch

from shapespace.data.sources import VoxelSet
from shapespace.models.config import GANConfig
from shapespace.models.gan import ShapeGAN
from shapespace.training import losses
from shapespace.training.config import GANTrainConfig
from shapespace.training.distributed import Distributed, convert_batchnorm, parallel
from shapespace.training.ema import GeneratorAverage
from shapespace.training.rng import DataOrder
from shapespace.training.run_folder import RunFolder, resolved_run_config
from shapespace.training.runtime import autocast, compile_module, resolve_runtime, to_memory_format
from shapespace.training.steps import (
    RealBatches,
    StepResult,
    check_penalties,
    check_resolution,
    discriminator_penalty,
    preview_picture,
    preview_statistics,
    prior_latents,
    run_steps,
    score,
)
from shapespace.training.updates import adaptive_discriminator_update, frozen, make_optimizers, make_scaler, optimizer_step

RUN_KIND = "3d-gan-run"


class GANTrainer:
    """Trains a :class:`ShapeGAN` on a :class:`VoxelSet` into a run folder.

    Args:
        model_config: the architecture.
        train_config: the recipe.
        data: training shapes at ``model_config.resolution``.
        run_dir: the run folder (created).
        device: "auto", "cpu", "cuda", ...
        resume: continue the training state in ``run_dir``; it must exist and match.
        progress: show a progress bar.
    """

    PROGRESS_NAME = "train gan"
    guard_note = ""  # a collapse warning needs no more words for a 3D-GAN
    adversarial = True

    def __init__(
        self,
        model_config: GANConfig,
        train_config: GANTrainConfig,
        data: VoxelSet,
        run_dir: str | Path,
        device: str = "auto",
        resume: bool = False,
        progress: bool = True,
        distributed: Distributed = Distributed(),
    ) -> None:
        check_resolution(data, model_config)
        check_penalties(model_config, train_config)
        distributed.check_batch(train_config.batch_size)
        cfg = train_config
        self.model_config, self.train_config, self.data, self.distributed = model_config, train_config, data, distributed
        self.device, self.precision, self.memory_format = resolve_runtime(device, cfg.precision, cfg.memory_format)
        self.run, self.progress, self.step = RunFolder(run_dir), progress and distributed.is_main, 0
        self.order = DataOrder(len(data), cfg.batch_size, cfg.seed)
        self.shard = distributed.shard(cfg.batch_size)
        self.real_batches = RealBatches(data, self.order, cfg.augment, cfg.seed, self.device, self.shard)

        torch.manual_seed(cfg.seed)  # initial weights
        model = ShapeGAN(model_config)
        if distributed.active and cfg.sync_batchnorm:
            convert_batchnorm(model)
        self.model = to_memory_format(model.to(self.device), self.memory_format)
        self.average = GeneratorAverage(self.model.generator, cfg.generator_ema, cfg.seed) if cfg.generator_ema > 0 else None
        self.optimizers = make_optimizers(
            {"generator": self.model.generator, "discriminator": self.model.discriminator},
            {"generator": cfg.lr_generator, "discriminator": cfg.lr_discriminator},
            (cfg.adam_beta1, cfg.adam_beta2), self.device, cfg.fused_optimizer,
        )  # fmt: skip
        self.scalers = {name: make_scaler(self.device, self.precision) for name in self.optimizers}
        # What train_step calls for G's and D's forward passes: the networks themselves, or
        # compiled callables sharing their parameters (the model and its state_dict are unchanged).
        # ``discriminator_forward`` scores for D's update; ``discriminator_frozen`` for G's, where
        # D's weights take no gradient (with several processes only the first goes through
        # DistributedDataParallel, which averages D's gradients).
        self.generator_forward: Callable[..., torch.Tensor] = self.model.generator
        self.discriminator_forward: Callable[..., torch.Tensor] = self.model.discriminator
        if cfg.compile:
            self.generator_forward = compile_module(self.model.generator, self.device)
            self.discriminator_forward = compile_module(self.model.discriminator, self.device)
        self.discriminator_frozen: Callable[..., torch.Tensor] = self.discriminator_forward
        self._inference_cache: tuple[int, ShapeGAN] | None = None

        classes = {"model": GANConfig, "training": GANTrainConfig}
        if self.run.check(resume):
            self.step = self.run.restore(
                self.resolved_config(), model=self.model, optimizers=self.optimizers, scalers=self.scalers,
                ema=self.ema_network, config_classes=classes,
            )  # fmt: skip
        elif resume:  # stopped before its first checkpoint: the same run, from step 0
            self.run.check_config(self.resolved_config(), classes)
        if distributed.active:
            # After every process has checked and read the run folder (rank 0 writes it
            # once training starts); wrapping also checks that all start from the same weights.
            self.generator_forward = parallel(self.generator_forward, self.device)
            self.discriminator_forward = parallel(self.discriminator_forward, self.device)

    @property
    def ema_network(self) -> torch.nn.Module | None:
        return None if self.average is None else self.average.network

    def resolved_config(self) -> dict[str, Any]:
        return resolved_run_config(
            RUN_KIND, {"model": self.model_config}, self.train_config, self.data,
            self.device, self.precision, self.memory_format, self.optimizers["generator"], self.distributed,
        )  # fmt: skip

    # -- one step ---------------------------------------------------------------------
    def instance_noise(self, step: int) -> tuple[torch.Tensor | float, torch.Tensor | float]:
        """Noise added to D's real and generated inputs at ``step`` (see :func:`losses.instance_noise`)."""
        cfg, r = self.train_config, self.model_config.resolution
        shape = (cfg.batch_size, 1, r, r, r)
        return losses.instance_noise(cfg.instance_noise, cfg.noise_end_step, step, shape, cfg.seed, self.device, self.shard)

    def train_step(self) -> StepResult:
        cfg, model, step = self.train_config, self.model, self.step
        model.train()
        real = self.real_batches(step).to(torch.float32).unsqueeze(1)  # (b, 1, R, R, R): the batch, or this process's rows
        z = prior_latents(self.model_config, cfg.batch_size, cfg.seed, step, self.device)  # (B, latent_dim)
        if self.shard is not None:
            z = z[self.shard]  # (b, latent_dim)
        noise_real, noise_fake = self.instance_noise(step)
        real = real + noise_real

        # D step. G's output serves both steps: D's update sees it detached, G's update
        # back-propagates through it (no second generator forward pass).
        with autocast(self.precision, self.device):
            fake = self.generator_forward(z) + noise_fake  # (B, 1, R, R, R)
            logit_real, logit_fake = score(self.discriminator_forward, real, fake.detach(), cfg.joint_d_batch)
            loss_d = losses.discriminator_loss(cfg.loss, logit_real, logit_fake, cfg.real_label)
        loss_d = loss_d + discriminator_penalty(self.model.discriminator, cfg, real, fake, step)
        correct = losses.discriminator_correct(logit_real, logit_fake)
        if cfg.d_accuracy_threshold < 1:  # the gate decides for every process alike, on the whole batch
            correct = self.distributed.sum(correct)
        d_updated = adaptive_discriminator_update(
            loss_d, correct, cfg.batch_size, cfg.d_accuracy_threshold, self.optimizers["discriminator"], self.scalers["discriminator"]
        )

        # G step. With separate batches the real batch does not change D's scores of the
        # generated one, so it is not scored again (one D forward pass less per step).
        with frozen(model.discriminator):
            with autocast(self.precision, self.device):
                if cfg.joint_d_batch:
                    logit_generated = score(self.discriminator_frozen, real, fake, joint=True)[1]
                else:
                    logit_generated = self.discriminator_frozen(fake)
                loss_g = losses.generator_loss(cfg.loss, logit_generated)
            optimizer_step(loss_g, [self.optimizers["generator"]], self.scalers["generator"])
        if self.average is not None:
            self.average.update(model.generator)
        self.step += 1
        reported = torch.stack([loss_d.detach(), loss_g.detach(), correct.float()])
        if self.shard is not None:  # the whole batch's values: mean losses, all correct calls
            world = self.distributed.world_size
            if cfg.d_accuracy_threshold < 1:
                reported[2] /= world  # already the whole batch's count (summed for the gate)
            reported = self.distributed.sum(reported)
            reported[:2] /= world
        # Left on the device: run_steps reads them when a log line or checkpoint needs them.
        return StepResult(reported[0], reported[1], reported[2] / (2 * cfg.batch_size), d_updated)

    # -- outputs ----------------------------------------------------------------------
    @torch.no_grad()
    def inference_model(self) -> ShapeGAN:
        """The model to sample from, in eval mode: the trained one, or with ``generator_ema``
        a copy whose generator holds the averaged weights (built once per step)."""
        if self.average is None:
            return self.model.eval()
        if self._inference_cache is None or self._inference_cache[0] != self.step:
            self._inference_cache = (self.step, self.average.model(self.model))
        return self._inference_cache[1].eval()

    def monitor(self) -> dict[str, float]:
        """Occupancy and diversity of the preview latents' shapes under G as trained (in eval
        mode, with its own BatchNorm statistics). The weight average is not used: its
        statistics are only recomputed for checkpoints, and G's own collapse shows here first."""
        cfg = self.train_config
        return preview_statistics(self.model.generator, self.model_config, cfg.num_preview, cfg.seed, self.device, self.precision)

    @torch.no_grad()
    def write_preview(self) -> Path:
        cfg = self.train_config
        picture = preview_picture(self.inference_model().generator, self.model_config, cfg.num_preview, cfg.seed, self.device)
        return self.run.save_picture(picture, "step", self.step)

    def save_checkpoint(self) -> None:
        """Write the inference artifact and the training state for the current step."""
        self.run.save(
            self.inference_model(), step=self.step, model=self.model, optimizers=self.optimizers,
            scalers=self.scalers, config=self.resolved_config(), ema=self.ema_network,
        )  # fmt: skip

    def train(self, on_log: Callable[[dict[str, Any]], None] | None = None, max_seconds: float | None = None) -> dict[str, Any]:
        """Run until ``train_config.steps`` or for ``max_seconds``; returns a summary dict (see :func:`run_steps`)."""
        cfg = self.train_config
        return run_steps(
            self, cfg.steps, cfg.log_every, cfg.sample_every, cfg.checkpoint_every, on_log, max_seconds,
            checkpoint_minutes=cfg.checkpoint_minutes,
        )  # fmt: skip
