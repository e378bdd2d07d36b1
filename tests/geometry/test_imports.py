"""Layering: geometry is the bottom layer, importing nothing of shapespace but errors and itself."""

import importlib
import pkgutil

from conftest import imported_modules

import shapespace.geometry


def test_geometry_imports_only_errors_and_geometry():
    """No module of shapespace.geometry imports shapespace.io or any other package above it."""
    names = [info.name for info in pkgutil.iter_modules(shapespace.geometry.__path__)]
    assert {"frame", "mesh", "voxelize"} <= set(names)
    for name in ["shapespace.geometry"] + [f"shapespace.geometry.{name}" for name in names]:
        imported = {m for m in imported_modules(importlib.import_module(name)) if m.startswith("shapespace.")}
        upward = {m for m in imported if m.split(".")[1] not in ("errors", "geometry")}
        assert not upward, f"{name} imports {sorted(upward)}"
    assert "shapespace.errors" in imported_modules(importlib.import_module("shapespace.geometry.voxelize"))
