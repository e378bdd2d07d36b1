"""The generator's weight average and the BatchNorm statistics of the sampled model."""

import torch

from shapespace.models import GANConfig, ShapeGAN
from shapespace.training.ema import GeneratorAverage, recalibrate_batchnorm


def test_recalibrate_batchnorm_uses_exact_batch_statistics():
    norm = torch.nn.BatchNorm1d(3, momentum=0.1)
    batches = [torch.arange(12.0).reshape(4, 3), torch.arange(12.0, 24.0).reshape(4, 3)]
    recalibrate_batchnorm(norm, batches)
    assert not norm.training and norm.momentum == 0.1
    assert torch.allclose(norm.running_mean, torch.stack([b.mean(0) for b in batches]).mean(0))
    assert torch.allclose(norm.running_var, torch.stack([b.var(0) for b in batches]).mean(0))


def test_the_average_moves_by_one_minus_decay_and_copies_buffers():
    torch.manual_seed(0)
    model = ShapeGAN(GANConfig(resolution=16, latent_dim=4, generator_channels=(8, 4), discriminator_channels=(4, 8)))
    average = GeneratorAverage(model.generator, decay=0.75, seed=0)
    before = [p.detach().clone() for p in average.network.parameters()]
    with torch.no_grad():
        for p in model.generator.parameters():
            p.add_(1.0)
        model.generator.blocks[0][1].running_mean.fill_(3.0)
    average.update(model.generator)
    for old, new in zip(before, average.network.parameters()):
        torch.testing.assert_close(new, old + 0.25, rtol=0, atol=1e-6)
    assert torch.equal(average.network.blocks[0][1].running_mean, torch.full_like(average.network.blocks[0][1].running_mean, 3.0))
    assert not any(p.requires_grad for p in average.network.parameters())
    sampled = average.model(model)
    assert sampled is not model and torch.equal(sampled.generator.blocks[0][0].weight, average.network.blocks[0][0].weight)
    # Recalibrated from fixed latents: the same statistics twice.
    assert torch.equal(average.model(model).generator.blocks[0][1].running_var, sampled.generator.blocks[0][1].running_var)
