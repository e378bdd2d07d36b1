"""The pieces of a training step: real batches, latents, D's scores, logged values."""

import pytest
import torch

from shapespace.models import GANConfig
from shapespace.training.gan_trainer import GANTrainer
from shapespace.training.rng import DataOrder
from shapespace.training.steps import (
    RealBatches,
    StepResult,
    TrainingDiverged,
    _log_line,
    prior_latents,
    run_steps,
    sample_statistics,
    score,
)


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


def test_real_batches_follow_the_data_order_and_augment_reproducibly(box_set):
    order = DataOrder(len(box_set), 4, seed=0)
    cpu = torch.device("cpu")
    plain = RealBatches(box_set, order, (), 0, cpu)(1)
    assert torch.equal(plain, box_set.voxels[order.batch(1)])
    augmented = RealBatches(box_set, order, ("flip", "rot90"), 0, cpu)
    flipped = augmented(1)
    assert torch.equal(flipped, augmented(1))
    assert flipped.shape == plain.shape and flipped.sum() == plain.sum()  # moved, not changed
    # A data-parallel process's rows are those rows of the whole batch, augmentation included.
    assert torch.equal(RealBatches(box_set, order, ("flip", "rot90"), 0, cpu, shard=slice(2, 4))(1), flipped[2:4])
    # Gathering the next batch ahead (CUDA's default) changes nothing, in order or after a jump.
    ahead = RealBatches(box_set, order, ("flip", "rot90"), 0, cpu, prefetch=True)
    for step in (0, 1, 2, 7, 8, 3):
        assert torch.equal(ahead(step), augmented(step)), step


def test_prior_latents_are_a_function_of_seed_and_step():
    config = GANConfig(resolution=16, latent_dim=8, generator_channels=(16, 8), discriminator_channels=(8, 16))
    cpu = torch.device("cpu")
    assert torch.equal(prior_latents(config, 3, 0, 5, cpu), prior_latents(config, 3, 0, 5, cpu))
    assert not torch.equal(prior_latents(config, 3, 0, 5, cpu), prior_latents(config, 3, 0, 6, cpu))
    assert prior_latents(config, 3, 0, 5, cpu).shape == (3, 8)


def test_step_results_log_the_update_as_a_rate():
    assert StepResult(1.5, 0.5, 0.75, True).log_values() == {"loss_d": 1.5, "loss_g": 0.5, "d_accuracy": 0.75, "d_update_rate": 1.0}


def test_sample_statistics_of_known_generators():
    class Constant(torch.nn.Module):
        def __init__(self, grid):
            super().__init__()
            self.grid = grid

        def forward(self, z):
            return self.grid.expand(len(z), -1, -1, -1, -1)

    half = torch.zeros(1, 1, 4, 4, 4)
    half[..., :2] = 1.0
    stats = sample_statistics(Constant(half), torch.zeros(3, 2), "fp32")
    assert stats == {"sample_occupancy": 0.5, "sample_diversity": 0.0}

    class Alternating(torch.nn.Module):
        def forward(self, z):  # shape i is the lower half for even i, the upper half for odd i
            out = torch.zeros(len(z), 1, 4, 4, 4)
            out[0::2, ..., :2] = 1.0
            out[1::2, ..., 2:] = 1.0
            return out

    # 4 shapes: of the 12 ordered pairs, 8 are disjoint (distance 1) and 4 equal (0).
    stats = sample_statistics(Alternating(), torch.zeros(4, 2), "fp32")
    assert stats["sample_occupancy"] == 0.5 and stats["sample_diversity"] == pytest.approx(8 / 12, abs=1e-7)


class _Scripted:
    """A trainer stand-in whose steps report given losses and monitor values."""

    PROGRESS_NAME = "test"
    guard_note = ""
    adversarial = True

    def __init__(self, tmp_path, losses, monitor):
        from shapespace.training.run_folder import RunFolder

        from shapespace.training.distributed import Distributed

        self.run, self.step, self.progress = RunFolder(tmp_path / "run"), 0, False
        self.distributed, self.device = Distributed(), torch.device("cpu")
        self.losses, self.monitor_values, self.saved = losses, monitor, []

    def train_step(self):
        loss = self.losses[self.step]
        self.step += 1
        return StepResult(loss, loss, 0.5, True)

    def resolved_config(self):
        return {}

    def save_checkpoint(self):
        self.saved.append(self.step)
        self.run.model_dir.mkdir(parents=True, exist_ok=True)

    def write_preview(self):
        return None

    def monitor(self):
        return dict(self.monitor_values)


def test_collapse_and_empty_samples_are_reported_once_after_the_first_steps(tmp_path):
    trainer = _Scripted(tmp_path, [1.0] * 300, {"sample_occupancy": 0.0, "sample_diversity": 0.0})
    warnings = []
    run_steps(trainer, 300, log_every=50, sample_every=0, checkpoint_every=0, warn=warnings.append)
    assert len(warnings) == 2
    assert warnings[0].startswith("step 100: the samples have collapsed: mean pairwise 1 - IoU of the preview shapes is 0.0000")
    assert warnings[1].startswith("step 100: the samples are empty")
    lines = trainer.run.metrics_path.read_text().splitlines()
    assert len(lines) == 6 and '"sample_diversity": 0.0' in lines[0]
    trainer = _Scripted(tmp_path / "noted", [1.0] * 100, {"sample_occupancy": 0.0, "sample_diversity": 0.0})
    trainer.guard_note = "; expected here"
    noted = []
    run_steps(trainer, 100, log_every=50, sample_every=0, checkpoint_every=0, warn=noted.append)
    assert len(noted) == 2 and all(text.endswith("; expected here") for text in noted)


def test_non_finite_losses_stop_training_without_a_new_checkpoint(tmp_path):
    trainer = _Scripted(tmp_path, [1.0, 1.0, float("nan"), 1.0], {"sample_occupancy": 0.1, "sample_diversity": 0.5})
    with pytest.raises(TrainingDiverged, match=r"step 3: the losses are not finite \(loss_d nan, loss_g nan\)"):
        run_steps(trainer, 4, log_every=1, sample_every=0, checkpoint_every=2, warn=print)
    assert trainer.saved == [2]  # the checkpoint of step 2 is the last one


def test_a_non_finite_vae_term_stops_training_although_the_gan_losses_are_zero(tmp_path):
    from shapespace.training.vaegan_trainer import VAEStepResult

    class WarmUp(_Scripted):  # gan_weight 0: D's and G's adversarial losses are 0, the VAE's terms are not
        adversarial = False

        def train_step(self):
            recon = self.losses[self.step]
            self.step += 1
            return VAEStepResult(0.0, 0.0, 0.0, False, 2.0, recon, 0.5)

    trainer = WarmUp(tmp_path, [5.0, float("inf"), 5.0, 5.0], {"sample_occupancy": 0.1, "sample_diversity": 0.5})
    with pytest.raises(TrainingDiverged, match=r"step 2: the losses are not finite \(recon inf\)"):
        run_steps(trainer, 4, log_every=4, sample_every=0, checkpoint_every=0)


def test_log_lines_show_the_terms_that_train():
    base = {"step": 20, "sample_occupancy": 0.05, "sample_diversity": 0.5, "seconds": 7.2}
    gan = {**base, "loss_d": 1.25, "loss_g": 0.5, "d_accuracy": 0.75, "d_update_rate": 1.0}
    assert _log_line(gan, 100) == (
        "step 20/100  loss_d 1.2500  loss_g 0.5000  d_acc 0.75  d_upd 1.00  occupancy 0.0500  diversity 0.500  7 s"
    )
    warm_up = {**base, "loss_d": 0.0, "loss_g": 0.0, "d_accuracy": 0.0, "d_update_rate": 0.0, "recon": 3459.91, "kl": 353.79, "recon_iou": 0.2157}
    assert _log_line(warm_up, 100, adversarial=False) == "step 20/100  recon 3459.9  kl 353.8  recon_iou 0.216  occupancy 0.0500  diversity 0.500  7 s"
    assert _log_line({**warm_up, **gan}, 100).startswith("step 20/100  loss_d 1.2500  loss_g 0.5000  d_acc 0.75  d_upd 1.00  recon 3459.9")


def test_a_time_budget_ends_training_with_a_checkpoint(tmp_path):
    trainer = _Scripted(tmp_path, [1.0] * 10, {"sample_occupancy": 0.1, "sample_diversity": 0.5})
    summary = run_steps(trainer, 10, log_every=1, sample_every=0, checkpoint_every=0, max_seconds=0.0)
    assert summary["steps"] == 0 and trainer.saved == [0]  # nothing trained; the model folder is still written
