import pytest
import torch

from shapespace.errors import CheckpointError, ConfigError
from shapespace.models import GANConfig, ShapeGAN, VoxelDiscriminator, VoxelGenerator, count_parameters, get_preset, preset_names


def test_paper_64_parameter_counts_match_the_paper():
    model = ShapeGAN(get_preset("paper-64"))
    assert count_parameters(model.generator) == 17_569_664
    assert count_parameters(model.discriminator) == 11_048_832


def test_paper_32_parameter_counts():
    # paper-64 minus G's 128->64 (524,288 + 128 BN) and 64->1 (4,096) layers plus a 128->1 output (8,192).
    model = ShapeGAN(get_preset("paper-32"))
    assert count_parameters(model.generator) == 17_569_664 - 524_288 - 128 - 4_096 + 8_192
    assert count_parameters(model.discriminator) == 10_528_512


@pytest.mark.parametrize("name", preset_names())
def test_every_preset_has_the_documented_shapes(name):
    config = get_preset(name)
    r = config.resolution
    generator, discriminator = VoxelGenerator(config).eval(), VoxelDiscriminator(config).eval()
    z = torch.rand(2, config.latent_dim)
    with torch.no_grad():
        x = generator(z)
        assert x.shape == (2, 1, r, r, r)
        assert float(x.min()) >= 0.0 and float(x.max()) <= 1.0
        assert torch.equal(generator(z[:, :, None, None, None]), x)
        logits = discriminator(x)
        assert logits.shape == (2,)
        features = discriminator.features(x)
    assert [f.shape[1] for f in features] == list(config.discriminator_channels)
    assert [f.shape[-1] for f in features] == [r // 2 ** (i + 1) for i in range(len(features))]


def test_paper_64_intermediate_shapes():
    config = get_preset("paper-64")
    generator = VoxelGenerator(config).eval()
    shapes = []
    x = torch.rand(1, 200, 1, 1, 1)
    with torch.no_grad():
        for block in generator.blocks:
            x = block(x)
            shapes.append(tuple(x.shape))
    assert shapes == [(1, 512, 4, 4, 4), (1, 256, 8, 8, 8), (1, 128, 16, 16, 16), (1, 64, 32, 32, 32)]


def test_no_convolution_biases_in_paper_presets():
    model = ShapeGAN(get_preset("paper-32"))
    convs = [m for m in model.modules() if isinstance(m, (torch.nn.Conv3d, torch.nn.ConvTranspose3d))]
    assert convs and all(m.bias is None for m in convs)


def test_config_rejects_inconsistent_resolution():
    with pytest.raises(ConfigError, match="resolution"):
        GANConfig(resolution=32, generator_channels=(512, 256, 128, 64))
    with pytest.raises(ConfigError, match="latent_prior"):
        GANConfig(latent_prior="cauchy")


def test_unknown_preset_lists_known_ones():
    with pytest.raises(ConfigError, match="paper-64"):
        get_preset("paper-128")


def test_generator_rejects_wrong_latent_shape(tiny_config):
    with pytest.raises(ValueError, match=r"\(B, 8\)"):
        VoxelGenerator(tiny_config)(torch.rand(2, 7))


def test_discriminator_rejects_wrong_grid(tiny_config):
    with pytest.raises(ValueError, match="16, 16, 16"):
        VoxelDiscriminator(tiny_config)(torch.rand(2, 1, 8, 8, 8))


def test_save_and_load_round_trip_gives_identical_outputs(tiny_config, tmp_path):
    torch.manual_seed(0)
    model = ShapeGAN(tiny_config)
    # Make the BatchNorm statistics non-trivial so the round trip must carry buffers too.
    model.train()
    model.generator(torch.rand(4, tiny_config.latent_dim))
    model.eval()
    z = torch.rand(3, tiny_config.latent_dim)
    with torch.no_grad():
        expected_g, expected_d = model.generator(z), model.discriminator(model.generator(z))
    model.save_pretrained(tmp_path / "m")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["config.json", "model.safetensors"]
    loaded = ShapeGAN.from_pretrained(tmp_path / "m")
    assert loaded.config == tiny_config
    with torch.no_grad():
        assert torch.equal(loaded.generator(z), expected_g)
        assert torch.equal(loaded.discriminator(loaded.generator(z)), expected_d)


def test_from_pretrained_errors_name_the_problem(tiny_config, tmp_path):
    with pytest.raises(CheckpointError, match="no config.json"):
        ShapeGAN.from_pretrained(tmp_path)
    ShapeGAN(tiny_config).save_pretrained(tmp_path / "m")
    (tmp_path / "m" / "model.safetensors").write_bytes(b"\x00garbage")
    with pytest.raises(CheckpointError, match="model.safetensors"):
        ShapeGAN.from_pretrained(tmp_path / "m")
    other = tiny_config.replace(generator_channels=(32, 8))
    ShapeGAN(other).save_pretrained(tmp_path / "o")
    ShapeGAN(tiny_config).save_pretrained(tmp_path / "t")
    (tmp_path / "o" / "model.safetensors").replace(tmp_path / "t" / "model.safetensors")
    with pytest.raises(CheckpointError):
        ShapeGAN.from_pretrained(tmp_path / "t")


@pytest.mark.parametrize("norm", ["batch", "layer", "instance", "none"])
def test_discriminator_norms_keep_the_papers_parameter_count_but_none(norm):
    config = get_preset("paper-32").replace(discriminator_norm=norm)
    model = ShapeGAN(config)
    expected = count_parameters(ShapeGAN(get_preset("paper-32")).discriminator)
    norms = 2 * sum(config.discriminator_channels)  # a scale and a shift per channel
    assert count_parameters(model.discriminator) == (expected - norms if norm == "none" else expected)
    x = torch.rand(2, 1, 32, 32, 32)
    # Without BatchNorm, D scores each shape on its own: the same logit alone or in a batch.
    if norm != "batch":
        model.discriminator.train()
        torch.testing.assert_close(model.discriminator(x)[:1], model.discriminator(x[:1]), rtol=1e-4, atol=1e-5)


def test_spectral_norm_bounds_each_convolution_and_round_trips(tmp_path):
    torch.manual_seed(0)
    config = get_preset("tiny-16").replace(spectral_norm=True, discriminator_norm="none")
    model = ShapeGAN(config).train()
    for _ in range(30):  # power iterations run in training-mode forward passes
        model.discriminator(torch.rand(2, 1, 16, 16, 16))
    conv = model.discriminator.blocks[0][0]
    sigma = torch.linalg.matrix_norm(conv.weight.detach().flatten(1), ord=2)
    assert sigma.item() == pytest.approx(1.0, abs=0.02)
    loaded = ShapeGAN.from_pretrained(model.save_pretrained(tmp_path / "m"))
    assert loaded.config.spectral_norm and torch.equal(loaded.discriminator.blocks[0][0].weight, model.eval().discriminator.blocks[0][0].weight)
