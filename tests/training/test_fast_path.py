"""The fast defaults (bf16 autocast, channels-last 3D tensors, fused Adam, no second D pass on
real shapes in G's step) change results by rounding only."""

import pytest
import torch

from shapespace.errors import ConfigError
from shapespace.models import ShapeGAN
from shapespace.pipelines.sampling import generate_from_latents
from shapespace.training.config import GANTrainConfig
from shapespace.training.gan_trainer import GANTrainer
from shapespace.training.runtime import fused_adam_available, make_adam, resolve_memory_format, to_memory_format

# bf16 keeps 8 significant bits (relative rounding 2^-9 = 0.2% per value); a few steps of
# training keep the losses within 1% of the fp32 ones (measured: at most 0.2%).
LOSS_TOLERANCE = 0.01
PLAIN = {"precision": "fp32", "memory_format": "contiguous", "fused_optimizer": False}
FAST = {"precision": "bf16", "memory_format": "channels_last", "fused_optimizer": True}
FUSED = fused_adam_available(torch.device("cpu"))  # torch >= 2.4


def _recipe(**changes):
    base = GANTrainConfig(steps=3, batch_size=8, sample_every=0, checkpoint_every=0, log_every=1, seed=3)
    return base.replace(**changes)


@pytest.mark.parametrize("recipe", [{}, {"joint_d_batch": True, "d_accuracy_threshold": 1.0, "lr_discriminator": 1e-4}], ids=["paper", "joint"])
def test_fast_path_losses_match_fp32(tiny_config, box_set, tmp_path, recipe):
    plain = GANTrainer(tiny_config, _recipe(**recipe, **PLAIN), box_set, tmp_path / "plain", device="cpu", progress=False)
    fast = GANTrainer(tiny_config, _recipe(**recipe, **FAST), box_set, tmp_path / "fast", device="cpu", progress=False)
    assert fast.model.discriminator.blocks[1][0].weight.is_contiguous(memory_format=torch.channels_last_3d)
    assert bool(fast.optimizers["generator"].param_groups[0]["fused"]) == FUSED and not plain.optimizers["generator"].param_groups[0]["fused"]
    for _ in range(3):  # the same batches and latents: a pure function of (seed, step)
        a, b = plain.train_step(), fast.train_step()
        assert abs(a.loss_d - b.loss_d) <= LOSS_TOLERANCE * max(1.0, a.loss_d), (a, b)
        assert abs(a.loss_g - b.loss_g) <= LOSS_TOLERANCE * max(1.0, a.loss_g), (a, b)
        assert abs(a.d_accuracy - b.d_accuracy) <= 1 / 16  # at most one of 16 decisions flipped by rounding
        assert a.d_updated == b.d_updated
    assert all(p.dtype == torch.float32 for p in fast.model.parameters())


def test_generator_step_scores_real_shapes_only_when_they_share_the_batch(tiny_config, box_set, tmp_path):
    # Separate batches: D sees real and generated shapes in D's step, generated ones in G's.
    for joint, expected in ((False, [8, 8, 8]), (True, [16, 16])):
        trainer = GANTrainer(tiny_config, _recipe(joint_d_batch=joint, d_accuracy_threshold=1.0), box_set, tmp_path / str(joint), device="cpu", progress=False)
        batches: list[int] = []
        trainer.model.discriminator.register_forward_hook(lambda module, args, out: batches.append(len(args[0])))
        trainer.train_step()
        assert batches == expected


@pytest.mark.skipif(not FUSED, reason="fused Adam on the CPU needs torch 2.4 or newer")
def test_fused_adam_matches_plain_adam_and_resumes_exactly():
    torch.manual_seed(0)
    shapes = [(8, 4, 4, 4, 4), (8,)]
    start = [torch.randn(s) for s in shapes]
    grads = [[torch.randn(s) for s in shapes] for _ in range(6)]

    def params():
        return to_memory_format(torch.nn.ParameterList(torch.nn.Parameter(t.clone()) for t in start), "channels_last")

    def run(optimizer, ps, steps):
        for step in steps:
            for p, g in zip(ps, grads[step]):
                p.grad = g.clone().contiguous(memory_format=torch.channels_last_3d) if g.dim() == 5 else g.clone()
            optimizer.step()

    cpu = torch.device("cpu")
    plain_params, fused_params = params(), params()
    plain = torch.optim.Adam(plain_params.parameters(), lr=1e-3, betas=(0.5, 0.999))
    fused = make_adam(fused_params.parameters(), 1e-3, (0.5, 0.999), cpu)
    assert fused.param_groups[0]["fused"]
    run(plain, plain_params, range(6))
    run(fused, fused_params, range(3))
    # A saved state is a contiguous copy; loading it must lay the moments out like the
    # parameters, or the fused kernel would pair channels-last weights with the wrong moments.
    saved = fused.state_dict()
    copied = {i: {k: v.clone(memory_format=torch.contiguous_format) for k, v in s.items()} for i, s in saved["state"].items()}
    saved = {"state": copied, "param_groups": saved["param_groups"]}
    resumed_params = to_memory_format(torch.nn.ParameterList(torch.nn.Parameter(p.detach().clone()) for p in fused_params), "channels_last")
    resumed = make_adam(resumed_params.parameters(), 1e-3, (0.5, 0.999), cpu)
    resumed.load_state_dict(saved)
    run(fused, fused_params, range(3, 6))
    run(resumed, resumed_params, range(3, 6))
    for p, q, r in zip(plain_params, fused_params, resumed_params):
        assert torch.allclose(p, q, rtol=0, atol=1e-6)  # lr 1e-3: a few float32 roundings
        assert torch.equal(q, r)


def test_channels_last_keeps_values_and_saved_weights(tiny_config):
    torch.manual_seed(0)
    model = ShapeGAN(tiny_config).eval()
    z = torch.rand(4, tiny_config.latent_dim)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        expected = model.generator(z)
        to_memory_format(model, "channels_last")
        got = model.generator(z)
    assert model.generator.blocks[0][0].weight.is_contiguous(memory_format=torch.channels_last_3d)
    assert model.generator.blocks[0][1].weight.is_contiguous()  # BatchNorm vectors untouched
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert torch.allclose(got, expected, atol=1e-6)
    assert resolve_memory_format("auto", torch.device("cpu")) == "channels_last"
    assert resolve_memory_format("auto", torch.device("cuda")) == "contiguous"


def test_sampler_bf16_matches_fp32(tiny_config):
    torch.manual_seed(0)
    model = ShapeGAN(tiny_config).eval()
    z = torch.rand(6, tiny_config.latent_dim, generator=torch.Generator().manual_seed(1))
    plain = generate_from_latents(model, z, precision="fp32")
    fast = generate_from_latents(model, z, precision="bf16")
    assert plain.dtype == fast.dtype == torch.float32 and plain.shape == (6, 16, 16, 16)
    with torch.no_grad():
        assert torch.equal(plain, model.generator(z)[:, 0])  # fp32 is the plain forward pass
    assert 0 < float((plain - fast).abs().max()) <= 0.01


def test_new_fields_default_for_old_configs_and_are_not_deviations(tiny_config, box_set, tmp_path):
    old = {k: v for k, v in GANTrainConfig().to_dict().items() if k not in ("memory_format", "fused_optimizer", "compile")}
    config = GANTrainConfig.from_dict(old)
    assert (config.memory_format, config.fused_optimizer, config.compile) == ("auto", True, False)
    assert config.deviations() == {}
    with pytest.raises(ConfigError, match="memory_format"):
        config.replace(memory_format="nhwc")
    trainer = GANTrainer(tiny_config, _recipe(), box_set, tmp_path / "run", device="cpu", progress=False)
    assert trainer.resolved_config()["resolved"] == {"device": "cpu", "precision": "fp32", "memory_format": "channels_last", "fused_optimizer": FUSED}


def test_compile_without_a_compiler_is_refused(tiny_config, box_set, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("CXX", raising=False)
    with pytest.raises(ConfigError, match="C\\+\\+ compiler"):
        GANTrainer(tiny_config, _recipe(compile=True), box_set, tmp_path / "run", device="cpu", progress=False)
