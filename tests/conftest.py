"""Shared fixtures: tiny configs and a tiny, fixed target distribution of shapes."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from shapespace.data.sources import VoxelSet
from shapespace.models import GANConfig

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


def box_voxels(n: int, resolution: int = 16, seed: int = 0) -> torch.Tensor:
    """``n`` solid boxes standing on the floor (axis 2) and centred in axes 0 and 1.

    Widths/depths vary in [4, 10] voxels and heights in [6, 14]: a simple, fixed target
    distribution for learning tests. ByteTensor of shape (n, R, R, R).
    """
    g = torch.Generator().manual_seed(seed)
    out = torch.zeros(n, resolution, resolution, resolution, dtype=torch.uint8)
    for i in range(n):
        w, d = torch.randint(4, 11, (2,), generator=g).tolist()
        h = int(torch.randint(6, 15, (1,), generator=g))
        a0, a1 = (resolution - w) // 2, (resolution - d) // 2
        out[i, a0 : a0 + w, a1 : a1 + d, 1 : 1 + h] = 1
    return out


@pytest.fixture
def tiny_config() -> GANConfig:
    return GANConfig(resolution=16, latent_dim=8, generator_channels=(16, 8), discriminator_channels=(8, 16))


@pytest.fixture
def box_set() -> VoxelSet:
    voxels = box_voxels(64)
    return VoxelSet(voxels, torch.zeros(len(voxels), dtype=torch.long), ("box",), "test:boxes")
