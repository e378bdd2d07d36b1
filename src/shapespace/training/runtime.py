"""Device, mixed-precision, memory-layout and optimiser choices shared by trainers and pipelines.

Each choice was measured on the development machine (2 cores of an AMD EPYC with
AVX-512-bf16; ``benchmarks/bench_train.py --ablation``, ``benchmarks/bench_infer.py``): bf16
autocast about halves a 3D-GAN training step and a sampling batch, channels-last 3D tensors
save up to a sixth more of oneDNN's bf16 convolution time (little in fp32), and fused Adam
takes about three quarters of the plain optimiser's time (about 1% of a step). None of them
changes results beyond rounding (``tests/training/test_fast_path.py``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from typing import Callable, ContextManager, Iterable

import torch
from torch.torch_version import TorchVersion

from shapespace.errors import ConfigError

PRECISIONS = ("fp32", "bf16", "fp16", "auto")
MEMORY_FORMATS = ("auto", "channels_last", "contiguous")


def resolve_device(name: str = "auto") -> torch.device:
    """``"auto"`` picks CUDA when a GPU is present, else the CPU; ``"cpu"``, ``"cuda"``, ``"cuda:1"`` as given."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"`device` {name!r}: not a device; use auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"`device` {name!r}: CUDA is not available on this machine; use `device` cpu or auto")
    if device.type not in ("cpu", "cuda"):
        raise ConfigError(f"`device` {name!r}: only cpu and cuda are supported")
    return device


def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bf16 dot products in hardware (AVX-512-bf16 or AMX).

    Without them oneDNN emulates bf16 with fp32 instructions plus conversions, which is
    slower than plain fp32. Older torch versions without the probes count as "no".
    """
    probes = (getattr(torch.cpu, "_is_avx512_bf16_supported", None), getattr(torch.cpu, "_is_amx_tile_supported", None))
    return any(probe() for probe in probes if probe is not None)


def resolve_precision(precision: str, device: torch.device) -> str:
    """Turn ``"auto"`` into a concrete precision for ``device`` and validate the others.

    ``auto`` means bf16 on CPUs with native bf16 (:func:`cpu_has_native_bf16`; fp32 on the
    others, where emulated bf16 is slower) and fp32 on GPUs: measured on an NVIDIA H200
    (``paper-64``, batch 100), bf16 autocast ran a training step at 525 samples/s against
    552 in fp32, so it buys nothing for these 3D convolutions there (``bf16`` and ``fp16``
    remain a flag away).
    """
    if precision not in PRECISIONS:
        raise ConfigError(f"`precision` {precision!r}: expected one of {', '.join(PRECISIONS)}")
    if precision == "auto":
        if device.type == "cuda":
            return "fp32"
        return "bf16" if cpu_has_native_bf16() else "fp32"
    if precision == "fp16" and device.type == "cpu":
        raise ConfigError("`precision` fp16 needs a CUDA device; use bf16 on the CPU")
    return precision


def resolve_runtime(device: str, precision: str, memory_format: str) -> tuple[torch.device, str, str]:
    """The device, precision and memory format a trainer runs with (each "auto" resolved)."""
    resolved = resolve_device(device)
    return resolved, resolve_precision(precision, resolved), resolve_memory_format(memory_format, resolved)


def autocast(precision: str, device: torch.device) -> ContextManager:
    """The autocast context for a resolved precision (a no-op for fp32)."""
    if precision == "fp32":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype)


def resolve_memory_format(memory_format: str, device: torch.device) -> str:
    """Turn ``"auto"`` into ``"channels_last"`` or ``"contiguous"`` for ``device``.

    ``auto`` is channels-last on the CPU, where oneDNN runs 3D convolutions on NDHWC tensors
    without reordering them (measured 5-15% faster per 3D-GAN training step and sampling
    batch), and contiguous on CUDA, where it has not been measured.
    """
    if memory_format not in MEMORY_FORMATS:
        raise ConfigError(f"memory_format {memory_format!r}: expected one of {', '.join(MEMORY_FORMATS)}")
    if memory_format == "auto":
        return "channels_last" if device.type == "cpu" else "contiguous"
    return memory_format


def _strides(shape: torch.Size, memory_format: str) -> tuple[int, ...]:
    """Strides of a dense 5-D tensor laid out as NDHWC ("channels_last") or NCDHW ("contiguous")."""
    n, c, d, h, w = shape
    if memory_format == "channels_last":
        return (d * h * w * c, 1, h * w * c, w * c, c)
    return (c * d * h * w, d * h * w, h * w, w, 1)


def to_memory_format(module: torch.nn.Module, memory_format: str) -> torch.nn.Module:
    """Lay out every 5-D parameter and buffer of ``module`` (3D convolution weights) in
    ``memory_format`` ("channels_last" or "contiguous"), in place; returns ``module``.

    Parameters keep their identity (optimisers holding them stay valid) and their values;
    other tensors (2D convolutions, BatchNorm vectors) are left alone. Convolutions follow
    their weight's layout, so activations become channels-last too. The strides are set
    explicitly: ``Tensor.contiguous(memory_format=...)`` leaves a weight with one channel
    (D's first, G's last layer) as it is, oneDNN then runs that layer in NCDHW and the next
    layer copies its input back to NDHWC.
    """
    with torch.no_grad():
        for tensor in list(module.parameters()) + list(module.buffers()):
            strides = _strides(tensor.shape, memory_format) if tensor.dim() == 5 else None
            if strides is not None and tensor.stride() != strides:
                tensor.data = torch.empty_strided(tensor.shape, strides, dtype=tensor.dtype, device=tensor.device).copy_(tensor.data)
    return module


def fused_adam_available(device: torch.device) -> bool:
    """``torch.optim.Adam(fused=True)`` exists for CUDA tensors, and for CPU tensors from torch 2.4."""
    if device.type == "cuda":
        return True
    return device.type == "cpu" and TorchVersion(torch.__version__) >= (2, 4)


def _state_like_params(optimizer: torch.optim.Optimizer) -> None:
    """Give every per-parameter optimiser tensor its parameter's memory layout.

    A saved state is stored contiguous; a fused kernel walks a parameter, its gradient and
    its moments in memory order, so a channels-last parameter with contiguous moments
    would be updated with the wrong moments. Registered as a load_state_dict post-hook.
    """
    for group in optimizer.param_groups:
        for param in group["params"]:
            for key, value in optimizer.state.get(param, {}).items():
                if isinstance(value, torch.Tensor) and value.shape == param.shape and value.stride() != param.stride():
                    optimizer.state[param][key] = torch.empty_like(param, dtype=value.dtype).copy_(value)


def make_adam(
    params: Iterable[torch.nn.Parameter],
    lr: float,
    betas: tuple[float, float],
    device: torch.device,
    fused: bool = True,
) -> torch.optim.Adam:
    """Adam, fused into one kernel per step where available (``fused`` and
    :func:`fused_adam_available`), else PyTorch's default implementation.

    The fused kernel gives the same updates to within float32 rounding (tested) and takes a
    fraction of the time. A loaded state is laid out like the parameters
    (:func:`_state_like_params`), so a resumed run continues exactly.
    """
    use_fused = fused and fused_adam_available(device)
    optimizer = torch.optim.Adam(params, lr=lr, betas=betas, fused=True if use_fused else None)
    optimizer.register_load_state_dict_post_hook(_state_like_params)
    return optimizer


def cpp_compiler() -> str | None:
    """The C++ compiler torch.compile's CPU backend would find (``$CXX``, g++, c++ or clang++), or None."""
    candidates = [os.environ.get("CXX", ""), "g++", "c++", "clang++"]
    return next((path for path in map(shutil.which, filter(None, candidates)) if path), None)


def compile_module(module: torch.nn.Module, device: torch.device) -> Callable[..., torch.Tensor]:
    """``torch.compile(module)``: a callable sharing ``module``'s parameters (``module`` and its
    ``state_dict`` are unchanged). The CPU backend generates C++, so a compiler must exist."""
    if device.type == "cpu" and cpp_compiler() is None:
        raise ConfigError("compile: torch.compile needs a C++ compiler (g++ or clang++) on PATH on the CPU; install one or turn compile off")
    return torch.compile(module)
