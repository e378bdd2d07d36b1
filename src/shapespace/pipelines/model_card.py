"""A model card: what a trained model is, how it was trained, on what, and how well it does.

Everything comes from files a run already holds (:mod:`shapespace.training.run_folder`):
the model folder's ``config.json``, the run's resolved ``config.json`` (recipe, deviations
from the paper, data), the step of its training state, and every evaluation result in
``RUN/eval/*.json``. ``shapespace demo``'s output folder (``OUT/run/`` beside
``OUT/quality.json``) is understood as well. Usable from Python::

    from shapespace.pipelines.model_card import read_model_card
    card = read_model_card("runs/demo")
    card.preset, card.recipe, card.steps_trained, card.metrics
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shapespace.data.attribution import Attribution, data_attribution
from shapespace.errors import CheckpointError
from shapespace.io.jsonfile import read_json
from shapespace.models.pretrained import GAN_MODEL_TYPE, read_model_meta, resolve_model_dir
from shapespace.models.presets import MODEL_PRESETS
from shapespace.training.run_folder import read_run_config

# The architecture fields that a preset names (its sizes); the prior and D's normalisation
# are the recipe's choices on top (training/config.py, recipe_architecture).
_PRESET_FIELDS = ("resolution", "latent_dim", "generator_channels", "discriminator_channels")
DEMO_REPORT_NAME = "quality.json"
# Metrics shown per evaluation file: numbers up to this depth of nesting (``model.mean.ap``).
_METRIC_DEPTH = 3
# Keys whose values are reference numbers or long per-class tables rather than this model's summary.
_SKIPPED_KEYS = ("paper", "per_class", "seed", "skipped")


@dataclass(frozen=True)
class ModelLocation:
    """Where a served model's files are.

    Attributes:
        model_dir: the model folder (``config.json`` + ``model.safetensors``).
        run_dir: the run folder holding it, or None for a bare model folder.
        demo_report: ``shapespace demo``'s ``quality.json``, or None.
    """

    model_dir: Path
    run_dir: Path | None = None
    demo_report: Path | None = None


def locate_model(path: str | os.PathLike) -> ModelLocation:
    """Find the model, its run and a demo report from a run, model or ``demo`` output folder.

    Raises:
        CheckpointError: naming ``path`` when it holds no model.
    """
    model_dir = resolve_model_dir(path)  # a run, a model, or shapespace demo's OUT (OUT/run/model)
    run_dir = model_dir.parent if _is_run_dir(model_dir.parent) else None
    report = None if run_dir is None else run_dir.parent / DEMO_REPORT_NAME  # a demo's OUT/quality.json
    return ModelLocation(model_dir, run_dir, report if report is not None and run_dir.name == "run" and report.is_file() else None)


def _is_run_dir(path: Path) -> bool:
    try:
        read_run_config(path)
    except CheckpointError:
        return False
    return True


@dataclass(frozen=True)
class ModelCard:
    """What is known about a model; None wherever its files do not say.

    Attributes:
        location: where its files are.
        model_type: ``"3d-gan"`` or ``"3d-vae-gan"``.
        architecture: the GAN's config as saved (``resolution``, ``latent_dim``, ...).
        encoder: the image encoder's config (3D-VAE-GAN only).
        preset: the registered preset whose sizes the architecture has, or the one the demo used.
        recipe: the training recipe's name.
        steps_trained: training steps done (the saved training state's step).
        steps_planned: the recipe's step budget.
        data: the run config's data entry (``source``, ``shapes``, ``classes``).
        attribution: per part of the data source, its data set's terms (None: unknown).
        deviations: ``{field: {"value": ..., "paper": ...}}`` for every setting not as in the paper.
        metrics: ``{result name: {metric: value}}`` from ``eval/*.json`` and the demo's report.
        notes: what could not be read, one line each.
    """

    location: ModelLocation
    model_type: str
    architecture: dict[str, Any]
    encoder: dict[str, Any] | None = None
    preset: str | None = None
    recipe: str | None = None
    steps_trained: int | None = None
    steps_planned: int | None = None
    data: dict[str, Any] | None = None
    attribution: list[Attribution | None] = field(default_factory=list)
    deviations: dict[str, dict[str, Any]] = field(default_factory=dict)
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def has_encoder(self) -> bool:
        return self.encoder is not None


def matching_preset(architecture: dict[str, Any]) -> str | None:
    """The registered preset whose sizes (:data:`_PRESET_FIELDS`) the architecture has."""
    for entry in MODEL_PRESETS.entries():
        preset = entry.item.to_dict()
        if all(preset.get(name) == architecture.get(name) for name in _PRESET_FIELDS):
            return entry.name
    return None


def flat_metrics(result: dict[str, Any], depth: int = _METRIC_DEPTH) -> dict[str, float]:
    """The numbers of an evaluation result, nested names joined with dots (``chamfer.cov``);
    reference values, per-class tables and seeds are left out (:data:`_SKIPPED_KEYS`)."""
    out: dict[str, float] = {}

    def visit(value: Any, name: str, level: int) -> None:
        if isinstance(value, bool):
            return
        if isinstance(value, (int, float)):
            out[name] = value
        elif isinstance(value, dict) and level < depth:
            for key, item in value.items():
                if not any(str(key).startswith(skipped) for skipped in _SKIPPED_KEYS):
                    visit(item, f"{name}.{key}" if name else str(key), level + 1)

    visit(result, "", 0)
    return out


def read_model_card(path: str | os.PathLike) -> ModelCard:
    """The :class:`ModelCard` of a run, model or ``demo`` output folder.

    A damaged optional file (an evaluation result, the training state) becomes a line in
    ``notes`` rather than an error: the card shows what can be read.

    Raises:
        CheckpointError: when ``path`` holds no readable model.
    """
    location = locate_model(path)
    meta = read_model_meta(location.model_dir)
    architecture = dict(meta["config"])
    notes: list[str] = []
    run: dict[str, Any] = {}
    if location.run_dir is not None:
        run = read_run_config(location.run_dir)
    training = run.get("training", {})
    demo = _read_optional(location.demo_report, "demo report", notes) if location.demo_report else None
    data = run.get("data")
    return ModelCard(
        location=location,
        model_type=meta["model_type"],
        architecture=architecture,
        encoder=meta.get("encoder") if meta["model_type"] != GAN_MODEL_TYPE else None,
        preset=(demo or {}).get("preset") or matching_preset(architecture),
        recipe=training.get("recipe"),
        steps_trained=_steps_trained(location.run_dir, notes),
        steps_planned=training.get("steps"),
        data=data,
        attribution=data_attribution(data["source"]) if data and data.get("source") else [],
        deviations=dict(run.get("deviations_from_paper", {})),
        metrics=_metrics(location, demo, notes),
        notes=notes,
    )


def _read_optional(path: Path, what: str, notes: list[str]) -> dict[str, Any] | None:
    try:
        return read_json(path, what, error=CheckpointError)
    except CheckpointError as exc:
        notes.append(str(exc))
        return None


def _steps_trained(run_dir: Path | None, notes: list[str]) -> int | None:
    state = run_dir / "state" / "state.json" if run_dir is not None else None
    if state is None or not state.is_file():
        return None
    step = (_read_optional(state, "training state", notes) or {}).get("step")
    return step if isinstance(step, int) else None


def _metrics(location: ModelLocation, demo: dict[str, Any] | None, notes: list[str]) -> dict[str, dict[str, float]]:
    metrics: dict[str, dict[str, float]] = {}
    if demo and isinstance(demo.get("quality"), dict):
        metrics["demo quality"] = flat_metrics(demo["quality"])
    eval_dir = location.run_dir / "eval" if location.run_dir is not None else None
    if eval_dir is not None and eval_dir.is_dir():
        for path in sorted(eval_dir.glob("*.json")):
            result = _read_optional(path, "evaluation result", notes)
            if result is not None:
                metrics[path.stem] = flat_metrics(result)
    return metrics

