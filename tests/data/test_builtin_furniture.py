"""Built-in furniture, the per-class generators (shapespace.data.builtin.furniture): the
classes differ, stand in the canonical frame, are normalised, keep thin parts and vary."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from shapespace.data.builtin import CLASSES, builtin_voxels
from shapespace.data.builtin.furniture import CLASS_PARTS

PER_CLASS = 50


@pytest.fixture(scope="module")
def shapes32() -> dict[str, np.ndarray]:
    """50 shapes per class at 32^3: class -> BoolArray (50, 32, 32, 32)."""
    return {name: builtin_voxels(name, PER_CLASS, 32)[0].astype(bool) for name in CLASSES}


@pytest.fixture(scope="module")
def shapes16() -> dict[str, np.ndarray]:
    """50 shapes per class at 16^3: class -> BoolArray (50, 16, 16, 16)."""
    return {name: builtin_voxels(name, PER_CLASS, 16)[0].astype(bool) for name in CLASSES}


def occupied_range(volume: np.ndarray, axis: int) -> tuple[int, int]:
    """First and last occupied index along ``axis`` of a (R, R, R) grid."""
    others = tuple(a for a in range(3) if a != axis)
    indices = np.flatnonzero(volume.any(axis=others))
    return int(indices[0]), int(indices[-1])


def extent(volume: np.ndarray, axis: int) -> int:
    lo, hi = occupied_range(volume, axis)
    return hi - lo + 1


def test_every_class_has_a_generator() -> None:
    assert tuple(CLASS_PARTS) == CLASSES


# --- the classes differ ---------------------------------------------------------------


def test_nearest_class_mean_recognises_classes() -> None:
    """Class-mean grids differ enough to classify unseen shapes far above chance (1/6)."""
    train, train_labels = builtin_voxels(CLASSES, 40, 16)
    test, test_labels = builtin_voxels(CLASSES, 20, 16, start=1000)
    means = np.stack([train[train_labels == c].mean(0) for c in range(len(CLASSES))]).reshape(len(CLASSES), -1)
    distances = ((test.reshape(len(test), 1, -1) - means[None]) ** 2).sum(-1)
    accuracy = (distances.argmin(1) == test_labels).mean()
    assert accuracy >= 0.8


def test_class_proportions(shapes32: dict[str, np.ndarray]) -> None:
    def height_over_width(name: str) -> np.ndarray:
        return np.array([extent(v, 2) / max(extent(v, 0), extent(v, 1)) for v in shapes32[name]])

    assert height_over_width("bookcase").min() > 1.0  # always taller than wide
    assert height_over_width("table").max() < 1.0  # always lower than wide
    assert height_over_width("bookcase").mean() > 2 * height_over_width("table").mean()
    assert height_over_width("chair").mean() > 1.2
    # Beds are longest front to back; desks are taller than coffee tables can be.
    assert all(extent(v, 0) == 24 for v in shapes32["bed"])
    assert height_over_width("desk").min() > 0.35


# --- canonical frame ------------------------------------------------------------------


def test_chair_backrest_is_at_high_axis0(shapes32: dict[str, np.ndarray]) -> None:
    centre = (32 - 1) / 2
    offsets = []
    for volume in shapes32["chair"]:
        points = np.argwhere(volume)
        k_lo, k_hi = occupied_range(volume, 2)
        upper = points[points[:, 2] > (k_lo + k_hi) / 2]
        offsets.append(upper[:, 0].mean() - centre)
        top_layer = points[points[:, 2] == k_hi]
        assert top_layer[:, 0].min() > centre  # the top of the backrest is behind the middle
    assert min(offsets) > 0
    assert np.mean(offsets) > 2.0


def test_bed_headboard_is_at_high_axis0(shapes32: dict[str, np.ndarray]) -> None:
    for volume in shapes32["bed"]:
        points = np.argwhere(volume)
        top_layer = points[points[:, 2] == points[:, 2].max()]
        assert top_layer[:, 0].min() > 24  # within the last quarter of the bed's 24 voxels


@pytest.mark.parametrize("category", ["chair", "table"])
def test_four_legged_shapes_stand_on_small_feet(shapes32: dict[str, np.ndarray], category: str) -> None:
    """The lowest layer of a four-legged chair or table is four separate small footprints."""
    four_feet = 0
    for volume in shapes32[category]:
        components, count = ndimage.label(volume[:, :, occupied_range(volume, 2)[0]])
        four_feet += count == 4 and np.bincount(components.ravel())[1:].max() <= 9
    assert four_feet >= 0.3 * PER_CLASS  # about 56% of chairs and 62% of tables have four legs


def test_tables_are_top_heavy(shapes32: dict[str, np.ndarray]) -> None:
    """Gravity points to axis-2 index 0: a table's top layer is its top, larger than its feet."""
    for volume in shapes32["table"]:
        area = volume.sum(axis=(0, 1))
        k_lo, k_hi = occupied_range(volume, 2)
        assert area[k_hi] > area[k_lo]


@pytest.mark.parametrize("resolution", [16, 17])
@pytest.mark.parametrize("category", CLASSES)
def test_shapes_are_mirror_symmetric_about_axis1(category: str, resolution: int) -> None:
    voxels = builtin_voxels(category, 30, resolution)[0]
    np.testing.assert_array_equal(voxels, voxels[:, :, ::-1, :])


# --- normalisation and thin parts -----------------------------------------------------


@pytest.mark.parametrize(("resolution", "fill"), [(16, 0.75), (32, 0.75), (33, 0.75), (32, 0.5), (64, 0.75)])
@pytest.mark.parametrize("category", CLASSES)
def test_bounding_box_is_centred_and_spans_fill(category: str, resolution: int, fill: float) -> None:
    expected = round(fill * resolution)
    for volume in builtin_voxels(category, 8, resolution, fill=fill)[0]:
        ranges = [occupied_range(volume, axis) for axis in range(3)]
        assert abs(max(hi - lo + 1 for lo, hi in ranges) - expected) <= 1
        for lo, hi in ranges:
            assert abs((lo + hi) / 2 - (resolution - 1) / 2) <= 1


def test_default_fill_spans_24_of_32_voxels(shapes32: dict[str, np.ndarray]) -> None:
    for voxels in shapes32.values():
        for volume in voxels:
            assert max(extent(volume, axis) for axis in range(3)) == 24


def test_chairs_reach_the_floor_at_16(shapes16: dict[str, np.ndarray]) -> None:
    """The floor of the bounding box is layer (16 - 12) / 2 = 2; legs, however thin, reach it."""
    for volume in shapes16["chair"]:
        assert occupied_range(volume, 2)[0] == 2


@pytest.mark.parametrize("resolution", [8, 16])
@pytest.mark.parametrize("category", CLASSES)
def test_thin_parts_survive_at_low_resolution(category: str, resolution: int) -> None:
    """Every shape stays one face-connected piece: no leg, post, slat or board vanishes."""
    for volume in builtin_voxels(category, 40, resolution)[0]:
        assert ndimage.label(volume)[1] == 1


def test_no_shape_is_empty(shapes16: dict[str, np.ndarray]) -> None:
    """The smallest shape of each class at 16^3 (voxel counts of the fixed data set)."""
    smallest = {name: int(voxels.reshape(len(voxels), -1).sum(1).min()) for name, voxels in shapes16.items()}
    assert smallest == {"bed": 144, "bookcase": 52, "chair": 60, "desk": 68, "sofa": 80, "table": 60}


# --- variety --------------------------------------------------------------------------


@pytest.mark.parametrize("category", CLASSES)
def test_variety_within_each_class(shapes32: dict[str, np.ndarray], category: str) -> None:
    voxels = shapes32[category]
    assert len({volume.tobytes() for volume in voxels}) >= 40
    flat = voxels.reshape(len(voxels), -1).astype(np.float64)
    intersection = flat @ flat.T
    sizes = flat.sum(1)
    iou = intersection / (sizes[:, None] + sizes[None, :] - intersection)
    off_diagonal = iou[~np.eye(len(voxels), dtype=bool)]
    assert off_diagonal.mean() < 0.6

