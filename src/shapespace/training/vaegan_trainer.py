"""Training loop of the 3D-VAE-GAN (Wu et al. 2016, docs/paper.md section 2).

Per step (:meth:`VAEGANTrainer.train_step`, top to bottom), for a batch of real shapes x:

1. render one photo-like image y of each shape with a random view, light, material and
   background (:mod:`shapespace.rendering.photos`), so every pair is new;
2. encode q(z|y) = E(y), draw z_E from it, decode G(z_E); draw z from the prior, decode G(z);
3. D step: the 3D-GAN's, real x against G(z), with the adaptive update;
4. E and G step together on ``gan_weight * L_GAN(G(z)) + kl_weight * KL(q || p) + recon_weight * L_recon(G(z_E), x)``,
   plus ``class_weight * CE`` when the encoder has a class head (the cross-entropy of its
   class logits against each picture's class).

It composes the same parts as :class:`~shapespace.training.gan_trainer.GANTrainer` (random
streams, losses, updates, run folder, step loop). The inference artifact is a
:class:`~shapespace.models.vaegan.ShapeVAEGAN` folder, and ``samples/`` also gets
``recon_XXXXXXX.png`` (rendered training photos above their reconstructions).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F

from shapespace.data.sources import VoxelSet, mean_occupancy
from shapespace.errors import CheckpointError, ConfigError, DataError
from shapespace.metrics.voxel import iou
from shapespace.models.config import GANConfig
from shapespace.models.encoder import DiagonalGaussian, EncoderConfig
from shapespace.models.gan import ShapeGAN
from shapespace.models.pretrained import VAE_GAN_MODEL_TYPE, read_model_meta, resolve_model_dir
from shapespace.models.vaegan import ShapeVAEGAN
from shapespace.rendering.photos import PhotoSettings, render_photos_with_aspects
from shapespace.training import losses
from shapespace.training.distributed import Distributed, convert_batchnorm, parallel
from shapespace.training.rng import DataOrder, Stream, stream_rng
from shapespace.training.run_folder import RunFolder, resolved_run_config
from shapespace.training.runtime import autocast, resolve_runtime, to_memory_format
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
from shapespace.training.vaegan_config import VAEGANTrainConfig

RUN_KIND = "3d-vae-gan-run"
_PREVIEW_COUNT = 8


@dataclass
class VAEStepResult(StepResult):
    kl: float
    recon: float
    recon_iou: float
    class_loss: float = 0.0


def class_encoder_config(encoder_config: EncoderConfig, train_config: VAEGANTrainConfig, data: VoxelSet) -> EncoderConfig:
    """The encoder config to train: with ``class_weight`` > 0, a class head over the data's
    classes (``classes`` set to ``data.classes`` when empty).

    Raises:
        ConfigError: a class loss for an encoder without a backbone, for data of one class,
            or an encoder whose ``classes`` are not the data's.
    """
    if train_config.class_weight == 0:
        return encoder_config
    if encoder_config.backbone == "none":
        raise ConfigError("`class_weight` needs an encoder on a backbone (such as the lite0-aspect preset): the class head reads its hidden layer")
    if len(data.classes) < 2:
        raise ConfigError(f"`class_weight` needs data of two or more classes; {data.source} has {', '.join(data.classes)} only")
    if not encoder_config.classes:
        return encoder_config.replace(classes=tuple(data.classes))
    if tuple(encoder_config.classes) != tuple(data.classes):
        raise ConfigError(
            f"the encoder's class head names {', '.join(encoder_config.classes)} but the data's classes are {', '.join(data.classes)}"
        )
    return encoder_config


def class_shapes(data: VoxelSet, classes: tuple[str, ...]) -> torch.Tensor:
    """The mean occupancy of each class's shapes, in the order of ``classes``: FloatTensor (C, R, R, R).

    Raises:
        DataError: a class with no shape in ``data``.
    """
    means = []
    for name in classes:
        if name not in data.classes:
            raise DataError(f"{data.source}: has no shape of class {name!r} (its classes: {', '.join(data.classes)})")
        rows = torch.nonzero(data.labels == data.classes.index(name)).flatten()
        if not len(rows):
            raise DataError(f"{data.source}: has no shape of class {name!r}")
        means.append(mean_occupancy(data, rows))
    return torch.stack(means)


def vae_gan_architecture(preset: str | None = None, init_from: str | Path | None = None, recipe: str = "paper") -> GANConfig:
    """The G and D architecture of a new 3D-VAE-GAN.

    From ``init_from`` (a 3D-GAN or 3D-VAE-GAN run or model folder) when given: it must use
    the normal prior (the encoder's Gaussian posterior needs a Gaussian prior for its KL
    term), ``preset``, if also given, must name the same architecture, and its D must have
    the normalisation the ``recipe`` needs (the robust recipe's R1 penalty needs a D without
    BatchNorm). Otherwise the ``preset`` (default ``paper-32``) with the normal prior and
    the recipe's architecture fields.
    """
    from shapespace.models.gan import read_model_config
    from shapespace.models.presets import get_preset
    from shapespace.training.config import RECIPE_ARCHITECTURE, recipe_architecture

    if init_from is None:
        return recipe_architecture(recipe, get_preset(preset or "paper-32")).replace(latent_prior="normal")
    config = read_model_config(resolve_model_dir(init_from))
    # The preset names the networks' sizes; the prior and D's normalisation are the GAN's own.
    same_choices = {"latent_prior": config.latent_prior, "discriminator_norm": config.discriminator_norm, "spectral_norm": config.spectral_norm}
    if preset is not None and get_preset(preset).replace(**same_choices) != config:
        raise ConfigError(f"`preset` {preset} differs from the architecture of `init_from` {init_from}; leave `preset` out")
    wanted_norm = RECIPE_ARCHITECTURE.get(recipe, {}).get("discriminator_norm")
    if wanted_norm is not None and config.discriminator_norm == "batch":
        raise ConfigError(
            f"`init_from` {init_from}: its D uses BatchNorm, but the {recipe} `recipe` penalises D's gradient per "
            f"shape and needs D with {wanted_norm} norm; start from a 3D-GAN trained with the {recipe} recipe, "
            "or choose the fast or paper `recipe`"
        )
    if config.latent_prior != "normal":
        raise ConfigError(
            f"`init_from` {init_from}: that GAN uses the {config.latent_prior} prior; a 3D-VAE-GAN needs "
            "one trained with the normal `latent_prior`"
        )
    return config


def load_initial_weights(model: ShapeVAEGAN, path: str | Path) -> tuple[str, ...]:
    """Copy G and D (and E, from a 3D-VAE-GAN with the same encoder) of a run or model
    folder into ``model``; returns the parts copied, ``"encoder"`` included when E was. A
    different G/D architecture is refused (param ``init_from``); a 3D-VAE-GAN with another
    encoder gives G and D, and E starts fresh (e.g. a backbone encoder trained under a
    generator that a plain encoder learnt with): then the parts end with ``"encoder replaced"``.
    Encoders that differ only in their class heads (``classes``) share the rest: it is
    copied and the class head starts fresh, ``"encoder, class head new"``."""
    directory = resolve_model_dir(path)
    with_encoder = read_model_meta(directory).get("model_type") == VAE_GAN_MODEL_TYPE
    source = (ShapeVAEGAN if with_encoder else ShapeGAN).from_pretrained(directory)
    if source.config != model.config:
        raise CheckpointError(
            f"`init_from` {path}: its architecture differs from the one being trained ({source.config.to_dict()} vs {model.config.to_dict()})"
        )
    model.generator.load_state_dict(source.generator.state_dict())
    model.discriminator.load_state_dict(source.discriminator.state_dict())
    if not with_encoder:
        return ("generator", "discriminator")
    if source.encoder_config.replace(classes=()) != model.encoder_config.replace(classes=()):
        return ("generator", "discriminator", "encoder replaced")
    if source.encoder_config.classes == model.encoder_config.classes:
        model.encoder.load_state_dict(source.encoder.state_dict())
        return ("generator", "discriminator", "encoder")
    # Another class head (or none on one side): everything but the head's linear map.
    shared = {k: v for k, v in source.encoder.state_dict().items() if not k.startswith("to_class.")}
    missing, unexpected = model.encoder.load_state_dict(shared, strict=False)
    assert not unexpected and all(k.startswith("to_class.") for k in missing), (missing, unexpected)
    return ("generator", "discriminator", "encoder, class head new")


def open_training_cache(cfg: VAEGANTrainConfig, model_config: GANConfig, encoder_config: EncoderConfig, data: VoxelSet):
    """The photo cache ``cfg.photo_cache`` for training, checked against the model and the data.

    Raises:
        DataError: naming ``photo_cache``: unreadable or incomplete, other grid size, pictures
            smaller than the encoder's input (they would be blown up), classes the data lacks,
            or no aspect ratios (a version-1 cache) for an encoder that reads them.
    """
    from shapespace.data.photo_cache import open_photo_cache
    from shapespace.data.sources import split_source_spec

    path, classes = cfg.photo_cache, None
    if not Path(path).exists():  # CACHE#class,...: those classes only (a folder named so is a folder)
        try:
            path, classes = split_source_spec(cfg.photo_cache)
        except DataError:
            raise DataError(f"`photo_cache` {cfg.photo_cache!r}: expected CACHE or CACHE#class[,class...]") from None
    try:
        pairs = open_photo_cache(path, model_config.resolution, classes)
    except DataError as error:
        raise DataError(f"`photo_cache` {error}") from None
    if pairs.size < encoder_config.image_size:
        raise DataError(
            f"`photo_cache` {cfg.photo_cache}: its pictures are {pairs.size} pixels, smaller than the encoder's "
            f"{encoder_config.image_size}; render them again with size {encoder_config.image_size} or more"
        )
    if encoder_config.crop_aspect and pairs.aspects is None:
        raise DataError(
            f"`photo_cache` {cfg.photo_cache}: was made by an earlier shapespace and does not record its pictures' "
            "aspect ratios, which this encoder reads (crop_aspect); run the `shapespace data photos` command that "
            "made it again: it renders the same pictures anew and records their ratios"
        )
    extra = sorted(set(pairs.meta.get("classes", [])) - set(data.classes))
    if extra:
        raise DataError(
            f"`photo_cache` {cfg.photo_cache}: holds classes the data lacks ({', '.join(extra)}); the data has "
            f"{', '.join(data.classes)}: add them to the data or render the cache with those classes only"
        )
    return pairs


class VAEGANTrainer:
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
        device, resume, progress, distributed: as for :class:`~shapespace.training.gan_trainer.GANTrainer`.
            With several processes every process renders the photos of the whole batch (their
            draws are the batch's) and trains on its rows.
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
        distributed: Distributed = Distributed(),
    ) -> None:
        check_resolution(data, model_config)
        check_penalties(model_config, train_config)
        distributed.check_batch(train_config.batch_size)
        cfg = train_config
        encoder_config = class_encoder_config(encoder_config, cfg, data)
        self.model_config, self.encoder_config, self.train_config, self.data = model_config, encoder_config, train_config, data
        self.init_from = None if init_from is None else str(init_from)
        self.device, self.precision, self.memory_format = resolve_runtime(device, cfg.precision, cfg.memory_format)
        self.run, self.progress, self.step = RunFolder(run_dir), progress and distributed.is_main, 0
        self.distributed, self.shard = distributed, distributed.shard(cfg.batch_size)
        self.order = DataOrder(len(data), cfg.batch_size, cfg.seed)
        self.adversarial = cfg.gan_weight > 0  # a warm-up's log lines show the VAE's terms alone
        # Said with a collapse warning: in a warm-up only encoded latents train G.
        self.guard_note = (
            "; expected with --gan-weight 0: nothing trains G on latents drawn from the prior, so its samples "
            "may drift while its reconstructions improve (see recon_iou)"
        ) if cfg.gan_weight == 0 else ""  # fmt: skip
        self.real_batches = RealBatches(data, self.order, cfg.augment, cfg.seed, self.device)  # the whole batch: photos
        self.photo_pairs = None if not cfg.photo_cache else open_training_cache(cfg, model_config, encoder_config, data)
        self.cached_rows = 0 if self.photo_pairs is None else round(cfg.photo_cache_share * cfg.batch_size)
        # The data's class index of each cached shape (the cache's classes are the data's, checked).
        self.cached_labels = None if self.photo_pairs is None else torch.as_tensor(
            [data.classes.index(name) for name in self.photo_pairs.meta["classes"]], dtype=torch.long
        )[torch.from_numpy(self.photo_pairs.labels)]  # fmt: skip
        if self.photo_pairs is not None and self.cached_rows == 0:
            raise ConfigError(
                f"`photo_cache_share` {cfg.photo_cache_share} of `batch_size` {cfg.batch_size} rounds to no row: "
                "give a larger share or batch, or no photo cache"
            )
        restoring = self.run.check(resume)

        torch.manual_seed(cfg.seed)  # initial weights
        model = ShapeVAEGAN(model_config, encoder_config)
        self.initialised: tuple[str, ...] = ()  # the parts copied from init_from
        if self.init_from is not None and not restoring:
            self.initialised = load_initial_weights(model, self.init_from)
        model.mean_shape.copy_(mean_occupancy(data))
        if encoder_config.classes:
            model.class_shapes.copy_(class_shapes(data, encoder_config.classes))
        if distributed.active and cfg.sync_batchnorm:
            convert_batchnorm(model)
        self.model = to_memory_format(model.to(self.device), self.memory_format)
        self.optimizers = make_optimizers(
            {"generator": self.model.generator, "discriminator": self.model.discriminator, "encoder": self.model.encoder},
            {"generator": cfg.lr_generator, "discriminator": cfg.lr_discriminator, "encoder": cfg.lr_encoder},
            (cfg.adam_beta1, cfg.adam_beta2), self.device, cfg.fused_optimizer,
        )  # fmt: skip
        # One scaler for the joint E+G loss, one for D's.
        self.scalers = {name: make_scaler(self.device, self.precision) for name in ("generator", "discriminator")}

        classes = {"model": GANConfig, "encoder": EncoderConfig, "training": VAEGANTrainConfig}
        if restoring:
            self.step = self.run.restore(
                self.resolved_config(), model=self.model, optimizers=self.optimizers, scalers=self.scalers, config_classes=classes
            )
        elif resume:  # stopped before its first checkpoint: the same run, from step 0
            self.run.check_config(self.resolved_config(), classes)
        # What the step calls: the networks, or with several processes (after every process
        # has read the run folder) E, G and D for D's update in DistributedDataParallel,
        # which averages their gradients; G's update scores with D itself (no D gradients).
        self.encoder_forward, self.generator_forward = self.model.encoder, self.model.generator
        self.discriminator_forward = self.model.discriminator
        if distributed.active:
            self.encoder_forward = parallel(self.model.encoder, self.device)
            self.generator_forward = parallel(self.model.generator, self.device)
            self.discriminator_forward = parallel(self.model.discriminator, self.device)

    def resolved_config(self) -> dict[str, Any]:
        architecture = {"model": self.model_config, "encoder": self.encoder_config}
        config = resolved_run_config(
            RUN_KIND, architecture, self.train_config, self.data,
            self.device, self.precision, self.memory_format, self.optimizers["generator"], self.distributed,
        )  # fmt: skip
        config["init_from"] = self.init_from
        if self.initialised:
            config["initialised"] = list(self.initialised)
        if self.photo_pairs is not None:  # resume needs the same pairs, not only the same path
            pairs = self.photo_pairs
            config["photo_cache"] = {"path": str(pairs.path.resolve()), "id": pairs.meta.get("id")}
            if "classes_selected" in pairs.meta:
                config["photo_cache"]["classes"] = pairs.meta["classes_selected"]
        return config

    # -- one step ---------------------------------------------------------------------
    def render(self, shapes: torch.Tensor, step: int, stream: Stream = Stream.RENDER) -> tuple[torch.Tensor, torch.Tensor]:
        """Training photos of (B, R, R, R) shapes for ``step``: FloatTensor (B, 3, S, S) on the
        device, and their crop aspect ratios FloatTensor (B,)."""
        cfg = self.train_config
        settings = PhotoSettings(
            clutter=cfg.photo_clutter, occluders=cfg.photo_occluders, texture=cfg.photo_texture, blur=cfg.photo_blur
        )
        rng = stream_rng(cfg.seed, stream, step)
        return render_photos_with_aspects(shapes.to(self.device), self.encoder_config.image_size, rng, settings)  # both on the device

    def cached_pairs(self, chosen: np.ndarray) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Pairs ``chosen`` (IntArray (k,)) of the photo cache: pictures FloatTensor (k, 3, S, S)
        in [0, 1] at the encoder's input size, their shapes ByteTensor (k, R, R, R) and the
        pictures' crop aspect ratios FloatTensor (k,) (all 1 for a version-1 cache, whose
        pictures do not record them; only an encoder without crop_aspect trains on one), on the device."""
        pairs, size = self.photo_pairs, self.encoder_config.image_size
        images = torch.from_numpy(pairs.images[chosen]).to(self.device).permute(0, 3, 1, 2).float() / 255.0
        if images.shape[-1] != size:  # as photos are resized for the encoder: smoothly, with antialiasing
            images = F.interpolate(images, size=(size, size), mode="bilinear", antialias=True, align_corners=False).clamp(0, 1)
        shapes = torch.from_numpy(pairs.voxels[pairs.shape_of[chosen]]).to(self.device)
        aspects = torch.ones(len(chosen)) if pairs.aspects is None else torch.from_numpy(pairs.aspects[chosen])
        return images.contiguous(), shapes, aspects.to(self.device)

    def training_pairs(self, step: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """The whole batch of ``step``: photos FloatTensor (B, 3, S, S), their shapes ByteTensor
        (B, R, R, R), the photos' crop aspect ratios FloatTensor (B,) and the shapes' classes
        LongTensor (B,) (indices into the data's classes), on the device. With a photo
        cache, ``cached_rows`` of them are its pairs and the others shapes of the data
        rendered on the fly (whose first ``cached_rows`` drawn shapes are left out), in an
        order drawn for the step."""
        shapes = self.real_batches(step)  # (B, R, R, R) uint8
        labels = self.data.labels[self.real_batches.indices(step)]  # (B,), as the shapes: augmenting keeps the class
        k = self.cached_rows
        if k == 0:
            images, aspects = self.render(shapes, step)
            return images, shapes, aspects, labels.to(self.device)
        picks = torch.randint(len(self.photo_pairs), (k,), generator=stream_rng(self.train_config.seed, Stream.PHOTO_CACHE, step))
        cached_images, cached_shapes, cached_aspects = self.cached_pairs(picks.numpy())
        cached_labels = self.cached_labels[torch.from_numpy(self.photo_pairs.shape_of[picks.numpy()])]
        if k == len(shapes):
            return cached_images, cached_shapes, cached_aspects, cached_labels.to(self.device)
        rendered, aspects = self.render(shapes[k:], step)
        images, shapes = torch.cat([cached_images, rendered]), torch.cat([cached_shapes, shapes[k:]])
        aspects, labels = torch.cat([cached_aspects, aspects]), torch.cat([cached_labels, labels[k:]]).to(self.device)
        # Mixed in a drawn order, so that each process of a data-parallel run gets both kinds.
        order = torch.randperm(len(shapes), generator=stream_rng(self.train_config.seed, Stream.PHOTO_CACHE_ORDER, step)).to(self.device)
        return images[order], shapes[order], aspects[order], labels[order]

    def instance_noise(self, step: int) -> tuple[torch.Tensor | float, torch.Tensor | float]:
        cfg, r = self.train_config, self.model_config.resolution
        shape = (cfg.batch_size, 1, r, r, r)
        return losses.instance_noise(cfg.instance_noise, cfg.noise_end_step, step, shape, cfg.seed, self.device, self.shard)

    def _update_encoder_and_generator(self, loss: torch.Tensor) -> None:
        optimizer_step(loss, [self.optimizers["generator"], self.optimizers["encoder"]], self.scalers["generator"])
        self.step += 1

    def train_step(self) -> VAEStepResult:
        cfg, model, step = self.train_config, self.model, self.step
        model.train()
        rows = slice(None) if self.shard is None else self.shard  # this process's rows of the batch
        images, shapes, aspects, labels = self.training_pairs(step)  # (B, 3, S, S), (B, R, R, R) uint8, (B,), (B,) on the device
        images, aspects, labels = images[rows], aspects[rows], labels[rows]  # (b, 3, S, S), (b,), (b,)
        real = shapes[rows].to(torch.float32).unsqueeze(1)  # (b, 1, R, R, R)
        z = prior_latents(self.model_config, cfg.batch_size, cfg.seed, step, self.device)[rows]  # (b, latent_dim)
        # The posterior's noise, drawn for the whole batch as Posterior.sample draws it; a
        # data-parallel process keeps its rows.
        eps = torch.randn(cfg.batch_size, self.model_config.latent_dim, generator=stream_rng(cfg.seed, Stream.POSTERIOR, step))
        eps = eps[rows].to(self.device)  # (b, latent_dim)
        if cfg.gan_weight == 0:
            return self._vae_step(images, aspects, labels, real, eps)
        noise_real, noise_fake = self.instance_noise(step)
        batch = len(real)

        with autocast(self.precision, self.device):
            posterior, class_loss = self.encode(images, aspects, labels)
            # One G batch for both latents: G's BatchNorm then normalises encoded and prior
            # latents with shared statistics, in training as in its running averages;
            # with two batches, the eval-mode G would decode E's codes with statistics
            # that belong to neither. The price: L_GAN's gradient also reaches E, through
            # those shared statistics (small: about a tenth of the reconstruction term's
            # gradient norm at the fast recipe's weights; tests/training/test_vaegan_trainer.py).
            decoded = self.generator_forward(torch.cat([posterior.sample(eps=eps), z]))  # (2b, 1, R, R, R)
            reconstruction, fake = decoded[:batch], decoded[batch:] + noise_fake
            logit_real, logit_fake = score(self.discriminator_forward, real + noise_real, fake.detach(), cfg.joint_d_batch)
            loss_d = losses.discriminator_loss(cfg.loss, logit_real, logit_fake, cfg.real_label)
        loss_d = loss_d + discriminator_penalty(model.discriminator, cfg, real + noise_real, fake, step)
        correct = self.distributed.sum(losses.discriminator_correct(logit_real, logit_fake))  # the whole batch's
        d_updated = adaptive_discriminator_update(
            loss_d, correct, cfg.batch_size, cfg.d_accuracy_threshold, self.optimizers["discriminator"], self.scalers["discriminator"]
        )

        with frozen(model.discriminator):
            with autocast(self.precision, self.device):
                loss_gan = losses.generator_loss(cfg.loss, score(model.discriminator, real + noise_real, fake, cfg.joint_d_batch)[1])
            kl = posterior.kl(self.model_config.latent_std).mean()
            recon = losses.reconstruction_loss(cfg.recon_loss, reconstruction, real, cfg.recon_positive_weight)
            self._update_encoder_and_generator(
                cfg.gan_weight * loss_gan + cfg.kl_weight * kl + cfg.recon_weight * recon + cfg.class_weight * class_loss
            )
        loss_d_value, loss_gan_value, kl_value, recon_value, class_value, overlap = self._batch_means(
            loss_d, loss_gan, kl, recon, class_loss, reconstruction, real
        )
        d_accuracy = correct.float() / (2 * cfg.batch_size)
        return VAEStepResult(loss_d_value, loss_gan_value, d_accuracy, d_updated, kl_value, recon_value, overlap, class_value)

    def encode(self, images: torch.Tensor, aspects: torch.Tensor, labels: torch.Tensor) -> tuple[DiagonalGaussian, torch.Tensor]:
        """q(z|y) of the batch's photos, and the class loss: the mean cross-entropy of the
        class head against ``labels`` (LongTensor (b,)), or a 0-d zero without a class head."""
        if not self.encoder_config.classes:
            return self.encoder_forward(images, aspects), torch.zeros((), device=images.device)
        posterior, logits = self.encoder_forward(images, aspects, with_classes=True)
        return posterior, F.cross_entropy(logits.float(), labels)

    def _batch_means(self, *values: torch.Tensor) -> torch.Tensor:
        """Logged values of the whole batch: the given scalars, then the mean IoU of a
        reconstruction and its target; averaged over the processes (equal shards). Left on
        the device (:class:`StepResult`)."""
        *scalars, reconstruction, real = values
        overlap = iou(reconstruction.detach()[:, 0].float(), real[:, 0]).mean()
        reported = torch.stack([*(v.detach().float() for v in scalars), overlap])
        if self.shard is not None:
            reported = self.distributed.sum(reported) / self.distributed.world_size
        return reported

    def _vae_step(
        self, images: torch.Tensor, aspects: torch.Tensor, labels: torch.Tensor, real: torch.Tensor, eps: torch.Tensor
    ) -> VAEStepResult:
        """One E+G update on ``kl_weight * KL + recon_weight * L_recon`` (and the class loss)
        alone (gan_weight 0): no prior samples are decoded and D is neither run nor updated
        (its values log as 0)."""
        cfg = self.train_config
        with autocast(self.precision, self.device):
            posterior, class_loss = self.encode(images, aspects, labels)
            reconstruction = self.generator_forward(posterior.sample(eps=eps))
        kl = posterior.kl(self.model_config.latent_std).mean()
        recon = losses.reconstruction_loss(cfg.recon_loss, reconstruction, real, cfg.recon_positive_weight)
        self._update_encoder_and_generator(cfg.kl_weight * kl + cfg.recon_weight * recon + cfg.class_weight * class_loss)
        kl_value, recon_value, class_value, overlap = self._batch_means(kl, recon, class_loss, reconstruction, real)
        return VAEStepResult(0.0, 0.0, 0.0, False, kl_value, recon_value, overlap, class_value)

    # -- outputs ----------------------------------------------------------------------
    def inference_model(self) -> ShapeVAEGAN:
        return self.model.eval()

    def monitor(self) -> dict[str, float]:
        """Occupancy and diversity of G's shapes for the preview latents (see the 3D-GAN trainer)."""
        cfg = self.train_config
        return preview_statistics(self.model.generator, self.model_config, cfg.num_preview, cfg.seed, self.device, self.precision)

    @torch.no_grad()
    def write_preview(self) -> Path:
        """The GAN's sample picture, plus training photos above their reconstructions."""
        from shapespace.rendering.figures import image_mosaic
        from shapespace.rendering.preview import render_voxels

        cfg, model = self.train_config, self.inference_model()
        picture = preview_picture(model.generator, self.model_config, cfg.num_preview, cfg.seed, self.device)
        path = self.run.save_picture(picture, "step", self.step)
        if self.photo_pairs is None:
            count = min(_PREVIEW_COUNT, len(self.data))
            shapes = self.data.voxels[torch.arange(count)]
            images, aspects = self.render(shapes, 0, stream=Stream.PREVIEW_RENDER)
        else:  # the first picture of shapes spread over the cache
            pairs = self.photo_pairs
            count, views = min(_PREVIEW_COUNT, len(pairs.voxels)), len(pairs) // len(pairs.voxels)
            images, shapes, aspects = self.cached_pairs(np.linspace(0, len(pairs.voxels) - 1, count).round().astype(np.int64) * views)
        predicted = model.generator(model.encoder(images, aspects).mode())[:, 0].float().cpu()
        size = 128
        photos = F.interpolate(images.float().cpu(), size=(size, size), mode="nearest")
        photos = (photos.permute(0, 2, 3, 1).numpy() * 255).round().astype(np.uint8)
        tiles = np.concatenate([photos, render_voxels(predicted, size=size), render_voxels(shapes.float().cpu(), size=size)])
        self.run.save_picture(image_mosaic(tiles, ncols=count), "recon", self.step)
        return path

    def save_checkpoint(self) -> None:
        self.run.save(
            self.inference_model(), step=self.step, model=self.model, optimizers=self.optimizers,
            scalers=self.scalers, config=self.resolved_config(),
        )  # fmt: skip

    def train(self, on_log: Callable[[dict[str, Any]], None] | None = None, max_seconds: float | None = None) -> dict[str, Any]:
        """Run until ``train_config.steps`` or for ``max_seconds``; returns a summary dict (see :func:`run_steps`)."""
        cfg = self.train_config
        return run_steps(
            self, cfg.steps, cfg.log_every, cfg.sample_every, cfg.checkpoint_every, on_log, max_seconds,
            checkpoint_minutes=cfg.checkpoint_minutes,
        )  # fmt: skip


def batch_iou(predicted: torch.Tensor, target: torch.Tensor) -> float:
    """Mean IoU at 0.5 of (B, 1, R, R, R) probabilities against binary targets, for the log."""
    return float(iou(predicted.detach()[:, 0].float(), target[:, 0]).mean())
