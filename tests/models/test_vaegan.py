"""ShapeVAEGAN: construction checks, reconstruct, and the model folder both loaders read."""

import json
import math

import pytest
import torch
from safetensors.torch import load_file, save_file

from shapespace.errors import CheckpointError, ConfigError
from shapespace.models import GANConfig, ShapeGAN
from shapespace.models.encoder import EncoderConfig
from shapespace.models.vaegan import ShapeVAEGAN

GAN = GANConfig(resolution=16, latent_dim=16, generator_channels=(32, 16), discriminator_channels=(16, 32), latent_prior="normal")
ENCODER = EncoderConfig(image_size=16, latent_dim=16, channels=(8, 16), kernels=(5, 5, 4), strides=(2, 2, 1))


def _model(seed: int = 0) -> ShapeVAEGAN:
    torch.manual_seed(seed)
    return ShapeVAEGAN(GAN, ENCODER)


def _images(n: int = 3) -> torch.Tensor:
    return torch.rand(n, 3, 16, 16, generator=torch.Generator().manual_seed(4))


def test_needs_the_normal_prior_and_matching_latent_sizes():
    with pytest.raises(ConfigError, match="a 3D-VAE-GAN needs a normal latent prior"):
        ShapeVAEGAN(GAN.replace(latent_prior="uniform"), ENCODER)
    with pytest.raises(ConfigError, match="the encoder's latent_dim 8 differs from the generator's 16"):
        ShapeVAEGAN(GAN, EncoderConfig(image_size=16, latent_dim=8, channels=(8, 16), kernels=(5, 5, 4), strides=(2, 2, 1)))


def test_the_posterior_starts_near_the_prior():
    model = _model()
    bias = model.encoder.to_posterior.bias
    assert torch.equal(bias[:16], torch.zeros(16))
    assert torch.allclose(bias[16:], torch.full((16,), 2 * math.log(0.33)))
    assert model.prior_std == 0.33
    assert torch.equal(model.mean_shape, torch.zeros(16, 16, 16))
    with torch.no_grad():
        posterior = model.eval().encode(_images())
    # Per dimension the KL is well under a nat: q(z|y) is close to N(0, 0.33^2) for any image.
    assert float(posterior.kl(model.prior_std).max()) < 16 * 0.5


def test_reconstruct_decodes_the_posterior_mean():
    model = _model().eval()
    images = _images()
    shapes = model.reconstruct(images)
    assert shapes.shape == (3, 1, 16, 16, 16) and not shapes.requires_grad
    assert 0.0 <= float(shapes.min()) and float(shapes.max()) <= 1.0
    with torch.no_grad():
        assert torch.equal(shapes, model.generator(model.encoder(images).mean))
    # In eval mode each image is decoded on its own: batching does not change the shapes.
    assert torch.allclose(model.reconstruct(images[1:2]), shapes[1:2], atol=1e-6)


def test_reconstruct_averages_the_shapes_of_posterior_draws():
    model = _model().eval()
    images = _images()
    eps = torch.randn(4, 3, 16, generator=torch.Generator().manual_seed(5))
    shapes = model.reconstruct(images, eps)
    with torch.no_grad():
        posterior = model.encoder(images)
        draws = [model.generator(posterior.mean + posterior.std * e) for e in eps]
    assert shapes.shape == (3, 1, 16, 16, 16)
    assert torch.allclose(shapes, torch.stack(draws).mean(0), atol=1e-6)
    assert not torch.allclose(shapes, model.reconstruct(images), atol=1e-4)  # the draws differ from the mean
    assert torch.allclose(model.reconstruct(images, torch.zeros(2, 3, 16)), model.reconstruct(images), atol=1e-6)


def test_save_and_load_round_trip(tmp_path):
    model = _model(1)
    model.mean_shape.fill_(0.25)
    model.save_pretrained(tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "config.json").read_text())
    assert meta["model_type"] == "3d-vae-gan"
    assert meta["config"] == GAN.to_dict() and meta["encoder"] == ENCODER.to_dict()
    keys = set(load_file(str(tmp_path / "m" / "model.safetensors")))
    assert keys == set(model.state_dict())
    assert "mean_shape" in keys and any(k.startswith("encoder.") for k in keys)

    loaded = ShapeVAEGAN.from_pretrained(tmp_path / "m")
    assert not loaded.training
    assert loaded.config == GAN and loaded.encoder_config == ENCODER
    state = model.state_dict()
    assert all(torch.equal(v, state[k]) for k, v in loaded.state_dict().items())
    assert torch.equal(loaded.reconstruct(_images()), model.eval().reconstruct(_images()))

    # ShapeGAN reads the same folder: G and D, without the encoder.
    gan = ShapeGAN.from_pretrained(tmp_path / "m")
    assert type(gan) is ShapeGAN and not hasattr(gan, "encoder")
    assert all(torch.equal(v, state[k]) for k, v in gan.state_dict().items())
    assert set(gan.state_dict()) == {k for k in state if k.startswith(("generator.", "discriminator."))}


def test_a_gan_folder_is_not_a_vae_gan(tmp_path):
    ShapeGAN(GAN).save_pretrained(tmp_path / "gan")
    with pytest.raises(CheckpointError, match="gan: a 3D-GAN without an image encoder; reconstruction needs a model trained with"):
        ShapeVAEGAN.from_pretrained(tmp_path / "gan")


def test_broken_folders_are_named(tmp_path):
    folder = _model().save_pretrained(tmp_path / "m")
    weights = folder / "model.safetensors"
    state = load_file(str(weights))
    del state["encoder.to_posterior.bias"]
    save_file(state, str(weights))
    with pytest.raises(CheckpointError, match=r"model.safetensors: weights do not match config.json \(missing \['encoder.to_posterior.bias'\]"):
        ShapeVAEGAN.from_pretrained(folder)
    meta = json.loads((folder / "config.json").read_text())
    meta["encoder"]["strides"] = [2, 2]
    (folder / "config.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match=r"config.json: invalid model config \(encoder needs as many strides as kernels"):
        ShapeVAEGAN.from_pretrained(folder)
    meta["encoder"] = ENCODER.to_dict()
    (folder / "config.json").write_text(json.dumps(meta))
    weights.unlink()
    with pytest.raises(CheckpointError, match="missing weights file"):
        ShapeVAEGAN.from_pretrained(folder)
