"""A 3D shape from a single photo with a trained 3D-VAE-GAN, and the IKEA evaluation.

Usable from Python::

    from shapespace.pipelines.reconstruction import load_vae_gan, load_photos, reconstruct, write_reconstructions
    model = load_vae_gan("runs/vae")
    images, aspects = load_photos(["chair.jpg"], model.encoder_config.image_size)
    shapes = reconstruct(model, images, aspects=aspects)  # (1, R, R, R)
    write_reconstructions(shapes, ["chair.jpg"], "out", formats=("npy", "png", "obj"))

or, from files, with one model or the mean of several (an ensemble)::

    shapes, _ = reconstruct_files(["runs/vae", "runs/vae-2"], ["chair.jpg"])
    # models trained with a class head (`--class-weight`) also name each photo's class:
    found = reconstruct_and_classify_files(["runs/vae"], ["chair.jpg"], class_prior=0.5)

Photos are read with Pillow (any format it opens), converted to RGB (transparent pixels
over white) and resized to the encoder's square input, stretching the longer side the
way the training photos are framed (:mod:`shapespace.rendering.photos`: a crop around the
object stretched to a square). A photo should therefore be cropped around the object.
:func:`load_photos` also gives each photo's aspect ratio before the stretch, which an
encoder with ``crop_aspect`` reads (``model.needs_aspects``).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import NamedTuple, Sequence

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from shapespace.data.ikea import IkeaPair
from shapespace.errors import ConfigError, DataError
from shapespace.io.atomic import write_text_atomic
from shapespace.models.vaegan import ShapeVAEGAN
from shapespace.training.runtime import resolve_device

# Reference rows of docs/paper.md section 3 (AP at 20^3 on the full 937-photo IKEA test set).
PAPER_IKEA_AP = {
    "3D-VAE-GAN, jointly": {"bed": 49.1, "bookcase": 31.9, "chair": 42.6, "desk": 34.8, "sofa": 79.8, "table": 33.1, "mean": 45.2},
    "3D-VAE-GAN, separately": {"bed": 63.2, "bookcase": 46.3, "chair": 47.2, "desk": 40.7, "sofa": 78.8, "table": 42.3, "mean": 53.1},
    "T-L network (Girdhar et al.)": {"bed": 56.3, "bookcase": 30.2, "chair": 32.9, "desk": 25.8, "sofa": 71.7, "table": 23.3, "mean": 40.0},
}
_BATCH = 32


def load_vae_gan(path: str | os.PathLike, device: str = "auto") -> ShapeVAEGAN:
    """Load the 3D-VAE-GAN of a run folder or model folder, in eval mode."""
    from shapespace.models.pretrained import resolve_model_dir

    return ShapeVAEGAN.from_pretrained(resolve_model_dir(path), device=resolve_device(device))


def load_image(path: str | os.PathLike, size: int) -> torch.Tensor:
    """One photo as FloatTensor of shape (3, size, size), RGB in [0, 1] (stretched to the square).

    Raises:
        DataError: naming the file when it is missing, not an image, or truncated.
    """
    return load_photo(path, size)[0]


def load_photo(path: str | os.PathLike, size: int) -> tuple[torch.Tensor, float]:
    """One photo as FloatTensor of shape (3, size, size), RGB in [0, 1], and its aspect
    ratio (width / height) before it was stretched to the square.

    Raises:
        DataError: naming the file when it is missing, not an image, or truncated.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such image file")
    try:
        with Image.open(path) as image:
            image.load()
            aspect = image.size[0] / image.size[1]
            if image.mode.startswith("I;16") or image.mode == "I":
                # 16-bit greyscale: Pillow's conversion to RGB clips at 255 (all white) instead of scaling.
                image = Image.fromarray((np.asarray(image, dtype=np.float64) / 257.0).round().clip(0, 255).astype(np.uint8))
            if image.mode in ("RGBA", "LA", "P"):
                image = image.convert("RGBA")
                canvas = Image.new("RGBA", image.size, (255, 255, 255, 255))
                image = Image.alpha_composite(canvas, image)
            rgb = image.convert("RGB").resize((size, size), Image.Resampling.BICUBIC)
    except UnidentifiedImageError:
        raise DataError(f"{path}: not an image Pillow can read (expected JPEG, PNG, ...)") from None
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise DataError(f"{path}: unreadable or truncated image ({exc})") from None
    return torch.from_numpy(np.asarray(rgb, dtype=np.float32) / 255.0).permute(2, 0, 1).contiguous(), aspect


def load_images(paths: Sequence[str | os.PathLike], size: int) -> torch.Tensor:
    """Photos as FloatTensor of shape (N, 3, size, size), in the order given."""
    return load_photos(paths, size)[0]


def load_photos(paths: Sequence[str | os.PathLike], size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Photos as FloatTensor of shape (N, 3, size, size), in the order given, and their
    aspect ratios before they were stretched to squares, FloatTensor (N,) (what an encoder
    with ``crop_aspect`` reads besides the pictures)."""
    if not paths:
        raise ConfigError("no images given")
    photos = [load_photo(p, size) for p in paths]
    return torch.stack([image for image, _ in photos]), torch.tensor([aspect for _, aspect in photos], dtype=torch.float32)


@torch.no_grad()
def reconstruct(
    model: ShapeVAEGAN,
    images: torch.Tensor,
    batch_size: int = _BATCH,
    progress: bool = False,
    samples: int = 0,
    seed: int = 0,
    mirror: bool = False,
    aspects: torch.Tensor | None = None,
    class_prior: float = 0.0,
    with_classes: bool = False,
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """Shapes for images (N, 3, S, S); ``progress`` shows a progress bar (in images) on stderr.

    ``aspects`` (N,): each photo's width / height before it was stretched to the square
    (:func:`load_photos` gives both); needed when the model's encoder reads it
    (``model.needs_aspects``), ignored otherwise.

    ``samples`` 0 decodes each image's posterior mean. ``samples`` K > 0 averages the
    shapes decoded from K draws of q(z|y) instead: the occupancy the model expects given
    the photo, softer where the photo leaves the shape uncertain. The draws depend on
    ``seed`` and the image's position only, not on ``batch_size`` or the device.

    ``mirror`` also reconstructs each image mirrored left-right and averages the shape with
    that reconstruction's mirror image (flipped along the canonical left-right axis, axis 1):
    a mirrored photo shows the mirrored object, so both estimate the same shape (test-time
    augmentation, at twice the cost; the same draws are used for both).

    ``class_prior`` w > 0 averages each shape with the class head's expected class mean shape,
    weighted w (:meth:`ShapeVAEGAN.reconstruct`); it needs a model trained with a class head.
    With ``mirror`` the decoded shapes and the class probabilities are averaged over the two
    passes first, and the class prior is mixed in once (the class mean shapes are not mirrored).

    ``with_classes`` also returns the class head's probabilities (N, C) from the same encoder
    passes (averaged over the mirror, as the prior uses them), as the encoder's ``forward`` does.

    Returns:
        FloatTensor of shape (N, R, R, R) on the CPU: occupancy probabilities, canonical frame;
        with ``with_classes``, ``(shapes, probabilities)``, the probabilities FloatTensor (N, C)
        on the CPU.
    """
    from tqdm import tqdm

    if samples < 0:
        raise ConfigError(f"`samples` must be 0 (the posterior mean) or a number of draws, got {samples}")
    if not 0.0 <= class_prior <= 1.0:
        raise ConfigError(f"`class_prior` must be in [0, 1], got {class_prior}")
    if class_prior > 0 and not model.classes:
        raise ConfigError("`class_prior` needs a model whose encoder has a class head; train one with a `class_weight` above 0")
    device = next(model.parameters()).device
    model.eval()
    eps = torch.randn(samples, len(images), model.config.latent_dim, generator=torch.Generator().manual_seed(seed)) if samples else None
    if with_classes and not model.classes:
        raise ConfigError("`with_classes` needs a model whose encoder has a class head; train one with a `class_weight` above 0")
    classified = with_classes or class_prior > 0
    out, named = [], []
    bar = tqdm(total=len(images), desc="reconstructing", unit="image", disable=not progress, leave=False, file=sys.stderr, dynamic_ncols=True)
    with bar:
        for start in range(0, len(images), batch_size):
            chunk = images[start : start + batch_size].to(device)
            noise = None if eps is None else eps[:, start : start + len(chunk)].to(device)
            ratios = None if aspects is None else aspects[start : start + len(chunk)]
            if not classified:
                shapes = model.reconstruct(chunk, noise, ratios)[:, 0].float()
                if mirror:  # (B, R, R, R): dim 2 is the grid's axis 1, left-right; a mirror keeps the aspect
                    shapes = 0.5 * (shapes + model.reconstruct(chunk.flip(-1), noise, ratios)[:, 0].float().flip(2))
            else:  # the decoded shapes (and class probabilities) averaged over the mirror first, then the prior once
                shapes, probabilities = model.reconstruct_with_classes(chunk, noise, ratios)
                if mirror:
                    flipped, flipped_probabilities = model.reconstruct_with_classes(chunk.flip(-1), noise, ratios)
                    shapes, probabilities = 0.5 * (shapes + flipped.flip(3)), 0.5 * (probabilities + flipped_probabilities)
                shapes = (model.with_class_prior(shapes, probabilities, class_prior) if class_prior > 0 else shapes.float())[:, 0]
                named.append(probabilities.float().cpu())
            out.append(shapes.cpu())
            bar.update(len(chunk))
    return (torch.cat(out), torch.cat(named)) if with_classes else torch.cat(out)


def reconstruct_files(
    checkpoints: Sequence[str | os.PathLike],
    image_paths: Sequence[str | os.PathLike],
    device: str = "auto",
    progress: bool = False,
    samples: int = 0,
    mirror: bool = False,
    class_prior: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Shapes for photo files from one trained 3D-VAE-GAN, or the mean of several (an ensemble).

    Each model reads the photos at its own encoder's input size (:func:`load_photos`) and
    reconstructs them as :func:`reconstruct` does with ``samples``, ``mirror`` and ``class_prior``; the shapes
    are averaged over the models, one model in memory at a time. Models trained on other
    pictures make other errors, and their mean can score above either (docs/backbone.md,
    "Ensembles"); two seeds of one recipe gained nothing there.

    Returns:
        ``(shapes, mean_shape)``: FloatTensor (N, R, R, R), occupancy probabilities, canonical
        frame, and the mean of the models' mean training shapes, FloatTensor (R, R, R), on the CPU.

    Raises:
        ConfigError: no model given, or models whose generators' grids differ (naming them).
    """
    result = _reconstruct_files(checkpoints, image_paths, device, progress, samples, mirror, class_prior, with_classes=False)
    return result.shapes, result.mean_shape


class ClassifiedReconstructions(NamedTuple):
    """:func:`reconstruct_and_classify_files`'s result, on the CPU."""

    shapes: torch.Tensor  # (N, R, R, R) occupancy probabilities, canonical frame
    mean_shape: torch.Tensor  # (R, R, R) the mean of the models' mean training shapes
    probabilities: torch.Tensor  # (N, C) the class heads' probabilities, averaged over the models
    classes: tuple[str, ...]  # the C class names, in the order of ``probabilities``


def reconstruct_and_classify_files(
    checkpoints: Sequence[str | os.PathLike],
    image_paths: Sequence[str | os.PathLike],
    device: str = "auto",
    progress: bool = False,
    samples: int = 0,
    mirror: bool = False,
    class_prior: float = 0.0,
) -> ClassifiedReconstructions:
    """:func:`reconstruct_files`, plus each photo's class as the models' class heads name it,
    from the same encoder passes (with ``mirror``, the probabilities are averaged over the
    photo and its mirror image, as the class prior uses them).

    Raises:
        ConfigError: as :func:`reconstruct_files`; also a model without a class head, or
            models whose class heads name other classes (naming the model).
    """
    return _reconstruct_files(checkpoints, image_paths, device, progress, samples, mirror, class_prior, with_classes=True)


def _reconstruct_files(
    checkpoints: Sequence[str | os.PathLike],
    image_paths: Sequence[str | os.PathLike],
    device: str,
    progress: bool,
    samples: int,
    mirror: bool,
    class_prior: float,
    with_classes: bool,
) -> ClassifiedReconstructions:
    from shapespace.models.gan import read_model_config
    from shapespace.models.pretrained import resolve_model_dir

    if not checkpoints:
        raise ConfigError("no model given: give a run or model folder of a trained 3D-VAE-GAN")
    # The grids are compared before any work: an ensemble averages shapes of one size.
    grids = [read_model_config(resolve_model_dir(path)).resolution for path in checkpoints]
    for path, resolution in zip(checkpoints, grids):
        if resolution != grids[0]:
            raise ConfigError(f"model {path}: its shapes are {resolution}^3 but those of {checkpoints[0]} are {grids[0]}^3; an ensemble averages shapes of one size")
    photos: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}  # by input size: models may differ
    total, mean_shape, total_probabilities, classes = None, None, None, None
    for path in checkpoints:
        model = load_vae_gan(path, device)
        if (class_prior > 0 or with_classes) and not model.classes:
            what = "`class_prior`" if class_prior > 0 else "naming the class"
            raise ConfigError(f"model {path}: {what} needs a class head, which its encoder lacks; train one with a `class_weight` above 0")
        if with_classes and classes is not None and model.classes != classes:
            raise ConfigError(f"model {path}: its class head names {', '.join(model.classes)}, not {', '.join(classes)}")
        classes = model.classes if with_classes else None
        size = model.encoder_config.image_size
        if size not in photos:
            photos[size] = load_photos(image_paths, size)
        images, aspects = photos[size]
        found = reconstruct(
            model, images, progress=progress, samples=samples, mirror=mirror, aspects=aspects, class_prior=class_prior, with_classes=with_classes
        )
        shapes, probabilities = found if with_classes else (found, None)
        mean = model.mean_shape.float().cpu()
        total = shapes if total is None else total + shapes
        mean_shape = mean if mean_shape is None else mean_shape + mean
        if with_classes:
            total_probabilities = probabilities if total_probabilities is None else total_probabilities + probabilities
        del model
    n = len(checkpoints)
    return ClassifiedReconstructions(total / n, mean_shape / n, None if total_probabilities is None else total_probabilities / n, classes)


def has_class_head(path: str | os.PathLike) -> bool:
    """Whether the 3D-VAE-GAN at ``path`` (a run or model folder) has a class head (read from its config)."""
    from shapespace.models.pretrained import read_model_meta, resolve_model_dir

    return bool(read_model_meta(resolve_model_dir(path)).get("encoder", {}).get("classes"))


def balanced_class_accuracy(predicted: Sequence[str], truth: Sequence[str]) -> float:
    """The mean over the true classes of the share predicted right, in percent (chance: 100 / classes)."""
    shares = [np.mean([p == c for p, t in zip(predicted, truth) if t == c]) for c in sorted(set(truth))]
    return float(100 * np.mean(shares))


def write_reconstructions(
    shapes: torch.Tensor,
    image_paths: Sequence[str | os.PathLike],
    out_dir: str | os.PathLike,
    formats: Sequence[str] = ("npy", "png", "obj"),
    threshold: float = 0.5,
) -> dict[str, list[str]]:
    """Write ``reconstructions.npy`` (N, R, R, R) float32, ``reconstructions.png`` (each photo
    beside a picture of its shape) and ``reconstruction_NNN.<mesh>`` files; returns paths by format."""
    from shapespace.pipelines.sampling import parse_formats, write_shapes
    from shapespace.rendering.figures import image_mosaic, save_png
    from shapespace.rendering.preview import render_voxels

    formats = parse_formats(formats)
    out_dir = Path(out_dir)
    written = write_shapes(shapes, out_dir, [f for f in formats if f != "png"], name="reconstruction") if set(formats) - {"png"} else {}
    if "npy" in written:  # the documented name: reconstructions.npy
        target = out_dir / "reconstructions.npy"
        os.replace(written["npy"][0], target)
        written["npy"] = [str(target)]
    if "png" in formats:
        size = 160
        tiles = []
        shape_pictures = render_voxels(shapes, size=size, threshold=threshold)
        for path, picture in zip(image_paths, shape_pictures):
            photo = load_image(path, size)
            tiles += [(photo.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8), picture]
        labels = [text for p in image_paths for text in (Path(p).name, "reconstruction")]
        grid = image_mosaic(np.stack(tiles), ncols=min(4, len(tiles)), labels=labels)
        written["png"] = [str(save_png(grid, out_dir / "reconstructions.png"))]
    return written


def load_ikea_targets(ikea_dir: str | os.PathLike) -> tuple[list[IkeaPair], torch.Tensor]:
    """The photo/model pairs of an IKEA folder and their ground truth.

    Returns:
        ``(pairs, target)``: the :class:`~shapespace.data.ikea.IkeaPair` list in list order and a
        ByteTensor of shape (N, 20, 20, 20), {0, 1}, canonical frame, the object's longest side
        spanning the grid (as stored); each model file is read once.
    """
    from shapespace.data.ikea import ikea_pairs
    from shapespace.geometry.voxelize import VoxelizeOptions
    from shapespace.io.registry import read_shape
    from shapespace.metrics.reconstruction import IKEA_RESOLUTION

    pairs = ikea_pairs(ikea_dir)
    if not pairs:
        raise DataError(f"{ikea_dir}: the IKEA lists name no photos")
    options = VoxelizeOptions(resolution=IKEA_RESOLUTION, fill=1.0)  # IKEA grids span the whole grid
    models: dict[Path, torch.Tensor] = {}
    for pair in pairs:
        if pair.model not in models:
            models[pair.model] = torch.from_numpy(read_shape(pair.model, options))
    return pairs, torch.stack([models[p.model] for p in pairs]).to(torch.uint8)


def parse_class_models(specs: Sequence[str | os.PathLike]) -> str | os.PathLike | list[str] | dict[str, str]:
    """``eval recon``'s model arguments: one run or model folder; several, an ensemble whose
    reconstructions are averaged -> a list; or ``CLASS=RUN`` items, one model per class (the
    paper's "separately" row) -> ``{class: run}``.

    An argument that names an existing folder is that folder, ``=`` or not.

    Raises:
        ConfigError: naming the item: no model, ``CLASS=RUN`` mixed with plain folders, a
            class given twice, or an empty class or folder.
    """
    if not specs:
        raise ConfigError("no model given: give a run or model folder, several (an ensemble), or CLASS=RUN items")
    plain = ["=" not in str(spec) or Path(spec).exists() for spec in specs]
    if all(plain):
        return specs[0] if len(specs) == 1 else [str(spec) for spec in specs]
    models: dict[str, str] = {}
    for spec, is_folder in zip(map(str, specs), plain):
        if is_folder:
            raise ConfigError(
                f"model {spec!r}: give every model as CLASS=RUN (one model per class, e.g. chair=runs/vae-chair), "
                "or none (one model, or several averaged)"
            )
        name, _, path = spec.partition("=")
        name, path = name.strip(), path.strip()
        if not name or not path:
            raise ConfigError(f"model {spec!r}: the class or the folder is empty; expected CLASS=RUN (e.g. chair=runs/vae-chair)")
        if name in models:
            raise ConfigError(f"model {spec!r}: class {name!r} has a model already ({models[name]})")
        models[name] = path
    return models


def evaluate_ikea(
    checkpoint: str | os.PathLike | list[str | os.PathLike] | tuple[str | os.PathLike, ...] | dict[str, str | os.PathLike],
    ikea_dir: str | os.PathLike,
    device: str = "auto",
    threshold: float = 0.5,
    out: str | os.PathLike | None = None,
    progress: bool = False,
    samples: int = 0,
    mirror: bool = False,
    class_prior: float = 0.0,
) -> dict:
    """The paper's IKEA protocol for a 3D-VAE-GAN (or several) and the mean-training-shape baseline.

    Every photo of ``ikea_dir`` (either IKEA layout, :mod:`shapespace.data.ikea`) is
    reconstructed (:func:`reconstruct` with ``samples``, ``mirror`` and ``class_prior``); predictions and ground truth are
    compared at 20^3 as described in :mod:`shapespace.metrics.reconstruction`. Returns (and
    writes to ``out`` as JSON) ``{"model": table, "baseline_mean_shape": table, "paper": ...,
    ...}``. ``progress`` shows the reconstruction's progress bar on stderr.

    ``checkpoint`` may be a list of runs, an ensemble (:func:`reconstruct_files`): each
    photo's shape is the mean of their reconstructions, and the baseline the mean of their
    mean training shapes. It may be ``{class: run}``, one model per class (the paper's
    "separately" row): the photos of each class given are reconstructed by that class's
    model, the baseline predicts that model's mean training shape, and photos of other
    classes are left out (the means are over the classes given).

    When the model, or every model of an ensemble, has a class head (not with one model per
    class), ``"encoder_class"`` gives how often the class it names (the most probable; the
    mean probabilities over an ensemble, and with ``mirror`` over the photo and its mirror
    image) is the photo's, from the reconstruction's own encoder passes: ``{"balanced_accuracy": percent,
    "per_class": {class: percent}}``; photos of a class the head does not know count as wrong.

    Raises:
        ConfigError: an empty ``{}`` or ``[]``, a class given that no photo of ``ikea_dir``
            shows, or an ensemble of models whose shapes differ in size.
    """
    from shapespace.metrics.reconstruction import IKEA_RESOLUTION, reconstruction_scores, to_evaluation_grid

    pairs, target = load_ikea_targets(ikea_dir)
    per_class = isinstance(checkpoint, dict)
    ensemble = isinstance(checkpoint, (list, tuple))
    if per_class and not checkpoint:
        raise ConfigError("no model given: one model per class needs at least one CLASS=RUN")
    if ensemble and not checkpoint:
        raise ConfigError("no model given: an ensemble needs at least one run")
    # Each group of photos (a class, or None: all) and the models whose mean reconstructs it.
    models = {name: [path] for name, path in checkpoint.items()} if per_class else {None: list(checkpoint) if ensemble else [checkpoint]}
    if per_class:
        present = sorted({p.category for p in pairs})
        unknown = sorted(set(models) - set(present))
        if unknown:
            raise ConfigError(f"model for class {', '.join(unknown)}: no photo of {ikea_dir} shows one; its classes are {', '.join(present)}")
        kept = [i for i, p in enumerate(pairs) if p.category in models]
        pairs, target = [pairs[i] for i in kept], target[kept]
    predicted = torch.zeros(target.shape)
    baseline = torch.zeros(target.shape)
    # The class the heads name is reported for one model or an ensemble whose models all have one.
    with_classes = not per_class and all(has_class_head(path) for path in models[None])
    named = None
    for name, paths in models.items():
        rows = [i for i, p in enumerate(pairs) if name is None or p.category == name]
        found = _reconstruct_files(
            paths, [pairs[i].image for i in rows], device, progress, samples, mirror, class_prior, with_classes=with_classes
        )
        predicted[rows] = to_evaluation_grid(found.shapes)
        baseline[rows] = to_evaluation_grid(found.mean_shape[None])
        if with_classes:
            named = [found.classes[i] for i in found.probabilities.argmax(1).tolist()]
    categories = [p.category for p in pairs]
    result = {
        "checkpoint": (
            {name: str(paths[0]) for name, paths in models.items()} if per_class else [str(p) for p in checkpoint] if ensemble else str(checkpoint)
        ),
        "one_model_per_class": per_class,
        "ensemble": ensemble,
        "ikea": str(ikea_dir),
        "images": len(pairs),
        "models": len({p.model for p in pairs}),
        "resolution": IKEA_RESOLUTION,
        "iou_threshold": threshold,
        "posterior_samples": samples,
        "mirror_average": mirror,
        "class_prior": class_prior,
        "model": reconstruction_scores(predicted, target, categories, threshold),
        "baseline_mean_shape": reconstruction_scores(baseline, target, categories, threshold),
        "paper_ap_full_ikea": PAPER_IKEA_AP,
        "notes": (
            "AP and IoU in percent at 20^3; means over classes. best_rotation: the quarter turn about "
            "the up axis with the highest AP per image (uses the ground truth; IKEA models face different ways). "
            "The paper's rows are on the full 937-photo set."
            + (" One model per class: each class's photos go to its model; the baseline is that model's mean training shape." if per_class else "")
            + (" An ensemble: each photo's shape is the mean of the models' reconstructions; the baseline the mean of their mean training shapes." if ensemble else "")
        ),
    }
    if named is not None:
        right = {c: float(100 * np.mean([n == t for n, t in zip(named, categories) if t == c])) for c in sorted(set(categories))}
        result["encoder_class"] = {"balanced_accuracy": balanced_class_accuracy(named, categories), "per_class": right}
    if out is not None:
        write_text_atomic(Path(out), json.dumps(result, indent=2) + "\n")
    return result


def format_ikea_table(result: dict) -> str:
    """A plain-text table of :func:`evaluate_ikea`'s result, with the paper's rows (their means
    over the classes shown, which for all six are the paper's means; nan where a class shown
    has no number in the paper)."""
    classes = sorted(result["model"]["per_class"])
    separately = result.get("one_model_per_class", False)
    model_row = f"{len(result['checkpoint'])} models averaged" if result.get("ensemble", False) else "model"
    if result.get("class_prior", 0):
        model_row += f", class prior {result['class_prior']:g}"
    rows = (("models, one per class", "model"), ("class's mean training shape", "baseline_mean_shape")) if separately else (
        (model_row, "model"), ("mean training shape", "baseline_mean_shape"))  # fmt: skip
    metrics = ("ap", "ap_best_rotation", "iou", "iou_best_rotation")
    labelled = [(f"{name} {metric}", result[key]["per_class"], result[key]["mean"][metric], metric) for name, key in rows for metric in metrics]
    for name, row in result["paper_ap_full_ikea"].items():
        cells = {c: {"ap": row.get(c, float("nan"))} for c in classes}  # nan: a class the paper has no number for
        labelled.append((f"paper {name} ap", cells, float(np.mean([cell["ap"] for cell in cells.values()])), "ap"))
    width = max(40, max(len(label) for label, *_ in labelled) + 1)
    lines = [f"IKEA ({result['images']} photos), AP / IoU at 20^3 in percent", f"{'':{width}}" + "".join(f"{c:>9}" for c in classes) + f"{'mean':>9}"]
    for label, per_class, mean, metric in labelled:
        lines.append(f"{label:{width}}" + "".join(f"{per_class[c][metric]:9.1f}" for c in classes) + f"{mean:9.1f}")
    if "encoder_class" in result:
        named = result["encoder_class"]
        label = "class named by the encoder, % right"
        lines.append(f"{label:{width}}" + "".join(f"{named['per_class'][c]:9.1f}" for c in classes) + f"{named['balanced_accuracy']:9.1f}")
    return "\n".join(lines)
