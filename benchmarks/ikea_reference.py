"""Reference points for the IKEA table: what class-level predictions reach on ikea-dev.

A model that only recognised the class of each photo and predicted one shape per class
would score these APs. They put ``shapespace eval recon`` numbers in context:

* ``training_class_mean``: the mean built-in training shape of the photo's true class,
  normalised like a prediction (:func:`~shapespace.metrics.reconstruction.to_evaluation_grid`);
  the most a perfect classifier with the built-in furniture's class means can reach.
* ``training_mean``: the mean over all six built-in classes for every photo (the
  ``eval recon`` baseline, here for the built-in shapes alone).
* ``data_class_mean`` and ``data_mean`` (with ``--data SOURCE``, repeatable, as for
  ``train vae-gan``): the same two rows with the shapes of those sources in place of the
  built-in ones, e.g. the Sweet Home 3D furniture, to see how close its shapes' style is
  to IKEA's. Classes the sources lack are left out of the mean over classes.
* ``ikea_class_mean``: the mean IKEA ground-truth grid of the photo's class. It is computed
  from the test grids themselves, so it is a ceiling for class-level prediction, not a
  method.

With ``--model RUN`` (a 3D-VAE-GAN run or model folder; repeated, an ensemble: the mean
of the models' reconstructions), two more rows split the model's error into its two causes:

* ``model_on_photos``: the model on the IKEA photos (as ``eval recon``);
* ``model_on_renders``: the model on photos rendered from the IKEA ground-truth grids
  themselves, the way training photos are rendered (one random view per photo, plain
  settings, seed 0). The shapes are the test shapes, so the gap between the two rows is
  what the real photos' appearance costs; the gap between this row and a perfect score is
  what the shapes' style (and the random facing) costs.

Each is given per class and as the mean over classes, plain and with the best of 4 quarter
turns (as ``eval recon`` reports). For both model rows, ``class_accuracy`` says how often the
reconstruction's class is right: the class of the built-in shape (``--count`` per class) with
the highest IoU to the reconstruction at the model's resolution, as balanced accuracy (the
mean over classes of the share right; chance is 1/6). Prints one JSON object.

    python benchmarks/ikea_reference.py [--ikea ../shared/data/ikea-dev] [--count 200] [--data SOURCE ...] [--model RUN [--model RUN ...] [--samples K] [--mirror] [--class-prior W]]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from shapespace.cli.args import add_samples_flag
from shapespace.data.builtin import builtin_voxels
from shapespace.data.sources import DataSelection, mean_occupancy
from shapespace.metrics.reconstruction import from_evaluation_grid, reconstruction_scores, to_evaluation_grid
from shapespace.pipelines.reconstruction import balanced_class_accuracy, load_ikea_targets, load_photos, load_vae_gan, reconstruct
from shapespace.rendering.photos import render_photos_with_aspects

DEFAULT_IKEA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "ikea-dev"


def _summary(scores: dict) -> dict:
    return {
        "ap": {name: round(row["ap"], 1) for name, row in scores["per_class"].items()} | {"mean": round(scores["mean"]["ap"], 1)},
        "ap_best_rotation": {name: round(row["ap_best_rotation"], 1) for name, row in scores["per_class"].items()}
        | {"mean": round(scores["mean"]["ap_best_rotation"], 1)},
    }


def _nearest_class(reconstructions: torch.Tensor, reference: torch.Tensor, reference_class: torch.Tensor) -> torch.Tensor:
    """The class of the reference shape (rows of FloatTensor (M, R^3), {0, 1}) with the highest
    IoU to each reconstruction (FloatTensor (N, R, R, R), thresholded at 0.5): LongTensor (N,)."""
    solid = (reconstructions.reshape(len(reconstructions), -1) > 0.5).float()
    overlap = solid @ reference.T
    union = solid.sum(1, keepdim=True) + reference.sum(1)[None] - overlap
    return reference_class[(overlap / union.clamp(min=1)).argmax(dim=1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ikea", type=Path, default=DEFAULT_IKEA, help="IKEA folder (default ../shared/data/ikea-dev)")
    parser.add_argument("--count", type=int, default=200, help="built-in shapes per class for the class means")
    parser.add_argument("--resolution", type=int, default=32, help="grid of the built-in shapes (a model's resolution)")
    parser.add_argument("--data", action="append", default=[], help="shapes for the data_class_mean and data_mean rows (repeatable; SOURCE#class,... keeps those classes)")
    add_samples_flag(parser)  # --samples K, --mirror and --class-prior W, as for `eval recon`
    parser.add_argument("--model", type=Path, action="append",
                        help="a 3D-VAE-GAN run or model folder: adds its rows on photos and on renders; repeated, the mean of the models' reconstructions (an ensemble)")
    args = parser.parse_args()

    pairs, target = load_ikea_targets(args.ikea)
    categories = [p.category for p in pairs]
    classes = sorted(set(categories))

    def per_photo(means: dict[str, torch.Tensor]) -> torch.Tensor:
        return torch.stack([means[c] for c in categories]).contiguous()

    training = {}
    for name in classes:
        voxels, _ = builtin_voxels(name, args.count, args.resolution, seed=0)
        training[name] = to_evaluation_grid(torch.from_numpy(voxels).float().mean(0)[None])[0]
    overall = torch.stack(list(training.values())).mean(0)
    ikea_means = {c: target[[i for i, x in enumerate(categories) if x == c]].float().mean(0) for c in classes}
    result = {
        "ikea": str(args.ikea),
        "photos": len(pairs),
        "builtin_shapes_per_class": args.count,
        "training_class_mean": _summary(reconstruction_scores(per_photo(training), target, categories)),
        "training_mean": _summary(reconstruction_scores(per_photo({c: overall for c in classes}), target, categories)),
        "ikea_class_mean": _summary(reconstruction_scores(per_photo(ikea_means), target, categories)),
    }
    if args.data:
        data = DataSelection(classes=tuple(classes)).load_many(args.data, args.resolution)
        means = {
            data.classes[k]: to_evaluation_grid(mean_occupancy(data, (data.labels == k).nonzero())[None])[0]
            for k in data.labels.unique().tolist()
        }
        known = [i for i, c in enumerate(categories) if c in means]  # photos of classes the sources have
        kept = [categories[i] for i in known]
        counts = {c: int((data.labels == data.classes.index(c)).sum()) for c in means}
        result["data"] = {"sources": args.data, "shapes_per_class": counts}
        predicted = torch.stack([means[c] for c in kept])
        result["data_class_mean"] = _summary(reconstruction_scores(predicted, target[known], kept))
        data_overall = to_evaluation_grid(mean_occupancy(data)[None])[0]
        result["data_mean"] = _summary(reconstruction_scores(per_photo({c: data_overall for c in classes}), target, categories))
    if args.model:
        # One model, or the mean of several models' reconstructions (an ensemble, as `eval recon RUN RUN ...`;
        # averaged here rather than with reconstruct_files, which reads photo files, because the renders are in memory).
        totals: dict[str, torch.Tensor] = {}
        resolution = None
        for path in args.model:
            model = load_vae_gan(path, "cpu")
            if resolution is not None and model.config.resolution != resolution:
                raise SystemExit(f"--model {path}: its shapes are {model.config.resolution}^3, the first model's {resolution}^3")
            size, resolution = model.encoder_config.image_size, model.config.resolution
            photos, photo_aspects = load_photos([p.image for p in pairs], size)
            renders, render_aspects = render_photos_with_aspects(from_evaluation_grid(target, resolution), size, torch.Generator().manual_seed(0))
            for name, images, aspects in (("model_on_photos", photos, photo_aspects), ("model_on_renders", renders, render_aspects)):
                shapes = reconstruct(model, images, samples=args.samples, mirror=args.mirror, aspects=aspects, class_prior=args.class_prior)
                totals[name] = shapes if name not in totals else totals[name] + shapes
            del model
        reference, reference_class = [], []
        for k, name in enumerate(classes):
            voxels, _ = builtin_voxels(name, args.count, resolution, seed=0)
            reference.append(torch.from_numpy(voxels).reshape(len(voxels), -1).float())
            reference_class += [k] * len(voxels)
        for name, total in totals.items():
            reconstructions = total / len(args.model)
            predicted = to_evaluation_grid(reconstructions)
            result[name] = _summary(reconstruction_scores(predicted, target, categories))
            nearest = _nearest_class(reconstructions, torch.cat(reference), torch.tensor(reference_class))
            result[name]["class_accuracy"] = round(balanced_class_accuracy([classes[k] for k in nearest.tolist()], categories), 1)
        result["model"] = str(args.model[0]) if len(args.model) == 1 else [str(m) for m in args.model]
        result["posterior_samples"] = args.samples
        result["mirror_average"] = args.mirror
        result["class_prior"] = args.class_prior
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
