"""Sweet Home 3D libraries as a data source: the class table, the listing with credits and the
items left out, caches and model-card attribution. The libraries are small .sh3f files made here."""

import json

import numpy as np
import pytest
import trimesh
from sweethome_library import make_library, obj_files

from shapespace.data.attribution import SWEETHOME, data_attribution
from shapespace.data.builtin import CLASSES
from shapespace.data.catalog import scan_source
from shapespace.data.sources import load_voxel_set
from shapespace.data.sweethome_classes import IKEA_CLASSES, ITEM_OVERRIDES, NAME_RULES, NO_CLASS_REASON, classify
from shapespace.errors import DataError
from shapespace.pipelines.datasets import describe, prepare

# name -> class, as the reviewed table decides; None: left out.
TABLE_CASES = {
    "Chair": "chair", "Armchair": "chair", "Office chair": "chair", "Chair with cushion": "chair", "Bar chair": "chair",
    "Sofa": "sofa", "Corner sofa": "sofa", "Couch": "sofa", "Sofa 3 seats": "sofa", "Convertible sofa BZ": "sofa",
    "Bed": "bed", "Bed 140x190": "bed", "Captain's bed": "bed", "Day bed": "bed",
    "Table": "table", "Coffee table": "table", "Round table": "table", "Wooden teak table": "table",
    "Desk": "desk", "Wooden desk": "desk", "Desk table": "desk",
    "Bookcase": "bookcase", "Filled bookcase": "bookcase", "Shelves": "bookcase", "Vertical shelves": "bookcase",
    "Bedside table": None, "Dressing table": None, "Changing table": None, "Technical table": None, "Pool table": None,
    "Table tennis": None, "Table fan": None, "Table with tablecloth": None, "Desk lamp": None, "Glass door cabinet": None,
    "Upper shelves cabinet": None, "Opened convertible sofa BZ": None, "Bunk bed": None, "Loft bed 140x190": None,
    "Mezzanine bed": None, "Crib": None, "Baby bed": None, "Futon": None, "Air mattress": None, "Deck chair": None,
    "Relax chair": None, "Baby high chair": None, "Wheelchair": None, "Armchair ottoman": None, "Stool": None,
    "Bench": None, "Wardrobe": None, "Oven": None,
}  # fmt: skip


@pytest.mark.parametrize(("name", "expected"), sorted(TABLE_CASES.items()))
def test_the_class_table(name, expected):
    category, reason = classify(name)
    assert category == expected and reason


def test_the_table_uses_the_six_ikea_classes():
    assert IKEA_CLASSES == tuple(CLASSES)
    assert {rule.category for rule in NAME_RULES} == set(IKEA_CLASSES) | {None}
    assert all(category in IKEA_CLASSES + (None,) and reason for category, reason in ITEM_OVERRIDES.values())
    assert classify("Oven") == (None, NO_CLASS_REASON)


def test_an_item_override_wins_over_the_name():
    assert classify("Folding chair") == ("chair", "a chair or an armchair")
    assert classify("Folding chair", "Blend Swap CC-0#foldingChair") == (None, "a folding stool without a backrest")


def _items(*entries: tuple[str, str, str]) -> str:
    """Catalogue items ``(name, creator, extra keys)`` of a 2 x 1 x 1 box model."""
    lines = ["id=Test#lib", "name=Test library", "license=CC-BY 3.0"]
    for index, (name, creator, extra) in enumerate(entries, start=1):
        lines += [f"id#{index}=Test#{index}", f"name#{index}={name}", f"category#{index}=Living room", f"model#{index}=/box/box.obj"]
        lines += [f"width#{index}=90", f"depth#{index}=45", f"height#{index}=60", f"creator#{index}={creator}"] + ([extra] if extra else [])
    return "\n".join(lines) + "\n"


def furniture_library(path, *entries):
    files = {f"box/{name}": data for name, data in obj_files(trimesh.creation.box(extents=(2, 1, 1)), "box").items()}
    files["box/LICENSE.txt"] = b"credit Ada"
    return make_library(path, _items(*entries), files)


@pytest.fixture
def library(tmp_path):
    return furniture_library(
        tmp_path / "Test.sh3f",
        ("Chair", "Ada", ""), ("Armchair", "Grace", "license#2=CC0"), ("Oven", "Ada", ""),
        ("Bedside table", "Ada", ""), ("Sofa", "Linus", ""), ("Chair", "Ada", ""),
    )


def test_a_library_lists_the_shapes_of_the_six_classes_with_credits(library):
    catalog = scan_source(library)
    assert catalog.layout == "sweethome3d" and catalog.classes == ("chair", "sofa")
    assert [(e.path, e.category, e.split) for e in catalog.entries] == [
        (library / "1-chair", "chair", "train"), (library / "2-armchair", "chair", "train"),
        (library / "6-chair", "chair", "train"), (library / "5-sofa", "sofa", "train"),
    ]  # fmt: skip
    assert dict(catalog.entries[1].attribution) == {
        "name": "Armchair", "creator": "Grace", "license": "CC0", "license_file": "box/LICENSE.txt", "library": "Test library", "id": "Test#2",
    }  # fmt: skip
    assert dict(catalog.entries[0].attribution)["license"] == "CC-BY 3.0"
    assert catalog.left_out == (
        {"path": str(library / "3-oven"), "name": "Oven", "sweethome_category": "Living room", "reason": NO_CLASS_REASON},
        {"path": str(library / "4-bedside-table"), "name": "Bedside table", "sweethome_category": "Living room", "reason": "a bedside cabinet, not a table"},
    )  # fmt: skip


def test_classes_split_and_holdout_filter_as_for_other_sources(library):
    assert [e.path.name for e in scan_source(library, classes=["sofa"]).entries] == ["5-sofa"]
    with pytest.raises(DataError, match="unknown class bed"):
        scan_source(library, classes=["bed"])
    with pytest.raises(DataError, match="no shapes in split 'test'"):
        scan_source(library, split="test")
    held = scan_source(library, holdout=0.5)
    assert {e.split for e in held.entries} == {"train", "test"} and all(e.attribution for e in held.entries)
    assert held.entries == scan_source(library, holdout=0.5).entries


def test_a_folder_of_libraries(tmp_path):
    furniture_library(tmp_path / "libs" / "a" / "A.sh3f", ("Chair", "Ada", ""))
    furniture_library(tmp_path / "libs" / "B.sh3f", ("Table", "Ada", ""), ("Lamp", "Ada", ""))
    catalog = scan_source(tmp_path / "libs")
    assert catalog.layout == "sweethome3d"
    assert [(str(e.path.relative_to(tmp_path / "libs")), e.category) for e in catalog.entries] == [("a/A.sh3f/1-chair", "chair"), ("B.sh3f/1-table", "table")]
    assert [item["name"] for item in catalog.left_out] == ["Lamp"]


def test_libraries_mixed_with_shape_files_or_without_classes(tmp_path):
    furniture_library(tmp_path / "mixed" / "A.sh3f", ("Chair", "Ada", ""))
    trimesh.creation.box().export(tmp_path / "mixed" / "box.obj")
    with pytest.raises(DataError, match="holds Sweet Home 3D libraries and other shape files; give them as separate sources"):
        scan_source(tmp_path / "mixed")
    none = furniture_library(tmp_path / "None.sh3f", ("Oven", "Ada", ""), ("Lamp", "Ada", ""))
    with pytest.raises(DataError, match=r"None\.sh3f: none of the 2 items of its furniture libraries is of a class"):
        scan_source(none)
    bad = tmp_path / "bad" / "Bad.sh3f"
    bad.parent.mkdir()
    bad.write_bytes(b"not a zip")
    with pytest.raises(DataError, match=r"Bad\.sh3f: not a Sweet Home 3D library"):
        scan_source(tmp_path / "bad")


def test_loading_voxelises_each_item(library):
    shapes = load_voxel_set(str(library), 16, split="all", workers=1)
    assert shapes.classes == ("chair", "sofa") and shapes.labels.tolist() == [0, 0, 0, 1]
    assert shapes.paths == tuple(str(library / key) for key in ("1-chair", "2-armchair", "6-chair", "5-sofa"))
    # 90 wide, 45 deep, 60 high at R=16, fill 0.75: 12 voxels per 90 cm -> 6 x 12 x 8
    grid = shapes.voxels[0].numpy().astype(bool)
    assert grid.sum() == 6 * 12 * 8 and np.array_equal(np.ptp(np.argwhere(grid), axis=0) + 1, [6, 12, 8])


def test_info_lists_credits_and_the_items_left_out(library):
    info = describe(str(library))
    assert info["layout"] == "sweethome3d" and info["file_types"] == {".sh3f": 4} and info["total"] == 4
    assert info["counts"] == {"chair": {"train": 3, "test": 0}, "sofa": {"train": 1, "test": 0}}
    assert [(a["path"], a["class"], a["creator"], a["license"]) for a in info["attribution"]] == [
        (str(library / "1-chair"), "chair", "Ada", "CC-BY 3.0"), (str(library / "2-armchair"), "chair", "Grace", "CC0"),
        (str(library / "6-chair"), "chair", "Ada", "CC-BY 3.0"), (str(library / "5-sofa"), "sofa", "Linus", "CC-BY 3.0"),
    ]  # fmt: skip
    assert [item["name"] for item in info["left_out"]] == ["Oven", "Bedside table"]


def test_a_cache_keeps_the_credits_and_the_items_left_out(library, tmp_path):
    cache = tmp_path / "cache"
    summary = prepare(str(library), cache, resolution=16, progress=False)
    assert summary["shapes"] == 4
    meta = json.loads((cache / "cache.json").read_text())
    assert meta["layout"] == "sweethome3d" and [s["path"] for s in meta["shapes"]] == ["Test.sh3f/1-chair", "Test.sh3f/2-armchair", "Test.sh3f/6-chair", "Test.sh3f/5-sofa"]
    assert meta["shapes"][1]["attribution"]["creator"] == "Grace"
    assert [item["path"] for item in meta["left_out"]] == ["Test.sh3f/3-oven", "Test.sh3f/4-bedside-table"]
    info = describe(str(cache))
    assert [a["creator"] for a in info["attribution"]] == ["Ada", "Grace", "Ada", "Linus"]
    assert [item["name"] for item in info["left_out"]] == ["Oven", "Bedside table"]
    cached = load_voxel_set(str(cache), 16, split="all")
    assert np.array_equal(cached.voxels[:].numpy(), load_voxel_set(str(library), 16, split="all", workers=1).voxels[:].numpy())


def test_model_cards_name_the_sweet_home_terms(library, tmp_path):
    assert data_attribution(str(library)) == [SWEETHOME]
    assert data_attribution("data/sweethome3d") == [SWEETHOME]
    assert data_attribution("builtin:chair + furniture/Scopia.sh3f")[1] is SWEETHOME
    cache = tmp_path / "renamed-cache"
    prepare(str(library), cache, resolution=8, progress=False)
    assert data_attribution(str(cache)) == [SWEETHOME]
    assert "CC-BY" in SWEETHOME.terms and "CC0" in SWEETHOME.terms and "data info" in SWEETHOME.terms
