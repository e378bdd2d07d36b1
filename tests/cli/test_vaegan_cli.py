"""`train vae-gan`, `reconstruct` and `eval recon` end to end, and their one-line errors."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import make_ikea_folder
from shapespace.cli.main import main
from shapespace.models import GANConfig, ShapeGAN
from shapespace.models.encoder import get_encoder_preset

pytestmark = pytest.mark.usefixtures("single_thread")

TRAIN = ["train", "vae-gan", "--preset", "tiny-16", "--steps", "2", "--batch-size", "2", "--precision", "fp32", "--no-progress", "--sample-every", "0"]


def _error(capsys) -> str:
    """The one line a user error prints."""
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("shapespace: error: ")
    return lines[0]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A 2-step VAE-GAN run, a 1-step GAN run (uniform prior), two photos and a small IKEA folder."""
    root = tmp_path_factory.mktemp("vaegan-cli")
    # A module-scoped fixture runs outside the function-scoped single_thread fixture.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert main(TRAIN + ["--recipe", "paper", "--data", "builtin:chair", "--count", "4", "--out", str(root / "vae")]) == 0
        assert main(["train", "gan", "--data", "builtin:chair", "--preset", "tiny-16", "--out", str(root / "gan"),
                     "--steps", "1", "--batch-size", "2", "--no-progress", "--sample-every", "0"]) == 0  # fmt: skip
    finally:
        torch.set_num_threads(threads)
    rng = np.random.default_rng(0)
    for name in ("chair.png", "table.png"):
        Image.fromarray(rng.integers(0, 256, (48, 40, 3), dtype=np.uint8)).save(root / name)
    make_ikea_folder(root / "ikea")
    return root


def test_train_vae_gan_writes_a_run(workspace):
    run = workspace / "vae"
    config = json.loads((run / "config.json").read_text())
    assert config["kind"] == "3d-vae-gan-run"
    assert config["model"]["latent_prior"] == "normal" and config["model"]["latent_dim"] == 16
    assert config["encoder"] == get_encoder_preset("cpu-64", latent_dim=16).to_dict()
    assert config["data"] == {"source": "builtin:chair", "shapes": 4, "classes": ["chair"]}
    assert config["training"]["kl_weight"] == 5.0 and config["training"]["recon_weight"] == 1e-4
    assert config["deviations_from_paper"] == {
        # the tiny test networks and the CPU encoder, then the recipe
        "latent_dim": {"value": 16, "paper": 200}, "latent_prior": {"value": "normal", "paper": "uniform"},
        "image_size": {"value": 64, "paper": 256}, "kernels": {"value": [5, 5, 5, 5, 4], "paper": [11, 5, 5, 5, 8]},
        "strides": {"value": [2, 2, 2, 2, 1], "paper": [4, 2, 2, 2, 1]}, "batch_size": {"value": 2, "paper": 100},
    }  # fmt: skip
    assert json.loads((run / "state" / "state.json").read_text())["step"] == 2
    assert json.loads((run / "model" / "config.json").read_text())["model_type"] == "3d-vae-gan"


def test_the_default_recipe_is_the_robust_one(tmp_path):
    assert main(TRAIN + ["--data", "builtin:chair", "--count", "4", "--steps", "1", "--out", str(tmp_path / "run")]) == 0
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["training"]["recipe"] == "robust+custom" and config["training"]["r1_gamma"] == 1.0  # custom: the batch size
    assert config["model"]["discriminator_norm"] == "layer"  # R1 needs D to score each shape on its own


def test_train_vae_gan_recipe_flags_and_several_sources(tmp_path, capsys):
    run = tmp_path / "run"
    argv = TRAIN + ["--data", "builtin:chair", "--data", "builtin:all#table,bed", "--count", "2", "--out", str(run),
                    "--recipe", "fast", "--kl-weight", "0.5", "--recon-loss", "l2", "--lr-e", "0.001", "--steps", "1",
                    "--recon-positive-weight", "0.9", "--gan-weight", "0", "--clutter", "0.5", "--occluders", "0.25",
                    "--texture", "0.75", "--blur", "0.125"]  # fmt: skip
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["steps"] == 1
    config = json.loads((run / "config.json").read_text())
    assert config["data"] == {"source": "builtin:chair + builtin:all", "shapes": 6, "classes": ["bed", "chair", "table"]}
    training = config["training"]
    assert (training["recipe"], training["kl_weight"], training["recon_loss"], training["lr_encoder"]) == ("fast+custom", 0.5, "l2", 0.001)
    assert training["recon_weight"] == 1e-2  # the fast recipe's
    assert (training["recon_positive_weight"], training["gan_weight"]) == (0.9, 0.0)
    assert (training["photo_clutter"], training["photo_occluders"]) == (0.5, 0.25)
    assert (training["photo_texture"], training["photo_blur"]) == (0.75, 0.125)
    assert config["deviations_from_paper"]["gan_weight"] == {"value": 0.0, "paper": 1.0}


def test_reconstruct_writes_shapes_for_each_photo(workspace, capsys):
    out = workspace / "recon"
    photos = [str(workspace / "chair.png"), str(workspace / "table.png")]
    assert main(["reconstruct", str(workspace / "vae"), *photos, "--out", str(out), "--device", "cpu"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["images"] == 2 and report["out"] == str(out)
    assert sorted(p.name for p in out.iterdir()) == ["reconstruction_000.obj", "reconstruction_001.obj", "reconstructions.npy", "reconstructions.png"]
    shapes = np.load(out / "reconstructions.npy")
    assert shapes.shape == (2, 16, 16, 16) and shapes.dtype == np.float32
    assert 0.0 <= shapes.min() and shapes.max() <= 1.0
    # The model folder gives the same shapes; --format picks the outputs.
    again = workspace / "recon-npy"
    assert main(["reconstruct", str(workspace / "vae" / "model"), *photos, "--out", str(again), "--format", "npy", "--device", "cpu"]) == 0
    assert np.array_equal(np.load(again / "reconstructions.npy"), shapes)
    assert json.loads(capsys.readouterr().out)["models"] == [str(workspace / "vae" / "model")]
    assert report["models"] == [str(workspace / "vae")]
    # --ensemble RUN averages with another model's shapes: the same model again changes nothing.
    both = workspace / "recon-ensemble"
    assert main(["reconstruct", str(workspace / "vae"), *photos, "--out", str(both), "--format", "npy", "--ensemble", str(workspace / "vae" / "model"), "--device", "cpu"]) == 0
    assert json.loads(capsys.readouterr().out)["models"] == [str(workspace / "vae"), str(workspace / "vae" / "model")]
    assert np.allclose(np.load(both / "reconstructions.npy"), shapes, atol=1e-6)
    assert main(["reconstruct", str(workspace / "vae"), *photos, "--out", str(both), "--ensemble", str(workspace / "nothing"), "--device", "cpu"]) == 2
    assert "nothing" in capsys.readouterr().err
    # --samples K averages K posterior draws per photo: other, softer shapes, the same on every run.
    drawn = [workspace / "recon-drawn", workspace / "recon-drawn-again"]
    for folder in drawn:
        assert main(["reconstruct", str(workspace / "vae"), *photos, "--out", str(folder), "--format", "npy", "--samples", "4", "--device", "cpu"]) == 0
    averaged = np.load(drawn[0] / "reconstructions.npy")
    assert np.array_equal(np.load(drawn[1] / "reconstructions.npy"), averaged)
    assert averaged.shape == shapes.shape and not np.allclose(averaged, shapes, atol=1e-4)
    # --mirror averages with the mirrored photo's shape, mirrored back.
    assert main(["reconstruct", str(workspace / "vae"), *photos, "--out", str(workspace / "recon-mirror"), "--format", "npy", "--mirror", "--device", "cpu"]) == 0
    mirrored = np.load(workspace / "recon-mirror" / "reconstructions.npy")
    assert mirrored.shape == shapes.shape and not np.allclose(mirrored, shapes, atol=1e-4)


def test_eval_recon_prints_json_and_a_table(workspace, capsys):
    out = workspace / "ikea.json"
    assert main(["eval", "recon", str(workspace / "vae"), "--ikea", str(workspace / "ikea"), "--json", "--out", str(out), "--device", "cpu"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result == json.loads(out.read_text())
    assert (result["images"], result["models"]) == (4, 3)
    assert sorted(result["model"]["per_class"]) == ["chair", "table"]
    assert main(["eval", "recon", str(workspace / "vae"), "--ikea", str(workspace / "ikea"), "--device", "cpu"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "IKEA (4 photos), AP / IoU at 20^3 in percent"
    assert result["posterior_samples"] == 0
    assert main(["eval", "recon", str(workspace / "vae"), "--ikea", str(workspace / "ikea"), "--samples", "3", "--json", "--device", "cpu"]) == 0
    drawn = json.loads(capsys.readouterr().out)
    assert drawn["posterior_samples"] == 3 and drawn["baseline_mean_shape"] == result["baseline_mean_shape"]
    assert drawn["model"]["per_class"] != result["model"]["per_class"]
    assert main(["eval", "recon", str(workspace / "vae"), "--ikea", str(workspace / "ikea"), "--mirror", "--json", "--device", "cpu"]) == 0
    mirrored = json.loads(capsys.readouterr().out)
    assert mirrored["mirror_average"] and not result["mirror_average"]
    assert mirrored["model"]["per_class"] != result["model"]["per_class"] and mirrored["baseline_mean_shape"] == result["baseline_mean_shape"]
    # One model per class (the paper's "separately" row): CLASS=RUN items.
    vae = str(workspace / "vae")
    assert main(["eval", "recon", f"chair={vae}", f"table={vae}/model", "--ikea", str(workspace / "ikea"), "--json", "--device", "cpu"]) == 0
    separately = json.loads(capsys.readouterr().out)
    assert separately["one_model_per_class"] and separately["model"] == result["model"]
    # Several plain folders: an ensemble (of one model twice here: the model's own scores).
    assert main(["eval", "recon", vae, f"{vae}/model", "--ikea", str(workspace / "ikea"), "--json", "--device", "cpu"]) == 0
    ensemble = json.loads(capsys.readouterr().out)
    assert ensemble["ensemble"] and ensemble["checkpoint"] == [vae, f"{vae}/model"] and ensemble["model"] == result["model"]
    assert main(["eval", "recon", vae, f"chair={vae}", "--ikea", str(workspace / "ikea"), "--device", "cpu"]) == 2
    assert "give every model as CLASS=RUN" in capsys.readouterr().err


def test_bad_inputs_exit_2_with_one_line_naming_the_file_or_flag(workspace, tmp_path, capsys):
    vae, gan = str(workspace / "vae"), str(workspace / "gan")
    notes = tmp_path / "notes.jpg"
    notes.write_text("not a photo")
    assert main(["reconstruct", vae, str(workspace / "chair.png"), str(notes), "--out", str(tmp_path / "o")]) == 2
    assert f"{notes}: not an image Pillow can read" in _error(capsys)
    assert main(["reconstruct", vae, str(tmp_path / "missing.png"), "--out", str(tmp_path / "o")]) == 2
    assert "missing.png: no such image file" in _error(capsys)
    assert main(["reconstruct", gan, str(workspace / "chair.png"), "--out", str(tmp_path / "o")]) == 2
    assert f"{workspace / 'gan' / 'model'}: a 3D-GAN without an image encoder" in _error(capsys)
    assert main(["reconstruct", vae, str(workspace / "chair.png"), "--out", str(tmp_path / "o"), "--format", "npy,fbx"]) == 2
    assert "--format 'npy,fbx'" in _error(capsys)
    assert main(["eval", "recon", gan, "--ikea", str(workspace / "ikea")]) == 2
    assert "without an image encoder" in _error(capsys)
    with pytest.raises(SystemExit):
        main(["eval", "recon", vae, "--ikea", str(workspace / "ikea"), "--samples", "-2"])
    assert "argument --samples: expected an integer >= 0, got -2" in capsys.readouterr().err
    assert main(["eval", "recon", vae, "--ikea", str(tmp_path)]) == 2
    assert f"{tmp_path}: not an IKEA folder" in _error(capsys)

    out = ["--out", str(tmp_path / "run")]
    assert main(TRAIN + ["--data", "builtin:chair", "--init-from", gan] + out) == 2
    assert f"--init-from {gan}: that GAN uses the uniform prior" in _error(capsys)
    assert main(TRAIN + ["--data", "builtin:chair", "--encoder", "paper-128"] + out) == 2
    assert "unknown encoder preset 'paper-128'" in _error(capsys)
    assert main(TRAIN + ["--data", "builtin:chair#"] + out) == 2
    assert "--data 'builtin:chair#': expected SOURCE or SOURCE#class[,class...]" in _error(capsys)
    other = tmp_path / "other-gan"
    ShapeGAN(GANConfig(resolution=16, latent_dim=8, generator_channels=(32, 16), discriminator_channels=(16, 32), latent_prior="normal")).save_pretrained(other)
    assert main(TRAIN + ["--data", "builtin:chair", "--init-from", str(other)] + out) == 2
    assert f"--preset tiny-16 differs from the architecture of --init-from {other}" in _error(capsys)
    assert main(TRAIN + ["--data", "builtin:chair", "--count", "2", "--out", str(workspace / "vae")]) == 2
    assert "already holds a run" in _error(capsys)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "vae-gan", "--data", "builtin:chair", "--out", "x", "--recon-loss", "l1"], "--recon-loss: invalid choice: 'l1'"),
        (["train", "vae-gan", "--data", "builtin:chair", "--out", "x", "--kl-weight", "-1"], "--kl-weight: expected a number >= 0, got -1.0"),
        (["train", "vae-gan", "--data", "builtin:chair", "--out", "x", "--lr-e", "0"], "--lr-e: expected a positive number, got 0.0"),
        (["train", "vae-gan", "--data", "builtin:chair", "--out", "x", "--recon-positive-weight", "1"],
         "--recon-positive-weight: expected a number in (0, 1), got 1.0"),
        (["train", "vae-gan", "--data", "builtin:chair", "--out", "x", "--gan-weight", "-2"], "--gan-weight: expected a number >= 0, got -2.0"),
        (["train", "vae-gan", "--data", "builtin:chair", "--out", "x", "--clutter", "2"], "--clutter: expected a number in [0, 1], got 2.0"),
        (["train", "vae-gan", "--data", "builtin:chair", "--out", "x", "--texture", "-1"], "--texture: expected a number in [0, 1], got -1.0"),
        (["reconstruct", "run", "--out", "o"], "the following arguments are required: images"),
        (["eval", "recon", "run"], "the following arguments are required: --ikea"),
    ],
)
def test_bad_flags_exit_2_naming_the_flag(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err
