"""Augmentation about the up axis: exact, per shape, reproducible, never tipping a shape over."""

import pytest
import torch

from shapespace.data.augment import augment_batch, check_augment
from shapespace.errors import ConfigError


def _chair(r: int = 8) -> torch.Tensor:
    """A seat at height 2 and a two-voxel-wide backrest at high axis 0, low axis 1 (no symmetry)."""
    v = torch.zeros(r, r, r, dtype=torch.uint8)
    v[1:7, 1:7, 2] = 1
    v[6, 1:3, 2:8] = 1
    return v


def test_flip_mirrors_axis_1_and_rot90_turns_about_axis_2():
    batch = _chair().expand(64, -1, -1, -1).clone()
    out = augment_batch(batch, ["flip", "rot90"], torch.Generator().manual_seed(0))
    candidates = []
    for flip in (False, True):
        base = _chair().flip(1) if flip else _chair()
        candidates += [torch.rot90(base, k, dims=(0, 1)) for k in range(4)]
    seen = set()
    for shape in out:
        matches = [i for i, c in enumerate(candidates) if torch.equal(shape, c)]
        assert len(matches) == 1
        seen.add(matches[0])
        assert shape[:, :, 2].sum() == 36 and shape[:, :, 7].sum() == 2, "the seat stays at height 2, the back on top"
    assert seen == set(range(8)), "all eight symmetries about the up axis occur in 64 draws"


def test_flip_only_keeps_the_facing():
    out = augment_batch(_chair().expand(16, 1, -1, -1, -1).clone(), ["flip"], torch.Generator().manual_seed(1))
    assert out.shape == (16, 1, 8, 8, 8)
    for shape in out[:, 0]:
        assert shape[6].sum() == 16 and shape[1].sum() == 6, "the backrest (12 voxels, 2 shared with the seat) stays at high axis 0"


def test_same_seed_same_result_and_unknown_names():
    batch = _chair().expand(8, -1, -1, -1).clone()
    a = augment_batch(batch, ["rot90"], torch.Generator().manual_seed(3))
    b = augment_batch(batch, ["rot90"], torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    assert check_augment(["flip", "flip", " rot90 "]) == ("flip", "rot90")
    with pytest.raises(ConfigError, match="unknown augmentation spin"):
        check_augment(["spin"])


def test_whole_batch_transforms_match_the_per_shape_definition():
    # The definition: draw a flip and a turn per shape (in that order), mirror axis 1, then turn.
    shapes = torch.randint(0, 2, (32, 6, 6, 6), generator=torch.Generator().manual_seed(5), dtype=torch.uint8)
    out = augment_batch(shapes, ["flip", "rot90"], torch.Generator().manual_seed(7))
    draws = torch.Generator().manual_seed(7)
    flips, turns = torch.randint(0, 2, (32,), generator=draws), torch.randint(0, 4, (32,), generator=draws)
    for shape, flip, turn, got in zip(shapes, flips, turns, out):
        expected = shape.flip(1) if flip else shape
        assert torch.equal(got, torch.rot90(expected, int(turn), dims=(0, 1)))
    assert not torch.equal(out, shapes)  # and the input is left as it was
    assert torch.equal(shapes, torch.randint(0, 2, (32, 6, 6, 6), generator=torch.Generator().manual_seed(5), dtype=torch.uint8))
