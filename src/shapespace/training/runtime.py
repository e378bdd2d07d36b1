"""Device and mixed-precision selection shared by trainers and pipelines."""

from __future__ import annotations

import contextlib
from typing import ContextManager

import torch

from shapespace.errors import ConfigError

PRECISIONS = ("fp32", "bf16", "fp16", "auto")


def resolve_device(name: str = "auto") -> torch.device:
    """``"auto"`` picks CUDA when a GPU is present, else the CPU; ``"cpu"``, ``"cuda"``, ``"cuda:1"`` as given."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"--device {name!r}: not a device; use auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"--device {name!r}: CUDA is not available on this machine; use --device cpu or auto")
    if device.type not in ("cpu", "cuda"):
        raise ConfigError(f"--device {name!r}: only cpu and cuda are supported")
    return device


def resolve_precision(precision: str, device: torch.device) -> str:
    """Turn ``"auto"`` into a concrete precision for ``device`` and validate the others.

    ``auto`` means bf16 on the CPU (fast on AVX-512-bf16/AMX processors, and without the
    overflow risk of fp16) and on GPUs that support it, else fp16.
    """
    if precision not in PRECISIONS:
        raise ConfigError(f"--precision {precision!r}: expected one of {', '.join(PRECISIONS)}")
    if precision == "auto":
        if device.type == "cuda" and not torch.cuda.is_bf16_supported():
            return "fp16"
        return "bf16"
    if precision == "fp16" and device.type == "cpu":
        raise ConfigError("--precision fp16 needs a CUDA device; use bf16 on the CPU")
    return precision


def autocast(precision: str, device: torch.device) -> ContextManager:
    """The autocast context for a resolved precision (a no-op for fp32)."""
    if precision == "fp32":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype)
