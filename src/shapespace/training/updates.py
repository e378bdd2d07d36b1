"""How the networks are updated: every optimiser made in one place, the paper's adaptive
D update, and the small helpers a ``train_step`` calls around its backward passes."""

from __future__ import annotations

import contextlib
from typing import Iterator

import torch

from shapespace.training.runtime import make_adam


def make_optimizers(
    networks: dict[str, torch.nn.Module],
    learning_rates: dict[str, float],
    betas: tuple[float, float],
    device: torch.device,
    fused: bool,
) -> dict[str, torch.optim.Adam]:
    """One Adam per network, by name (the names key the optimisers in the training state).

    Args:
        networks: e.g. ``{"generator": G, "discriminator": D}``.
        learning_rates: the learning rate of each network, by the same names.
        betas: Adam's (beta1, beta2), shared by all (the paper gives one beta1).
        fused: use the fused kernel where torch has one (:func:`~shapespace.training.runtime.make_adam`).
    """
    return {name: make_adam(net.parameters(), learning_rates[name], betas, device, fused) for name, net in networks.items()}


def make_scaler(device: torch.device, precision: str) -> torch.amp.GradScaler:
    """A gradient scaler, enabled for fp16 only (bf16 has fp32's range)."""
    return torch.amp.GradScaler(device.type, enabled=precision == "fp16")


def optimizer_step(loss: torch.Tensor, optimizers: list[torch.optim.Optimizer], scaler: torch.amp.GradScaler) -> None:
    """Clear the gradients of ``optimizers``, back-propagate ``loss`` and step each of them.

    One scaler for a loss shared by several optimisers is how GradScaler handles several
    optimisers of one backward pass.
    """
    for optimizer in optimizers:
        optimizer.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    for optimizer in optimizers:
        scaler.step(optimizer)
    scaler.update()


def adaptive_discriminator_update(
    loss: torch.Tensor,
    correct: torch.Tensor,
    batch_size: int,
    threshold: float,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler,
) -> bool:
    """The paper's adaptive D update (docs/paper.md section 1): step D only while its accuracy on
    this batch (``correct`` of ``2 * batch_size`` calls) is at most ``threshold``.

    Returns whether D was updated. Deciding reads the accuracy on the host, which waits
    for the device; with a threshold of 1 D is always updated and nothing is read, so a
    GPU is never waited for mid-step.
    """
    updated = threshold >= 1 or correct.item() / (2 * batch_size) <= threshold
    if updated:
        optimizer_step(loss, [optimizer], scaler)
    return updated


@contextlib.contextmanager
def frozen(module: torch.nn.Module) -> Iterator[None]:
    """No weight gradients for ``module`` inside the block (G's update through D needs
    only input gradients: skipping D's saves time and changes nothing)."""
    module.requires_grad_(False)
    try:
        yield
    finally:
        module.requires_grad_(True)
