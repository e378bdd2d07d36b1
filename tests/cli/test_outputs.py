"""Every command checks its output paths before doing any work (issue 19).

Each command with an output runs once with ``--out`` taken by a file (or a folder where a
file is expected), once with ``--out`` under a file, and once where nothing can be
written; each time it exits with status 2, one line naming ``--out``, and writes nothing.
"""

import errno
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import make_ikea_folder, make_shape_folder
from shapespace.cli.main import build_parser, main
from shapespace.io import paths
from shapespace.models import ShapeGAN, get_preset
from shapespace.models.encoder import get_encoder_preset
from shapespace.models.vaegan import ShapeVAEGAN

# A folder every user, root included, cannot create files in: the kernel refuses new
# files in /proc (ENOENT as root, EACCES otherwise).
UNWRITABLE = Path("/proc/shapespace-test")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, str]:
    """A tiny GAN and VAE-GAN model folder, a run folder, a photo, an IKEA folder and a shape folder."""
    root = tmp_path_factory.mktemp("inputs")
    gan_config = get_preset("tiny-16")
    ShapeGAN(gan_config).save_pretrained(root / "gan")
    vae_config = gan_config.replace(latent_prior="normal")
    ShapeVAEGAN(vae_config, get_encoder_preset("cpu-64", vae_config.latent_dim)).save_pretrained(root / "vae")
    (root / "run").mkdir()
    (root / "run" / "config.json").write_text("{}")
    Image.new("RGB", (8, 8)).save(root / "photo.png")
    np.save(root / "samples.npy", np.zeros((2, 16, 16, 16), dtype=np.float32))
    make_ikea_folder(root / "ikea")
    make_shape_folder(root / "shapes")
    files = {"photo": "photo.png", "samples": "samples.npy"}
    return {name: str(root / files.get(name, name)) for name in ("gan", "vae", "run", "photo", "samples", "ikea", "shapes")}


# (command words and inputs with {placeholders} for `inputs`, the kind of --out)
COMMANDS = {
    "sample": (["sample", "{gan}", "--n", "1"], "dir"),
    "interpolate": (["interpolate", "{gan}", "--seeds", "0", "1"], "dir"),
    "arithmetic": (["arithmetic", "{gan}", "--seeds", "0", "1", "2"], "dir"),
    "neighbours": (["neighbours", "{gan}", "--data", "builtin:chair"], "dir"),
    "reconstruct": (["reconstruct", "{vae}", "{photo}"], "dir"),
    "train gan": (["train", "gan", "--data", "builtin:chair", "--preset", "tiny-16", "--steps", "1"], "dir"),
    "train vae-gan": (["train", "vae-gan", "--data", "builtin:chair", "--preset", "tiny-16", "--steps", "1"], "dir"),
    "demo": (["demo", "--steps", "1"], "dir"),
    "data prepare": (["data", "prepare", "{shapes}"], "dir"),
    "data show": (["data", "show", "builtin:chair", "--n", "1"], "file"),
    "data photos": (["data", "photos", "{shapes}"], "dir"),
    "data export": (["data", "export", "builtin:chair"], "file"),
    "eval gen": (["eval", "gen", "--samples", "{samples}", "--ref", "builtin:chair"], "file"),
    "eval classify": (["eval", "classify", "{gan}", "--data", "builtin:chair"], "file"),
    "eval recon": (["eval", "recon", "{vae}", "--ikea", "{ikea}"], "file"),
    "report": (["report", "{run}"], "file"),
}


def _argv(name: str, inputs: dict[str, str], out: Path) -> list[str]:
    words, _ = COMMANDS[name]
    return [w.format(**inputs) for w in words] + ["--out", str(out)]


def _tree(root: Path) -> list[tuple[str, int]]:
    return sorted((str(p.relative_to(root)), p.stat().st_size if p.is_file() else -1) for p in root.rglob("*"))


def _refused(argv: list[str], out: Path, capsys) -> str:
    """Run a command that must be refused for its --out; returns the one line it prints."""
    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"shapespace: error: --out {out}: "), lines[0]
    assert captured.out == ""
    return lines[0]


def _outputs(parser):
    """Every (command, action) of the parser tree whose flag is --out, with the declared outputs."""
    for action in parser._actions:
        if action.__class__.__name__ == "_SubParsersAction":
            for name, command in action.choices.items():
                for words, found, declared in _outputs(command):
                    yield [name, *words], found, declared
        elif "--out" in action.option_strings:
            yield [], action, parser.get_default("output_paths") or {}


def test_every_out_flag_is_declared_and_tested():
    found = list(_outputs(build_parser()))
    assert sorted(" ".join(words) for words, _, _ in found) == sorted(COMMANDS)
    for words, action, declared in found:
        assert declared.get(action.dest) == COMMANDS[" ".join(words)][1], words


@pytest.mark.parametrize("name", COMMANDS)
def test_an_out_taken_by_the_wrong_kind_is_refused_before_any_work(name, inputs, tmp_path, capsys):
    kind = COMMANDS[name][1]
    taken = tmp_path / "taken"
    if kind == "dir":
        taken.write_text("keep")
    else:
        taken.mkdir()
    before = _tree(tmp_path)
    line = _refused(_argv(name, inputs, taken), taken, capsys)
    assert line.endswith("is a file, not a folder" if kind == "dir" else "is a folder, not a file")
    assert _tree(tmp_path) == before, "nothing is written"
    # Under a file: the parent of a file output, or any ancestor of a folder output.
    (tmp_path / "afile").write_text("keep")
    before = _tree(tmp_path)
    under = tmp_path / "afile" / ("x.out" if kind == "file" else "sub/run")
    line = _refused(_argv(name, inputs, under), under, capsys)
    assert line.endswith(f"{tmp_path / 'afile'} is a file, not a folder")
    assert _tree(tmp_path) == before, "nothing is written"


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc")
@pytest.mark.parametrize("name", COMMANDS)
def test_an_unwritable_out_is_refused_before_any_work(name, inputs, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = UNWRITABLE / ("result.out" if COMMANDS[name][1] == "file" else "folder")
    line = _refused(_argv(name, inputs, out), out, capsys)
    assert ": cannot write in /proc (" in line
    assert _tree(tmp_path) == [], "nothing is written"


def test_report_checks_its_default_output_too(inputs, tmp_path, monkeypatch, capsys):
    """Without --out the page goes into the run folder; a read-only run folder is refused."""
    run = Path(inputs["run"])
    real_probe = paths.probe_writable

    def read_only_run(directory):
        if Path(directory) == run:
            raise OSError(errno.EROFS, "Read-only file system")
        real_probe(directory)

    monkeypatch.setattr(paths, "probe_writable", read_only_run)
    before = _tree(run)
    assert main(["report", str(run)]) == 2
    assert capsys.readouterr().err == f"shapespace: error: --out {run / 'report.html'}: cannot write in {run} (Read-only file system)\n"
    assert _tree(run) == before

