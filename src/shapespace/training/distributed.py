"""Data-parallel training over several processes, as ``torchrun`` starts them.

``torchrun --nproc-per-node N -m shapespace train gan ...`` starts N processes with
``RANK``, ``LOCAL_RANK`` and ``WORLD_SIZE`` in their environment; :func:`from_environment`
joins them into one process group (NCCL on GPUs, gloo on CPUs) and gives each its device.

What each process does (:class:`Distributed`):

- Every process draws the same *global* batch (data order, latents, noise and augmentation
  are functions of the seed and the step) and trains on its rows ``shard(batch_size)``;
  ``DistributedDataParallel`` averages the gradients, so N processes take the same steps
  as one process with the same global batch, up to floating-point rounding.
- BatchNorm: with ``sync_batchnorm`` (the default) each BatchNorm layer normalises with the
  statistics of the whole global batch (:class:`GlobalBatchNorm3d`, which works with gloo
  and NCCL alike). Without it, each process normalises its shard with the shard's own
  statistics, and the running averages that the saved model uses are rank 0's.
- Rank 0 alone writes the run folder (logs, pictures, checkpoints); every rank reads the
  training state on ``--resume``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist
from torch import nn

from shapespace.errors import ConfigError
from shapespace.training.interrupts import ProcessGroupFailed

__all__ = ["Distributed", "GlobalBatchNorm1d", "GlobalBatchNorm2d", "GlobalBatchNorm3d", "ProcessGroupFailed", "convert_batchnorm", "from_environment", "leave", "parallel"]

# How long a process waits for the others in one collective before it gives up: a process
# that died stops the rest within this time instead of leaving them waiting for ever.
DEFAULT_TIMEOUT = timedelta(minutes=10)


@dataclass(frozen=True)
class Distributed:
    """Where this process stands in its group; the default is a single process."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        """Rank 0: the process that writes the run folder."""
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world_size > 1

    def check_batch(self, batch_size: int) -> None:
        if batch_size % self.world_size:
            raise ConfigError(
                f"`batch_size` {batch_size} does not split evenly among {self.world_size} processes; "
                f"give a multiple of {self.world_size}"
            )

    def shard(self, batch_size: int) -> slice | None:
        """The rows of a global batch this process trains on (None for a single process)."""
        if not self.active:
            return None
        rows = batch_size // self.world_size
        return slice(self.rank * rows, (self.rank + 1) * rows)

    def any(self, flags: tuple[bool, ...], device: torch.device) -> tuple[bool, ...]:
        """For each flag, whether it is true in any process: how the processes agree to stop
        at the same step (a collective: every process must call it)."""
        if not self.active:
            return flags
        values = torch.tensor([1.0 if flag else 0.0 for flag in flags], device=device)
        dist.all_reduce(values, op=dist.ReduceOp.MAX)
        return tuple(bool(v > 0) for v in values.tolist())

    def barrier(self) -> None:
        """Wait for every process (a collective; nothing for a single process)."""
        if self.active:
            dist.barrier()

    def sum(self, tensor: torch.Tensor) -> torch.Tensor:
        """``tensor`` summed over the processes (a collective; not differentiable)."""
        if not self.active:
            return tensor
        total = tensor.detach().clone()
        dist.all_reduce(total)
        return total


def from_environment(device: str = "auto", timeout: timedelta = DEFAULT_TIMEOUT) -> tuple[Distributed, str]:
    """Join the process group ``torchrun`` describes in the environment, if any.

    Returns the process's place and the device it trains on: with several processes on
    CUDA, ``cuda:LOCAL_RANK``. A single process (no ``WORLD_SIZE`` above 1) gets
    ``Distributed()`` and ``device`` unchanged.
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return Distributed(), device
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = device.startswith("cuda") or (device == "auto" and torch.cuda.is_available())
    if use_cuda:
        if device not in ("auto", "cuda"):
            raise ConfigError(f"`device` {device}: with several processes each takes cuda:LOCAL_RANK; give cuda or auto")
        torch.cuda.set_device(local_rank)
        device = f"cuda:{local_rank}"
    elif device == "auto":
        device = "cpu"
    if not dist.is_initialized():
        dist.init_process_group("nccl" if use_cuda else "gloo", timeout=timeout)
    return Distributed(rank=rank, world_size=world_size, local_rank=local_rank), device


def parallel(module: nn.Module, device: torch.device) -> nn.Module:
    """``module`` in ``DistributedDataParallel``: its gradients are averaged over the
    processes during the backward pass. BatchNorm buffers are broadcast from rank 0 at each
    forward pass (the default), so every process keeps rank 0's running statistics."""
    from torch.nn.parallel import DistributedDataParallel

    import warnings

    # channels_last_3d weights (memory_format "auto" on CPUs) have gradients laid out unlike
    # DDP's flat buckets: a copy per bucket, not an error.
    warnings.filterwarnings("ignore", message="Grad strides do not match bucket view strides")
    device = torch.device(device)
    return DistributedDataParallel(module, device_ids=[device.index or 0] if device.type == "cuda" else None)


def leave() -> None:
    """Leave the process group (at the end of a run; nothing without one)."""
    if dist.is_initialized():
        dist.destroy_process_group()


def end_process(code: int) -> None:
    """End a process of a multi-process run that has left its group, now, with ``code``.

    Skips the interpreter's finalisation, where gloo's worker threads can still hold work
    objects whose destruction aborts the process ("terminate called without an active
    exception", exit -6; pytorch/pytorch#179291), which turned finished runs into failed
    ones now and then on a busy machine. Everything is written and flushed by then.
    """
    import sys

    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


class _GlobalBatchNorm:
    """BatchNorm over the whole global batch of a data-parallel run, with gloo or NCCL.

    In training, with gradients on and a process group of several processes, the per-channel
    sums and sums of squares are added up over the processes (a differentiable all-reduce),
    so each process normalises with the statistics one process would compute for the whole
    batch; otherwise it is the plain BatchNorm layer (evaluation, BatchNorm recalibration
    under ``no_grad``, single-process runs). Same parameters and buffers as the plain layer,
    so checkpoints load into it. Assumes equal shards.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (B, C, ...)
        if not (self.training and torch.is_grad_enabled() and dist.is_initialized() and dist.get_world_size() > 1):
            return super().forward(x)
        import warnings

        from torch.distributed.nn.functional import all_reduce

        dims = (0, *range(2, x.dim()))
        values = x.float()
        local = torch.stack([values.sum(dims), (values * values).sum(dims)])  # (2, C)
        with warnings.catch_warnings():  # its successor in torch._functional_collectives is not differentiable
            warnings.simplefilter("ignore", FutureWarning)
            total = all_reduce(local)  # summed over the processes; its gradient flows back to each
        count = values.numel() // values.shape[1] * dist.get_world_size()
        mean = total[0] / count
        var = (total[1] / count - mean * mean).clamp_min(0)
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                momentum = self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked)
                self.running_mean.lerp_(mean.detach(), momentum)
                self.running_var.lerp_(var.detach() * count / max(1, count - 1), momentum)
        shape = (1, -1) + (1,) * (x.dim() - 2)
        out = (values - mean.view(shape)) * torch.rsqrt(var.view(shape) + self.eps)
        if self.affine:
            out = out * self.weight.view(shape) + self.bias.view(shape)
        return out.to(x.dtype)


class GlobalBatchNorm3d(_GlobalBatchNorm, nn.BatchNorm3d):
    """:class:`nn.BatchNorm3d` over the global batch (see :class:`_GlobalBatchNorm`)."""


class GlobalBatchNorm2d(_GlobalBatchNorm, nn.BatchNorm2d):
    """:class:`nn.BatchNorm2d` over the global batch (the image encoder's)."""


class GlobalBatchNorm1d(_GlobalBatchNorm, nn.BatchNorm1d):
    """:class:`nn.BatchNorm1d` over the global batch (the backbone encoder's head, on (B, C))."""


_GLOBAL = {nn.BatchNorm3d: GlobalBatchNorm3d, nn.BatchNorm2d: GlobalBatchNorm2d, nn.BatchNorm1d: GlobalBatchNorm1d}


def convert_batchnorm(module: nn.Module) -> nn.Module:
    """Make every ``nn.BatchNorm3d``, ``nn.BatchNorm2d`` and ``nn.BatchNorm1d`` of ``module`` normalise over the
    global batch, in place: each layer keeps its parameters and buffers and only changes
    class (so optimisers, state dicts and checkpoints are unaffected); returns ``module``."""
    for child in module.modules():
        if type(child) in _GLOBAL:
            child.__class__ = _GLOBAL[type(child)]
    return module
