"""The pieces of a training step: real batches, latents, D's scores, logged values."""

import torch

from shapespace.models import GANConfig
from shapespace.training.gan_trainer import GANTrainer
from shapespace.training.rng import DataOrder
from shapespace.training.steps import StepResult, prior_latents, real_shapes, score


def _recipe(**changes):
    from shapespace.training.config import GANTrainConfig

    return GANTrainConfig(steps=2, batch_size=4, sample_every=0, checkpoint_every=0, log_every=1).replace(**changes)


def test_joint_d_batch_scores_real_and_generated_shapes_together(tiny_config, box_set, tmp_path):
    trainer = GANTrainer(tiny_config, _recipe(joint_d_batch=True), box_set, tmp_path / "j", device="cpu", progress=False)
    real = box_set.voxels[:4].float().unsqueeze(1)  # (4, 1, 16, 16, 16)
    fake = torch.rand(4, 1, 16, 16, 16, generator=torch.Generator().manual_seed(0))
    discriminator = trainer.model.discriminator.train()
    logit_real, logit_fake = score(trainer.model.discriminator, real, fake, joint=True)
    both = discriminator(torch.cat([real, fake]))
    assert torch.equal(logit_real, both[:4]) and torch.equal(logit_fake, both[4:])
    # Separate batches normalise with other statistics, so D's logits differ.
    assert not torch.allclose(logit_fake, discriminator(fake))
    assert trainer.train_config.deviations()["joint_d_batch"] == {"value": True, "paper": False}


def test_real_shapes_follow_the_data_order_and_augment_reproducibly(box_set):
    order = DataOrder(len(box_set), 4, seed=0)
    plain = real_shapes(box_set, order, (), seed=0, step=1)
    assert torch.equal(plain, box_set.voxels[order.batch(1)])
    flipped = real_shapes(box_set, order, ("flip", "rot90"), seed=0, step=1)
    assert torch.equal(flipped, real_shapes(box_set, order, ("flip", "rot90"), seed=0, step=1))
    assert flipped.shape == plain.shape and flipped.sum() == plain.sum()  # moved, not changed


def test_prior_latents_are_a_function_of_seed_and_step():
    config = GANConfig(resolution=16, latent_dim=8, generator_channels=(16, 8), discriminator_channels=(8, 16))
    cpu = torch.device("cpu")
    assert torch.equal(prior_latents(config, 3, 0, 5, cpu), prior_latents(config, 3, 0, 5, cpu))
    assert not torch.equal(prior_latents(config, 3, 0, 5, cpu), prior_latents(config, 3, 0, 6, cpu))
    assert prior_latents(config, 3, 0, 5, cpu).shape == (3, 8)


def test_step_results_log_the_update_as_a_rate():
    assert StepResult(1.5, 0.5, 0.75, True).log_values() == {"loss_d": 1.5, "loss_g": 0.5, "d_accuracy": 0.75, "d_update_rate": 1.0}
