"""The 3D-VAE-GAN as one inference artifact: image encoder, generator and discriminator.

Saved like :class:`shapespace.models.gan.ShapeGAN` (``config.json`` + ``model.safetensors``)
with ``model_type`` ``"3d-vae-gan"``, the encoder's config under ``"encoder"`` and its
weights under ``encoder.*``. Every command that takes a 3D-GAN also takes this folder (it
loads G and D and ignores E); ``reconstruct`` and ``eval recon`` need the encoder.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from shapespace.errors import ConfigError
from shapespace.models.config import GANConfig
from shapespace.models.encoder import DiagonalGaussian, EncoderConfig, ImageEncoder
from shapespace.models.gan import ShapeGAN
from shapespace.models.pretrained import VAE_GAN_MODEL_TYPE


class ShapeVAEGAN(ShapeGAN):
    """E, G and D of the 3D-VAE-GAN (docs/paper.md section 2): a :class:`ShapeGAN` plus an encoder.

    Args:
        gan_config: architecture of G and D.
        encoder_config: architecture of E; its ``latent_dim`` must equal G's.
        pretrained_backbone: with a backbone encoder, load its ImageNet weights (False when a
            saved model's weights replace them: loading then needs no weights package).
    """

    MODEL_TYPE = VAE_GAN_MODEL_TYPE
    LOADS = (VAE_GAN_MODEL_TYPE,)
    LOAD_HINT = " without an image encoder; reconstruction needs a model trained with `shapespace train vae-gan`"
    WEIGHT_PREFIXES = None

    def __init__(self, gan_config: GANConfig, encoder_config: EncoderConfig, pretrained_backbone: bool = True) -> None:
        if encoder_config.latent_dim != gan_config.latent_dim:
            raise ConfigError(
                f"the encoder's latent_dim {encoder_config.latent_dim} differs from the generator's {gan_config.latent_dim}"
            )
        if gan_config.latent_prior != "normal":
            raise ConfigError(
                "a 3D-VAE-GAN needs a normal latent prior (KL(q || p) of a Gaussian posterior against the "
                "uniform prior is infinite); train or start from a GAN with `latent_prior` normal"
            )
        super().__init__(gan_config)
        self.encoder_config = encoder_config
        self.encoder = ImageEncoder(encoder_config, pretrained=pretrained_backbone)
        # The mean occupancy of the training shapes (set by the trainer): the trivial
        # baseline every reconstruction is compared with (``eval recon``).
        r = gan_config.resolution
        self.register_buffer("mean_shape", torch.zeros(r, r, r))
        if encoder_config.classes:
            # The mean occupancy of each class's training shapes (set by the trainer), in
            # the order of ``encoder_config.classes``: the class prior's shapes.
            self.register_buffer("class_shapes", torch.zeros(len(encoder_config.classes), r, r, r))
        # Start with q(z|y) close to the prior N(0, latent_std^2 I) for every image, so the
        # first reconstructions are G's typical shapes and the KL term starts near 0.
        with torch.no_grad():
            self.encoder.to_posterior.weight.mul_(0.1)
            self.encoder.to_posterior.bias[gan_config.latent_dim :] = 2.0 * math.log(gan_config.latent_std)

    @property
    def prior_std(self) -> float:
        """Standard deviation of the latent prior p(z) = N(0, prior_std^2 I)."""
        return self.config.latent_std

    @property
    def needs_aspects(self) -> bool:
        """Whether the encoder reads each photo's aspect ratio (``crop_aspect``)."""
        return self.encoder_config.crop_aspect

    @property
    def classes(self) -> tuple[str, ...]:
        """The classes the encoder's class head names (empty: it has none)."""
        return self.encoder_config.classes

    def encode(self, images: torch.Tensor, aspects: torch.Tensor | None = None) -> DiagonalGaussian:
        """q(z|y) for images (B, 3, S, S) in [0, 1]; ``aspects`` (B,), the photos' width /
        height before they were made square, for an encoder that reads them."""
        return self.encoder(images, aspects)

    @torch.no_grad()
    def classify(self, images: torch.Tensor, aspects: torch.Tensor | None = None) -> torch.Tensor:
        """The class head's probabilities for images (B, 3, S, S): FloatTensor (B, C), in
        the order of :attr:`classes`.

        Raises:
            ConfigError: the encoder has no class head.
        """
        return self.encoder(images, aspects, with_classes=True)[1].softmax(1)

    @torch.no_grad()
    def reconstruct(
        self, images: torch.Tensor, eps: torch.Tensor | None = None, aspects: torch.Tensor | None = None, class_prior: float = 0.0
    ) -> torch.Tensor:
        """Shapes for images: decoded from the posterior mean, or the mean of the shapes
        decoded from K draws of q(z|y) (the posterior predictive occupancy).

        With ``class_prior`` w > 0 the result is ``(1 - w) * decoded + w * sum_c p(c|y) *
        class_shapes[c]``: the decoded shape averaged with the class head's expectation of
        the mean training shape of the photo's class (docs/backbone.md, "The class head and
        the class prior"). Needs a class head.

        Args:
            images: FloatTensor of shape (B, 3, S, S), RGB in [0, 1].
            eps: None (decode the mean), or FloatTensor of shape (K, B, latent_dim): the
                standard normal noise of K draws ``mean + std * eps`` per image.
            aspects: FloatTensor of shape (B,), width / height of each photo before it was
                made square; needed when :attr:`needs_aspects`.
            class_prior: w in [0, 1], the class prior's weight (0: the decoded shape alone).

        Returns:
            FloatTensor of shape (B, 1, R, R, R): occupancy probabilities, canonical frame.

        Raises:
            ConfigError: ``class_prior`` outside [0, 1], or above 0 without a class head.
        """
        if not 0.0 <= class_prior <= 1.0:
            raise ConfigError(f"`class_prior` must be in [0, 1], got {class_prior}")
        if class_prior > 0 and not self.classes:
            raise ConfigError("`class_prior` needs a model whose encoder has a class head; train one with a `class_weight` above 0")
        if class_prior == 0:
            return self._decode(self.encode(images, aspects), eps, len(images))
        shapes, probabilities = self.reconstruct_with_classes(images, eps, aspects)
        return self.with_class_prior(shapes, probabilities, class_prior)

    @torch.no_grad()
    def reconstruct_with_classes(
        self, images: torch.Tensor, eps: torch.Tensor | None = None, aspects: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`reconstruct`'s decoded shapes (B, 1, R, R, R) and the class head's
        probabilities (B, C), from one pass of the encoder. Needs a class head."""
        posterior, logits = self.encoder(images, aspects, with_classes=True)
        return self._decode(posterior, eps, len(images)), logits.softmax(1)

    def with_class_prior(self, shapes: torch.Tensor, probabilities: torch.Tensor, class_prior: float) -> torch.Tensor:
        """``(1 - w) * shapes + w * sum_c probabilities[:, c] * class_shapes[c]`` for shapes
        FloatTensor (B, 1, R, R, R) and class probabilities (B, C): FloatTensor (B, 1, R, R, R)."""
        prior = torch.einsum("bc,cxyz->bxyz", probabilities.float(), self.class_shapes.float())[:, None]
        return (1.0 - class_prior) * shapes.float() + class_prior * prior

    def _decode(self, posterior: DiagonalGaussian, eps: torch.Tensor | None, count: int) -> torch.Tensor:
        if eps is None:
            return self.generator(posterior.mode())
        draws = torch.cat([posterior.sample(eps=e) for e in eps])  # (K * B, latent_dim), decoded as one batch
        return self.generator(draws).unflatten(0, (len(eps), count)).mean(0)

    def config_entries(self) -> dict[str, Any]:
        return {"config": self.config.to_dict(), "encoder": self.encoder_config.to_dict()}

    @classmethod
    def from_config_entries(cls, meta: dict[str, Any]) -> "ShapeVAEGAN":
        # The saved weights include the backbone's: its ImageNet weights are not read.
        return cls(GANConfig.from_dict(meta["config"]), EncoderConfig.from_dict(meta["encoder"]), pretrained_backbone=False)
