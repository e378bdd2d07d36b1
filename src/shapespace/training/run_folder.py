"""The run folder: what a training run writes, and the checks that make ``resume`` exact.

Layout::

    RUN_DIR/config.json         resolved model + training config, data source, deviations
    RUN_DIR/model/              inference artifact (config.json + model.safetensors)
    RUN_DIR/state/              training state (state.safetensors + state.json)
    RUN_DIR/samples/            step_XXXXXXX.png sample pictures, latest.png
    RUN_DIR/metrics.jsonl       one JSON line of losses per logged step
    RUN_DIR/tensorboard/        TensorBoard event files
    RUN_DIR/.lock               held (``flock``) by the process training into the folder

A resolved config is a JSON dict: ``kind``, the architecture entries (``model``, and
``encoder`` for a 3D-VAE-GAN), ``training`` (the recipe), ``data`` and bookkeeping.
:func:`check_resumable` compares a saved one with the current one generically.
"""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np
import torch

from shapespace import __version__

from shapespace.config import ConfigBase
from shapespace.data.sources import VoxelSet
from shapespace.errors import CheckpointError, ConfigError
from shapespace.io.atomic import write_text_atomic
from shapespace.io.jsonfile import read_json, read_json_lines
from shapespace.training.state import load_training_state, restore_training_state, save_training_state

RUN_CONFIG_NAME = "config.json"
# Training fields that may change when a run is resumed: the step budget and the cadence
# of logs, pictures and checkpoints. Everything else must match the saved run.
RESUMABLE_CHANGES = frozenset({"steps", "sample_every", "checkpoint_every", "checkpoint_minutes", "log_every"})
LOCK_NAME = ".lock"
# Entries of a resolved config that describe the run rather than define it.
_BOOKKEEPING = frozenset({"shapespace_version", "resolved", "deviations_from_paper", "init_from", "initialised", "kind"})


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
    saved_world, current_world = saved.get("world_size", 1), current.get("world_size", 1)
    if saved_world != current_world:
        raise CheckpointError(
            f"`resume`: the run in {run_dir} was trained by {saved_world} process(es) and this is {current_world}; "
            f"resume it with {saved_world} (torchrun --nproc-per-node and --nnodes giving {saved_world} in all): "
            "exact resume needs the same shards"
        )
    for key in sorted((set(saved) | set(current)) - _BOOKKEEPING - {"training", "data", "world_size"}):
        if saved.get(key) != current.get(key):
            raise CheckpointError(
                f"`resume`: the {key} config differs from the run in {run_dir}: {_differences(saved.get(key), current.get(key))}"
            )
    if saved["data"]["source"] != current["data"]["source"]:
        raise CheckpointError(
            f"`resume`: the run in {run_dir} was trained on {saved['data']['source']!r}, not {current['data']['source']!r}"
        )
    changed = sorted(
        k for k in saved["training"] if k not in RESUMABLE_CHANGES and saved["training"][k] != current["training"].get(k)
    )
    if changed:
        differences = _differences({k: saved["training"][k] for k in changed}, {k: current["training"].get(k) for k in changed})
        raise CheckpointError(f"`resume`: training settings differ from the saved run: {differences}")


def _differences(saved: Any, current: Any) -> str:
    """``"resolution 32 in the run, 64 now; ..."``: each field that differs with both values."""
    if not isinstance(saved, dict) or not isinstance(current, dict):
        return f"{json.dumps(saved)} in the run, {json.dumps(current)} now"
    unset = object()
    parts = []
    for name in sorted(set(saved) | set(current)):
        old, new = saved.get(name, unset), current.get(name, unset)
        if old != new:
            parts.append(
                f"{name} {'unset' if old is unset else json.dumps(old)} in the run, {'unset' if new is unset else json.dumps(new)} now"
            )
    return "; ".join(parts)


def read_run_config(run_dir: Path) -> dict[str, Any]:
    """The resolved config a run folder holds; CheckpointError naming the file when it is
    missing or not a run config."""
    path = Path(run_dir) / RUN_CONFIG_NAME
    config = read_json(path, "run config", error=CheckpointError)
    if not isinstance(config.get("training"), dict) or not isinstance(config.get("data"), dict):
        raise CheckpointError(f"{path}: not a run config (expected 'training' and 'data' entries)")
    return config


def resolved_run_config(
    kind: str,
    architecture: dict[str, ConfigBase],
    train_config: ConfigBase,
    data: VoxelSet,
    device: torch.device,
    precision: str,
    memory_format: str,
    optimizer: torch.optim.Optimizer,
    distributed: Any = None,
) -> dict[str, Any]:
    """The ``config.json`` of a run: what defines it and how it was resolved on this machine.

    ``architecture`` holds the networks' configs by entry name (``model``, ``encoder``);
    the deviations from the paper are those of every config, architecture first. A run of
    several processes (``distributed``, a :class:`~shapespace.training.distributed.Distributed`)
    records ``world_size``, so that ``resume`` is refused with another number of processes.
    """
    deviations = {name: value for config in (*architecture.values(), train_config) for name, value in config.deviations().items()}
    return {
        "kind": kind,
        "shapespace_version": __version__,
        **{name: config.to_dict() for name, config in architecture.items()},
        "training": train_config.to_dict(),
        "data": {
            "source": data.source,
            "shapes": len(data),
            "classes": list(data.classes),
            # Files left out as unreadable (`skip_bad`), listed only when there are some.
            **({"skipped": [dict(item) for item in data.skipped]} if data.skipped else {}),
        },
        "resolved": {
            "device": str(device),
            "precision": precision,
            "memory_format": memory_format,
            # From the optimiser itself: a resumed state keeps the implementation it was saved with.
            "fused_optimizer": bool(optimizer.param_groups[0].get("fused")),
        },
        "deviations_from_paper": deviations,
        **({"world_size": distributed.world_size} if distributed is not None and distributed.active else {}),
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

    def has_state(self) -> bool:
        """Whether the folder holds a complete training state to resume."""
        return (self.state_dir / "state.json").is_file()

    def check(self, resume: bool) -> bool:
        """Whether there is a training state to restore.

        A new run needs a folder without a run. ``resume`` needs a run: its training state,
        or, when training stopped before its first checkpoint (``kill -9``), its config
        alone, and then the run starts again at step 0 (:meth:`check_config`). A folder
        that another process is training into is refused either way.
        """
        self.check_unlocked()
        has_state, has_config = self.has_state(), (self.path / RUN_CONFIG_NAME).is_file()
        if resume and not (has_state or has_config):
            raise CheckpointError(f"`resume`: {self.path} holds no run to resume (no {RUN_CONFIG_NAME}, no state/)")
        if not resume and (has_state or has_config):
            raise CheckpointError(f"{self.path} already holds a run; pass `resume` to continue it or choose another `out`")
        return has_state

    def check_config(self, current: dict[str, Any], config_classes: Mapping[str, type[ConfigBase]] = {}) -> None:
        """For a resumed run with no checkpoint yet: its saved config must define the same
        run as ``current`` (:func:`check_resumable`); the metrics it logged are dropped."""
        check_resumable(read_run_config(self.path), current, self.path, config_classes)
        self.truncate_metrics(0)

    # -- one process at a time ------------------------------------------------------------
    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the folder for this process while it trains (an exclusive ``flock`` on
        ``.lock``, which the kernel releases when the process ends in any way, ``kill -9``
        included, so a stale lock never blocks). Raises CheckpointError naming ``out``
        when another process holds it. Where ``fcntl`` does not exist (Windows) nothing is
        locked."""
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not on POSIX
            yield
            return
        self.path.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            self._take(fd, fcntl.LOCK_EX)
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            yield
        finally:
            os.close(fd)  # releases the lock

    def check_unlocked(self) -> None:
        """Raise CheckpointError when another process holds the folder's lock.

        The probe takes a shared lock, so that the processes of a data-parallel run, which
        all check the folder at once on ``resume``, do not refuse each other (an exclusive
        probe made one of them fail now and then with "is in use")."""
        path = self.path / LOCK_NAME
        if not path.is_file():
            return
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not on POSIX
            return
        fd = os.open(path, os.O_RDONLY)
        try:
            self._take(fd, fcntl.LOCK_SH)
        finally:
            os.close(fd)

    def _take(self, fd: int, mode: int) -> None:
        """``flock`` ``fd`` in ``mode`` without waiting; CheckpointError naming the holder if taken."""
        import fcntl

        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            raise CheckpointError(f"`out`: {self.path} is in use: {self._holder(fd)} is training into it") from None

    @staticmethod
    def _holder(fd: int) -> str:
        text = os.pread(fd, 32, 0).decode(errors="replace").strip()
        return f"process {text}" if text.isdigit() else "another process"

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
            records = read_json_lines(self.metrics_path, "metrics log", error=CheckpointError)
            kept = [r for r in records if isinstance(r.get("step"), int) and r["step"] <= step]
            write_text_atomic(self.metrics_path, "".join(json.dumps(r) + "\n" for r in kept))

    def save_picture(self, image: np.ndarray, prefix: str, step: int) -> Path:
        """Write ``samples/{prefix}_{step:07d}.png`` and ``samples/{prefix}_latest.png``
        (``latest.png`` for the prefix "step"); returns the first."""
        from shapespace.rendering.figures import save_png

        path = save_png(image, self.samples_dir / f"{prefix}_{step:07d}.png")
        save_png(image, self.samples_dir / ("latest.png" if prefix == "step" else f"{prefix}_latest.png"))
        return path
