"""The run folder: what a training run writes, and the checks that make ``resume`` exact.

Layout::

    RUN_DIR/config.json         resolved model + training config, data source, deviations
    RUN_DIR/model/              inference artifact (config.json + model.safetensors)
    RUN_DIR/state/              training state (state.safetensors + state.json)
    RUN_DIR/samples/            step_XXXXXXX.png sample pictures, latest.png
    RUN_DIR/metrics.jsonl       one JSON line of losses per logged step
    RUN_DIR/tensorboard/        TensorBoard event files

A resolved config is a JSON dict: ``kind``, the architecture entries (``model``, and
``encoder`` for a 3D-VAE-GAN), ``training`` (the recipe), ``data`` and bookkeeping.
:func:`check_resumable` compares a saved one with the current one generically.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch

from shapespace import __version__

from shapespace.config import ConfigBase
from shapespace.data.sources import VoxelSet
from shapespace.errors import CheckpointError, ConfigError
from shapespace.io.atomic import write_text_atomic
from shapespace.training.state import load_training_state, restore_training_state, save_training_state

RUN_CONFIG_NAME = "config.json"
# Training fields that may change when a run is resumed: the step budget and the cadence
# of logs, pictures and checkpoints. Everything else must match the saved run.
RESUMABLE_CHANGES = frozenset({"steps", "sample_every", "checkpoint_every", "log_every"})
# Entries of a resolved config that describe the run rather than define it.
_BOOKKEEPING = frozenset({"shapespace_version", "resolved", "deviations_from_paper", "init_from", "kind"})


def check_resumable(
    saved: dict[str, Any], current: dict[str, Any], run_dir: Path, config_classes: Mapping[str, type[ConfigBase]] = {}
) -> None:
    """Refuse to resume unless ``current`` defines the same run as ``saved``.

    Architecture entries must be equal, the data source must be the same, and the
    training entry may differ only in :data:`RESUMABLE_CHANGES`. Entries named in
    ``config_classes`` are read back through their config class first, so a run saved
    before a field existed compares with the field's default. Raises CheckpointError
    (naming ``resume``) that says what differs.
    """
    saved = dict(saved)
    for key, cls in config_classes.items():
        if saved.get(key) is not None:
            try:
                saved[key] = cls.from_dict(saved[key]).to_dict()
            except ConfigError as exc:
                raise CheckpointError(f"`resume`: the saved {key} config of {run_dir} is not valid here ({exc})") from None
    for key in sorted((set(saved) | set(current)) - _BOOKKEEPING - {"training", "data"}):
        if saved.get(key) != current.get(key):
            raise CheckpointError(f"`resume`: the {key} config differs from the run in {run_dir}")
    if saved["data"]["source"] != current["data"]["source"]:
        raise CheckpointError(
            f"`resume`: the run in {run_dir} was trained on {saved['data']['source']!r}, not {current['data']['source']!r}"
        )
    changed = sorted(
        k for k in saved["training"] if k not in RESUMABLE_CHANGES and saved["training"][k] != current["training"].get(k)
    )
    if changed:
        raise CheckpointError(f"`resume`: training settings differ from the saved run: {', '.join(changed)}")


def resolved_run_config(
    kind: str,
    architecture: dict[str, ConfigBase],
    train_config: ConfigBase,
    data: VoxelSet,
    device: torch.device,
    precision: str,
    memory_format: str,
    optimizer: torch.optim.Optimizer,
) -> dict[str, Any]:
    """The ``config.json`` of a run: what defines it and how it was resolved on this machine.

    ``architecture`` holds the networks' configs by entry name (``model``, ``encoder``);
    the deviations from the paper are those of every config, architecture first.
    """
    deviations = {name: value for config in (*architecture.values(), train_config) for name, value in config.deviations().items()}
    return {
        "kind": kind,
        "shapespace_version": __version__,
        **{name: config.to_dict() for name, config in architecture.items()},
        "training": train_config.to_dict(),
        "data": {"source": data.source, "shapes": len(data), "classes": list(data.classes)},
        "resolved": {
            "device": str(device),
            "precision": precision,
            "memory_format": memory_format,
            # From the optimiser itself: a resumed state keeps the implementation it was saved with.
            "fused_optimizer": bool(optimizer.param_groups[0].get("fused")),
        },
        "deviations_from_paper": deviations,
    }


class RunFolder:
    """One training run's folder (see the module docstring).

    Args:
        path: the folder (created when training starts).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.state_dir = self.path / "state"
        self.model_dir = self.path / "model"
        self.samples_dir = self.path / "samples"
        self.metrics_path = self.path / "metrics.jsonl"
        self.tensorboard_dir = self.path / "tensorboard"

    def check(self, resume: bool) -> None:
        """A new run needs a folder without a run; ``resume`` needs a complete training state."""
        has_state = (self.state_dir / "state.json").is_file()
        if resume and not has_state:
            raise CheckpointError(
                f"`resume`: {self.path} holds no training state to resume (expected {self.state_dir}/state.json)"
            )
        if not resume and (has_state or (self.path / RUN_CONFIG_NAME).is_file()):
            raise CheckpointError(f"{self.path} already holds a run; pass `resume` to continue it or choose another `out`")

    def write_config(self, resolved: dict[str, Any]) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        write_text_atomic(self.path / RUN_CONFIG_NAME, json.dumps(resolved, indent=2) + "\n")

    # -- training state -----------------------------------------------------------------
    def save(
        self,
        inference_model: torch.nn.Module,
        *,
        step: int,
        model: torch.nn.Module,
        optimizers: dict[str, torch.optim.Optimizer],
        scalers: dict[str, torch.amp.GradScaler],
        config: dict[str, Any],
        ema: torch.nn.Module | None = None,
    ) -> None:
        """Write the inference artifact and the training state of ``step``."""
        inference_model.save_pretrained(self.model_dir)
        save_training_state(
            self.state_dir,
            step=step,
            model=model,
            optimizers=optimizers,
            ema=ema,
            scalers={name: s.state_dict() if s.is_enabled() else {} for name, s in scalers.items()},
            config=config,
        )

    def restore(
        self,
        current: dict[str, Any],
        *,
        model: torch.nn.Module,
        optimizers: dict[str, torch.optim.Optimizer],
        scalers: dict[str, torch.amp.GradScaler],
        ema: torch.nn.Module | None = None,
        config_classes: Mapping[str, type[ConfigBase]] = {},
    ) -> int:
        """Load the saved training state into the given objects after checking that it
        belongs to the run ``current`` describes (:func:`check_resumable`); drops metrics
        logged after it. Returns its step."""
        meta, tensors = load_training_state(self.state_dir)
        check_resumable(meta["config"], current, self.path, config_classes)
        restore_training_state(meta, tensors, model=model, optimizers=optimizers, ema=ema)
        for name, scaler in scalers.items():
            if scaler.is_enabled() and meta["grad_scalers"].get(name):
                scaler.load_state_dict(meta["grad_scalers"][name])
        step = int(meta["step"])
        self.truncate_metrics(step)
        return step

    # -- logs and pictures ----------------------------------------------------------------
    def append_metrics(self, record: dict[str, Any]) -> None:
        with open(self.metrics_path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")

    def truncate_metrics(self, step: int) -> None:
        """Drop metric lines logged after ``step`` (they belong to a lost future)."""
        if self.metrics_path.is_file():
            lines = [ln for ln in self.metrics_path.read_text().splitlines() if ln and json.loads(ln)["step"] <= step]
            write_text_atomic(self.metrics_path, "".join(ln + "\n" for ln in lines))

    def save_picture(self, image: np.ndarray, prefix: str, step: int) -> Path:
        """Write ``samples/{prefix}_{step:07d}.png`` and ``samples/{prefix}_latest.png``
        (``latest.png`` for the prefix "step"); returns the first."""
        from shapespace.rendering.figures import save_png

        path = save_png(image, self.samples_dir / f"{prefix}_{step:07d}.png")
        save_png(image, self.samples_dir / ("latest.png" if prefix == "step" else f"{prefix}_latest.png"))
        return path
