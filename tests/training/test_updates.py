"""Optimisers made in one place, the adaptive D update and frozen modules."""

import torch

from shapespace.training.updates import adaptive_discriminator_update, frozen, make_optimizers, make_scaler


def _setup():
    torch.manual_seed(0)
    net = torch.nn.Linear(2, 1)
    optimizers = make_optimizers({"discriminator": net}, {"discriminator": 0.1}, (0.5, 0.999), torch.device("cpu"), fused=False)
    return net, optimizers["discriminator"], make_scaler(torch.device("cpu"), "fp32")


def test_optimisers_are_named_adam_with_their_learning_rates():
    a, b = torch.nn.Linear(2, 1), torch.nn.Linear(1, 1)
    optimizers = make_optimizers({"generator": a, "discriminator": b}, {"generator": 0.01, "discriminator": 0.02}, (0.5, 0.9), torch.device("cpu"), True)
    assert list(optimizers) == ["generator", "discriminator"]
    assert [o.param_groups[0]["lr"] for o in optimizers.values()] == [0.01, 0.02]
    assert optimizers["generator"].param_groups[0]["betas"] == (0.5, 0.9)
    assert not make_scaler(torch.device("cpu"), "bf16").is_enabled()


def test_d_is_updated_only_at_or_below_the_accuracy_threshold():
    net, optimizer, scaler = _setup()
    before = net.weight.detach().clone()
    loss = net(torch.ones(1, 2)).sum()
    # 7 of 8 calls right: 87.5% is above 80%, so D is skipped.
    assert not adaptive_discriminator_update(loss, torch.tensor(7), 4, 0.8, optimizer, scaler)
    assert torch.equal(net.weight, before)
    # 6 of 8: 75%, so D steps.
    assert adaptive_discriminator_update(net(torch.ones(1, 2)).sum(), torch.tensor(6), 4, 0.8, optimizer, scaler)
    assert not torch.equal(net.weight, before)
    # A threshold of 1 always updates, without reading the count.
    assert adaptive_discriminator_update(net(torch.ones(1, 2)).sum(), torch.tensor(8), 4, 1.0, optimizer, scaler)


def test_frozen_turns_weight_gradients_off_inside_only():
    net = torch.nn.Linear(2, 1)
    with frozen(net):
        assert not any(p.requires_grad for p in net.parameters())
    assert all(p.requires_grad for p in net.parameters())
    try:
        with frozen(net):
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert all(p.requires_grad for p in net.parameters())
