"""`shapespace data ...` and `train gan --data` on every kind of source."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import stool_grid
from shapespace.cli.main import main
from shapespace.io.matlab import write_mat


def _json(capsys) -> dict:
    return json.loads(capsys.readouterr().out)


def make_ikea_folder(root: Path) -> Path:
    """A tiny IKEA set in Girdhar et al.'s layout: two models (20^3, axis 0 up) and three photos."""
    (root / "Images").mkdir(parents=True)
    (root / "Voxels").mkdir()
    (root / "Lists").mkdir()
    stool = np.moveaxis(stool_grid(20), 2, 0)  # canonical (up = axis 2) -> IKEA (up = axis 0)
    write_mat(root / "Voxels" / "1.mat", stool, key="grid")
    write_mat(root / "Voxels" / "3.mat", stool[:, :, ::-1].copy(), key="grid")
    (root / "Lists" / "all_obj_class.txt").write_text("chair\nsofa\ntable\n")
    for name in ("a.jpg", "b.jpg", "c.jpg"):
        Image.new("RGB", (8, 8)).save(root / "Images" / name)
    (root / "Lists" / "Images.txt").write_text("a.jpg\nb.jpg\nc.jpg\n")
    (root / "Lists" / "ModelID.txt").write_text("1\n3\n1\n")
    return root


def test_prepare_info_show_export(shape_folder, tmp_path, capsys):
    cache = tmp_path / "cache"
    assert main(["data", "prepare", str(shape_folder), "--res", "16", "--out", str(cache), "--workers", "1", "--no-progress"]) == 0
    summary = _json(capsys)
    assert summary["shapes"] == 8 and summary["counts"] == {"chair": {"train": 3, "test": 1}, "table": {"train": 2, "test": 2}}

    assert main(["data", "info", str(cache), "--json"]) == 0
    info = _json(capsys)
    assert info["kind"] == "cache" and info["resolution"] == 16 and info["total"] == 8
    assert main(["data", "info", str(cache), "--classes", "sofa"]) == 2
    assert "unknown class sofa in cache" in capsys.readouterr().err
    assert main(["data", "info", str(shape_folder)]) == 0
    table = capsys.readouterr().out
    assert "layout modelnet" in table and "chair" in table and "total                  5       3" in table

    picture = tmp_path / "grid.png"
    assert main(["data", "show", str(cache), "--n", "4", "--res", "16", "--out", str(picture)]) == 0
    shown = _json(capsys)
    assert shown["shapes"] == 4 and [c.split()[0] for c in shown["captions"]] == ["chair", "chair", "table", "table"]
    with Image.open(picture) as image:
        assert image.size[0] > 0 and image.mode == "RGB"

    exported = tmp_path / "shapes.npz"
    assert main(["data", "export", str(shape_folder), "--res", "16", "--out", str(exported), "--split", "test", "--no-progress"]) == 0
    assert _json(capsys)["shapes"] == 3
    with np.load(exported) as arrays:
        assert arrays["voxels"].shape == (3, 16, 16, 16) and arrays["voxels"].dtype == np.uint8
        assert set(np.unique(arrays["voxels"])) == {0, 1}
        assert arrays["labels"].tolist() == [0, 1, 1]
        assert arrays["classes"].tolist() == ["chair", "table"]
        assert [Path(p).name for p in arrays["paths"]] == ["grid.binvox", "cloud.npy", "cloud.ply"]


@pytest.mark.parametrize("command", ["export", "prepare", "show"])
def test_res_above_the_memory_cap_is_one_line_naming_res(command, shape_folder, tmp_path, capsys):
    out = tmp_path / ("out.npz" if command == "export" else "out.png" if command == "show" else "cache")
    assert main(["data", command, str(shape_folder), "--res", "1000", "--out", str(out)]) == 2
    assert capsys.readouterr().err == (
        "shapespace: error: --res must be at most 256, got 1000: "
        "each shape is a dense R^3 grid in memory (256^3 floats = 64 MiB per shape)\n"
    )
    assert not out.exists()


def test_data_command_errors_name_the_flag_or_file(shape_folder, tmp_path, capsys):
    assert main(["data", "info", str(shape_folder), "--classes", "sofa"]) == 2
    assert "unknown class sofa" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["data", "show", str(shape_folder), "--out", "x.png", "--up", "+w"])
    assert "--up: expected a signed axis" in capsys.readouterr().err
    assert main(["data", "show", str(shape_folder), "--out", str(tmp_path / "x.png"), "--up", "+z"]) == 2
    assert "give both up and front" in capsys.readouterr().err
    assert main(["data", "export", str(shape_folder), "--out", str(tmp_path / "x.csv")]) == 2
    assert "must end in .npz" in capsys.readouterr().err
    assert main(["data", "prepare", "builtin:chair", "--out", str(tmp_path / "c")]) == 2
    assert "need no preparing" in capsys.readouterr().err


def _source(kind: str, shape_folder: Path, tmp_path: Path) -> list[str]:
    if kind == "cache":
        assert main(["data", "prepare", str(shape_folder), "--res", "16", "--out", str(tmp_path / "c"), "--workers", "1", "--no-progress"]) == 0
        return [str(tmp_path / "c")]
    if kind == "ikea":
        return [str(make_ikea_folder(tmp_path / "ikea")), "--split", "test", "--align"]
    folders = {"meshes": "chair/train", "points": "table/train", "voxels": "chair/test"}
    return [str(shape_folder / folders[kind]), "--split", "all"]


@pytest.mark.parametrize("kind", ["meshes", "points", "voxels", "cache", "ikea"])
def test_a_gan_trains_from_every_kind_of_source(kind, shape_folder, tmp_path, capsys):
    data = _source(kind, shape_folder, tmp_path)
    capsys.readouterr()
    run = tmp_path / "run"
    args = ["train", "gan", "--data", *data, "--preset", "tiny-16", "--out", str(run), "--steps", "1", "--batch-size", "2",
            "--no-progress", "--sample-every", "0", "--workers", "1", "--augment", "flip"]  # fmt: skip
    assert main(args) == 0
    summary = _json(capsys)
    assert summary["steps"] == 1
    config = json.loads((run / "config.json").read_text())
    assert config["data"]["source"] == data[0] and config["data"]["shapes"] >= 1
    assert config["training"]["augment"] == ["flip"]
