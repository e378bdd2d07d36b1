"""The image encoder E of the 3D-VAE-GAN (Wu et al., NeurIPS 2016; docs/paper.md section 2).

E maps an RGB image y to q(z|y), a diagonal Gaussian over G's latent space: five 2D
convolutions with BatchNorm + ReLU between them; the last one reduces the map to 1x1 and
outputs ``2 * latent_dim`` channels, the mean and the log-variance.

For the ``paper-256`` preset (kernels {11, 5, 5, 5, 8}, strides {4, 2, 2, 2, 1}) the shapes are::

    y (B, 3, 256, 256) -> (B, 64, 64, 64) -> (B, 128, 32, 32) -> (B, 256, 16, 16)
      -> (B, 512, 8, 8) -> (B, 400, 1, 1) -> mean, logvar (B, 200) each

The channel widths are not in the paper; these follow the AlexNet-like encoders of the
T-L network (Girdhar et al. 2016) the paper compares against, and are a config field.

With ``backbone`` ``efficientnet-lite0`` or ``efficientnet-lite2`` (a deviation, for real
photos) the convolutions are replaced by a frozen ImageNet network
(:mod:`shapespace.models.backbone`) and a trained head: BatchNorm over the backbone's
features, then a hidden layer of ``head_width`` with ReLU and dropout, then the linear map
to the mean and the log-variance. With ``crop_aspect`` the head also reads the log of each
photo's crop aspect ratio (width / height before the photo was stretched to the square
input): the stretch removes the object's proportions from the picture, and class scores do
not carry them (docs/backbone.md, "The crop's aspect ratio"). With ``classes`` the head
also names the furniture class of each photo: a linear map from its hidden layer to one
logit per class, trained with a class loss beside the VAE's terms (docs/backbone.md, "The
class head and the class prior").
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import torch
from torch import nn

from shapespace.config import ConfigBase, Registry, at_least, one_of, setting
from shapespace.errors import ConfigError
from shapespace.models.backbone import BACKBONES, FURNITURE_CLASSES, IMAGENET_CLASSES, ImageNetBackbone

# Bounds on the log-variance: exp(-30) and exp(20) keep the KL and the sampling finite
# in bf16/fp32 without ever binding for a trained encoder.
LOGVAR_MIN, LOGVAR_MAX = -30.0, 20.0


_BACKBONE_FIELDS = ("backbone", "backbone_size", "backbone_classes", "head_width", "crop_aspect", "classes")


def _int_tuple(values) -> tuple[int, ...]:
    return tuple(int(v) for v in values)


def _str_tuple(values) -> tuple[str, ...]:
    if isinstance(values, str):
        raise ConfigError(f"encoder classes must be a list of class names, got the string {values!r}")
    return tuple(str(v) for v in values)


@dataclass(frozen=True)
class EncoderConfig(ConfigBase):
    """Architecture of the image encoder.

    Attributes:
        image_size: height and width S of the square RGB input (B, 3, S, S).
        latent_dim: size of z; must equal the generator's (200 in the paper).
        channels: output widths of every convolution but the last (which outputs
            ``2 * latent_dim``); one fewer entry than ``kernels``.
        kernels: kernel size of each convolution.
        strides: stride of each convolution. Every convolution but the last pads by
            ``kernel // 2``; the last pads by 0 and must reduce the map to 1x1.
        backbone: "none" (the paper's convolutions), "efficientnet-lite0" or "efficientnet-lite2": a frozen
            ImageNet network under a trained head (``channels``, ``kernels`` and ``strides``
            are then unused, though saved and shown).
        backbone_size: the side images are resized to for the backbone.
        backbone_classes: ImageNet classes whose log-probabilities the head reads; empty:
            the backbone's pooled features.
        head_width: the head's hidden layer.
        crop_aspect: the head also reads log(width / height) of each photo before it was
            resized to the square input; the encoder then needs those ratios
            (:meth:`ImageEncoder.forward`'s ``aspects``).
        classes: names of the furniture classes the head also predicts, one logit each
            (empty: no class head). Needs a backbone.
    """

    image_size: int = setting(256, paper=256, recipe=False, help="height and width of the square RGB input")
    latent_dim: int = setting(200, paper=200, recipe=False, help="size of z (the generator's)")
    channels: tuple[int, ...] = setting((64, 128, 256, 512), convert=_int_tuple)
    kernels: tuple[int, ...] = setting((11, 5, 5, 5, 8), paper=(11, 5, 5, 5, 8), recipe=False, convert=_int_tuple)
    strides: tuple[int, ...] = setting((4, 2, 2, 2, 1), paper=(4, 2, 2, 2, 1), recipe=False, convert=_int_tuple)
    backbone: str = setting("none", paper="none", recipe=False, check=one_of(*BACKBONES), help="a frozen ImageNet network under the encoder")
    backbone_size: int = setting(160, check=at_least(16), help="the side images are resized to for the backbone")
    backbone_classes: tuple[int, ...] = setting((), convert=_int_tuple)
    head_width: int = setting(512, check=at_least(1), help="the backbone head's hidden layer")
    crop_aspect: bool = setting(False, help="the head also reads the photo's aspect ratio before it was made square")
    classes: tuple[str, ...] = setting((), convert=_str_tuple, help="class names the head also predicts (empty: none)")

    def validate(self) -> None:
        if self.backbone == "none":
            defaults = {f.name: f.default for f in dataclasses.fields(self)}
            unused = [name for name in _BACKBONE_FIELDS[1:] if getattr(self, name) != defaults[name]]
            if unused:
                verb, them = ("needs", "it") if len(unused) == 1 else ("need", "them")
                raise ConfigError(f"encoder {', '.join(unused)} {verb} a backbone (backbone is none); set backbone or leave {them} out")
        else:
            bad = [c for c in self.backbone_classes if not 0 <= c < IMAGENET_CLASSES]
            if bad or len(set(self.backbone_classes)) != len(self.backbone_classes):
                raise ConfigError(
                    f"encoder backbone_classes must be distinct ImageNet class indices in [0, {IMAGENET_CLASSES}), got {list(self.backbone_classes)}"
                )
            if self.latent_dim < 1 or self.image_size < 1:
                raise ConfigError(f"encoder latent_dim and image_size must be positive, got {self.latent_dim}, {self.image_size}")
            if len(set(self.classes)) != len(self.classes) or not all(self.classes) or len(self.classes) == 1:
                raise ConfigError(f"encoder classes must be two or more distinct, non-empty names, got {list(self.classes)}")
            return
        for name in ("channels", "kernels", "strides"):
            if any(v < 1 for v in getattr(self, name)):
                raise ConfigError(f"encoder {name} must be positive, got {list(getattr(self, name))}")
        if not self.kernels:
            raise ConfigError("encoder kernels must not be empty")
        if len(self.strides) != len(self.kernels) or len(self.channels) != len(self.kernels) - 1:
            raise ConfigError(
                f"encoder needs as many strides as kernels and one channel width fewer, got "
                f"{len(self.kernels)} kernels, {len(self.strides)} strides, {len(self.channels)} channels"
            )
        if self.latent_dim < 1 or self.image_size < 1:
            raise ConfigError(f"encoder latent_dim and image_size must be positive, got {self.latent_dim}, {self.image_size}")
        sizes = self.feature_sizes()
        if sizes[-1] != 1:
            raise ConfigError(
                f"encoder layers map a {self.image_size}x{self.image_size} image to {sizes[-1]}x{sizes[-1]}, "
                f"not 1x1 (feature sizes {sizes}); change image_size, kernels or strides"
            )

    def to_dict(self) -> dict:
        """As :meth:`ConfigBase.to_dict`; without a backbone, its fields are left out, so a
        plain encoder's config reads as it did before backbones existed (and older versions
        of shapespace can still load the model); so are ``crop_aspect`` when it is off and
        ``classes`` when there are none."""
        data = super().to_dict()
        if self.backbone == "none":
            for name in _BACKBONE_FIELDS:
                data.pop(name)
            return data
        if not self.crop_aspect:  # as saved before crop_aspect existed
            data.pop("crop_aspect")
        if not self.classes:  # as saved before the class head existed
            data.pop("classes")
        return data

    def paddings(self) -> tuple[int, ...]:
        return tuple(k // 2 for k in self.kernels[:-1]) + (0,)

    def feature_sizes(self) -> list[int]:
        """Spatial size after each convolution, e.g. [64, 32, 16, 8, 1] for ``paper-256``."""
        size, sizes = self.image_size, []
        for k, s, p in zip(self.kernels, self.strides, self.paddings()):
            size = (size + 2 * p - k) // s + 1
            sizes.append(size)
        return sizes


def log_aspects(aspects: torch.Tensor | None, count: int, device: torch.device) -> torch.Tensor:
    """log(width / height) of ``count`` photos, checked: FloatTensor (count,) on ``device``.

    Raises:
        ValueError: ``aspects`` missing, of another length, or not finite and positive.
    """
    if aspects is None:
        raise ValueError(
            "this encoder reads each photo's aspect ratio (crop_aspect): pass aspects, the width / height "
            "of every photo before it was resized to a square (shapespace.pipelines.reconstruction.load_photos gives them)"
        )
    aspects = torch.as_tensor(aspects, dtype=torch.float32)
    if aspects.shape != (count,):
        raise ValueError(f"aspects must have shape ({count},), one per image, got {tuple(aspects.shape)}")
    if not bool(torch.isfinite(aspects).all()) or bool((aspects <= 0).any()):
        raise ValueError(f"aspects must be finite and positive (width / height), got {aspects.tolist()[:8]}")
    return aspects.log().to(device)


class DiagonalGaussian:
    """q(z|y) = N(mean, diag(exp(logvar))): the encoder's posterior over latents.

    Args:
        mean: FloatTensor of shape (B, latent_dim).
        logvar: FloatTensor of shape (B, latent_dim); clamped to
            [``LOGVAR_MIN``, ``LOGVAR_MAX``]. Both are kept in float32 whatever the
            autocast dtype, so the KL is exact.
    """

    def __init__(self, mean: torch.Tensor, logvar: torch.Tensor) -> None:
        if mean.shape != logvar.shape or mean.dim() != 2:
            raise ValueError(f"mean and logvar must both have shape (B, D), got {tuple(mean.shape)} and {tuple(logvar.shape)}")
        self.mean = mean.float()
        self.logvar = logvar.float().clamp(LOGVAR_MIN, LOGVAR_MAX)

    @property
    def std(self) -> torch.Tensor:
        return torch.exp(0.5 * self.logvar)

    def sample(self, generator: torch.Generator | None = None, eps: torch.Tensor | None = None) -> torch.Tensor:
        """A reparameterised draw ``mean + std * eps`` (differentiable in mean and logvar).

        ``eps`` comes from ``generator`` (a CPU generator), so a seed gives the same draw
        on every device; or it is given (FloatTensor of shape (B, latent_dim), e.g. a
        data-parallel process's rows of the noise drawn for the whole batch). Returns
        FloatTensor of shape (B, latent_dim).
        """
        if eps is None:
            eps = torch.randn(self.mean.shape, generator=generator)
        return self.mean + self.std * eps.to(self.mean.device)

    def mode(self) -> torch.Tensor:
        """The most likely latent, the mean: FloatTensor of shape (B, latent_dim)."""
        return self.mean

    def kl(self, prior_std: float = 1.0) -> torch.Tensor:
        """KL(q || N(0, prior_std^2 I)) per example, in nats: FloatTensor of shape (B,).

        Closed form per dimension: log(s / sigma) + (sigma^2 + mu^2) / (2 s^2) - 1/2 with
        s = ``prior_std``.
        """
        if not prior_std > 0:
            raise ValueError(f"prior_std must be positive, got {prior_std}")
        log_prior_var = 2.0 * math.log(prior_std)
        ratio = torch.exp(self.logvar - log_prior_var)
        per_dim = 0.5 * (ratio + self.mean.pow(2) / prior_std**2 - 1.0 - self.logvar + log_prior_var)
        return per_dim.sum(dim=1)


class DownBlock2d(nn.Sequential):
    """Conv2d + BatchNorm + ReLU."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, stride: int, padding: int) -> None:
        super().__init__(
            nn.Conv2d(in_channels, out_channels, kernel_size=kernel, stride=stride, padding=padding, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )


class ImageEncoder(nn.Module):
    """E: RGB image -> posterior over G's latent space.

    Args:
        config: the architecture; see :class:`EncoderConfig`.
    """

    def __init__(self, config: EncoderConfig, pretrained: bool = True) -> None:
        super().__init__()
        self.config = config
        if config.backbone != "none":
            self._build_on_backbone(config, pretrained)
            return
        widths = (3,) + config.channels
        paddings = config.paddings()
        self.blocks = nn.Sequential(
            *(
                DownBlock2d(c_in, c_out, k, s, p)
                for c_in, c_out, k, s, p in zip(widths[:-1], widths[1:], config.kernels, config.strides, paddings)
            )
        )
        self.to_posterior = nn.Conv2d(
            widths[-1], 2 * config.latent_dim, kernel_size=config.kernels[-1], stride=config.strides[-1], padding=0
        )
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight, 0.0, 0.02)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.normal_(m.weight, 1.0, 0.02)
                nn.init.zeros_(m.bias)
        nn.init.zeros_(self.to_posterior.bias)  # q(z|y) starts near N(0, I) for every image

    def _build_on_backbone(self, config: EncoderConfig, pretrained: bool) -> None:
        self.backbone = ImageNetBackbone(config.backbone_size, config.backbone_classes, pretrained=pretrained, name=config.backbone)
        features = self.backbone.out_features + int(config.crop_aspect)
        self.head = nn.Sequential(
            nn.BatchNorm1d(features),  # standardises log-probabilities of very different ranges
            nn.Dropout(0.2),
            nn.Linear(features, config.head_width),
            nn.ReLU(inplace=True),
            nn.Dropout(0.2),
        )
        self.to_posterior = nn.Linear(config.head_width, 2 * config.latent_dim)
        nn.init.zeros_(self.to_posterior.bias)
        if config.classes:
            self.to_class = nn.Linear(config.head_width, len(config.classes))

    def forward(
        self, images: torch.Tensor, aspects: torch.Tensor | None = None, with_classes: bool = False
    ) -> DiagonalGaussian | tuple[DiagonalGaussian, torch.Tensor]:
        """Encode images.

        Args:
            images: FloatTensor of shape (B, 3, S, S), RGB in [0, 1].
            aspects: FloatTensor of shape (B,): each photo's width / height before it was
                resized to S x S. Needed with ``crop_aspect``, ignored without.
            with_classes: also return the class head's logits (needs ``classes``).

        Returns:
            the posterior q(z|y), with mean and logvar of shape (B, latent_dim); with
            ``with_classes``, ``(posterior, logits)``, logits FloatTensor (B, len(classes)).

        Raises:
            ConfigError: ``with_classes`` for an encoder without a class head.
        """
        if with_classes and not self.config.classes:
            raise ConfigError("this encoder has no class head (its config lists no classes): train one with a `class_weight` above 0")
        s = self.config.image_size
        if images.dim() != 4 or tuple(images.shape[1:]) != (3, s, s):
            raise ValueError(f"images must have shape (B, 3, {s}, {s}), got {tuple(images.shape)}")
        if self.config.backbone != "none":
            features = self.backbone(images)  # (B, F)
            if self.config.crop_aspect:
                features = torch.cat([features, log_aspects(aspects, len(images), features.device)[:, None]], dim=1)
            hidden = self.head(features)  # (B, head_width)
            stats = self.to_posterior(hidden)  # (B, 2 * latent_dim)
        else:
            features = self.blocks(images * 2.0 - 1.0)  # (B, C_last, k, k), k = last kernel
            stats = self.to_posterior(features).flatten(1)  # (B, 2 * latent_dim)
        mean, logvar = stats.chunk(2, dim=1)
        posterior = DiagonalGaussian(mean, logvar)
        return (posterior, self.to_class(hidden).float()) if with_classes else posterior


ENCODER_PRESETS: Registry[EncoderConfig] = Registry("encoder preset")
ENCODER_PRESETS.register(
    "paper-256",
    EncoderConfig(),
    "the paper's encoder: 256x256 input, kernels {11,5,5,5,8}, strides {4,2,2,2,1} (docs/paper.md section 2)",
)
ENCODER_PRESETS.register(
    "cpu-64",
    EncoderConfig(image_size=64, channels=(32, 64, 128, 256), kernels=(5, 5, 5, 5, 4), strides=(2, 2, 2, 2, 1)),
    "CPU-friendly: 64x64 input, 5 convolutions (kernels {5,5,5,5,4}, strides {2,2,2,2,1}); a deviation for speed",
)
ENCODER_PRESETS.register(
    "cpu-128",
    EncoderConfig(image_size=128, channels=(32, 64, 128, 256), kernels=(5, 5, 5, 5, 8), strides=(2, 2, 2, 2, 1)),
    "cpu-64's widths at 128x128 input (kernels {5,5,5,5,8}, strides {2,2,2,2,1}): the photo cache's full size",
)

ENCODER_PRESETS.register(
    "lite0-furniture",
    EncoderConfig(image_size=128, backbone="efficientnet-lite0", backbone_size=160, backbone_classes=tuple(FURNITURE_CLASSES)),
    "for real photos: frozen ImageNet EfficientNet-Lite0 at 160x160 (128x128 input), a head over the log-probabilities "
    "of its 19 furniture classes; needs shapespace[backbone] (docs/backbone.md)",
)
ENCODER_PRESETS.register(
    "lite0-aspect",
    dataclasses.replace(ENCODER_PRESETS.get("lite0-furniture"), crop_aspect=True),
    "lite0-furniture whose head also reads each photo's aspect ratio before it was made square (the object's "
    "proportions, which the stretch removes); trains on photo caches that record it (docs/backbone.md); needs "
    "shapespace[backbone]",
)
ENCODER_PRESETS.register(
    "lite2-furniture",
    EncoderConfig(image_size=128, backbone="efficientnet-lite2", backbone_size=224, backbone_classes=tuple(FURNITURE_CLASSES)),
    "lite0-furniture on the larger EfficientNet-Lite2 at 224x224: a better classifier of real photos, but no better "
    "reconstructions so far, at 2.2 times lite0's training step (docs/backbone.md); needs shapespace[backbone]",
)


def get_encoder_preset(name: str, latent_dim: int = 200) -> EncoderConfig:
    """An encoder preset for a generator with ``latent_dim``; unknown names list the known ones."""
    return dataclasses.replace(ENCODER_PRESETS.get(name), latent_dim=latent_dim)
