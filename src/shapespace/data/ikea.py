"""The IKEA photo/voxel set in its two published layouts.

* **Girdhar et al.** (ECCV 2016; ``../shared/data/README.md`` section 3)::

      Images/*.jpg                photos, cropped around the object
      Voxels/<id>.mat             variable 'grid', 20^3, axis 0 up
      Lists/Images.txt            photo file names, one per line
      Lists/ModelID.txt           line j: the model id (1-based line of all_obj_class.txt) of photo j
      Lists/all_obj_class.txt     class of each model id

* **3D-GAN release** (Wu et al., NeurIPS 2016)::

      <class>/*.png               photos of each class, in name order
      list/<class>.txt            line j: the model of the j-th photo of <class>
      model/<name>.mat            variable 'voxel'

The photos are for evaluation only; the models are shapes like any other and carry the
split ``"test"``. Model files are read by :mod:`shapespace.io.matlab`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from shapespace.errors import DataError

IKEA_SPLIT = "test"


@dataclass(frozen=True)
class IkeaPair:
    """One photo and the model it shows."""

    image: Path
    model: Path
    category: str


def ikea_layout(root: Path) -> str | None:
    """``"girdhar"``, ``"3dgan"`` or ``None`` when ``root`` is not an IKEA folder."""
    if (root / "Voxels").is_dir() and (root / "Lists" / "all_obj_class.txt").is_file():
        return "girdhar"
    if (root / "model").is_dir() and (root / "list").is_dir():
        return "3dgan"
    return None


def _lines(path: Path) -> list[str]:
    if not path.is_file():
        raise DataError(f"{path}: missing list file of the IKEA layout")
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _girdhar_classes(root: Path) -> list[str]:
    return _lines(root / "Lists" / "all_obj_class.txt")


def _model_class(root: Path, model_id: str, classes: list[str]) -> str:
    try:
        number = int(model_id)
    except ValueError:
        raise DataError(f"{root / 'Voxels' / model_id}.mat: model ids must be integers") from None
    if not 1 <= number <= len(classes):
        raise DataError(f"{root}: model id {number} is outside Lists/all_obj_class.txt (1..{len(classes)})")
    return classes[number - 1]


def _3dgan_model_path(root: Path, name: str) -> Path:
    stem = name[:-4] if name.lower().endswith(".mat") else name
    return root / "model" / f"{stem}.mat"


def ikea_models(root: Path) -> list[tuple[Path, str]]:
    """Every model file of an IKEA folder with its class, in a fixed order."""
    layout = ikea_layout(root)
    if layout == "girdhar":
        classes = _girdhar_classes(root)
        files = sorted((root / "Voxels").glob("*.mat"), key=lambda p: (len(p.stem), p.stem))
        return [(path, _model_class(root, path.stem, classes)) for path in files]
    if layout == "3dgan":
        models: dict[Path, str] = {}
        for listing in sorted((root / "list").glob("*.txt")):
            for name in _lines(listing):
                models.setdefault(_3dgan_model_path(root, name), listing.stem)
        return sorted(models.items())
    raise DataError(f"{root}: not an IKEA folder (expected Voxels/ and Lists/, or model/ and list/)")


def ikea_pairs(root: str | Path) -> list[IkeaPair]:
    """Every photo of an IKEA folder with its model and class, in the layout's order.

    Raises:
        DataError: when the lists and files disagree (lengths, missing files).
    """
    root = Path(root)
    layout = ikea_layout(root)
    pairs: list[IkeaPair] = []
    if layout == "girdhar":
        images, ids = _lines(root / "Lists" / "Images.txt"), _lines(root / "Lists" / "ModelID.txt")
        if len(images) != len(ids):
            raise DataError(f"{root / 'Lists'}: Images.txt has {len(images)} lines but ModelID.txt has {len(ids)}")
        classes = _girdhar_classes(root)
        for image, model_id in zip(images, ids):
            pairs.append(IkeaPair(root / "Images" / image, root / "Voxels" / f"{model_id}.mat", _model_class(root, model_id, classes)))
    elif layout == "3dgan":
        for listing in sorted((root / "list").glob("*.txt")):
            category = listing.stem
            images = sorted(p for p in (root / category).glob("*") if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
            names = _lines(listing)
            if len(images) != len(names):
                raise DataError(f"{listing}: {len(names)} models listed for {len(images)} photos in {root / category}")
            pairs.extend(IkeaPair(image, _3dgan_model_path(root, name), category) for image, name in zip(images, names))
    else:
        raise DataError(f"{root}: not an IKEA folder (expected Voxels/ and Lists/, or model/ and list/)")
    for pair in pairs:
        for path in (pair.image, pair.model):
            if not path.is_file():
                raise DataError(f"{path}: listed in {root} but missing")
    return pairs
