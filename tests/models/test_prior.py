"""The latent prior: draws, the latent of a seed, lines between latents."""

import pytest
import torch

from shapespace.errors import ConfigError
from shapespace.models import GANConfig
from shapespace.models.prior import interpolate_latents, latents_for_seeds, sample_latents


@pytest.mark.parametrize("prior", ["uniform", "normal"])
def test_the_latent_of_a_seed_is_one_draw_of_that_seed(prior):
    config = GANConfig(resolution=16, latent_dim=8, generator_channels=(16, 8), discriminator_channels=(8, 16), latent_prior=prior)
    z = latents_for_seeds(config, [3, 5])
    assert z.shape == (2, 8)
    assert torch.equal(z[0], sample_latents(config, 1, torch.Generator().manual_seed(3))[0])
    assert torch.equal(z[1], sample_latents(config, 1, torch.Generator().manual_seed(5))[0])
    # torch's CPU normal sampler draws 16 or more values in another order than fewer.
    first_of_four = sample_latents(config, 4, torch.Generator().manual_seed(3))[0]
    assert torch.equal(z[0], first_of_four) == (prior == "uniform")


def test_interpolate_latents_is_the_straight_line_with_its_endpoints():
    line = interpolate_latents(torch.tensor([0.0, 4.0]), torch.tensor([2.0, -4.0]), 5)
    assert line.tolist() == [[0.0, 4.0], [0.5, 2.0], [1.0, 0.0], [1.5, -2.0], [2.0, -4.0]]
    with pytest.raises(ConfigError, match="steps must be at least 2"):
        interpolate_latents(torch.zeros(2), torch.ones(2), 1)
