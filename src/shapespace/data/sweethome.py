"""Sweet Home 3D furniture libraries as a data source: the items of the six classes, with credits.

A source is a ``.sh3f`` library, ``sweethome3d.jar`` (its default catalogue) or a folder
holding such files anywhere below it (``make fetch-furniture`` fills ``data/sweethome3d/``).
Every item of every catalogue (:mod:`shapespace.io.sweethome`) is given a class by the
reviewed table of :mod:`shapespace.data.sweethome_classes`; items of none of the six classes
are left out and listed with the reason (``shapespace data info``). Each shape keeps its
model's credit: name, creator and licence (the item's own, else its library's), and the
licence file that came with the model.

The libraries have no test split: every shape is ``"train"``; ``holdout`` sets some aside.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from shapespace.data.sweethome_classes import classify
from shapespace.io.sweethome import LIBRARY_SUFFIXES, read_library

SWEETHOME_SPLIT = "train"


@dataclass(frozen=True)
class FurnitureShape:
    """An item of a library that is one of the six classes.

    Attributes:
        path: ``<library>/<number>-<name>``, the shape's path for :func:`~shapespace.io.registry.read_shape`.
        category: its IKEA class.
        credit: ``(key, value)`` pairs: ``name``, ``creator``, ``license``, ``license_file``
            (a path inside the library, or ``""``), ``library`` (the library's name) and ``id``.
    """

    path: Path
    category: str
    credit: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class LeftOutItem:
    """An item of a library that is none of the six classes, and why.

    Attributes:
        path: ``<library>/<number>-<name>``.
        name: the item's English name.
        sweethome_category: its Sweet Home 3D category, e.g. ``"Kitchen"``.
        reason: why it has no class (:func:`~shapespace.data.sweethome_classes.classify`).
    """

    path: Path
    name: str
    sweethome_category: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"path": str(self.path), "name": self.name, "sweethome_category": self.sweethome_category, "reason": self.reason}


def is_library(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a file that may be a Sweet Home 3D library (by its suffix)."""
    path = Path(path)
    return path.suffix.lower() in LIBRARY_SUFFIXES and path.is_file()


def find_libraries(root: str | os.PathLike) -> list[Path]:
    """The library files in a folder and below it, sorted; hidden files and folders are skipped."""
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found.extend(Path(folder) / f for f in sorted(files) if not f.startswith(".") and Path(f).suffix.lower() in LIBRARY_SUFFIXES)
    return found


def list_furniture(libraries: list[Path]) -> tuple[list[FurnitureShape], list[LeftOutItem]]:
    """Classify every item of ``libraries``.

    Returns:
        ``(shapes, left out)``: the items of the six classes and the others, in library and item order.

    Raises:
        DataError: naming the library, for one that cannot be read (:func:`~shapespace.io.sweethome.read_library`).
    """
    shapes: list[FurnitureShape] = []
    left_out: list[LeftOutItem] = []
    for path in libraries:
        library = read_library(path)
        for item in library.items:
            category, reason = classify(item.name, item.id)
            item_path = library.item_path(item)
            if category is None:
                left_out.append(LeftOutItem(item_path, item.name, item.category, reason))
                continue
            credit = (
                ("name", item.name), ("creator", item.creator), ("license", item.license),
                ("license_file", item.license_file), ("library", library.name or path.name), ("id", item.id),
            )  # fmt: skip
            shapes.append(FurnitureShape(item_path, category, credit))
    return shapes, left_out
