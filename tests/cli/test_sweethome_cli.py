"""`shapespace data info|show|prepare` on a Sweet Home 3D library made in the test."""

import json

import trimesh
from PIL import Image
from sweethome_library import make_library, obj_files

from shapespace.cli.main import main


def _library(path):
    files = {f"box/{name}": data for name, data in obj_files(trimesh.creation.box(extents=(2, 1, 1)), "box").items()}
    files["box/BLENDSWAP_LICENSE.txt"] = b"credit Ada"
    items = [("Chair", "Ada", "Living room"), ("Oven", "Bo", "Kitchen"), ("Bedside table", "Bo", "Bedroom"), ("Toaster", "Bo", "Kitchen")]
    lines = ["name=Test library", "license=CC-BY 3.0"]
    for n, (name, creator, category) in enumerate(items, start=1):
        lines += [f"name#{n}={name}", f"creator#{n}={creator}", f"category#{n}={category}", f"model#{n}=/box/box.obj", f"width#{n}=90", f"depth#{n}=45", f"height#{n}=60"]
    return make_library(path, "\n".join(lines) + "\n", files)


def test_info_shows_credits_and_the_items_left_out(tmp_path, capsys):
    library = _library(tmp_path / "Test.sh3f")
    assert main(["data", "info", str(library)]) == 0
    out = capsys.readouterr().out
    assert f"{library}: files, layout sweethome3d\n" in out
    assert "models, their creators and licences (1; credit the creators where the licence asks):\n" in out
    assert f"  chair     {library / '1-chair'}: 'Chair' by Ada; CC-BY 3.0 (licence file box/BLENDSWAP_LICENSE.txt in the library)\n" in out
    assert "left out as of none of the classes: 3 items (shapespace/data/sweethome_classes.py):\n" in out
    assert f"  {library / '3-bedside-table'}: a bedside cabinet, not a table\n" in out
    assert "  Kitchen (2, its name is none of the six classes): Oven, Toaster\n" in out

    assert main(["data", "info", str(library), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["total"] == 1 and info["attribution"][0]["creator"] == "Ada" and len(info["left_out"]) == 3


def test_show_and_prepare(tmp_path, capsys):
    library = _library(tmp_path / "Test.sh3f")
    picture = tmp_path / "chairs.png"
    assert main(["data", "show", str(library), "--res", "16", "--out", str(picture)]) == 0
    assert json.loads(capsys.readouterr().out)["captions"] == ["chair 1-chair"]
    with Image.open(picture) as image:
        assert image.mode == "RGB"
    cache = tmp_path / "cache"
    assert main(["data", "prepare", str(library), "--res", "16", "--out", str(cache), "--workers", "1", "--no-progress"]) == 0
    assert json.loads(capsys.readouterr().out)["counts"] == {"chair": {"train": 1, "test": 0}}
    assert main(["data", "info", str(cache)]) == 0
    assert "  chair     Test.sh3f/1-chair: 'Chair' by Ada; CC-BY 3.0" in capsys.readouterr().out


def test_a_damaged_library_is_one_line_and_status_2(tmp_path, capsys):
    bad = tmp_path / "Bad.sh3f"
    bad.write_bytes(b"PK not a zip")
    assert main(["data", "info", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err == f"shapespace: error: {bad}: not a Sweet Home 3D library (not a zip archive, or a truncated one)\n"
