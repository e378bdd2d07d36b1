"""The functions behind the web demo's tabs, free of Gradio, so that they run without a browser.

One :class:`DemoModel` holds the model, loaded once and shared by every visitor (its calls
take a lock, so two requests never run it at once), and the app's own temporary folder.
Every request writes its files into a new sub-folder of it, each file atomically
(:mod:`shapespace.io.atomic`); only the newest ``WebLimits.kept_requests`` sub-folders are
kept. Uploads are checked (:class:`WebLimits`) before anything reads them.

Bad input raises a :class:`~shapespace.errors.ShapespaceError` whose message names the
parameter at fault in backticks (``seed``, ``count``, ``photo``, ...); the page shows it in
the words of its controls (:mod:`shapespace.web.app`).

Meshes are written as ``shapespace sample`` writes them (:func:`shapespace.io.meshes.write_mesh`):
OBJ and PLY in shapespace's world frame (z up, front facing -x), the GLB file, which the
page's 3D view shows, in glTF's own frame (y up, front facing +z) so that glTF viewers
stand the shape upright.
"""

from __future__ import annotations

import itertools
import math
import os
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from shapespace.errors import ConfigError, DataError
from shapespace.geometry.mesh import voxels_to_mesh
from shapespace.io.atomic import atomic_path
from shapespace.io.meshes import write_mesh
from shapespace.models.gan import ShapeGAN
from shapespace.models.pretrained import VAE_GAN_MODEL_TYPE
from shapespace.models.prior import latents_for_seeds
from shapespace.models.vaegan import ShapeVAEGAN
from shapespace.pipelines.experiments import latents_for
from shapespace.pipelines.model_card import ModelCard, read_model_card
from shapespace.pipelines.reconstruction import load_photo, load_vae_gan, reconstruct
from shapespace.pipelines.sampling import interpolate_shapes, load_gan, sample_shapes
from shapespace.rendering.figures import render_mosaic, save_png
from shapespace.rendering.preview import render_voxels

# Pictures: tile size of the sample mosaic and of the interpolation strip, and of the
# reconstruction's picture; the encoder's view is enlarged (nearest neighbour) to at least this.
TILE_SIZE = 160
PICTURE_SIZE = 320
MIN_VIEW_SIZE = 256
MESH_DOWNLOADS = ("glb", "obj", "ply")
# The pictures' blue-grey (rendering/preview.py), darker: the 3D view's even, bright
# environment light washes the pictures' own colour out to near white. RGBA, 0-255, linear.
GLB_COLOR = (50, 75, 140, 255)
NO_ENCODER = (
    "This model is a 3D-GAN: it has no image encoder, so it cannot reconstruct shapes from photos. "
    "Serve a 3D-VAE-GAN (`shapespace train vae-gan`) for this tab."
)


@dataclass(frozen=True)
class WebLimits:
    """What one request may ask for.

    Attributes:
        max_upload_bytes: largest uploaded file (photo or shape file).
        max_image_side: largest width or height of an uploaded photo, in pixels.
        max_samples: most shapes per sample request.
        max_steps: most shapes along an interpolation.
        max_fit_steps: most optimisation steps when fitting a latent to an uploaded shape.
        kept_requests: request folders kept in the app's folder before the oldest are deleted.
    """

    max_upload_bytes: int = 10 * 2**20
    max_image_side: int = 4096
    max_samples: int = 16
    max_steps: int = 16
    max_fit_steps: int = 300
    kept_requests: int = 256


class DemoModel:
    """One model served to every visitor, and the folder its results are written into.

    Args:
        model: a :class:`~shapespace.models.gan.ShapeGAN` or :class:`~shapespace.models.vaegan.ShapeVAEGAN`
            in eval mode.
        card: what is known about it (:func:`~shapespace.pipelines.model_card.read_model_card`).
        folder: the app's own folder (created if missing); results go into sub-folders.
        limits: what a request may ask for.
    """

    def __init__(self, model: ShapeGAN, card: ModelCard, folder: str | os.PathLike, limits: WebLimits = WebLimits()) -> None:
        self.model = model.eval()
        self.card = card
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.limits = limits
        self.lock = threading.Lock()
        self._requests = itertools.count()
        self._folders: list[Path] = []
        self._folders_lock = threading.Lock()

    @classmethod
    def load(cls, path: str | os.PathLike, folder: str | os.PathLike, device: str = "auto", limits: WebLimits = WebLimits()) -> "DemoModel":
        """Load the model of a run, model or ``shapespace demo`` output folder onto ``device``.

        Raises:
            CheckpointError: naming ``path`` when it holds no readable model.
        """
        card = read_model_card(path)
        if card.model_type == VAE_GAN_MODEL_TYPE:
            model: ShapeGAN = load_vae_gan(card.location.model_dir, device=device)
        else:
            model = load_gan(card.location.model_dir, device=device)
        return cls(model, card, folder, limits)

    @property
    def has_encoder(self) -> bool:
        return isinstance(self.model, ShapeVAEGAN)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def parameter_counts(self) -> dict[str, int]:
        """Parameters per network: ``{"G": ..., "D": ...}`` (and ``"E"`` for the encoder); an
        encoder's frozen ImageNet backbone is counted apart, as ``"E's frozen backbone"``."""
        parts = {"G": self.model.generator, "D": self.model.discriminator}
        if isinstance(self.model, ShapeVAEGAN):
            parts["E"] = self.model.encoder
        counts = {name: sum(p.numel() for p in part.parameters() if p.requires_grad) for name, part in parts.items()}
        if isinstance(self.model, ShapeVAEGAN):
            frozen = sum(p.numel() for p in self.model.encoder.parameters() if not p.requires_grad)
            if frozen:
                counts["E's frozen backbone"] = frozen
        return counts

    def request_folder(self, kind: str) -> Path:
        """A new, empty folder for one request's files; the oldest beyond ``kept_requests`` go."""
        with self._folders_lock:
            folder = self.folder / f"{next(self._requests):06d}-{kind}"
            folder.mkdir(parents=True)
            self._folders.append(folder)
            while len(self._folders) > self.limits.kept_requests:
                shutil.rmtree(self._folders.pop(0), ignore_errors=True)
        return folder


# -- results ------------------------------------------------------------------------------


@dataclass(frozen=True)
class MeshFiles:
    """One shape's surface as files.

    Attributes:
        view: the GLB file for a 3D view (glTF frame), or None when nothing reaches the threshold.
        downloads: GLB, OBJ and PLY files (empty when nothing reaches the threshold).
        faces: the surface's triangle count.
    """

    view: Path | None
    downloads: tuple[Path, ...]
    faces: int


@dataclass(frozen=True)
class ShapeSet:
    """Shapes one request made, kept for the requests that follow (another threshold, another shape).

    Attributes:
        shapes: an ``.npy`` file of FloatArray (N, R, R, R), occupancy probabilities, canonical frame.
        name: the stem of the files made from them, e.g. ``"seed7"``.
        what: what the shapes are, for messages, e.g. ``"16 samples of seed 7"``.
        ncols: pictures per row in their picture.
    """

    shapes: Path
    name: str
    what: str
    ncols: int


@dataclass(frozen=True)
class ShapeView:
    """One shape of a set as meshes.

    Attributes:
        index: which shape.
        meshes: its files.
        status: one line saying what is shown.
    """

    index: int
    meshes: MeshFiles
    status: str


@dataclass(frozen=True)
class ShapesResult:
    """A picture of a set of shapes, and one of them as meshes.

    Attributes:
        shape_set: the shapes.
        picture: PNG of all of them, labelled by index.
        index: the shape shown in 3D.
        meshes: its files.
        count: how many shapes there are.
        status: one line saying what is shown.
    """

    shape_set: ShapeSet
    picture: Path
    index: int
    meshes: MeshFiles
    count: int
    status: str


@dataclass(frozen=True)
class ReconstructionResult:
    """A photo's reconstruction.

    Attributes:
        encoder_view: PNG of the photo as the encoder sees it (resized to its square input,
            enlarged by a whole factor to at least :data:`MIN_VIEW_SIZE` pixels).
        picture: PNG of the reconstructed shape, shaded.
        meshes: its files.
        status: one line saying what is shown.
        classes: the class head's probability of each class, most probable first; empty
            for a model without a class head.
    """

    encoder_view: Path
    picture: Path
    meshes: MeshFiles
    status: str
    classes: dict[str, float] = field(default_factory=dict)


# -- the tabs -------------------------------------------------------------------------------


def sample(demo: DemoModel, seed: int, count: int, threshold: float, index: int = 0) -> ShapesResult:
    """``count`` shapes from the prior with ``seed``: a picture of all, shape ``index`` as meshes."""
    seed = _whole(seed, "seed", 0, 2**63 - 1)
    count = _whole(count, "count", 1, demo.limits.max_samples)
    threshold = check_threshold(threshold)
    folder = demo.request_folder("sample")
    with demo.lock, torch.inference_mode():
        shapes = sample_shapes(demo.model, count, seed=seed).numpy()
    what = f"{count} sample{'s' if count > 1 else ''} of seed {seed}"
    shape_set = _save_shapes(shapes, ShapeSet(folder / f"seed{seed}.npy", f"seed{seed}", what, math.ceil(math.sqrt(count))))
    return _show(shapes, shape_set, folder, threshold, min(_whole(index, "index", 0, 2**31), count - 1))


def interpolate(
    demo: DemoModel,
    steps: int,
    threshold: float,
    seeds: Sequence[int] | None = None,
    shape_files: Sequence[str | os.PathLike] | None = None,
    fit_steps: int = 100,
    index: int = 0,
) -> ShapesResult:
    """Shapes along the line between two latents, from two ``seeds`` or two uploaded
    ``shape_files`` (their latents fitted with ``fit_steps`` optimisation steps)."""
    steps = _whole(steps, "steps", 2, demo.limits.max_steps)
    threshold = check_threshold(threshold)
    folder = demo.request_folder("interpolate")
    if shape_files is not None:
        files = [check_upload(path, demo.limits, "shape_files") for path in shape_files]
        if len(files) != 2:
            raise DataError(f"`shape_files`: upload two shape files (got {len(files)}), or remove them to use the seeds")
        fit_steps = _whole(fit_steps, "fit_steps", 1, demo.limits.max_fit_steps)
        with demo.lock:  # fitting a latent needs gradients: no inference mode here
            try:
                z = latents_for(demo.model, shapes=files, steps=fit_steps)
            except DataError as exc:
                raise DataError(f"`shape_files`: {_short_names(str(exc), files)}") from None
        name, what = "shapes", f"{steps} shapes from {files[0].name} to {files[1].name}"
    else:
        if seeds is None or len(seeds) != 2:
            raise ConfigError("`seeds`: give two seeds")
        a, b = (_whole(seed, "seeds", 0, 2**63 - 1) for seed in seeds)
        z = latents_for_seeds(demo.model.config, [a, b], demo.device)
        name, what = f"seed{a}-seed{b}", f"{steps} shapes from seed {a} to seed {b}"
    with demo.lock, torch.inference_mode():
        shapes = interpolate_shapes(demo.model, z[0], z[1], steps=steps).numpy()
    shape_set = _save_shapes(shapes, ShapeSet(folder / f"{name}.npy", name, what, steps))
    return _show(shapes, shape_set, folder, threshold, min(_whole(index, "index", 0, 2**31), steps - 1))


def redraw(demo: DemoModel, shape_set: ShapeSet | None, threshold: float, index: int) -> ShapesResult:
    """The picture and shape ``index`` of earlier shapes again, at another ``threshold``."""
    threshold = check_threshold(threshold)
    shapes = load_shape_set(demo, shape_set)
    index = _whole(index, "index", 0, len(shapes) - 1)
    folder = demo.request_folder("redraw")
    return _show(shapes, shape_set, folder, threshold, index)


def show_shape(demo: DemoModel, shape_set: ShapeSet | None, index: int, threshold: float) -> ShapeView:
    """Shape ``index`` of earlier shapes as meshes at ``threshold``."""
    threshold = check_threshold(threshold)
    shapes = load_shape_set(demo, shape_set)
    index = _whole(index, "index", 0, len(shapes) - 1)
    meshes = write_meshes(shapes[index], demo.request_folder("mesh"), f"{shape_set.name}_{index:02d}", threshold)
    return ShapeView(index, meshes, _status(shape_set, index, meshes, threshold))


def reconstruct_photo(demo: DemoModel, photo: str | os.PathLike | None, threshold: float, class_prior: float = 0.0) -> ReconstructionResult:
    """The shape a 3D-VAE-GAN's encoder and generator make of one uploaded photo.

    For a model with a class head (trained with ``--class-weight``) the result also names
    the photo's class, and ``class_prior`` w mixes the expected class mean shape into the
    shape at weight w (:meth:`~shapespace.models.vaegan.ShapeVAEGAN.reconstruct`).
    """
    if not demo.has_encoder:
        raise ConfigError(NO_ENCODER)
    threshold = check_threshold(threshold)
    class_prior = check_class_prior(demo, class_prior)
    if photo is None:
        raise DataError("`photo`: upload a photo first")
    path = check_photo(photo, demo.limits)
    size = demo.model.encoder_config.image_size
    try:
        image, aspect = load_photo(path, size)  # (3, S, S) in [0, 1], width / height
    except DataError as exc:
        raise DataError(f"`photo`: {_short_names(str(exc), [path])}") from None
    classes: dict[str, float] = {}
    with demo.lock, torch.inference_mode():
        aspects = torch.tensor([aspect])
        shape = reconstruct(demo.model, image[None], aspects=aspects, class_prior=class_prior)[0].numpy()  # (R, R, R)
        if demo.model.classes:
            probabilities = demo.model.classify(image[None], aspects)[0].tolist()
            classes = dict(sorted(zip(demo.model.classes, probabilities), key=lambda item: -item[1]))
    folder = demo.request_folder("reconstruct")
    factor = max(1, math.ceil(MIN_VIEW_SIZE / size))
    view = (image.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8).repeat(factor, 0).repeat(factor, 1)
    encoder_view = save_png(view, folder / "encoder_input.png")
    picture = save_png(render_voxels(shape, size=PICTURE_SIZE, threshold=threshold), folder / "reconstruction.png")
    meshes = write_meshes(shape, folder, f"{Path(path).stem}_reconstruction", threshold)
    seen = f"{path.name}: the encoder sees it at {size} x {size} pixels"
    if classes:
        name, probability = next(iter(classes.items()))
        seen += f"; class head: {name} ({100 * probability:.0f}%), class prior {class_prior:g}"
    return ReconstructionResult(encoder_view, picture, meshes, f"{seen}; " + _mesh_words(meshes, threshold), classes)


# -- checks ---------------------------------------------------------------------------------


def check_class_prior(demo: DemoModel, class_prior: float) -> float:
    """``class_prior`` as a float in [0, 1]; above 0 only for a model with a class head."""
    if isinstance(class_prior, bool) or not isinstance(class_prior, (int, float)) or not 0.0 <= class_prior <= 1.0:
        raise ConfigError(f"`class_prior` must be a number in [0, 1], got {class_prior!r}")
    if class_prior > 0 and not demo.model.classes:
        raise ConfigError("`class_prior`: this model's encoder has no class head (train one with --class-weight); set it to 0")
    return float(class_prior)


def check_threshold(threshold: float) -> float:
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0.0 < threshold < 1.0:
        raise ConfigError(f"`threshold` must be a number in (0, 1), got {threshold!r}")
    return float(threshold)


def check_upload(path: str | os.PathLike, limits: WebLimits, parameter: str) -> Path:
    """An uploaded file that exists and is no larger than ``limits.max_upload_bytes``."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"`{parameter}`: {path.name} was not received; upload it again")
    size = path.stat().st_size
    if size > limits.max_upload_bytes:
        raise DataError(f"`{parameter}`: {path.name} is {size_words(size)}, more than the limit of {size_words(limits.max_upload_bytes)}")
    return path


def size_words(count: int) -> str:
    """A file size for people: ``"800 bytes"``, ``"12 KB"``, ``"10 MB"`` (1 KB = 1024 bytes)."""
    for unit, scale in (("MB", 2**20), ("KB", 2**10)):
        if count >= scale:
            return f"{count / scale:.3g} {unit}"
    return f"{count} byte{'' if count == 1 else 's'}"


def check_photo(path: str | os.PathLike, limits: WebLimits) -> Path:
    """An uploaded photo within the limits, checked from its header before it is decoded.

    Raises:
        DataError: naming ``photo``, the file and what is wrong (too big, not an image, too many pixels).
    """
    path = check_upload(path, limits, "photo")
    try:
        with Image.open(path) as image:
            width, height = image.size
    except UnidentifiedImageError:
        raise DataError(f"`photo`: {path.name} is not an image (expected a JPEG, PNG, WebP, BMP, GIF or TIFF photo)") from None
    except Image.DecompressionBombError:
        raise DataError(f"`photo`: {path.name} has far too many pixels (the limit is {limits.max_image_side} x {limits.max_image_side})") from None
    except (OSError, ValueError) as exc:
        raise DataError(f"`photo`: {path.name} is not a readable image ({exc})") from None
    if max(width, height) > limits.max_image_side:
        raise DataError(f"`photo`: {path.name} is {width} x {height} pixels; the limit is {limits.max_image_side} x {limits.max_image_side}")
    return path


def load_shape_set(demo: DemoModel, shape_set: ShapeSet | None) -> np.ndarray:
    """The shapes of an earlier request: FloatArray (N, R, R, R)."""
    if shape_set is None:
        raise DataError("no shapes yet: make some first")
    path = Path(shape_set.shapes)
    if demo.folder.resolve() not in path.resolve().parents:
        raise DataError(f"{path.name}: not a file of this app")
    if not path.is_file():
        raise DataError("these shapes are no longer kept: make them again")
    return np.load(path, allow_pickle=False)


# -- files ----------------------------------------------------------------------------------


def write_meshes(volume: np.ndarray, folder: Path, name: str, threshold: float) -> MeshFiles:
    """The ``threshold`` surface of one grid (R, R, R) as ``name.glb`` (glTF frame), ``.obj`` and ``.ply``."""
    mesh = voxels_to_mesh(volume, threshold)
    if len(mesh.faces) == 0:
        return MeshFiles(None, (), 0)
    glb = folder / f"{name}.glb"
    write_mesh(coloured(mesh), glb)  # in glTF's frame, with vertex normals (write_mesh)
    files = [glb] + [write_mesh(mesh, folder / f"{name}.{fmt}") for fmt in MESH_DOWNLOADS if fmt != "glb"]
    return MeshFiles(glb, tuple(files), len(mesh.faces))


def coloured(mesh: Any) -> Any:
    """A copy of ``mesh`` with the pictures' colour as its material."""
    import trimesh

    painted = mesh.copy()
    material = trimesh.visual.material.PBRMaterial(baseColorFactor=GLB_COLOR, metallicFactor=0.0, roughnessFactor=1.0)
    painted.visual = trimesh.visual.TextureVisuals(material=material)
    return painted


def _save_shapes(shapes: np.ndarray, shape_set: ShapeSet) -> ShapeSet:
    with atomic_path(shape_set.shapes) as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, shapes.astype(np.float32))
    return shape_set


def _show(shapes: np.ndarray, shape_set: ShapeSet, folder: Path, threshold: float, index: int) -> ShapesResult:
    labels = [str(i) for i in range(len(shapes))]
    mosaic = render_mosaic(shapes, ncols=shape_set.ncols, size=TILE_SIZE, threshold=threshold, labels=labels)
    picture = save_png(mosaic, folder / f"{shape_set.name}.png")
    meshes = write_meshes(shapes[index], folder, f"{shape_set.name}_{index:02d}", threshold)
    return ShapesResult(shape_set, picture, index, meshes, len(shapes), _status(shape_set, index, meshes, threshold))


def _status(shape_set: ShapeSet, index: int, meshes: MeshFiles, threshold: float) -> str:
    return f"{shape_set.what}; shape {index} in 3D: {_mesh_words(meshes, threshold)}"


def _mesh_words(meshes: MeshFiles, threshold: float) -> str:
    if meshes.view is None:
        return f"nothing reaches the threshold {threshold:g}; lower it"
    return f"{meshes.faces:,} triangles at threshold {threshold:g}"


def _whole(value: Any, parameter: str, low: int, high: int) -> int:
    """A whole number in [low, high] (Gradio's number boxes give floats)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value != int(value):
        raise ConfigError(f"`{parameter}` must be a whole number, got {value!r}")
    if not low <= int(value) <= high:
        raise ConfigError(f"`{parameter}` must be in [{low}, {high}], got {int(value)}")
    return int(value)


def _short_names(message: str, paths: Sequence[Path]) -> str:
    """A library message with upload paths (Gradio's temporary folders) cut to file names."""
    for path in paths:
        message = message.replace(str(path), Path(path).name)
    return message


# -- the model card ---------------------------------------------------------------------------

_MODEL_NAMES = {"3d-gan": "3D-GAN", "3d-vae-gan": "3D-VAE-GAN"}


def model_title(demo: DemoModel) -> str:
    """One line naming the model: ``3D-GAN lite-32, 32³, trained 1,912 steps on chair``."""
    card = demo.card
    words = [_MODEL_NAMES.get(card.model_type, card.model_type)]
    if card.preset:
        words.append(card.preset)
    text = " ".join(words) + f", {card.architecture.get('resolution')}³"
    if card.steps_trained is not None:
        text += f", trained {card.steps_trained:,} steps"
    if card.data and card.data.get("classes"):
        text += " on " + ", ".join(card.data["classes"])
    return text


def model_card_markdown(demo: DemoModel) -> str:
    """The model card as Markdown: the model, how and on what it was trained, what it measured."""
    card = demo.card
    arch = card.architecture
    counts = ", ".join(f"{name} {count:,}" for name, count in demo.parameter_counts().items())
    rows = [
        ("model", f"{_MODEL_NAMES.get(card.model_type, card.model_type)} (Wu et al., NeurIPS 2016): "
                  f"{arch.get('resolution')}³ voxels, {arch.get('latent_dim')}-D latent, {arch.get('latent_prior')} prior"),
        ("parameters", counts),
        ("preset", card.preset or "none (a custom architecture)"),
        ("recipe", card.recipe or "unknown (no run folder)"),
    ]
    if card.encoder is not None:
        backbone = card.encoder.get("backbone", "none")
        rows.append(("image encoder", f"{card.encoder.get('image_size')} x {card.encoder.get('image_size')} RGB input"
                     + ("" if backbone == "none" else f", a frozen ImageNet {backbone} under a trained head")))
    if card.steps_trained is not None or card.steps_planned is not None:
        trained = f"{card.steps_trained:,}" if card.steps_trained is not None else "unknown"
        planned = f" (the recipe's budget: {card.steps_planned:,})" if card.steps_planned is not None else ""
        rows.append(("training steps", trained + planned))
    if card.data:
        classes = ", ".join(card.data.get("classes", [])) or "unknown"
        shapes = card.data.get("shapes")
        count = f"{shapes:,}" if isinstance(shapes, int) else "?"
        rows.append(("data", f"`{card.data.get('source')}`: {count} shapes; classes {classes}"))
    for attribution in card.attribution or ([None] if card.data else []):
        if attribution is None:
            rows.append(("data licence", "unknown: check the terms of the data set this model was trained on"))
        else:
            cite = f" Cite: {attribution.cite}" if attribution.cite else ""
            url = f" ({attribution.url})" if attribution.url else ""
            rows.append(("data licence", f"{attribution.name}{url}: {attribution.terms}.{cite}"))
    rows.append(("served from", f"`{card.location.model_dir}`"))
    lines = [f"### {model_title(demo)}", ""]
    lines += [f"- **{name}**: {value}" for name, value in rows]
    if card.deviations:
        lines += ["", "#### Deviations from the paper", "", "| setting | this model | the paper |", "| --- | --- | --- |"]
        lines += [f"| {name} | {_cell(d.get('value'))} | {_cell(d.get('paper'))} |" for name, d in card.deviations.items()]
    elif card.location.run_dir is None:
        lines += ["", "No run folder beside this model: its recipe, data and deviations from the paper are unknown."]
    lines += ["", "#### Measured"]
    if card.metrics:
        for name, values in card.metrics.items():
            lines += ["", f"**{name}**", "", "| metric | value |", "| --- | --- |"]
            lines += [f"| {metric} | {value:.4g} |" for metric, value in values.items()]
    else:
        lines += ["", "No evaluation results yet (`shapespace eval gen ... --out RUN/eval/gen.json` writes one)."]
    lines += [f"\n_{note}_" for note in card.notes]
    return "\n".join(lines) + "\n"


def _cell(value: Any) -> str:
    text = ", ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
    return text.replace("|", "\\|").replace("\n", " ")
