"""Training loop of the 3D-VAE-GAN (Wu et al. 2016, PAPER.md section 2).

Per step, for a batch of real shapes x:

1. render one photo-like image y of each shape with a random view, light, material and
   background (:mod:`shapespace.rendering.photos`), so every pair is new;
2. encode q(z|y) = E(y), draw z_E from it, decode G(z_E); draw z from the prior, decode G(z);
3. D step: the 3D-GAN's, real x against G(z), with the adaptive update;
4. E and G step together on ``gan_weight * L_GAN(G(z)) + kl_weight * KL(q || p) + recon_weight * L_recon(G(z_E), x)``.

Run folders, checkpoints, ``--resume``, logging and progress follow
:class:`~shapespace.training.gan_trainer.GANTrainer`; the inference artifact is a
:class:`~shapespace.models.vaegan.ShapeVAEGAN` folder, and ``samples/`` also gets
``recon_XXXXXXX.png`` (rendered training photos above their reconstructions).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from shapespace.data.augment import augment_batch
from shapespace.data.sources import VoxelSet
from shapespace.errors import CheckpointError
from shapespace.models.config import GANConfig
from shapespace.models.encoder import EncoderConfig
from shapespace.models.gan import VAE_GAN_MODEL_TYPE, ShapeGAN, read_model_meta
from shapespace.models.vaegan import ShapeVAEGAN
from shapespace.rendering.photos import PhotoSettings, render_photos
from shapespace.training.gan_trainer import _AUGMENT_STREAM, GANTrainer, StepResult, _stream_seed
from shapespace.training.runtime import autocast
from shapespace.training.vaegan_config import VAEGANTrainConfig

RUN_KIND = "3d-vae-gan-run"
_RENDER_STREAM = 0x5EED_0101
_POSTERIOR_STREAM = 0x5EED_0102
_PREVIEW_RENDER_STREAM = 0x5EED_0103
_PREVIEW_COUNT = 8


@dataclass
class VAEStepResult(StepResult):
    kl: float
    recon: float
    recon_iou: float

    def log_values(self) -> dict[str, float]:
        return {**super().log_values(), "kl": self.kl, "recon": self.recon, "recon_iou": self.recon_iou}


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


def batch_iou(predicted: torch.Tensor, target: torch.Tensor, threshold: float = 0.5) -> float:
    """Mean IoU of (B, 1, R, R, R) probabilities against binary targets (1 for two empty grids)."""
    a, b = predicted.detach() > threshold, target > 0.5
    inter = (a & b).flatten(1).sum(1).float()
    union = (a | b).flatten(1).sum(1).float()
    return float(torch.where(union > 0, inter / union.clamp(min=1), torch.ones_like(union)).mean())


def mean_shape(data: VoxelSet, chunk: int = 512) -> torch.Tensor:
    """Mean occupancy of every training shape: FloatTensor of shape (R, R, R)."""
    total = torch.zeros((data.resolution,) * 3, dtype=torch.float64)
    for start in range(0, len(data), chunk):
        rows = data.voxels[torch.arange(start, min(len(data), start + chunk))]
        total += rows.to(torch.float64).sum(0)
    return (total / len(data)).float()


class VAEGANTrainer(GANTrainer):
    """Trains a :class:`ShapeVAEGAN` on a :class:`VoxelSet` into a run folder.

    Args:
        model_config: the architecture of G and D (its prior must be "normal").
        encoder_config: the architecture of E.
        train_config: the recipe.
        data: training shapes at ``model_config.resolution``.
        run_dir: the run folder (created).
        init_from: optional 3D-GAN (or 3D-VAE-GAN) run or model folder whose G and D
            weights start the training, and E's too when it is a 3D-VAE-GAN with the same
            encoder architecture; ignored on ``resume`` (the state has them).
        device, resume, progress: as for :class:`GANTrainer`.
    """

    PROGRESS_NAME = "train vae-gan"

    def __init__(
        self,
        model_config: GANConfig,
        encoder_config: EncoderConfig,
        train_config: VAEGANTrainConfig,
        data: VoxelSet,
        run_dir: str | Path,
        init_from: str | Path | None = None,
        device: str = "auto",
        resume: bool = False,
        progress: bool = True,
    ) -> None:
        self.encoder_config = encoder_config
        self.init_from = None if init_from is None else str(init_from)
        self._resuming = resume
        super().__init__(model_config, train_config, data, run_dir, device=device, resume=resume, progress=progress)

    def build_model(self) -> ShapeVAEGAN:
        model = ShapeVAEGAN(self.model_config, self.encoder_config)
        if self.init_from is not None and not self._resuming:
            self._load_gan_weights(model, self.init_from)
        model.mean_shape.copy_(mean_shape(self.data))
        model = model.to(self.device)
        cfg = self.train_config
        self.opt_e = torch.optim.Adam(model.encoder.parameters(), lr=cfg.lr_encoder, betas=(cfg.adam_beta1, cfg.adam_beta2))
        return model

    def _load_gan_weights(self, model: ShapeVAEGAN, path: str) -> None:
        from shapespace.pipelines.sampling import resolve_model_dir

        directory = resolve_model_dir(path)
        with_encoder = read_model_meta(directory).get("model_type") == VAE_GAN_MODEL_TYPE
        source = (ShapeVAEGAN if with_encoder else ShapeGAN).from_pretrained(directory)
        checks = [("architecture", source.config, self.model_config, "")]
        if with_encoder:
            checks.append(("encoder", source.encoder_config, self.encoder_config, "; pick the same --encoder"))
        for part, theirs, ours, hint in checks:
            if theirs != ours:
                raise CheckpointError(
                    f"--init-from {path}: its {part} differs from the one being trained ({theirs.to_dict()} vs {ours.to_dict()}){hint}"
                )
        model.generator.load_state_dict(source.generator.state_dict())
        model.discriminator.load_state_dict(source.discriminator.state_dict())
        if with_encoder:
            model.encoder.load_state_dict(source.encoder.state_dict())

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {**super().optimizers(), "encoder": self.opt_e}

    def resolved_config(self) -> dict[str, Any]:
        config = super().resolved_config()
        config["kind"] = RUN_KIND
        config["encoder"] = self.encoder_config.to_dict()
        config["init_from"] = self.init_from
        return config

    # -- one step ---------------------------------------------------------------------
    def render(self, shapes: torch.Tensor, step: int, stream: int = _RENDER_STREAM) -> torch.Tensor:
        """Training photos of (B, R, R, R) shapes for ``step``: FloatTensor (B, 3, S, S) on the device."""
        g = torch.Generator().manual_seed(_stream_seed(self.train_config.seed, stream, step))
        cfg = self.train_config
        settings = PhotoSettings(
            clutter=cfg.photo_clutter, occluders=cfg.photo_occluders, texture=cfg.photo_texture, blur=cfg.photo_blur
        )
        return render_photos(shapes.to(self.device), self.encoder_config.image_size, g, settings)

    def _update_encoder_and_generator(self, loss: torch.Tensor) -> None:
        """One Adam step of E and G on ``loss``, and the step count."""
        self.opt_g.zero_grad(set_to_none=True)
        self.opt_e.zero_grad(set_to_none=True)
        self.scaler_g.scale(loss).backward()
        # One scaler for the joint E+G loss; stepping it over both optimisers is how
        # GradScaler handles several optimisers of one backward pass.
        self.scaler_g.step(self.opt_g)
        self.scaler_g.step(self.opt_e)
        self.scaler_g.update()
        self.step += 1

    def _vae_step(self, images: torch.Tensor, real: torch.Tensor, posterior_g: torch.Generator) -> VAEStepResult:
        """One E+G update on ``kl_weight * KL + recon_weight * L_recon`` alone (gan_weight 0):
        no prior samples are decoded and D is neither run nor updated (its values log as 0)."""
        cfg, model = self.train_config, self.model
        with autocast(self.precision, self.device):
            posterior = model.encoder(images)
            reconstruction = model.generator(posterior.sample(posterior_g))
        kl = posterior.kl(self.model_config.latent_std).mean()
        recon = reconstruction_loss(cfg.recon_loss, reconstruction, real, cfg.recon_positive_weight)
        self._update_encoder_and_generator(cfg.kl_weight * kl + cfg.recon_weight * recon)
        return VAEStepResult(0.0, 0.0, 0.0, False, kl.item(), recon.item(), batch_iou(reconstruction, real))

    def train_step(self) -> VAEStepResult:
        cfg, model = self.train_config, self.model
        model.train()
        shapes = self.data.voxels[self.batch_indices(self.step)]  # (B, R, R, R) uint8
        if cfg.augment:
            g = torch.Generator().manual_seed(_stream_seed(cfg.seed, _AUGMENT_STREAM, self.step))
            shapes = augment_batch(shapes, cfg.augment, g)
        images = self.render(shapes, self.step)  # (B, 3, S, S)
        real = shapes.to(self.device, torch.float32).unsqueeze(1)  # (B, 1, R, R, R)
        z = self.latents(self.step)  # (B, latent_dim)
        posterior_g = torch.Generator().manual_seed(_stream_seed(cfg.seed, _POSTERIOR_STREAM, self.step))
        if cfg.gan_weight == 0:
            return self._vae_step(images, real, posterior_g)
        ones = torch.ones(cfg.batch_size, device=self.device)
        real_targets = torch.full((cfg.batch_size,), cfg.real_label, device=self.device)
        zeros = torch.zeros(cfg.batch_size, device=self.device)
        noise_real, noise_fake = self.instance_noise(self.step)

        with autocast(self.precision, self.device):
            posterior = model.encoder(images)
            # One G batch for both latents: G's BatchNorm then normalises encoded and prior
            # latents with shared statistics, in training as in its running averages;
            # with two batches, the eval-mode G would decode E's codes with statistics
            # that belong to neither. The price: L_GAN's gradient also reaches E, through
            # those shared statistics (small: about a tenth of the reconstruction term's
            # gradient norm at the fast recipe's weights; tests/training/test_vaegan_trainer.py).
            decoded = model.generator(torch.cat([posterior.sample(posterior_g), z]))  # (2B, 1, R, R, R)
            reconstruction, fake = decoded[: cfg.batch_size], decoded[cfg.batch_size :] + noise_fake
            logit_real, logit_fake = self._score(real + noise_real, fake.detach())
            loss_d = F.binary_cross_entropy_with_logits(logit_real.float(), real_targets) + F.binary_cross_entropy_with_logits(
                logit_fake.float(), zeros
            )
        correct, d_updated = self._update_discriminator(loss_d, logit_real, logit_fake)
        d_accuracy = float(correct) / (2 * cfg.batch_size)

        model.discriminator.requires_grad_(False)
        try:
            with autocast(self.precision, self.device):
                loss_gan = F.binary_cross_entropy_with_logits(self._score(real + noise_real, fake)[1].float(), ones)
            kl = posterior.kl(self.model_config.latent_std).mean()
            recon = reconstruction_loss(cfg.recon_loss, reconstruction, real, cfg.recon_positive_weight)
            self._update_encoder_and_generator(cfg.gan_weight * loss_gan + cfg.kl_weight * kl + cfg.recon_weight * recon)
        finally:
            model.discriminator.requires_grad_(True)
        return VAEStepResult(
            loss_d.item(), loss_gan.item(), d_accuracy, d_updated, kl.item(), recon.item(), batch_iou(reconstruction, real)
        )

    # -- outputs ----------------------------------------------------------------------
    @torch.no_grad()
    def write_preview(self) -> Path:
        """The GAN's sample picture, plus training photos above their reconstructions."""
        from shapespace.rendering.figures import image_mosaic, save_png
        from shapespace.rendering.preview import render_voxels

        path = super().write_preview()
        count = min(_PREVIEW_COUNT, len(self.data))
        shapes = self.data.voxels[torch.arange(count)]
        images = self.render(shapes, 0, stream=_PREVIEW_RENDER_STREAM)
        model = self.inference_model()
        predicted = model.generator(model.encoder(images).mode())[:, 0].float().cpu()
        size = 128
        photos = F.interpolate(images.float().cpu(), size=(size, size), mode="nearest")
        photos = (photos.permute(0, 2, 3, 1).numpy() * 255).round().astype(np.uint8)
        tiles = np.concatenate([photos, render_voxels(predicted, size=size), render_voxels(shapes.float(), size=size)])
        picture = image_mosaic(tiles, ncols=count)
        save_png(picture, self.run_dir / "samples" / f"recon_{self.step:07d}.png")
        save_png(picture, self.run_dir / "samples" / "recon_latest.png")
        return path
