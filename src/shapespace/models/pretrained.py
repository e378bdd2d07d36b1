"""Inference artifacts: a model folder of ``config.json`` + ``model.safetensors``.

One mixin gives every model class ``save_pretrained`` and ``from_pretrained`` (as in
diffusers): the constructor's configs go to ``config.json`` with a ``model_type``, the
weights (BatchNorm statistics included) to a safetensors file, and loading rebuilds the
model from the JSON without unpickling anything. :func:`resolve_model_dir` accepts a run
folder (``RUN/model``) wherever a model folder is expected.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, ClassVar

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from shapespace import __version__
from shapespace.errors import CheckpointError, ConfigError, ShapespaceError
from shapespace.io.atomic import atomic_path, write_text_atomic
from shapespace.io.jsonfile import read_json

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
GAN_MODEL_TYPE = "3d-gan"
# A 3D-VAE-GAN folder holds the same generator and discriminator weights plus an encoder;
# a 3D-GAN loads its G and D and ignores the rest.
VAE_GAN_MODEL_TYPE = "3d-vae-gan"
MODEL_TYPES = (GAN_MODEL_TYPE, VAE_GAN_MODEL_TYPE)
_DISPLAY_NAMES = {GAN_MODEL_TYPE: "3D-GAN", VAE_GAN_MODEL_TYPE: "3D-VAE-GAN"}


class PretrainedMixin:
    """``save_pretrained``/``from_pretrained`` for an ``nn.Module`` built from configs.

    A class sets ``MODEL_TYPE`` (written to ``config.json``), ``LOADS`` (the model types it
    can be loaded from, with a hint for the others), ``WEIGHT_PREFIXES`` (the state-dict
    keys it takes from a folder; ``None``: all of them, exactly), and implements
    :meth:`config_entries` and :meth:`from_config_entries`.
    """

    MODEL_TYPE: ClassVar[str]
    LOADS: ClassVar[tuple[str, ...]]
    LOAD_HINT: ClassVar[str] = ""
    WEIGHT_PREFIXES: ClassVar[tuple[str, ...] | None] = None

    def config_entries(self) -> dict[str, Any]:
        """The JSON entries that rebuild this model's architecture, e.g. ``{"config": {...}}``."""
        raise NotImplementedError

    @classmethod
    def from_config_entries(cls, meta: dict[str, Any]):
        """A freshly initialised model from the parsed ``config.json`` (raise ConfigError or TypeError)."""
        raise NotImplementedError

    def save_pretrained(self, directory: str | os.PathLike) -> Path:
        """Write ``config.json`` and ``model.safetensors`` into ``directory``, atomically each."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        tensors = {k: v.detach().cpu().contiguous() for k, v in self.state_dict().items()}
        with atomic_path(directory / WEIGHTS_NAME) as tmp:
            save_file(tensors, str(tmp), metadata={"format": "pt", "model_type": self.MODEL_TYPE})
        meta = {"model_type": self.MODEL_TYPE, "shapespace_version": __version__, **self.config_entries()}
        write_text_atomic(directory / CONFIG_NAME, json.dumps(meta, indent=2) + "\n")
        return directory

    @classmethod
    def from_pretrained(cls, directory: str | os.PathLike, device: torch.device | str = "cpu"):
        """Rebuild a model saved by :meth:`save_pretrained` (eval mode, on ``device``)."""
        directory = Path(directory)
        meta = read_model_meta(directory)
        if meta["model_type"] not in cls.LOADS:
            raise CheckpointError(f"{directory}: a {_DISPLAY_NAMES[meta['model_type']]}{cls.LOAD_HINT}")
        try:
            model = cls.from_config_entries(meta)
        except (ConfigError, TypeError, KeyError) as exc:
            raise CheckpointError(f"{directory / CONFIG_NAME}: invalid model config ({exc})") from None
        weights = directory / WEIGHTS_NAME
        if not weights.is_file():
            raise CheckpointError(f"{weights}: missing weights file ({WEIGHTS_NAME})")
        state = read_weights(weights)
        if cls.WEIGHT_PREFIXES is not None:
            state = {k: v for k, v in state.items() if k.startswith(cls.WEIGHT_PREFIXES)}
        expected = model.state_dict()
        missing = sorted(set(expected) - set(state))
        unexpected = sorted(set(state) - set(expected))
        wrong_shape = sorted(k for k in set(state) & set(expected) if state[k].shape != expected[k].shape)
        if missing or unexpected or wrong_shape:
            raise CheckpointError(
                f"{weights}: weights do not match config.json (missing {missing[:2]}, "
                f"unexpected {unexpected[:2]}, wrong shape {wrong_shape[:2]})"
            )
        model.load_state_dict(state)
        return model.to(device).eval()


def read_weights(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a safetensors file; an unreadable file raises CheckpointError naming it."""
    try:
        return load_file(str(path))
    except (SafetensorError, OSError) as exc:
        raise CheckpointError(f"{path}: not a readable safetensors file ({exc})") from None


def read_model_meta(directory: Path) -> dict:
    """The parsed ``config.json`` of a model folder, checked to be a shapespace model's."""
    path = directory / CONFIG_NAME
    if not path.is_file():
        raise CheckpointError(f"{directory}: not a shapespace model folder (no {CONFIG_NAME})")
    meta = read_json(path, "model config", error=CheckpointError)
    if meta.get("model_type") not in MODEL_TYPES or "config" not in meta:
        known = " or ".join(repr(t) for t in MODEL_TYPES)
        raise CheckpointError(f"{path}: not a shapespace model config (expected model_type {known}, and config)")
    return meta


def resolve_model_dir(path: str | os.PathLike) -> Path:
    """Accept a run folder (``RUN/model``), a model folder (``config.json`` + weights) or the
    output folder of ``shapespace demo`` (``OUT/run/model``)."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path}: no such run or model folder")
    if (path / "model" / CONFIG_NAME).is_file():
        return path / "model"
    if (path / "run" / "model" / CONFIG_NAME).is_file():  # the output folder of `shapespace demo`
        return path / "run" / "model"
    if (path / CONFIG_NAME).is_file() and (path / WEIGHTS_NAME).is_file():
        return path
    if _is_run_config(path / CONFIG_NAME):
        raise CheckpointError(
            f"{path}: a training run without a model yet (it stopped before its first checkpoint); "
            "continue it with 'shapespace train ... --resume'"
        )
    raise CheckpointError(f"{path}: neither a run folder (with model/) nor a model folder (config.json + model.safetensors)")


def _is_run_config(path: Path) -> bool:
    """Whether ``path`` is a run folder's resolved config (its ``kind`` ends in "-run")."""
    try:
        return str(read_json(path, "run config").get("kind", "")).endswith("-run")
    except ShapespaceError:
        return False
