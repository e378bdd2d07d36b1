"""The losses: exact values on hand-made logits and grids."""

import math

import pytest
import torch

from shapespace.training.losses import (
    discriminator_bce,
    discriminator_correct,
    discriminator_loss,
    generator_loss,
    generator_nonsaturating,
    gradient_penalty,
    instance_noise,
    r1_penalty,
    reconstruction_loss,
)


def test_discriminator_bce_is_the_papers_loss_with_optional_label_smoothing():
    logit_real, logit_fake = torch.tensor([0.0, math.log(3.0)]), torch.tensor([0.0, -math.log(3.0)])
    # -log sigmoid(0) = log 2; -log sigmoid(log 3) = log(4/3); -log(1 - sigmoid(-log 3)) = log(4/3).
    expected = (math.log(2) + math.log(4 / 3)) / 2 * 2
    assert discriminator_bce(logit_real, logit_fake).item() == pytest.approx(expected, rel=1e-6)
    # Label 0.9 on real logit 0: still log 2 (sigmoid(0) = 0.5 either way); on log 3: 0.9 * log(4/3) + 0.1 * log 4.
    smoothed = (math.log(2) + 0.9 * math.log(4 / 3) + 0.1 * math.log(4)) / 2 + (math.log(2) + math.log(4 / 3)) / 2
    assert discriminator_bce(logit_real, logit_fake, real_label=0.9).item() == pytest.approx(smoothed, rel=1e-6)


def test_generator_loss_is_minus_log_d_of_the_generated_shapes():
    assert generator_nonsaturating(torch.tensor([0.0, math.log(3.0)])).item() == pytest.approx(
        (math.log(2) + math.log(4 / 3)) / 2, rel=1e-6
    )


def test_discriminator_correct_counts_real_above_and_generated_below_zero():
    correct = discriminator_correct(torch.tensor([1.0, -1.0, 2.0]), torch.tensor([-1.0, 0.5, -3.0]))
    assert correct.item() == 4


def test_instance_noise_fades_linearly_and_is_a_function_of_seed_and_step():
    shape = (64, 1, 4, 4, 4)
    real, fake = instance_noise(0.4, 4, 0, shape, seed=0, device=torch.device("cpu"))
    assert real.shape == fake.shape == shape and not torch.equal(real, fake)
    half, _ = instance_noise(0.4, 4, 2, shape, seed=0, device=torch.device("cpu"))
    # 4,096 draws each: the sample standard deviations are within 2% of 0.4 and 0.2.
    assert abs(real.std().item() - 0.4) < 0.008 and abs(half.std().item() - 0.2) < 0.004
    assert torch.equal(half, instance_noise(0.4, 4, 2, shape, seed=0, device=torch.device("cpu"))[0])
    assert instance_noise(0.4, 4, 4, shape, 0, torch.device("cpu")) == (0.0, 0.0)
    assert instance_noise(0.0, 4, 0, shape, 0, torch.device("cpu")) == (0.0, 0.0)
    other, _ = instance_noise(0.4, 4, 0, shape, seed=1, device=torch.device("cpu"))
    assert not torch.equal(other, real)


def _pair() -> tuple[torch.Tensor, torch.Tensor]:
    """Two 2^3 grids: one predicted 0.5 everywhere; one 0.9 on its 4 occupied voxels and 0.1 elsewhere."""
    target = torch.zeros(2, 1, 2, 2, 2)
    target[0, 0, 0, 0, :] = 1  # 2 voxels
    target[0, 0, 1, 1, 1] = 1  # 3 in all
    target[1, 0, :, :, 0] = 1  # 4 voxels
    predicted = torch.full((2, 1, 2, 2, 2), 0.5)
    predicted[1] = torch.where(target[1] > 0, 0.9, 0.1)
    return predicted, target


def test_l2_reconstruction_loss_sums_over_voxels_and_averages_over_shapes():
    predicted, target = _pair()
    # shape 0: 8 voxels * 0.25; shape 1: 8 voxels * 0.01; mean of the two.
    assert reconstruction_loss("l2", predicted, target).item() == pytest.approx((8 * 0.25 + 8 * 0.01) / 2, rel=1e-6)
    assert reconstruction_loss("l2", target, target).item() == 0.0


def test_bce_reconstruction_loss_sums_over_voxels_and_averages_over_shapes():
    predicted, target = _pair()
    expected = (8 * torch.log(torch.tensor(2.0)) - 8 * torch.log(torch.tensor(0.9))) / 2
    assert reconstruction_loss("bce", predicted, target).item() == pytest.approx(expected.item(), rel=1e-6)
    # Certain and wrong everywhere: probabilities clamped to [1e-6, 1 - 1e-6], so about
    # -log(1e-6) = 13.8 per voxel instead of infinity (float32 rounding of 1 - 1e-6: 0.1%).
    wrong = reconstruction_loss("bce", 1.0 - target, target)
    assert wrong.item() == pytest.approx(8 * 13.8155, rel=2e-3)


def test_positive_weight_shares_the_loss_between_occupied_and_empty_voxels():
    predicted, target = _pair()
    # gamma 0.75: occupied voxels weigh 1.5, empty ones 0.5.
    # l2, shape 0: 0.25 * (3 * 1.5 + 5 * 0.5) = 1.75; shape 1: 0.01 * (4 * 1.5 + 4 * 0.5) = 0.08.
    assert reconstruction_loss("l2", predicted, target, 0.75).item() == pytest.approx((1.75 + 0.08) / 2, rel=1e-6)
    # bce, shape 0: log 2 * (3 * 1.5 + 5 * 0.5); shape 1: -log 0.9 * (4 * 1.5 + 4 * 0.5).
    log2, log09 = torch.log(torch.tensor(2.0)).item(), torch.log(torch.tensor(0.9)).item()
    assert reconstruction_loss("bce", predicted, target, 0.75).item() == pytest.approx((7 * log2 - 8 * log09) / 2, rel=1e-6)
    # 0.5 is the unweighted loss.
    assert reconstruction_loss("bce", predicted, target, 0.5).item() == reconstruction_loss("bce", predicted, target).item()


def test_hinge_and_wasserstein_losses_of_known_logits():
    real, fake = torch.tensor([2.0, 0.5]), torch.tensor([-2.0, 0.0])
    # hinge: relu(1 - real) = (0, 0.5) -> 0.25; relu(1 + fake) = (0, 1) -> 0.5.
    assert discriminator_loss("hinge", real, fake).item() == pytest.approx(0.75)
    assert discriminator_loss("wgan", real, fake).item() == pytest.approx(-1.0 - 1.25)
    assert generator_loss("hinge", fake).item() == pytest.approx(1.0) == generator_loss("wgan", fake).item()
    assert discriminator_loss("bce", real, fake).item() == pytest.approx(discriminator_bce(real, fake).item())
    assert generator_loss("bce", fake).item() == pytest.approx(generator_nonsaturating(fake).item())


def test_r1_is_the_mean_squared_input_gradient_and_reaches_the_weights():
    # D(x) = sum(w * x): its input gradient is w for every sample, so R1 = ||w||^2.
    weight = torch.tensor([[1.0, 2.0], [0.0, -1.0]], requires_grad=True)

    def discriminator(x):
        return (x * weight).flatten(1).sum(1)

    penalty = r1_penalty(discriminator, torch.ones(3, 2, 2))
    assert penalty.item() == pytest.approx(6.0)
    penalty.backward()
    torch.testing.assert_close(weight.grad, 2 * weight.detach())  # d||w||^2/dw


def test_gradient_penalty_is_zero_for_a_unit_gradient_critic():
    def critic(x):  # gradient (1, 0, 0, ...) everywhere: norm 1
        return x.flatten(1)[:, 0]

    real, fake = torch.rand(4, 1, 2, 2, 2), torch.rand(4, 1, 2, 2, 2)
    assert gradient_penalty(critic, real, fake, torch.Generator().manual_seed(0)).item() == 0.0

    def steep(x):  # gradient norm 3
        return 3 * x.flatten(1)[:, 0]

    assert gradient_penalty(steep, real, fake, torch.Generator().manual_seed(0)).item() == pytest.approx(4.0)
