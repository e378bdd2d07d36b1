"""Training loop of the 3D-GAN (Wu et al. 2016, PAPER.md section 1).

Per step: draw a batch of real shapes and latents, score both with D, update D only while
its batch accuracy is at most ``d_accuracy_threshold`` (the paper's adaptive update), then
update G with the non-saturating loss ``-log D(G(z))``.

Randomness is a pure function of ``(seed, step)``: the data order of epoch ``e`` comes from
a generator seeded with ``(seed, e)`` and the latents of step ``s`` from one seeded with
``(seed, s)``. Together with the saved weights, optimiser moments and BatchNorm statistics
this makes ``--resume`` continue exactly where a run stopped.

Run folder layout::

    RUN_DIR/config.json         resolved model + training config, data source, deviations
    RUN_DIR/model/              inference artifact (config.json + model.safetensors)
    RUN_DIR/state/              training state (state.safetensors + state.json)
    RUN_DIR/samples/            step_XXXXXXX.png sample pictures, latest.png
    RUN_DIR/metrics.jsonl       one JSON line of losses per logged step
    RUN_DIR/tensorboard/        TensorBoard event files
"""

from __future__ import annotations

import copy
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn.functional as F
from tqdm import tqdm

from shapespace import __version__
from shapespace.data.augment import augment_batch
from shapespace.data.sources import VoxelSet
from shapespace.errors import CheckpointError
from shapespace.io.atomic import write_text_atomic
from shapespace.models.config import GANConfig
from shapespace.models.gan import ShapeGAN
from shapespace.models.prior import sample_latents
from shapespace.training.config import GANTrainConfig
from shapespace.training.runtime import (
    autocast,
    compile_module,
    make_adam,
    resolve_device,
    resolve_memory_format,
    resolve_precision,
    to_memory_format,
)
from shapespace.training.state import load_training_state, restore_training_state, save_training_state

RUN_CONFIG_NAME = "config.json"
RUN_KIND = "3d-gan-run"
_EPOCH_STREAM = 0x5EED_0001
_LATENT_STREAM = 0x5EED_0002
_PREVIEW_STREAM = 0x5EED_0003
_NOISE_STREAM = 0x5EED_0004
_BATCHNORM_STREAM = 0x5EED_0005
_AUGMENT_STREAM = 0x5EED_0006
BATCHNORM_CALIBRATION_BATCHES = 4  # x 32 latents: enough for stable per-channel statistics


def _stream_seed(seed: int, stream: int, index: int) -> int:
    """A 63-bit seed for draw ``index`` of a named random stream (deterministic, no global state)."""
    value = (seed * 0x9E3779B97F4A7C15 + stream * 0xBF58476D1CE4E5B9 + index * 0x94D049BB133111EB) & ((1 << 64) - 1)
    value ^= value >> 31
    return value & ((1 << 63) - 1)


@dataclass
class StepResult:
    loss_d: float
    loss_g: float
    d_accuracy: float
    d_updated: bool

    def log_values(self) -> dict[str, float]:
        """The values logged for this step (averaged over the steps between two log lines)."""
        return {"loss_d": self.loss_d, "loss_g": self.loss_g, "d_accuracy": self.d_accuracy, "d_update_rate": float(self.d_updated)}


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

    def __init__(
        self,
        model_config: GANConfig,
        train_config: GANTrainConfig,
        data: VoxelSet,
        run_dir: str | Path,
        device: str = "auto",
        resume: bool = False,
        progress: bool = True,
    ) -> None:
        if data.resolution != model_config.resolution:
            raise CheckpointError(
                f"data {data.source!r} has resolution {data.resolution} but the model expects {model_config.resolution}"
            )
        self.model_config = model_config
        self.train_config = train_config
        self.data = data
        self.run_dir = Path(run_dir)
        self.device = resolve_device(device)
        self.precision = resolve_precision(train_config.precision, self.device)
        self.memory_format = resolve_memory_format(train_config.memory_format, self.device)
        self.progress = progress
        self.step = 0

        torch.manual_seed(train_config.seed)  # initial weights
        self.model = to_memory_format(self.build_model(), self.memory_format)
        # An exponential moving average of G's weights, sampled from instead of G itself
        # when ``generator_ema`` > 0 (see :meth:`inference_model`).
        self.generator_ema = None
        if train_config.generator_ema > 0:
            self.generator_ema = copy.deepcopy(self.model.generator).requires_grad_(False)
        self._inference_cache: tuple[int, ShapeGAN] | None = None
        betas = (train_config.adam_beta1, train_config.adam_beta2)
        fused = train_config.fused_optimizer
        self.opt_g = make_adam(self.model.generator.parameters(), train_config.lr_generator, betas, self.device, fused)
        self.opt_d = make_adam(self.model.discriminator.parameters(), train_config.lr_discriminator, betas, self.device, fused)
        # What train_step calls for G's and D's forward passes: the networks themselves, or
        # compiled callables sharing their parameters (the model and its state_dict are unchanged).
        self.generator_forward: Callable[..., torch.Tensor] = self.model.generator
        self.discriminator_forward: Callable[..., torch.Tensor] = self.model.discriminator
        if train_config.compile:
            self.generator_forward = compile_module(self.model.generator, self.device)
            self.discriminator_forward = compile_module(self.model.discriminator, self.device)
        # Loss scaling is needed for fp16 only; bf16 has fp32's range.
        use_scaler = self.precision == "fp16"
        self.scaler_g = torch.amp.GradScaler(self.device.type, enabled=use_scaler)
        self.scaler_d = torch.amp.GradScaler(self.device.type, enabled=use_scaler)
        self._epoch_cache: tuple[int, torch.Tensor] | None = None

        self._check_run_dir(resume)
        if resume:
            self._resume()

    def build_model(self) -> ShapeGAN:
        """The networks to train, on ``self.device`` (subclasses add networks and their optimisers)."""
        return ShapeGAN(self.model_config).to(self.device)

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """Every optimiser by name, as saved in and restored from the training state."""
        return {"generator": self.opt_g, "discriminator": self.opt_d}

    # -- run folder -------------------------------------------------------------------
    def resolved_config(self) -> dict[str, Any]:
        return {
            "kind": RUN_KIND,
            "shapespace_version": __version__,
            "model": self.model_config.to_dict(),
            "training": self.train_config.to_dict(),
            "data": {"source": self.data.source, "shapes": len(self.data), "classes": list(self.data.classes)},
            "resolved": {
                "device": str(self.device),
                "precision": self.precision,
                "memory_format": self.memory_format,
                # From the optimiser itself: a resumed state keeps the implementation it was saved with.
                "fused_optimizer": bool(self.opt_g.param_groups[0].get("fused")),
            },
            "deviations_from_paper": self.train_config.deviations(),
        }

    def _check_run_dir(self, resume: bool) -> None:
        state_dir = self.run_dir / "state"
        has_state = (state_dir / "state.json").is_file()
        if resume and not has_state:
            raise CheckpointError(f"--resume: {self.run_dir} holds no training state to resume (expected {state_dir}/state.json)")
        if not resume and (has_state or (self.run_dir / RUN_CONFIG_NAME).is_file()):
            raise CheckpointError(f"{self.run_dir} already holds a run; pass --resume to continue it or choose another --out")

    def _resume(self) -> None:
        meta, tensors = load_training_state(self.run_dir / "state")
        saved = meta["config"]
        # Everything but the step budget and the logging cadence must match the saved run.
        mutable = {"steps", "sample_every", "checkpoint_every", "log_every"}
        current = self.resolved_config()
        for key in ("model", "encoder"):
            if saved.get(key) != current.get(key):
                raise CheckpointError(f"--resume: the {key} config differs from the run in {self.run_dir}")
        if saved["data"]["source"] != current["data"]["source"]:
            raise CheckpointError(
                f"--resume: the run in {self.run_dir} was trained on {saved['data']['source']!r}, not {current['data']['source']!r}"
            )
        changed = sorted(
            k for k in saved["training"] if k not in mutable and saved["training"][k] != current["training"].get(k)
        )
        if changed:
            raise CheckpointError(f"--resume: training settings differ from the saved run: {', '.join(changed)}")
        restore_training_state(
            meta, tensors, model=self.model, optimizers=self.optimizers(), ema=self.generator_ema
        )
        for name, scaler in (("generator", self.scaler_g), ("discriminator", self.scaler_d)):
            if scaler.is_enabled() and meta["grad_scalers"].get(name):
                scaler.load_state_dict(meta["grad_scalers"][name])
        self.step = int(meta["step"])
        self._truncate_metrics(self.step)

    def _truncate_metrics(self, step: int) -> None:
        """Drop metric lines logged after the resumed step (they belong to a lost future)."""
        path = self.run_dir / "metrics.jsonl"
        if path.is_file():
            lines = [ln for ln in path.read_text().splitlines() if ln and json.loads(ln)["step"] <= step]
            write_text_atomic(path, "".join(ln + "\n" for ln in lines))

    def save_checkpoint(self) -> None:
        """Write the inference artifact and the training state for the current step."""
        self.inference_model().save_pretrained(self.run_dir / "model")
        scalers = {
            "generator": self.scaler_g.state_dict() if self.scaler_g.is_enabled() else {},
            "discriminator": self.scaler_d.state_dict() if self.scaler_d.is_enabled() else {},
        }
        save_training_state(
            self.run_dir / "state",
            step=self.step,
            model=self.model,
            optimizers=self.optimizers(),
            ema=self.generator_ema,
            scalers=scalers,
            config=self.resolved_config(),
        )

    # -- randomness -------------------------------------------------------------------
    def _epoch_order(self, epoch: int) -> torch.Tensor:
        if self._epoch_cache is None or self._epoch_cache[0] != epoch:
            g = torch.Generator().manual_seed(_stream_seed(self.train_config.seed, _EPOCH_STREAM, epoch))
            self._epoch_cache = (epoch, torch.randperm(len(self.data), generator=g))
        return self._epoch_cache[1]

    def batch_indices(self, step: int) -> torch.Tensor:
        """Indices of the real shapes used at ``step``: LongTensor of shape (batch_size,)."""
        n, b = len(self.data), self.train_config.batch_size
        positions = torch.arange(step * b, (step + 1) * b)
        out = torch.empty(b, dtype=torch.long)
        for epoch in positions.div(n, rounding_mode="floor").unique().tolist():
            mask = positions.div(n, rounding_mode="floor") == epoch
            out[mask] = self._epoch_order(epoch)[positions[mask] % n]
        return out

    def latents(self, step: int) -> torch.Tensor:
        g = torch.Generator().manual_seed(_stream_seed(self.train_config.seed, _LATENT_STREAM, step))
        return sample_latents(self.model_config, self.train_config.batch_size, g, self.device)

    def instance_noise(self, step: int) -> tuple[torch.Tensor | float, torch.Tensor | float]:
        """Gaussian noise added to D's real and generated inputs at ``step`` (0 when disabled).

        Its scale falls linearly from ``instance_noise`` at step 0 to 0 at step
        ``instance_noise_steps`` (a fixed horizon, so a resumed run sees the same noise), so
        D sees overlapping distributions early (binary real grids against soft generated
        ones are otherwise trivially told apart) and the clean data at the end.
        """
        cfg = self.train_config
        if cfg.instance_noise == 0:
            return 0.0, 0.0
        sigma = cfg.instance_noise * max(0.0, 1.0 - step / cfg.instance_noise_steps)
        if sigma == 0:
            return 0.0, 0.0
        r = self.model_config.resolution
        g = torch.Generator().manual_seed(_stream_seed(cfg.seed, _NOISE_STREAM, step))
        noise = torch.randn(2, cfg.batch_size, 1, r, r, r, generator=g).mul_(sigma).to(self.device)
        return noise[0], noise[1]

    def preview_latents(self) -> torch.Tensor:
        g = torch.Generator().manual_seed(_stream_seed(self.train_config.seed, _PREVIEW_STREAM, 0))
        return sample_latents(self.model_config, self.train_config.num_preview, g, self.device)

    # -- one step ---------------------------------------------------------------------
    def _score(self, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """D's logits for real and generated shapes, each FloatTensor of shape (B,).

        With ``joint_d_batch`` both go through D as one batch, so D's BatchNorm layers
        normalise them with shared statistics; with separate batches, the first BatchNorm
        removes each batch's mean occupancy and D cannot see that G's shapes are too
        sparse or too dense (the generator then drifts towards near-empty grids).
        """
        discriminator = self.discriminator_forward
        if self.train_config.joint_d_batch:
            logits = discriminator(torch.cat([real, fake]))  # (2B,)
            return logits[: len(real)], logits[len(real) :]
        return discriminator(real), discriminator(fake)

    def _score_generated(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """D's logits for the generated shapes in G's step: FloatTensor of shape (B,).

        With ``joint_d_batch`` they must go through D beside the real batch (shared
        BatchNorm statistics); with separate batches the real batch does not change them,
        so it is not scored again (one D forward pass less per step).
        """
        if self.train_config.joint_d_batch:
            return self._score(real, fake)[1]
        return self.discriminator_forward(fake)

    def _update_discriminator(
        self, loss_d: torch.Tensor, logit_real: torch.Tensor, logit_fake: torch.Tensor
    ) -> tuple[torch.Tensor, bool]:
        """The paper's adaptive D update: skip D while it is already too strong on this batch.

        Returns D's count of correct calls (a 0-d tensor, left on the device) and whether D
        was updated. Deciding reads D's accuracy on the host, which waits for the device;
        with a threshold of 1 D is always updated and the accuracy is read with the losses
        at the end of the step, so a GPU is never waited for mid-step.
        """
        cfg = self.train_config
        with torch.no_grad():
            correct = (logit_real > 0).sum() + (logit_fake < 0).sum()
        d_updated = cfg.d_accuracy_threshold >= 1 or correct.item() / (2 * cfg.batch_size) <= cfg.d_accuracy_threshold
        if d_updated:
            self.opt_d.zero_grad(set_to_none=True)
            self.scaler_d.scale(loss_d).backward()
            self.scaler_d.step(self.opt_d)
            self.scaler_d.update()
        return correct, d_updated

    def train_step(self) -> StepResult:
        cfg, model = self.train_config, self.model
        model.train()
        real = self.data.voxels[self.batch_indices(self.step)]  # (B, R, R, R) uint8
        if cfg.augment:
            g = torch.Generator().manual_seed(_stream_seed(cfg.seed, _AUGMENT_STREAM, self.step))
            real = augment_batch(real, cfg.augment, g)
        real = real.to(self.device, torch.float32).unsqueeze(1)  # (B, 1, R, R, R)
        z = self.latents(self.step)  # (B, latent_dim)
        ones = torch.ones(cfg.batch_size, device=self.device)
        real_targets = torch.full((cfg.batch_size,), cfg.real_label, device=self.device)
        zeros = torch.zeros(cfg.batch_size, device=self.device)

        noise_real, noise_fake = self.instance_noise(self.step)
        real = real + noise_real

        with autocast(self.precision, self.device):
            # G's output serves both steps: D's update sees it detached, G's update
            # back-propagates through it (no second generator forward pass).
            fake = self.generator_forward(z) + noise_fake  # (B, 1, R, R, R)
            logit_real, logit_fake = self._score(real, fake.detach())
            loss_d = F.binary_cross_entropy_with_logits(logit_real.float(), real_targets) + F.binary_cross_entropy_with_logits(
                logit_fake.float(), zeros
            )
        correct, d_updated = self._update_discriminator(loss_d, logit_real, logit_fake)

        # D's weight gradients are not needed for G's update: skipping them saves time and
        # changes nothing (D's gradients are cleared before each D update).
        model.discriminator.requires_grad_(False)
        try:
            with autocast(self.precision, self.device):
                loss_g = F.binary_cross_entropy_with_logits(self._score_generated(real, fake).float(), ones)
            self.opt_g.zero_grad(set_to_none=True)
            self.scaler_g.scale(loss_g).backward()
        finally:
            model.discriminator.requires_grad_(True)
        self.scaler_g.step(self.opt_g)
        self.scaler_g.update()
        if self.generator_ema is not None:
            self._update_ema()
        self.step += 1
        # One device-to-host copy for everything the step reports.
        loss_d_value, loss_g_value, correct_value = torch.stack([loss_d.detach(), loss_g.detach(), correct.float()]).tolist()
        return StepResult(loss_d_value, loss_g_value, correct_value / (2 * cfg.batch_size), d_updated)

    @torch.no_grad()
    def _update_ema(self) -> None:
        decay = self.train_config.generator_ema
        for averaged, current in zip(self.generator_ema.parameters(), self.model.generator.parameters()):
            averaged.lerp_(current, 1.0 - decay)
        for averaged, current in zip(self.generator_ema.buffers(), self.model.generator.buffers()):
            averaged.copy_(current)

    @torch.no_grad()
    def inference_model(self) -> ShapeGAN:
        """The model to sample from, in eval mode: the trained one, or with ``generator_ema``
        a copy whose generator holds the averaged weights.

        BatchNorm statistics collected while training belong to G's own weights, not to
        their average, so the copy's are recomputed from a fixed set of latents ("precise
        BatchNorm"); the averaged weights being trained are left untouched.
        """
        if self.generator_ema is None:
            return self.model.eval()
        # The checkpoint, the preview and the caller at the end of training all want the
        # model of the same step: build it once per step.
        if self._inference_cache is not None and self._inference_cache[0] == self.step:
            return self._inference_cache[1].eval()
        model = copy.deepcopy(self.model)
        model.generator.load_state_dict(self.generator_ema.state_dict())
        g = torch.Generator().manual_seed(_stream_seed(self.train_config.seed, _BATCHNORM_STREAM, 0))
        latents = [sample_latents(self.model_config, 32, g, self.device) for _ in range(BATCHNORM_CALIBRATION_BATCHES)]
        recalibrate_batchnorm(model.generator, latents)
        self._inference_cache = (self.step, model)
        return model.eval()

    # -- outputs ----------------------------------------------------------------------
    @torch.no_grad()
    def write_preview(self) -> Path:
        from shapespace.rendering.figures import render_mosaic, save_png

        shapes = self.inference_model().generator(self.preview_latents())[:, 0].float().cpu()  # (N, R, R, R)
        image = render_mosaic(shapes, size=128)
        path = save_png(image, self.run_dir / "samples" / f"step_{self.step:07d}.png")
        save_png(image, self.run_dir / "samples" / "latest.png")
        return path

    def train(self, on_log: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
        """Run until ``train_config.steps``; returns a summary dict."""
        from torch.utils.tensorboard import SummaryWriter

        cfg = self.train_config
        self.run_dir.mkdir(parents=True, exist_ok=True)
        write_text_atomic(self.run_dir / RUN_CONFIG_NAME, json.dumps(self.resolved_config(), indent=2) + "\n")
        writer = SummaryWriter(str(self.run_dir / "tensorboard"), purge_step=self.step if self.step else None)
        start_step, started = self.step, time.perf_counter()
        window: list[StepResult] = []
        bar = tqdm(total=cfg.steps, initial=self.step, disable=not self.progress, desc=self.PROGRESS_NAME, unit="step", dynamic_ncols=True)
        try:
            while self.step < cfg.steps:
                result = self.train_step()
                window.append(result)
                bar.update(1)
                if self.step % cfg.log_every == 0 or self.step == cfg.steps:
                    values = [r.log_values() for r in window]
                    means = {key: sum(v[key] for v in values) / len(values) for key in values[0]}
                    record = {"step": self.step, **means, "seconds": time.perf_counter() - started}
                    window.clear()
                    for key, value in means.items():
                        writer.add_scalar(f"train/{key}", value, self.step)
                    with open(self.run_dir / "metrics.jsonl", "a", encoding="utf-8") as fh:
                        fh.write(json.dumps(record) + "\n")
                    bar.set_postfix(
                        loss_d=f"{record['loss_d']:.3f}", loss_g=f"{record['loss_g']:.3f}",
                        d_acc=f"{record['d_accuracy']:.2f}", d_upd=f"{record['d_update_rate']:.2f}",
                    )
                    if on_log is not None:
                        on_log(record)
                if cfg.sample_every and self.step % cfg.sample_every == 0:
                    self.write_preview()
                if cfg.checkpoint_every and self.step % cfg.checkpoint_every == 0 and self.step < cfg.steps:
                    self.save_checkpoint()
        finally:
            bar.close()
            writer.close()
        if self.step != start_step or not (self.run_dir / "model").is_dir():
            self.save_checkpoint()
            if cfg.sample_every:
                self.write_preview()
        return {
            "run_dir": str(self.run_dir),
            "steps": self.step,
            "steps_this_session": self.step - start_step,
            "seconds": time.perf_counter() - started,
        }
