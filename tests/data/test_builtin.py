"""Built-in furniture, public API (shapespace.data.builtin): specs, arrays, labels, determinism, argument checks."""

from __future__ import annotations

import time

import numpy as np
import pytest

from shapespace.data.builtin import CLASSES, builtin_voxels, furniture_shape, parse_builtin_spec
from shapespace.errors import DataError


# --- spec parsing ---------------------------------------------------------------------


def test_classes_are_the_six_ikea_classes() -> None:
    assert CLASSES == ("bed", "bookcase", "chair", "desk", "sofa", "table")


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("builtin:chair", ("chair",)),
        ("builtin:all", CLASSES),
        ("builtin:chair,table", ("chair", "table")),
        ("builtin:table,chair", ("table", "chair")),
        ("builtin:sofa, bed", ("sofa", "bed")),
    ],
)
def test_parse_builtin_spec(spec: str, expected: tuple[str, ...]) -> None:
    assert parse_builtin_spec(spec) == expected


@pytest.mark.parametrize(
    ("spec", "named"),
    [
        ("builtin:spaceship", "spaceship"),
        ("builtin:chair,sofaa", "sofaa"),
        ("chair", "chair"),
        ("modelnet:chair", "modelnet:chair"),
        ("builtin:", "empty"),
        ("builtin:chair,,table", "empty"),
        ("builtin:chair,chair", "twice"),
        ("builtin:all,chair", "'all'"),
    ],
)
def test_parse_builtin_spec_rejects_bad_specs(spec: str, named: str) -> None:
    with pytest.raises(DataError) as error:
        parse_builtin_spec(spec)
    message = str(error.value)
    assert named in message
    assert repr(spec) in message
    if named != "twice":
        assert "bookcase" in message  # lists the valid classes


# --- arrays, labels, determinism ------------------------------------------------------


def test_builtin_voxels_shapes_dtypes_and_labels() -> None:
    voxels, labels = builtin_voxels(("table", "chair"), 3, 16)
    assert voxels.shape == (6, 16, 16, 16)
    assert voxels.dtype == np.uint8
    assert set(np.unique(voxels).tolist()) == {0, 1}
    assert labels.dtype == np.int64
    assert labels.tolist() == [0, 0, 0, 1, 1, 1]  # positions in the requested order
    np.testing.assert_array_equal(voxels[:3], builtin_voxels("table", 3, 16)[0])
    for n in range(3):
        np.testing.assert_array_equal(voxels[3 + n], furniture_shape("chair", n, 16))


@pytest.mark.parametrize(("resolution", "occupied"), [(8, 36), (13, 75), (128, 90912)])
def test_furniture_shape_is_a_nonempty_bool_grid(resolution: int, occupied: int) -> None:
    shape = furniture_shape("desk", 3, resolution)
    assert shape.shape == (resolution,) * 3
    assert shape.dtype == np.bool_
    assert int(shape.sum()) == occupied  # the fixed data set: desk 3 of seed 0


@pytest.mark.parametrize("category", CLASSES)
def test_shape_depends_only_on_category_index_and_seed(category: str) -> None:
    batch = builtin_voxels(category, 10, 16, seed=4)[0]
    np.testing.assert_array_equal(batch, builtin_voxels(category, 10, 16, seed=4)[0])
    np.testing.assert_array_equal(batch[5], builtin_voxels(category, 1, 16, seed=4, start=5)[0][0])
    np.testing.assert_array_equal(batch[5], furniture_shape(category, 5, 16, seed=4))
    companion = "sofa" if category == "bed" else "bed"
    np.testing.assert_array_equal(batch[7], builtin_voxels([companion, category], 8, 16, seed=4)[0][-1])


@pytest.mark.parametrize("category", CLASSES)
def test_different_seeds_give_different_shapes(category: str) -> None:
    seed0 = builtin_voxels(category, 10, 32, seed=0)[0]
    seed1 = builtin_voxels(category, 10, 32, seed=1)[0]
    assert all(not np.array_equal(a, b) for a, b in zip(seed0, seed1))


def test_heldout_range_is_disjoint_from_training_range() -> None:
    train = builtin_voxels("chair", 20, 16)[0].reshape(20, -1)
    heldout = builtin_voxels("chair", 20, 16, start=1_000_000)[0].reshape(20, -1)
    assert not (train[:, None, :] == heldout[None, :, :]).all(-1).any()


# --- argument checks and speed --------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "named"),
    [
        (lambda: builtin_voxels("spaceship", 1, 16), "spaceship"),
        (lambda: builtin_voxels(["chair", "sofaa"], 1, 16), "sofaa"),
        (lambda: builtin_voxels(["chair", "chair"], 1, 16), "twice"),
        (lambda: builtin_voxels([], 1, 16), "no built-in classes"),
        (lambda: builtin_voxels("chair", 0, 16), "count"),
        (lambda: builtin_voxels("chair", 1, 7), "resolution"),
        (lambda: builtin_voxels("chair", 1, True), "resolution"),
        (lambda: builtin_voxels("chair", 1, 16, seed=-1), "seed"),
        (lambda: builtin_voxels("chair", 1, 16, start=-1), "start"),
        (lambda: builtin_voxels("chair", 1, 16, fill=0.0), "fill"),
        (lambda: builtin_voxels("chair", 1, 16, fill=1.5), "fill"),
        (lambda: furniture_shape("chair", -1, 16), "index"),
        (lambda: furniture_shape("stool", 0, 16), "stool"),
    ],
)
def test_bad_arguments_raise_data_error(call, named: str) -> None:
    with pytest.raises(DataError, match=named):
        call()


def test_generation_is_fast() -> None:
    """A loose guard: 200 chairs at 32^3 take about 0.05 s on one core."""
    started = time.perf_counter()
    builtin_voxels("chair", 200, 32)
    assert time.perf_counter() - started < 2.0
