"""Which features of the frozen ImageNet backbone carry over from renders to real photos.

The choice behind the ``lite0-furniture`` and ``lite2-furniture`` encoders (docs/backbone.md),
measured without training a 3D model: a frozen EfficientNet-Lite (models/backbone.py,
``--backbone``) turns every picture of a photo
cache (rendered furniture) and every ikea-dev photo into three kinds of features:

* ``pooled``: the 1,280 pooled features of its last convolution;
* ``imagenet_1000``: the log-probabilities of all 1,000 ImageNet classes;
* ``furniture_19``: the log-probabilities of the 19 furniture classes the preset reads.

A logistic regression per kind learns the six classes from the **renders only** (balanced
class weights; features standardised with the renders' statistics) and is scored on the
photos as balanced accuracy (the mean over classes of the share right; chance 1/6). The
photos are never trained on. ``zero_shot`` needs no training at all: each photo's class is
the one whose ImageNet furniture classes (``FURNITURE_GROUPS`` in models/backbone.py) have the most probability.
Prints one JSON object.

    python benchmarks/backbone_probe.py --photo-cache runs/photos/sh3d-64 [--ikea ../shared/data/ikea-dev]
        [--backbone efficientnet-lite0] [--size 160]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score

from shapespace.data.photo_cache import open_photo_cache
from shapespace.models.backbone import FURNITURE_CLASSES, FURNITURE_GROUPS, LITE_VARIANTS, ImageNetBackbone
from shapespace.pipelines.reconstruction import load_ikea_targets, load_images

DEFAULT_IKEA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "ikea-dev"


@torch.no_grad()
def _features(backbone: ImageNetBackbone, images: torch.Tensor, batch: int = 128) -> tuple[torch.Tensor, torch.Tensor]:
    """Pooled features (N, 1280) and ImageNet log-probabilities (N, 1000) of images in [0, 1]."""
    pooled = torch.cat([backbone(images[i : i + batch].float() / (255.0 if images.dtype == torch.uint8 else 1.0)) for i in range(0, len(images), batch)])
    return pooled, torch.log_softmax(backbone.network._fc(pooled), dim=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photo-cache", required=True, help="a photo cache of the six classes (shapespace data photos)")
    parser.add_argument("--ikea", default=str(DEFAULT_IKEA))
    parser.add_argument("--backbone", default="efficientnet-lite0", choices=LITE_VARIANTS)
    parser.add_argument("--size", type=int, default=160, help="the backbone's input side (lite0-furniture 160, lite2-furniture 224)")
    args = parser.parse_args()

    start = time.perf_counter()
    backbone = ImageNetBackbone(args.size, name=args.backbone)  # pooled features; the log-probabilities come from its classifier
    cache = open_photo_cache(args.photo_cache)
    classes = list(cache.meta["classes"])
    pairs, _ = load_ikea_targets(args.ikea)
    photo_labels = np.array([classes.index(p.category) for p in pairs])
    render_labels = cache.labels[cache.shape_of]
    render_pooled, render_logp = _features(backbone, torch.from_numpy(cache.images).permute(0, 3, 1, 2))
    photo_pooled, photo_logp = _features(backbone, load_images([p.image for p in pairs], 224))

    furniture = list(FURNITURE_CLASSES)
    kinds = {
        "pooled": (render_pooled, photo_pooled),
        "imagenet_1000": (render_logp, photo_logp),
        "furniture_19": (render_logp[:, furniture], photo_logp[:, furniture]),
    }
    result: dict = {"photo_cache": str(args.photo_cache), "renders": len(render_labels), "photos": len(pairs), "backbone": args.backbone, "size": args.size}
    for name, (train, test) in kinds.items():
        mean, std = train.mean(0), train.std(0) + 1e-6
        probe = LogisticRegression(C=0.1, max_iter=3000, class_weight="balanced").fit(((train - mean) / std).numpy(), render_labels)
        result[f"probe_{name}"] = {
            "renders": round(100 * balanced_accuracy_score(render_labels, probe.predict(((train - mean) / std).numpy())), 1),
            "photos": round(100 * balanced_accuracy_score(photo_labels, probe.predict(((test - mean) / std).numpy())), 1),
        }
    zero_shot = {}
    for name, logp, labels in (("renders", render_logp, render_labels), ("photos", photo_logp, photo_labels)):
        scores = torch.stack([logp[:, list(FURNITURE_GROUPS[c])].exp().sum(1) for c in classes], 1)
        zero_shot[name] = round(100 * balanced_accuracy_score(labels, scores.argmax(1).numpy()), 1)
    result["zero_shot"] = zero_shot
    result["seconds"] = round(time.perf_counter() - start, 1)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
