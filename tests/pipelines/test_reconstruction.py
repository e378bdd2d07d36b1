"""Reconstruction from photos: reading images, writing results, and the IKEA evaluation."""

import json

import numpy as np
import pytest
import torch
import trimesh
from PIL import Image

from conftest import IKEA_CANONICAL, IKEA_MODELS, IKEA_PHOTOS, SHARED_DATA, make_ikea_folder
from shapespace.errors import CheckpointError, ConfigError, DataError
from shapespace.metrics.reconstruction import reconstruction_scores, to_evaluation_grid
from shapespace.models import GANConfig, ShapeGAN
from shapespace.models.encoder import EncoderConfig
from shapespace.models.vaegan import ShapeVAEGAN
from shapespace.pipelines.reconstruction import (
    evaluate_ikea,
    format_ikea_table,
    load_image,
    load_images,
    load_vae_gan,
    parse_class_models,
    reconstruct,
    reconstruct_files,
    write_reconstructions,
)

pytestmark = pytest.mark.usefixtures("single_thread")

GAN = GANConfig(resolution=16, latent_dim=16, generator_channels=(32, 16), discriminator_channels=(16, 32), latent_prior="normal")
ENCODER = EncoderConfig(image_size=16, latent_dim=16, channels=(8, 16), kernels=(5, 5, 4), strides=(2, 2, 1))


def _save_model(folder, mean_shape: torch.Tensor | None = None):
    torch.manual_seed(0)
    model = ShapeVAEGAN(GAN, ENCODER)
    if mean_shape is not None:
        model.mean_shape.copy_(mean_shape)
    return model.save_pretrained(folder)


def _photo(path, mode: str = "RGB", size=(20, 12), seed: int = 0):
    rng = np.random.default_rng(seed)
    channels = {"RGB": 3, "RGBA": 4, "L": None, "LA": 2}[mode]
    shape = (size[1], size[0]) if channels is None else (size[1], size[0], channels)
    Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode).save(path)
    return path


# -- images -----------------------------------------------------------------------------

def test_missing_non_image_and_truncated_files_are_named(tmp_path):
    with pytest.raises(DataError, match=f"{tmp_path / 'none.jpg'}: no such image file"):
        load_image(tmp_path / "none.jpg", 16)
    text = tmp_path / "notes.jpg"
    text.write_text("not a photo\n")
    with pytest.raises(DataError, match=f"{text}: not an image Pillow can read"):
        load_image(text, 16)
    photo = tmp_path / "photo.jpg"
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(photo, quality=95)
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(photo.read_bytes()[: photo.stat().st_size // 2])
    with pytest.raises(DataError, match=f"{truncated}: unreadable or truncated image"):
        load_image(truncated, 16)
    with pytest.raises(DataError, match="notes.jpg"):
        load_images([photo, text], 16)
    with pytest.raises(ConfigError, match="no images given"):
        load_images([], 16)


def test_images_load_as_rgb_in_the_unit_range(tmp_path):
    rgb = load_image(_photo(tmp_path / "rgb.png"), 16)
    assert rgb.shape == (3, 16, 16) and rgb.dtype == torch.float32
    # Pillow's bicubic resize (which clips to 0-255), as channels first in [0, 1].
    with Image.open(tmp_path / "rgb.png") as photo:
        resized = np.asarray(photo.resize((16, 16), Image.Resampling.BICUBIC), dtype=np.float32)
    assert torch.equal(rgb, torch.from_numpy(resized / 255.0).permute(2, 0, 1))
    grey = load_image(_photo(tmp_path / "grey.png", "L"), 16)
    assert grey.shape == (3, 16, 16) and torch.equal(grey[0], grey[1]) and torch.equal(grey[1], grey[2])
    # Transparent pixels are shown over white; opaque ones keep their colour.
    clear = tmp_path / "clear.png"
    Image.new("RGBA", (8, 8), (255, 0, 0, 0)).save(clear)
    assert torch.equal(load_image(clear, 4), torch.ones(3, 4, 4))
    opaque = tmp_path / "opaque.png"
    Image.new("RGBA", (8, 8), (255, 0, 0, 255)).save(opaque)
    assert load_image(opaque, 4)[:, 0, 0].tolist() == [1.0, 0.0, 0.0]
    half = tmp_path / "half.png"
    Image.new("LA", (8, 8), (0, 128)).save(half)  # black at half opacity over white: 127/255
    assert load_image(half, 4)[:, 0, 0].tolist() == pytest.approx([127 / 255] * 3, abs=1 / 255)
    assert load_image(_photo(tmp_path / "rgba.png", "RGBA"), 16).shape == (3, 16, 16)
    # 16-bit greyscale is scaled to 8 bits, not clipped to white.
    ramp = tmp_path / "ramp16.png"
    Image.fromarray(np.full((4, 4), 257 * 100, dtype=np.uint16)).save(ramp)
    assert load_image(ramp, 4)[:, 0, 0].tolist() == pytest.approx([100 / 255] * 3)
    both = load_images([tmp_path / "rgb.png", tmp_path / "grey.png"], 16)
    assert both.shape == (2, 3, 16, 16) and torch.equal(both[0], rgb) and torch.equal(both[1], grey)


# -- reconstruct and write -----------------------------------------------------------------

def test_reconstruct_in_batches_and_from_a_folder(tmp_path):
    folder = _save_model(tmp_path / "model")
    model = load_vae_gan(folder, device="cpu")
    assert isinstance(model, ShapeVAEGAN) and not model.training
    images = torch.rand(5, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    shapes = reconstruct(model, images, batch_size=2)
    assert shapes.shape == (5, 16, 16, 16) and shapes.dtype == torch.float32
    assert torch.allclose(shapes, model.reconstruct(images)[:, 0], atol=1e-6)
    # A run folder (RUN/model) is accepted as well.
    (tmp_path / "run").mkdir()
    folder.rename(tmp_path / "run" / "model")
    assert torch.allclose(reconstruct(load_vae_gan(tmp_path / "run", device="cpu"), images), shapes, atol=1e-6)


def test_posterior_draws_depend_on_the_seed_not_on_the_batches(tmp_path):
    model = load_vae_gan(_save_model(tmp_path / "model"), device="cpu")
    images = torch.rand(5, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    averaged = reconstruct(model, images, batch_size=2, samples=3)
    eps = torch.randn(3, 5, 16, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(averaged, model.reconstruct(images, eps)[:, 0], atol=1e-6)
    assert torch.allclose(reconstruct(model, images, batch_size=5, samples=3), averaged, atol=1e-6)
    assert not torch.allclose(reconstruct(model, images, samples=3, seed=1), averaged, atol=1e-4)
    with pytest.raises(ConfigError, match="samples must be 0 .the posterior mean. or a number of draws, got -1"):
        reconstruct(model, images, samples=-1)


def test_mirror_averages_with_the_mirrored_photo_mirrored_back(tmp_path):
    model = load_vae_gan(_save_model(tmp_path / "model"), device="cpu")
    with torch.no_grad():  # an untrained G returns 0.5 +- 1e-6 everywhere: make its shapes differ
        model.generator.to_occupancy.weight.mul_(1e4)
    images = torch.rand(5, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    plain, flipped = reconstruct(model, images), reconstruct(model, images.flip(-1))
    assert (plain - flipped.flip(2)).abs().max() > 5e-3  # the untrained model is not symmetric
    both = reconstruct(model, images, batch_size=2, mirror=True)
    assert torch.allclose(both, 0.5 * (plain + flipped.flip(2)), atol=1e-6)  # dim 2: the grid's left-right axis 1
    # Mirroring the photo now mirrors the shape exactly, as it would for a real object.
    assert torch.allclose(reconstruct(model, images.flip(-1), mirror=True), both.flip(2), atol=1e-6)
    drawn = reconstruct(model, images, samples=2, mirror=True)
    expected = 0.5 * (reconstruct(model, images, samples=2) + reconstruct(model, images.flip(-1), samples=2).flip(2))
    assert torch.allclose(drawn, expected, atol=1e-6)


def test_reconstruct_shows_progress_when_asked(tmp_path, capsys):
    model = load_vae_gan(_save_model(tmp_path / "model"), device="cpu")
    images = torch.rand(3, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    quiet = reconstruct(model, images, batch_size=2)
    assert capsys.readouterr().err == ""
    assert torch.equal(reconstruct(model, images, batch_size=2, progress=True), quiet)
    assert "reconstructing" in capsys.readouterr().err


def test_write_reconstructions_writes_every_format_in_order(tmp_path):
    shapes = torch.zeros(2, 16, 16, 16)
    shapes[0, 4:12, 4:12, 0:4] = 0.9
    shapes[1, 6:10, 6:10, 0:14] = 0.8
    photos = [_photo(tmp_path / "first.png", seed=1), _photo(tmp_path / "second.jpg", seed=2)]
    out = tmp_path / "out"
    written = write_reconstructions(shapes, photos, out, formats=("npy", "png", "obj"))
    assert written == {
        "npy": [str(out / "reconstructions.npy")],
        "obj": [str(out / "reconstruction_000.obj"), str(out / "reconstruction_001.obj")],
        "png": [str(out / "reconstructions.png")],
    }
    assert sorted(p.name for p in out.iterdir()) == ["reconstruction_000.obj", "reconstruction_001.obj", "reconstructions.npy", "reconstructions.png"]
    array = np.load(out / "reconstructions.npy")
    assert array.shape == (2, 16, 16, 16) and array.dtype == np.float32
    assert np.array_equal(array, shapes.numpy())
    # One mesh per photo, in the same order: the slab is wider than tall, the column taller than wide.
    slab, column = (trimesh.load(out / f"reconstruction_00{i}.obj") for i in range(2))
    assert slab.extents[0] > slab.extents[2] and column.extents[2] > column.extents[0]
    with Image.open(out / "reconstructions.png") as picture:
        assert picture.mode == "RGB" and picture.width > 2 * 160
    only_npy = write_reconstructions(shapes, photos, tmp_path / "npy", formats=("npy",))
    assert list(only_npy) == ["npy"] and sorted(p.name for p in (tmp_path / "npy").iterdir()) == ["reconstructions.npy"]


# -- IKEA evaluation ----------------------------------------------------------------------

def _ikea_targets() -> tuple[torch.Tensor, list[str]]:
    """The ground truth of the synthetic folder, canonical frame at 20^3, in photo order."""
    grids = []
    for _, model_id in IKEA_PHOTOS:
        grid = torch.zeros(20, 20, 20, dtype=torch.uint8)
        grid[IKEA_CANONICAL[model_id]] = 1
        grids.append(grid)
    return torch.stack(grids), [IKEA_MODELS[model_id][0] for _, model_id in IKEA_PHOTOS]


def test_evaluate_ikea_on_a_synthetic_folder(tmp_path):
    ikea = make_ikea_folder(tmp_path / "ikea")
    mean = torch.zeros(16, 16, 16)
    mean[2:14, 2:14, 2:14] = 1.0  # exactly the central 12^3 (0.75 of 16): all ones at 20^3
    folder = _save_model(tmp_path / "model", mean)
    out = tmp_path / "result.json"
    result = evaluate_ikea(folder, ikea, device="cpu", out=out)
    assert json.loads(out.read_text()) == json.loads(json.dumps(result))
    assert (result["images"], result["models"], result["resolution"], result["iou_threshold"]) == (4, 3, 20, 0.5)
    assert set(result) >= {"model", "baseline_mean_shape", "paper_ap_full_ikea", "notes", "checkpoint", "ikea"}
    for table in (result["model"], result["baseline_mean_shape"]):
        assert set(table) == {"per_class", "mean", "rotation_counts"}
        assert {c: row["images"] for c, row in table["per_class"].items()} == {"chair": 3, "table": 1}
        assert sum(table["rotation_counts"]) == 4

    # The baseline predicts 1 everywhere: AP is the occupied fraction, IoU |target| / 8000.
    # chair photos show models 1, 3, 1 (1920, 1280, 1920 voxels); the table 3840 voxels.
    baseline = result["baseline_mean_shape"]
    chair_fraction = (1920 + 1280 + 1920) / (3 * 8000)
    assert baseline["per_class"]["chair"]["ap"] == pytest.approx(100 * chair_fraction)
    assert baseline["per_class"]["chair"]["iou"] == pytest.approx(100 * chair_fraction)
    assert baseline["per_class"]["table"]["ap"] == pytest.approx(100 * 3840 / 8000)
    assert baseline["mean"]["ap"] == pytest.approx(50 * (chair_fraction + 0.48))
    target, categories = _ikea_targets()
    expected = reconstruction_scores(to_evaluation_grid(mean[None]).expand(4, -1, -1, -1).contiguous(), target, categories)
    assert baseline == expected
    # The model's row scores its reconstructions of the photos, in list order, at 20^3.
    photos = load_images([ikea / "Images" / name for name, _ in IKEA_PHOTOS], 16)
    predicted = to_evaluation_grid(reconstruct(load_vae_gan(folder, "cpu"), photos))
    assert result["model"] == reconstruction_scores(predicted, target, categories)

    table = format_ikea_table(result).splitlines()
    assert table[0] == "IKEA (4 photos), AP / IoU at 20^3 in percent"
    assert table[1].split() == ["chair", "table", "mean"]
    assert len(table) == 2 + 2 * 4 + len(result["paper_ap_full_ikea"])
    assert table[6].split() == ["mean", "training", "shape", "ap", f"{100 * chair_fraction:.1f}", "48.0", f"{50 * (chair_fraction + 0.48):.1f}"]
    # The paper's rows: its numbers for the classes shown and their mean (chair 42.6, table 33.1).
    assert table[10].split() == ["paper", "3D-VAE-GAN,", "jointly", "ap", "42.6", "33.1", "37.9"]


def test_evaluate_ikea_with_one_model_per_class(tmp_path):
    ikea = make_ikea_folder(tmp_path / "ikea")
    mean = torch.zeros(16, 16, 16)
    mean[2:14, 2:14, 2:14] = 1.0
    chair_model = _save_model(tmp_path / "chair", mean)
    torch.manual_seed(1)
    other = ShapeVAEGAN(GAN, ENCODER)  # other weights and an emptier mean shape
    other.mean_shape[4:12, 4:12, 2:8] = 1.0
    table_model = other.save_pretrained(tmp_path / "table")
    alone = {name: evaluate_ikea(path, ikea, device="cpu") for name, path in (("chair", chair_model), ("table", table_model))}
    assert alone["chair"]["model"] != alone["table"]["model"]
    out = tmp_path / "separately.json"
    result = evaluate_ikea({"chair": chair_model, "table": table_model}, ikea, device="cpu", out=out)
    assert json.loads(out.read_text()) == json.loads(json.dumps(result))
    assert result["one_model_per_class"] and result["checkpoint"] == {"chair": str(chair_model), "table": str(table_model)}
    assert (result["images"], result["models"]) == (4, 3)
    # Each class's rows are its own model's rows (AP pools a class's photos only), baseline included.
    for key in ("model", "baseline_mean_shape"):
        for name in ("chair", "table"):
            assert result[key]["per_class"][name] == alone[name][key]["per_class"][name]
        rows = result[key]["per_class"]
        assert result[key]["mean"]["ap"] == pytest.approx((rows["chair"]["ap"] + rows["table"]["ap"]) / 2)
    assert format_ikea_table(result).splitlines()[2].startswith("models, one per class ap ")
    # Photos of classes without a model are left out; a class no photo shows is an error.
    chairs = evaluate_ikea({"chair": chair_model}, ikea, device="cpu")
    assert chairs["images"] == 3 and list(chairs["model"]["per_class"]) == ["chair"]
    assert chairs["model"]["per_class"]["chair"] == alone["chair"]["model"]["per_class"]["chair"]
    with pytest.raises(ConfigError, match=r"model for class lamp: no photo of .* shows one; its classes are chair, table"):
        evaluate_ikea({"chair": chair_model, "lamp": table_model}, ikea, device="cpu")
    with pytest.raises(ConfigError, match=r"no model given"):
        evaluate_ikea({}, ikea, device="cpu")


def test_evaluate_ikea_with_an_ensemble(tmp_path):
    ikea = make_ikea_folder(tmp_path / "ikea")
    first = _save_model(tmp_path / "a", torch.ones(16, 16, 16))
    torch.manual_seed(1)
    other = ShapeVAEGAN(GAN, ENCODER)  # other weights and an emptier mean shape
    other.mean_shape[4:12, 4:12, 2:8] = 1.0
    second = other.save_pretrained(tmp_path / "b")
    out = tmp_path / "ensemble.json"
    result = evaluate_ikea([first, second], ikea, device="cpu", out=out, mirror=True)
    assert json.loads(out.read_text()) == json.loads(json.dumps(result))
    assert result["ensemble"] and not result["one_model_per_class"] and result["checkpoint"] == [str(first), str(second)]
    # Each photo's shape is the mean of the two models' reconstructions; the baseline the mean of their mean shapes.
    target, categories = _ikea_targets()
    photos = load_images([ikea / "Images" / name for name, _ in IKEA_PHOTOS], 16)
    shapes = [reconstruct(load_vae_gan(path, "cpu"), photos, mirror=True) for path in (first, second)]
    assert result["model"] == reconstruction_scores(to_evaluation_grid((shapes[0] + shapes[1]) / 2), target, categories)
    mean = (torch.ones(16, 16, 16) + other.mean_shape.float()) / 2
    expected = reconstruction_scores(to_evaluation_grid(mean[None]).expand(4, -1, -1, -1).contiguous(), target, categories)
    assert result["baseline_mean_shape"] == expected
    assert format_ikea_table(result).splitlines()[2].startswith("2 models averaged ap ")
    # An ensemble of one is that model.
    alone, single = evaluate_ikea([first], ikea, device="cpu"), evaluate_ikea(first, ikea, device="cpu")
    assert alone["model"] == single["model"] and alone["baseline_mean_shape"] == single["baseline_mean_shape"] and not single["ensemble"]
    with pytest.raises(ConfigError, match=r"no model given: an ensemble needs at least one run"):
        evaluate_ikea([], ikea, device="cpu")


def test_reconstruct_files_averages_models_of_one_grid_size(tmp_path):
    photo = _photo(tmp_path / "p.png")
    a = _save_model(tmp_path / "a")
    torch.manual_seed(3)
    b = ShapeVAEGAN(GAN, ENCODER).save_pretrained(tmp_path / "b")
    shapes, mean_shape = reconstruct_files([a, b], [photo], device="cpu")
    images = load_images([photo], 16)
    expected = (reconstruct(load_vae_gan(a, "cpu"), images) + reconstruct(load_vae_gan(b, "cpu"), images)) / 2
    assert torch.allclose(shapes, expected) and mean_shape.shape == (16, 16, 16)
    small = GANConfig(resolution=8, latent_dim=16, generator_channels=(16,), discriminator_channels=(16,), latent_prior="normal")
    c = ShapeVAEGAN(small, ENCODER).save_pretrained(tmp_path / "c")
    with pytest.raises(ConfigError, match=r"model .*c: its shapes are 8\^3 but those of .*a are 16\^3; an ensemble averages shapes of one size"):
        reconstruct_files([a, c], [photo], device="cpu")
    with pytest.raises(ConfigError, match="no model given"):
        reconstruct_files([], [photo], device="cpu")


def test_parse_class_models(tmp_path):
    assert parse_class_models(["runs/vae"]) == "runs/vae"
    assert parse_class_models(["chair=runs/a", " table = runs/b"]) == {"chair": "runs/a", "table": "runs/b"}
    assert parse_class_models(["chair=runs/a"]) == {"chair": "runs/a"}
    named = tmp_path / "lr=1e-4"
    named.mkdir()
    assert parse_class_models([str(named)]) == str(named)  # an existing folder is a folder
    assert parse_class_models(["runs/a", str(named)]) == ["runs/a", str(named)]  # several folders: an ensemble
    for specs, message in (
        (["chair=runs/a", "runs/b"], r"model 'runs/b': give every model as CLASS=RUN \(one model per class.*or none \(one model, or several averaged\)"),
        (["runs/a", "chair=runs/b"], r"model 'runs/a': give every model as CLASS=RUN"),
        (["chair=runs/a", "chair=runs/b"], r"model 'chair=runs/b': class 'chair' has a model already \(runs/a\)"),
        (["chair="], r"model 'chair=': the class or the folder is empty"),
        (["=runs/a", "chair=runs/b"], r"model '=runs/a': the class or the folder is empty"),
        ([], r"no model given"),
    ):
        with pytest.raises(ConfigError, match=message):
            parse_class_models(specs)


def test_evaluate_ikea_refuses_a_gan_without_encoder(tmp_path):
    ShapeGAN(GAN).save_pretrained(tmp_path / "gan")
    with pytest.raises(CheckpointError, match="without an image encoder"):
        evaluate_ikea(tmp_path / "gan", make_ikea_folder(tmp_path / "ikea"), device="cpu")


@pytest.mark.skipif(not (SHARED_DATA / "ikea-dev").is_dir(), reason=f"IKEA development subset not found at {SHARED_DATA / 'ikea-dev'}")
def test_evaluate_ikea_on_the_real_development_subset(tmp_path):
    result = evaluate_ikea(_save_model(tmp_path / "model"), SHARED_DATA / "ikea-dev", device="cpu")
    assert (result["images"], result["models"]) == (313, 41)
    counts = {c: row["images"] for c, row in result["model"]["per_class"].items()}
    assert counts == {"bed": 8, "bookcase": 106, "chair": 71, "desk": 12, "sofa": 51, "table": 65}
    # The untrained model's mean shape is empty: its baseline IoU is 0 in every class.
    assert all(row["iou"] == 0.0 for row in result["baseline_mean_shape"]["per_class"].values())
    assert sum(result["model"]["rotation_counts"]) == 313
