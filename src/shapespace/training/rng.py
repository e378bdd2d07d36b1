"""Named random streams: every draw of a training run is a pure function of ``(seed, stream, index)``.

A trainer never touches the global random state after building its model: each draw
(the data order of an epoch, the latents of a step, the instance noise of a step, ...)
comes from a fresh ``torch.Generator`` seeded by :func:`stream_seed`. Together with the
saved weights, optimiser moments and BatchNorm statistics this makes ``resume`` continue
exactly where a run stopped, and a new stream never shifts the draws of an old one.
"""

from __future__ import annotations

from enum import IntEnum

import torch


class Stream(IntEnum):
    """The named streams; their numbers are part of every saved run's randomness, never reuse one."""

    EPOCH = 0x5EED_0001  # data order of an epoch
    LATENT = 0x5EED_0002  # prior latents of a step
    PREVIEW = 0x5EED_0003  # latents of the sample pictures
    NOISE = 0x5EED_0004  # instance noise of a step
    BATCHNORM = 0x5EED_0005  # latents that recalibrate the averaged generator's BatchNorm
    AUGMENT = 0x5EED_0006  # flips and turns of the real shapes of a step
    PENALTY = 0x5EED_0007  # the mixing weights of the gradient penalty of a step
    RENDER = 0x5EED_0101  # training photos of a step (3D-VAE-GAN)
    POSTERIOR = 0x5EED_0102  # posterior draws of a step (3D-VAE-GAN)
    PREVIEW_RENDER = 0x5EED_0103  # photos of the reconstruction pictures (3D-VAE-GAN)
    PHOTO_CACHE = 0x5EED_0104  # the pairs drawn from a photo cache in a step (3D-VAE-GAN)
    PHOTO_CACHE_ORDER = 0x5EED_0105  # the order of cached and rendered pairs in a step's batch (3D-VAE-GAN)


def stream_seed(seed: int, stream: int, index: int) -> int:
    """A 63-bit seed for draw ``index`` of a named random stream (deterministic, no global state)."""
    value = (seed * 0x9E3779B97F4A7C15 + stream * 0xBF58476D1CE4E5B9 + index * 0x94D049BB133111EB) & ((1 << 64) - 1)
    value ^= value >> 31
    return value & ((1 << 63) - 1)


def stream_rng(seed: int, stream: Stream, index: int, device: torch.device | str = "cpu") -> torch.Generator:
    """A generator for draw ``index`` of ``stream``.

    On the CPU (the default) the draws are the same on every machine. A generator on the
    training device (``device``) lets a step draw its latents and noise where they are used,
    without a copy from the host: the draws are then a function of the seed on that kind of
    device (a CUDA run does not repeat a CPU run's draws, but repeats itself).
    """
    return torch.Generator(device=device).manual_seed(stream_seed(seed, stream, index))


class DataOrder:
    """Which shapes each step trains on: epoch ``e`` is a permutation drawn from stream
    ``EPOCH`` at index ``e``, and step ``s`` takes positions ``s*B .. (s+1)*B - 1`` of the
    concatenated epochs (a batch can straddle two epochs).

    Args:
        count: number of training shapes.
        batch_size: shapes per step.
        seed: the run's seed.
    """

    def __init__(self, count: int, batch_size: int, seed: int) -> None:
        self.count, self.batch_size, self.seed = count, batch_size, seed
        self._cache: tuple[int, torch.Tensor] | None = None

    def epoch(self, epoch: int) -> torch.Tensor:
        """The permutation of epoch ``epoch``: LongTensor of shape (count,)."""
        if self._cache is None or self._cache[0] != epoch:
            self._cache = (epoch, torch.randperm(self.count, generator=stream_rng(self.seed, Stream.EPOCH, epoch)))
        return self._cache[1]

    def batch(self, step: int) -> torch.Tensor:
        """Indices of the real shapes used at ``step``: LongTensor of shape (batch_size,)."""
        n, b = self.count, self.batch_size
        positions = torch.arange(step * b, (step + 1) * b)
        out = torch.empty(b, dtype=torch.long)
        for epoch in positions.div(n, rounding_mode="floor").unique().tolist():
            mask = positions.div(n, rounding_mode="floor") == epoch
            out[mask] = self.epoch(epoch)[positions[mask] % n]
        return out
