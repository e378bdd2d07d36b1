"""The image encoder E: presets, config checks, and the Gaussian posterior's sample and KL."""

import math

import pytest
import torch

from shapespace.errors import ConfigError
from shapespace.models import count_parameters
from shapespace.models.encoder import (
    ENCODER_PRESETS,
    DiagonalGaussian,
    EncoderConfig,
    ImageEncoder,
    get_encoder_preset,
)

FEATURE_SIZES = {"paper-256": [64, 32, 16, 8, 1], "cpu-64": [32, 16, 8, 4, 1], "cpu-128": [64, 32, 16, 8, 1]}


def _expected_parameters(config: EncoderConfig) -> int:
    """Conv weights (no bias) + BatchNorm scale and shift per block, then the posterior conv with bias."""
    widths = (3,) + config.channels
    blocks = sum(c_in * c_out * k * k + 2 * c_out for c_in, c_out, k in zip(widths[:-1], widths[1:], config.kernels))
    last = widths[-1] * 2 * config.latent_dim * config.kernels[-1] ** 2 + 2 * config.latent_dim
    return blocks + last


def test_every_preset_is_tested():
    # The backbone presets are tested in tests/models/test_backbone.py.
    assert sorted(ENCODER_PRESETS) == sorted([*FEATURE_SIZES, "lite0-furniture", "lite0-aspect", "lite2-furniture"])


@pytest.mark.parametrize("name", sorted(FEATURE_SIZES))
def test_preset_shapes_and_parameter_counts(name):
    config = get_encoder_preset(name)
    assert config.latent_dim == 200
    assert config.feature_sizes() == FEATURE_SIZES[name]
    encoder = ImageEncoder(config).eval()
    assert count_parameters(encoder) == _expected_parameters(config)
    s = config.image_size
    images = torch.rand(2, 3, s, s, generator=torch.Generator().manual_seed(0))
    intermediate = []
    hooks = [block.register_forward_hook(lambda _m, _i, out: intermediate.append(tuple(out.shape))) for block in encoder.blocks]
    with torch.no_grad():
        posterior = encoder(images)
    for hook in hooks:
        hook.remove()
    assert posterior.mean.shape == posterior.logvar.shape == (2, 200)
    assert posterior.mean.dtype == torch.float32
    widths = list(config.channels)
    assert intermediate == [(2, c, f, f) for c, f in zip(widths, FEATURE_SIZES[name][:-1])]


def test_paper_256_is_the_documented_architecture():
    config = get_encoder_preset("paper-256")
    assert (config.image_size, config.kernels, config.strides, config.channels) == (256, (11, 5, 5, 5, 8), (4, 2, 2, 2, 1), (64, 128, 256, 512))
    assert config.paddings() == (5, 2, 2, 2, 0)
    assert get_encoder_preset("cpu-64").paddings() == (2, 2, 2, 2, 0)


def test_preset_follows_the_generator_latent_dim():
    assert get_encoder_preset("cpu-64", latent_dim=16).latent_dim == 16
    encoder = ImageEncoder(get_encoder_preset("cpu-64", latent_dim=16)).eval()
    with torch.no_grad():
        assert encoder(torch.zeros(1, 3, 64, 64)).mean.shape == (1, 16)
    with pytest.raises(ConfigError, match="unknown encoder preset 'paper-128'; known encoder presets: paper-256, cpu-64, cpu-128"):
        get_encoder_preset("paper-128")


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"image_size": 128}, r"map a 128x128 image to -3x-3, not 1x1 \(feature sizes \[32, 16, 8, 4, -3\]\)"),
        ({"image_size": 320}, r"map a 320x320 image to 3x3, not 1x1 \(feature sizes \[80, 40, 20, 10, 3\]\)"),
        ({"strides": (2, 2, 2, 1)}, "4 strides"),
        ({"channels": (64, 128, 256)}, "3 channels"),
        ({"kernels": (), "strides": (), "channels": ()}, "kernels must not be empty"),
        ({"kernels": (11, 5, 0, 5, 8)}, "encoder kernels must be positive"),
        ({"latent_dim": 0}, "latent_dim and image_size must be positive"),
    ],
)
def test_bad_configs_raise_config_error(changes, message):
    base = {"image_size": 256, "latent_dim": 200, "channels": (64, 128, 256, 512), "kernels": (11, 5, 5, 5, 8), "strides": (4, 2, 2, 2, 1)}
    with pytest.raises(ConfigError, match=message):
        EncoderConfig(**{**base, **changes})


def test_layers_not_reaching_one_pixel_name_the_sizes():
    # 64 -> 32 -> 16 -> 8 -> 4, then a 3-wide unpadded kernel leaves 2x2.
    with pytest.raises(ConfigError, match=r"to 2x2, not 1x1 \(feature sizes \[32, 16, 8, 4, 2\]\)"):
        EncoderConfig(image_size=64, channels=(32, 64, 128, 256), kernels=(5, 5, 5, 5, 3), strides=(2, 2, 2, 2, 1))


def test_config_round_trips_through_a_dict():
    config = get_encoder_preset("cpu-64", latent_dim=16)
    data = config.to_dict()
    assert data == {"image_size": 64, "latent_dim": 16, "channels": [32, 64, 128, 256], "kernels": [5, 5, 5, 5, 4], "strides": [2, 2, 2, 2, 1]}
    assert EncoderConfig.from_dict(data) == config
    with pytest.raises(ConfigError, match="unknown EncoderConfig fields: depth"):
        EncoderConfig.from_dict({**data, "depth": 3})


def test_encoder_rejects_images_of_the_wrong_size():
    encoder = ImageEncoder(get_encoder_preset("cpu-64", latent_dim=8))
    with pytest.raises(ValueError, match=r"images must have shape \(B, 3, 64, 64\), got \(1, 3, 32, 32\)"):
        encoder(torch.zeros(1, 3, 32, 32))


# -- the posterior --------------------------------------------------------------------

def _gaussian(mean: float, logvar: float, dims: int = 3) -> DiagonalGaussian:
    return DiagonalGaussian(torch.full((2, dims), float(mean)), torch.full((2, dims), float(logvar)))


def test_kl_of_the_prior_itself_is_zero():
    assert torch.equal(_gaussian(0.0, 0.0).kl(1.0), torch.zeros(2))
    assert torch.allclose(_gaussian(0.0, 2 * math.log(0.5)).kl(0.5), torch.zeros(2), atol=1e-6)


@pytest.mark.parametrize(
    "mean, logvar, prior_std, per_dim",
    [
        (1.0, 0.0, 1.0, 0.5),  # mu^2 / 2
        (0.0, math.log(4.0), 1.0, 0.5 * (4.0 - 1.0 - math.log(4.0))),  # var 4
        (-2.0, math.log(0.25), 1.0, 0.5 * (0.25 + 4.0 - 1.0 - math.log(0.25))),
        (0.0, 0.0, 0.5, math.log(0.5) + 1.0 / (2 * 0.25) - 0.5),  # N(0, 1) against N(0, 0.25)
        (1.0, 2 * math.log(0.5), 0.5, 0.5 * 1.0 / 0.25),  # same variance: mu^2 / (2 s^2) = 2
        (0.5, math.log(0.09), 0.33, math.log(0.33 / 0.3) + (0.09 + 0.25) / (2 * 0.33**2) - 0.5),
    ],
)
def test_kl_matches_the_closed_form(mean, logvar, prior_std, per_dim):
    kl = _gaussian(mean, logvar, dims=5).kl(prior_std)
    assert kl.shape == (2,)
    assert torch.allclose(kl, torch.full((2,), 5 * per_dim), rtol=1e-5, atol=1e-6)


def test_kl_against_torch_distributions():
    rng = torch.Generator().manual_seed(1)
    mean, logvar = torch.randn(4, 6, generator=rng), torch.randn(4, 6, generator=rng)
    q = torch.distributions.Normal(mean, torch.exp(0.5 * logvar))
    p = torch.distributions.Normal(torch.zeros(4, 6), torch.full((4, 6), 0.33))
    expected = torch.distributions.kl_divergence(q, p).sum(1)
    assert torch.allclose(DiagonalGaussian(mean, logvar).kl(0.33), expected, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="prior_std must be positive"):
        DiagonalGaussian(mean, logvar).kl(0.0)


def test_sample_is_reproducible_and_has_the_right_moments():
    posterior = DiagonalGaussian(torch.tensor([[1.0, -2.0]]).expand(20000, 2), torch.tensor([[0.0, math.log(0.25)]]).expand(20000, 2))
    a = posterior.sample(torch.Generator().manual_seed(7))
    b = posterior.sample(torch.Generator().manual_seed(7))
    c = posterior.sample(torch.Generator().manual_seed(8))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert a.shape == (20000, 2)
    # Standard errors: std / sqrt(20000) < 0.0071; 5 of them.
    assert torch.allclose(a.mean(0), torch.tensor([1.0, -2.0]), atol=0.035)
    assert torch.allclose(a.std(0), torch.tensor([1.0, 0.5]), atol=0.03)
    # The draw is mean + std * eps with eps from the generator.
    eps = torch.randn(20000, 2, generator=torch.Generator().manual_seed(7))
    assert torch.allclose(a, posterior.mean + posterior.std * eps)


def test_mode_is_the_mean_and_sample_is_differentiable():
    mean = torch.tensor([[0.5, -0.5]], requires_grad=True)
    logvar = torch.tensor([[0.0, 1.0]], requires_grad=True)
    posterior = DiagonalGaussian(mean, logvar)
    assert torch.equal(posterior.mode(), mean.detach())
    posterior.sample(torch.Generator().manual_seed(0)).sum().backward()
    assert torch.equal(mean.grad, torch.ones(1, 2))
    assert logvar.grad is not None and bool((logvar.grad != 0).all())


def test_logvar_is_clamped_and_shapes_are_checked():
    posterior = DiagonalGaussian(torch.zeros(1, 2), torch.tensor([[-100.0, 100.0]]))
    assert posterior.logvar.tolist() == [[-30.0, 20.0]]
    assert bool(torch.isfinite(posterior.kl()).all())
    with pytest.raises(ValueError, match="mean and logvar must both have shape"):
        DiagonalGaussian(torch.zeros(2, 3), torch.zeros(2, 4))
