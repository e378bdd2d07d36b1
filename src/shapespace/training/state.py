"""The training-state checkpoint: everything needed to resume a run exactly.

Stored as two files written atomically in one folder:

* ``state.safetensors``: every tensor (model weights and buffers, optimiser moments,
  RNG states), under flat keys such as ``optim.generator.state.3.exp_avg``;
* ``state.json``: the step, the resolved config, optimiser hyper-parameters and the
  non-tensor parts of the state.

Nothing is pickled, so a training state from an untrusted source cannot run code.
``state.json`` is written last and names the tensor file's size: a folder whose JSON is
missing or disagrees is rejected as incomplete.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from shapespace.errors import CheckpointError
from shapespace.io.atomic import atomic_path, write_text_atomic
from shapespace.io.jsonfile import read_json

TENSORS_NAME = "state.safetensors"
META_NAME = "state.json"


def _flatten_optimizer(prefix: str, state_dict: dict[str, Any], tensors: dict[str, torch.Tensor]) -> dict[str, Any]:
    """Move an optimiser state dict's tensors into ``tensors``; return the JSON-able rest."""
    rest: dict[str, dict[str, Any]] = {}
    for param_id, entries in state_dict["state"].items():
        kept: dict[str, Any] = {}
        for key, value in entries.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{prefix}.state.{param_id}.{key}"] = value.detach().cpu().contiguous()
            else:
                kept[key] = value
        rest[str(param_id)] = kept
    return {"param_groups": state_dict["param_groups"], "state_rest": rest}


def _unflatten_optimizer(prefix: str, meta: dict[str, Any], tensors: dict[str, torch.Tensor]) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {int(k): dict(v) for k, v in meta["state_rest"].items()}
    marker = prefix + ".state."
    for name, value in tensors.items():
        if name.startswith(marker):
            param_id, key = name[len(marker) :].split(".", 1)
            state.setdefault(int(param_id), {})[key] = value
    return {"state": state, "param_groups": meta["param_groups"]}


def save_training_state(
    directory: str | os.PathLike,
    *,
    step: int,
    model: torch.nn.Module,
    optimizers: dict[str, torch.optim.Optimizer],
    scalers: dict[str, dict[str, Any]],
    config: dict[str, Any],
    ema: torch.nn.Module | None = None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write a training state for ``step`` into ``directory`` (atomic per file, JSON last).

    ``ema`` is an optional averaged copy of a network (the generator's weight average).
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tensors: dict[str, torch.Tensor] = {
        f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()
    }
    if ema is not None:
        tensors.update({f"ema.{k}": v.detach().cpu().contiguous() for k, v in ema.state_dict().items()})
    optim_meta = {name: _flatten_optimizer(f"optim.{name}", opt.state_dict(), tensors) for name, opt in optimizers.items()}
    tensors["rng.torch_cpu"] = torch.get_rng_state()
    if torch.cuda.is_available():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{i}"] = s
    with atomic_path(directory / TENSORS_NAME) as tmp:
        save_file(tensors, str(tmp))
    meta = {
        "step": step,
        "config": config,
        "optimizers": optim_meta,
        "grad_scalers": scalers,
        "extra": extra or {},
        "tensor_file_bytes": (directory / TENSORS_NAME).stat().st_size,
    }
    write_text_atomic(directory / META_NAME, json.dumps(meta, indent=2) + "\n")
    return directory


def load_training_state(directory: str | os.PathLike) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """Read a training state; returns ``(meta, tensors)`` after checking they belong together."""
    directory = Path(directory)
    meta_path, tensor_path = directory / META_NAME, directory / TENSORS_NAME
    if not meta_path.is_file() or not tensor_path.is_file():
        raise CheckpointError(f"{directory}: no complete training state ({META_NAME} and {TENSORS_NAME} expected)")
    meta = read_json(meta_path, "training state description", error=CheckpointError)
    if tensor_path.stat().st_size != meta.get("tensor_file_bytes"):
        raise CheckpointError(f"{tensor_path}: size does not match {META_NAME}; the state is incomplete or mixed")
    try:
        tensors = load_file(str(tensor_path))
    except (SafetensorError, OSError) as exc:
        raise CheckpointError(f"{tensor_path}: unreadable ({exc})") from None
    return meta, tensors


def restore_training_state(
    meta: dict[str, Any],
    tensors: dict[str, torch.Tensor],
    *,
    model: torch.nn.Module,
    optimizers: dict[str, torch.optim.Optimizer],
    ema: torch.nn.Module | None = None,
) -> None:
    """Load model weights, optimiser states and RNG states saved by :func:`save_training_state`."""
    model_state = {k[len("model.") :]: v for k, v in tensors.items() if k.startswith("model.")}
    model.load_state_dict(model_state, strict=True)
    if ema is not None:
        ema_state = {k[len("ema.") :]: v for k, v in tensors.items() if k.startswith("ema.")}
        if not ema_state:
            raise CheckpointError("training state has no averaged generator weights (ema.*) to resume")
        ema.load_state_dict(ema_state, strict=True)
    for name, opt in optimizers.items():
        if name not in meta["optimizers"]:
            raise CheckpointError(f"training state has no optimiser {name!r}")
        opt.load_state_dict(_unflatten_optimizer(f"optim.{name}", meta["optimizers"][name], tensors))
    torch.set_rng_state(tensors["rng.torch_cpu"])
    if torch.cuda.is_available():
        cuda_keys = sorted((k for k in tensors if k.startswith("rng.cuda.")), key=lambda k: int(k.rsplit(".", 1)[1]))
        cuda_states = [tensors[k] for k in cuda_keys]
        if len(cuda_states) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda_states)
