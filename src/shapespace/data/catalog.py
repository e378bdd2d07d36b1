"""Find the shape files of a data source, with their class and split, before reading any.

A source is a single shape file or a folder. Folders are understood in these layouts:

* **ModelNet**: ``<class>/{train,test}/<files>`` (e.g. ``../shared/data/modelnet10-pcd``);
* **split folders**: ``{train,test}/<class>_<id>[_<view>].<ext>``, the 3DShapeNets export
  (e.g. ``../shared/data/modelnet10-chair-vox30``): the class is the file name up to its
  first ``_<digits>``;
* **ShapeNet**: ``[<synset>/]<model id>/models/<file>``: the class is the synset folder, or
  the root folder's name;
* **IKEA** (:mod:`shapespace.data.ikea`): the models of ``Voxels/`` or ``model/``;
* **Sweet Home 3D** (:mod:`shapespace.data.sweethome`): a ``.sh3f`` furniture library,
  ``sweethome3d.jar``, or a folder of them: one shape per item of the six classes, named
  ``<library>/<number>-<name>``; the other items are left out and listed in ``left_out``;
* **any folder**: shape files anywhere below it; the class is the first folder below the
  root, or the root folder's name for files directly in it;
* **a single file**: the class is its name up to the first ``_<digits>`` (``chair_0001.pcd``
  is a chair), or its whole name.

The split is ``"test"`` for files below a ``test`` folder and ``"train"`` otherwise (IKEA
models are ``"test"``: the set is for evaluation). 3DShapeNets stores each shape in 12
rotations about the up axis, ``<class>_<id>_1.mat`` ... ``_12.mat``; only ``_1`` is in the
canonical frame, so ``views="first"`` (the default) keeps it alone and ``views="all"``
keeps all twelve as 3DShapeNets' own rotation augmentation.

Sources without a test split (the 3DShapeNets chair export holds only ``train``) can set one
aside with ``holdout``: a fixed fraction of the training shapes, chosen by a hash of each
shape's name (its 12 views go together), moves to ``"test"`` -- the same shapes on every
machine and in every run, whatever else is in the folder.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from shapespace.errors import DataError

SPLITS = ("train", "test", "all")
VIEWS = ("first", "all")
_VIEW_NAME = re.compile(r"^(?P<shape>.+_\d+)_(?P<view>\d{1,2})$")
_CLASS_PREFIX = re.compile(r"^(?P<name>[A-Za-z][A-Za-z_]*?)_\d")


@dataclass(frozen=True)
class ShapeEntry:
    """One shape file of a source (or one shape inside an archive: ``<archive>/<item>``).

    ``attribution`` holds ``(key, value)`` pairs crediting the shape's model where the
    source names a creator and licence per model (Sweet Home 3D); empty otherwise.
    """

    path: Path
    category: str
    split: str
    attribution: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Catalog:
    """The shape files of a source after filtering, in a fixed order.

    Attributes:
        root: the source folder or file.
        layout: ``"modelnet"``, ``"split"``, ``"shapenet"``, ``"ikea"``, ``"sweethome3d"``,
            ``"folder"`` or ``"file"``.
        entries: the files, sorted by class, split and path.
        classes: sorted class names present in ``entries``.
        left_out: items of the source that are of no class, each ``{"path", "name",
            "sweethome_category", "reason"}`` (Sweet Home 3D libraries; empty otherwise).
    """

    root: Path
    layout: str
    entries: tuple[ShapeEntry, ...]
    classes: tuple[str, ...]
    left_out: tuple[dict[str, str], ...] = ()

    def counts(self) -> dict[str, dict[str, int]]:
        """Files per class and split: ``{class: {"train": n, "test": m}}``."""
        table: dict[str, dict[str, int]] = {c: {"train": 0, "test": 0} for c in self.classes}
        for entry in self.entries:
            table[entry.category][entry.split] += 1
        return table


def check_classes(classes: Sequence[str] | None, present: Sequence[str], where: str = "") -> None:
    """Raise a clear error when ``classes`` names a class that is not in ``present``."""
    unknown = sorted(set(classes or ()) - set(present))
    if unknown:
        place = f" in {where}" if where else ""
        raise DataError(f"`classes`: unknown class {', '.join(unknown)}{place}; classes: {', '.join(sorted(present))}")


def check_split(split: str) -> str:
    if split not in SPLITS:
        raise DataError(f"`split` {split!r}: expected one of {', '.join(SPLITS)}")
    return split


def _shape_files(root: Path) -> list[Path]:
    from shapespace.io.registry import shape_suffixes

    suffixes = shape_suffixes()
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found.extend(Path(folder) / f for f in sorted(files) if not f.startswith(".") and Path(f).suffix.lower() in suffixes)
    return found


def _entry(root: Path, path: Path) -> tuple[ShapeEntry, str]:
    parts = path.relative_to(root).parts
    folders = list(parts[:-1])
    split = "test" if "test" in folders else "train"
    if "models" in folders:  # ShapeNet: [<synset>/]<id>/models/<file>
        cut = folders.index("models")
        folders, layout = folders[: max(cut - 1, 0)], "shapenet"
    elif "train" in folders or "test" in folders:
        position = folders.index(split)
        layout = "modelnet" if position > 0 else "split"
        folders = folders[:position]
    else:
        layout = "folder"
    if folders:
        category = folders[0]
    else:
        match = _CLASS_PREFIX.match(path.stem) if layout == "split" else None
        category = match.group("name") if match else root.name
    return ShapeEntry(path, category, split), layout


def _first_views(entries: list[ShapeEntry]) -> list[ShapeEntry]:
    """Keep view 1 of each 3DShapeNets ``<shape>_<view>`` group; files outside such groups stay."""
    groups: dict[tuple[Path, str], set[int]] = {}
    for entry in entries:
        match = _VIEW_NAME.match(entry.path.stem)
        if match:
            groups.setdefault((entry.path.parent, match.group("shape")), set()).add(int(match.group("view")))
    kept = []
    for entry in entries:
        match = _VIEW_NAME.match(entry.path.stem)
        views = groups.get((entry.path.parent, match.group("shape")), set()) if match else set()
        if len(views) < 2 or int(match.group("view")) == 1:
            kept.append(entry)
    return kept


def _held_out(entry: ShapeEntry, fraction: float) -> bool:
    """Whether a training shape belongs to the held-out fraction (stable across machines)."""
    match = _VIEW_NAME.match(entry.path.stem)
    name = match.group("shape") if match else entry.path.stem
    digest = hashlib.sha256(f"{entry.category}/{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < fraction


def scan_source(
    source: str | os.PathLike,
    classes: Sequence[str] | None = None,
    split: str = "all",
    views: str = "first",
    holdout: float = 0.0,
) -> Catalog:
    """List the shape files of ``source`` with their class and split.

    Args:
        source: a shape file or a folder in one of the layouts above.
        classes: keep only these classes (an unknown name is an error).
        split: ``"train"``, ``"test"`` or ``"all"``.
        views: ``"first"`` or ``"all"`` 3DShapeNets rotations (see the module docstring).
        holdout: fraction of training shapes to move to the test split (see the module docstring).

    Raises:
        DataError: for a missing source, an unknown class, or no shape files after filtering.
    """
    from shapespace.data.ikea import IKEA_SPLIT, ikea_layout, ikea_models
    from shapespace.data.sweethome import SWEETHOME_SPLIT, find_libraries, is_library, list_furniture

    check_split(split)
    if not 0 <= holdout < 1:
        raise DataError(f"`holdout` must be in [0, 1), got {holdout}")
    if views not in VIEWS:
        raise DataError(f"`views` {views!r}: expected one of {', '.join(VIEWS)}")
    root = Path(source)
    if not root.exists():
        raise DataError(f"`data` {source}: no such file or folder")
    libraries = [root] if is_library(root) else find_libraries(root) if root.is_dir() else []
    left_out: list[dict[str, str]] = []
    if libraries:
        if root.is_dir() and _shape_files(root):
            raise DataError(f"`data` {source}: the folder holds Sweet Home 3D libraries and other shape files; give them as separate sources")
        shapes, skipped_items = list_furniture(libraries)
        entries = [ShapeEntry(s.path, s.category, SWEETHOME_SPLIT, s.credit) for s in shapes]
        left_out, layout = [item.to_dict() for item in skipped_items], "sweethome3d"
        if not entries:
            raise DataError(f"`data` {source}: none of the {len(left_out)} items of its furniture libraries is of a class")
    elif root.is_file():
        from shapespace.io.registry import format_for

        format_for(root)
        match = _CLASS_PREFIX.match(root.stem)
        entries, layout = [ShapeEntry(root, match.group("name") if match else root.stem, "train")], "file"
    elif ikea_layout(root):
        entries = [ShapeEntry(path, category, IKEA_SPLIT) for path, category in ikea_models(root)]
        layout = "ikea"
    else:
        scanned = [_entry(root, path) for path in _shape_files(root)]
        if not scanned:
            raise DataError(f"`data` {source}: the folder holds no shape files")
        entries = [entry for entry, _ in scanned]
        layouts = {layout for _, layout in scanned}
        layout = layouts.pop() if len(layouts) == 1 else "folder"
        if views == "first":
            entries = _first_views(entries)
    if holdout:
        entries = [dataclasses.replace(e, split="test") if e.split == "train" and _held_out(e, holdout) else e for e in entries]
    present = sorted({entry.category for entry in entries})
    if classes:
        check_classes(classes, present, str(source))
        entries = [entry for entry in entries if entry.category in set(classes)]
    if split != "all":
        available = sorted({entry.split for entry in entries})
        entries = [entry for entry in entries if entry.split == split]
        if not entries:
            raise DataError(
                f"`data` {source}: no shapes in split {split!r}" + (f" for classes {list(classes)}" if classes else "")
                + f"; it has split {' and '.join(repr(a) for a in available)} (use `split` {available[0]} or `split` all)"
            )  # fmt: skip
    entries.sort(key=lambda e: (e.category, e.split, str(e.path)))
    return Catalog(root, layout, tuple(entries), tuple(sorted({e.category for e in entries})), tuple(left_out))
