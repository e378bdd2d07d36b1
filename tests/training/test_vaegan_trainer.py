"""The 3D-VAE-GAN trainer: recipe, loss terms and weights, fitting pairs, resume, checkpoints."""

import json

from types import SimpleNamespace

import pytest
import torch

from conftest import box_voxels
from shapespace.data.sources import VoxelSet, mean_occupancy
from shapespace.errors import CheckpointError, ConfigError
from shapespace.models import GANConfig, ShapeGAN
from shapespace.models.encoder import EncoderConfig
from shapespace.models.vaegan import ShapeVAEGAN
from shapespace.rendering.photos import PhotoSettings, PhotoParameters, render_photos, render_with_parameters
from shapespace.training import losses, vaegan_trainer
from shapespace.training.config import GANTrainConfig
from shapespace.training.gan_trainer import GANTrainer
from shapespace.training.rng import Stream, stream_seed
from shapespace.training.vaegan_config import VAE_RECIPES, VAEGANTrainConfig
from shapespace.training.vaegan_trainer import VAEGANTrainer, batch_iou

pytestmark = pytest.mark.usefixtures("single_thread")

# tiny-16 (models/presets.py) with the normal prior a 3D-VAE-GAN needs, and a 16-pixel encoder.
TINY_GAN = GANConfig(resolution=16, latent_dim=16, generator_channels=(32, 16), discriminator_channels=(16, 32), latent_prior="normal")
TINY_ENCODER = EncoderConfig(image_size=16, latent_dim=16, channels=(8, 16), kernels=(5, 5, 4), strides=(2, 2, 1))


def _recipe(**changes) -> VAEGANTrainConfig:
    base = VAE_RECIPES.get("fast").replace(
        steps=4, batch_size=4, precision="fp32", sample_every=0, checkpoint_every=0, log_every=1, instance_noise=0.0, seed=3
    )
    return base.replace(**changes)


def _boxes(n: int = 8) -> VoxelSet:
    voxels = box_voxels(n)
    return VoxelSet(voxels, torch.zeros(n, dtype=torch.long), ("box",), "test:boxes")


def _trainer(run_dir, data=None, recipe=None, **kw) -> VAEGANTrainer:
    return VAEGANTrainer(TINY_GAN, TINY_ENCODER, recipe or _recipe(), data or _boxes(), run_dir, device="cpu", progress=False, **kw)


def _same_state(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# -- recipe -----------------------------------------------------------------------------

def test_paper_recipe_defaults_and_deviations():
    paper = VAEGANTrainConfig()
    assert (paper.kl_weight, paper.recon_weight, paper.recon_loss, paper.lr_encoder) == (5.0, 1e-4, "l2", 1e-4)
    assert paper.deviations() == {}
    assert VAE_RECIPES.get("paper") == paper
    custom = paper.replace(kl_weight=1.0, recon_loss="bce")
    assert custom.deviations() == {"kl_weight": {"value": 1.0, "paper": 5.0}, "recon_loss": {"value": "bce", "paper": "l2"}}
    fast = VAE_RECIPES.get("fast")
    assert set(fast.deviations()) == {
        "batch_size", "lr_generator", "lr_discriminator", "d_accuracy_threshold", "real_label", "joint_d_batch", "instance_noise",
        "precision", "kl_weight", "recon_weight", "recon_loss",
    }  # fmt: skip
    assert fast.deviations()["recon_weight"] == {"value": 1e-2, "paper": 1e-4}
    # The GAN fields keep their meaning and checks.
    assert isinstance(paper, GANTrainConfig) and paper.to_dict()["kl_weight"] == 5.0
    assert VAEGANTrainConfig.from_dict(fast.to_dict()) == fast


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"recon_loss": "l1"}, "recon_loss must be one of l2, bce, got 'l1'"),
        ({"kl_weight": -1.0}, "kl_weight must be 0 or more"),
        ({"recon_weight": float("nan")}, "recon_weight must be 0 or more"),
        ({"lr_encoder": 0.0}, "lr_encoder must be positive"),
        ({"generator_ema": 0.9}, "generator_ema must be 0 for a 3D-VAE-GAN"),
        ({"recon_positive_weight": 1.0}, "recon_positive_weight must be in \\(0, 1\\), got 1.0"),
        ({"recon_positive_weight": 0.0}, "recon_positive_weight must be in \\(0, 1\\)"),
        ({"gan_weight": -0.5}, "gan_weight must be 0 or more, got -0.5"),
        ({"photo_clutter": 1.5}, "photo_clutter must be in \\[0, 1\\], got 1.5"),
        ({"photo_occluders": -0.1}, "photo_occluders must be in \\[0, 1\\]"),
        ({"photo_texture": 1.5}, "photo_texture must be in \\[0, 1\\]"),
        ({"photo_blur": -0.5}, "photo_blur must be in \\[0, 1\\]"),
        ({"batch_size": 0}, "batch_size must be at least 1"),
    ],
)
def test_bad_recipe_values(changes, message):
    with pytest.raises(ConfigError, match=message):
        VAEGANTrainConfig().replace(**changes)


def test_unknown_recipe():
    with pytest.raises(ConfigError, match="unknown 3D-VAE-GAN recipe 'quick'; known 3D-VAE-GAN recipes: paper, fast"):
        VAE_RECIPES.get("quick")


# -- logged values -----------------------------------------------------------------------

def test_batch_iou_and_mean_occupancy():
    from test_losses import _pair

    predicted, target = _pair()
    # shape 0: nothing above 0.5 against 3 voxels (IoU 0); shape 1: exact (IoU 1).
    assert batch_iou(predicted, target) == pytest.approx(0.5)
    assert batch_iou(torch.zeros(1, 1, 2, 2, 2), torch.zeros(1, 1, 2, 2, 2)) == 1.0
    data = _boxes(5)
    expected = data.voxels.double().mean(0).float()
    assert torch.equal(mean_occupancy(data, chunk=2), expected)
    some = torch.tensor([[4], [0], [3]])  # a column, as nonzero() gives it
    assert torch.equal(mean_occupancy(data, some, chunk=2), data.voxels.double()[[4, 0, 3]].mean(0).float())
    with pytest.raises(ValueError, match="no shapes"):
        mean_occupancy(data, torch.tensor([], dtype=torch.long))


def test_the_objective_is_gan_plus_weighted_kl_and_reconstruction(tmp_path, monkeypatch):
    recipe = _recipe(kl_weight=0.5, recon_weight=0.01, recon_loss="bce")
    trainer = _trainer(tmp_path / "run", recipe=recipe)
    shapes = trainer.data.voxels[trainer.order.batch(0)]
    with torch.no_grad():
        expected_kl = trainer.model.encoder(trainer.render(shapes, 0)[0]).kl(TINY_GAN.latent_std).mean().item()
    objectives, recon_calls = [], []
    scale = trainer.scalers["generator"].scale
    monkeypatch.setattr(trainer.scalers["generator"], "scale", lambda loss: objectives.append(loss.item()) or scale(loss))
    real_loss = losses.reconstruction_loss

    def spy(kind, predicted, target, positive_weight=0.5):
        value = real_loss(kind, predicted, target, positive_weight)
        recon_calls.append((kind, target.clone(), value.item(), positive_weight))
        return value

    monkeypatch.setattr(losses, "reconstruction_loss", spy)
    result = _read(trainer.train_step())
    assert len(objectives) == 1 and len(recon_calls) == 1
    kind, target, recon, positive_weight = recon_calls[0]
    assert kind == "bce" and positive_weight == 0.5 and torch.equal(target, shapes.float()[:, None])
    assert result.recon == pytest.approx(recon)
    assert result.kl == pytest.approx(expected_kl, rel=1e-5)
    assert objectives[0] == pytest.approx(result.loss_g + 0.5 * result.kl + 0.01 * result.recon, rel=1e-6)
    assert set(result.log_values()) == {"loss_d", "loss_g", "d_accuracy", "d_update_rate", "kl", "recon", "recon_iou", "class_loss"}
    assert result.class_loss == 0.0  # no class head


def _read(result: vaegan_trainer.VAEStepResult) -> SimpleNamespace:
    """A step's reported values as floats (a step leaves them on the device)."""
    return SimpleNamespace(**result.log_values(), d_updated=result.d_updated, log_values=result.log_values)


def _objective_of_one_step(trainer, monkeypatch) -> tuple[float, SimpleNamespace]:
    objectives = []
    scale = trainer.scalers["generator"].scale
    monkeypatch.setattr(trainer.scalers["generator"], "scale", lambda loss: objectives.append(loss.item()) or scale(loss))
    result = _read(trainer.train_step())
    assert len(objectives) == 1
    return objectives[0], result


def test_gan_weight_scales_the_adversarial_term(tmp_path, monkeypatch):
    trainer = _trainer(tmp_path / "run", recipe=_recipe(kl_weight=0.5, recon_weight=0.01, gan_weight=0.25, recon_positive_weight=0.9))
    objective, result = _objective_of_one_step(trainer, monkeypatch)
    assert result.loss_g > 0.1 and result.d_updated
    assert objective == pytest.approx(0.25 * result.loss_g + 0.5 * result.kl + 0.01 * result.recon, rel=1e-6)


def test_without_the_gan_term_e_and_g_train_as_a_vae_and_d_is_left_alone(tmp_path, monkeypatch):
    trainer = _trainer(tmp_path / "run", recipe=_recipe(kl_weight=0.5, recon_weight=0.01, gan_weight=0.0))
    discriminator = {k: v.clone() for k, v in trainer.model.discriminator.state_dict().items()}
    encoder = {k: v.clone() for k, v in trainer.model.encoder.named_parameters()}
    generator = {k: v.clone() for k, v in trainer.model.generator.named_parameters()}
    objective, result = _objective_of_one_step(trainer, monkeypatch)
    assert objective == pytest.approx(0.5 * result.kl + 0.01 * result.recon, rel=1e-6)
    assert result.recon > 100 and result.kl > 0
    assert (result.loss_d, result.loss_g, result.d_accuracy, result.d_updated) == (0.0, 0.0, 0.0, False)
    assert _same_state(discriminator, trainer.model.discriminator.state_dict())
    assert trainer.optimizers["discriminator"].state_dict()["state"] == {}
    assert all(not torch.equal(encoder[k], v) for k, v in trainer.model.encoder.named_parameters())
    assert all(not torch.equal(generator[k], v) for k, v in trainer.model.generator.named_parameters())
    assert trainer.step == 1


def _encoder_gradient_norm(run_dir, **weights) -> float:
    trainer = _trainer(run_dir, recipe=_recipe(**weights))
    trainer.train_step()
    return float(torch.cat([p.grad.flatten() for p in trainer.model.encoder.parameters()]).norm())


def test_the_encoder_is_driven_by_the_kl_and_reconstruction_terms(tmp_path):
    none = _encoder_gradient_norm(tmp_path / "a", kl_weight=0.0, recon_weight=0.0)
    recon = _encoder_gradient_norm(tmp_path / "b", kl_weight=0.0, recon_weight=1e-2)
    paper = _encoder_gradient_norm(tmp_path / "c", kl_weight=5.0, recon_weight=1e-4)
    # Without either term, the only path from the loss to E is G's BatchNorm statistics
    # (documented in VAEGANTrainer.train_step). At this seed: none 0.10, recon 1.31, paper 35.5; with the
    # fast recipe's kl_weight 1e-2 alone E's gradient (0.12) is no larger than that path's.
    assert recon > 10 * none and paper > 100 * none


def test_with_a_reconstruction_term_encoder_and_generator_are_updated(tmp_path):
    trainer = _trainer(tmp_path / "run", recipe=_recipe(kl_weight=0.0, recon_weight=1e-2))
    encoder = {k: v.clone() for k, v in trainer.model.encoder.named_parameters()}
    generator = {k: v.clone() for k, v in trainer.model.generator.named_parameters()}
    trainer.train_step()
    assert all(not torch.equal(encoder[k], v) for k, v in trainer.model.encoder.named_parameters())
    assert any(not torch.equal(generator[k], v) for k, v in trainer.model.generator.named_parameters())


def test_a_warm_up_explains_collapse_warnings_about_its_prior_samples(tmp_path):
    warm, joint = _trainer(tmp_path / "warm", recipe=_recipe(gan_weight=0.0)), _trainer(tmp_path / "joint")
    assert "--gan-weight 0" in warm.guard_note and joint.guard_note == ""
    assert (warm.adversarial, joint.adversarial) == (False, True)  # what its log lines show


def test_training_photos_take_clutter_occluders_texture_and_blur_from_the_recipe(tmp_path):
    plain = _trainer(tmp_path / "a")
    busy = _trainer(tmp_path / "b", recipe=_recipe(photo_clutter=1.0, photo_occluders=1.0, photo_texture=1.0, photo_blur=1.0))
    shapes = plain.data.voxels[:4]
    expected = render_photos(shapes, TINY_ENCODER.image_size, torch.Generator().manual_seed(
        stream_seed(3, Stream.RENDER, 5)),
        PhotoSettings(clutter=1.0, occluders=1.0, texture=1.0, blur=1.0))
    assert torch.equal(busy.render(shapes, 5)[0], expected)
    assert torch.equal(plain.render(shapes, 5)[0], render_photos(shapes, TINY_ENCODER.image_size, torch.Generator().manual_seed(
        stream_seed(3, Stream.RENDER, 5))))
    assert not torch.equal(busy.render(shapes, 5)[0], plain.render(shapes, 5)[0])
    # The clutter and the rest change the pictures, not their crop windows.
    assert torch.equal(busy.render(shapes, 5)[1], plain.render(shapes, 5)[1])


# -- learning ---------------------------------------------------------------------------

class FixedViewTrainer(VAEGANTrainer):
    """Renders every shape from one plain view (PhotoParameters.fixed) instead of random photos.

    With the random views, backgrounds and lights of the real trainer, a 16-pixel encoder
    needs far more steps than a test has to become view-invariant (on these four boxes it is
    still near IoU 0.4 after 400 steps); one view isolates what this test checks: that E and
    G learn to map each image to its own shape.
    """

    def render(self, shapes, step, stream=0):
        size = self.encoder_config.image_size
        images = render_with_parameters(shapes.to(self.device), PhotoParameters.fixed(len(shapes), size), size)[0]
        return images, torch.ones(len(shapes), device=self.device)


def _four_boxes() -> VoxelSet:
    r = 16
    voxels = torch.zeros(4, r, r, r, dtype=torch.uint8)
    voxels[0, 4:12, 4:12, 1:5] = 1  # a low slab
    voxels[1, 6:10, 6:10, 1:15] = 1  # a tall column
    voxels[2, 2:14, 5:11, 1:9] = 1  # a long box
    voxels[3, 3:7, 3:13, 1:12] = 1  # an off-centre wall
    return VoxelSet(voxels, torch.zeros(4, dtype=torch.long), ("box",), "test:four-boxes")


def _reconstruction_iou(trainer: VAEGANTrainer) -> float:
    model = trainer.model.eval()
    shapes = trainer.data.voxels[torch.arange(len(trainer.data))]
    return batch_iou(model.reconstruct(trainer.render(shapes, 0)[0]), shapes.float()[:, None])


@pytest.mark.parametrize("gan_weight", [1.0, 0.0], ids=["vae-gan", "vae-warm-up"])
def test_a_tiny_vae_gan_fits_four_pairs(tmp_path, gan_weight):
    # The fast recipe's weights (KL and BCE reconstruction at 1e-2 each) with learning rates
    # for training from scratch: 160 steps of batch 4, each box in every batch; with the GAN
    # term, and without it (the VAE warm-up).
    recipe = _recipe(steps=160, lr_encoder=3e-3, lr_generator=3e-3, log_every=20, recon_loss="bce", gan_weight=gan_weight)
    trainer = FixedViewTrainer(TINY_GAN, TINY_ENCODER, recipe, _four_boxes(), tmp_path / "run", device="cpu", progress=False)
    before = _reconstruction_iou(trainer)
    trainer.train()
    after = _reconstruction_iou(trainer)
    assert before < 0.2
    assert after > 0.9
    lines = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [x["step"] for x in lines] == [20, 40, 60, 80, 100, 120, 140, 160]
    # In training too (sampled latents, batch statistics): the mean IoU of the last 20 steps.
    assert lines[0]["recon_iou"] < 0.2 and lines[-1]["recon_iou"] > 0.8
    assert lines[-1]["recon"] < lines[0]["recon"] / 4


# -- run folder, resume, init ------------------------------------------------------------

def test_run_folder_checkpoint_and_mean_shape(tmp_path):
    data = _boxes(6)
    trainer = _trainer(tmp_path / "run", data=data, recipe=_recipe(steps=2, sample_every=2))
    trainer.train()
    run = tmp_path / "run"
    config = json.loads((run / "config.json").read_text())
    assert config["kind"] == "3d-vae-gan-run"
    assert config["encoder"] == TINY_ENCODER.to_dict() and config["init_from"] is None
    assert config["deviations_from_paper"]["kl_weight"] == {"value": 1e-2, "paper": 5.0}
    assert {p.name for p in (run / "samples").iterdir()} == {"step_0000002.png", "latest.png", "recon_0000002.png", "recon_latest.png"}
    assert [json.loads(x)["step"] for x in (run / "metrics.jsonl").read_text().splitlines()] == [1, 2]

    expected_mean = data.voxels.double().mean(0).float()
    assert torch.equal(trainer.model.mean_shape, expected_mean)
    loaded = ShapeVAEGAN.from_pretrained(run / "model")
    assert loaded.encoder_config == TINY_ENCODER and loaded.config == TINY_GAN
    assert _same_state(loaded.state_dict(), trainer.model.state_dict())
    assert torch.equal(loaded.mean_shape, expected_mean)
    gan = ShapeGAN.from_pretrained(run / "model")
    assert type(gan) is ShapeGAN and gan.config == TINY_GAN
    assert _same_state(gan.generator.state_dict(), trainer.model.generator.state_dict())
    assert _same_state(gan.discriminator.state_dict(), trainer.model.discriminator.state_dict())


def test_resume_is_exact(tmp_path):
    recipe = _recipe(steps=4, d_accuracy_threshold=0.9, instance_noise=0.2, instance_noise_steps=4, augment=("flip",))
    straight = _trainer(tmp_path / "straight", recipe=recipe)
    straight.train()
    first = _trainer(tmp_path / "split", recipe=recipe.replace(steps=2))
    first.train()
    second = _trainer(tmp_path / "split", recipe=recipe, resume=True)
    assert second.step == 2
    second.train()
    assert _same_state(straight.model.state_dict(), second.model.state_dict())
    sa, sb = straight.optimizers["encoder"].state_dict()["state"], second.optimizers["encoder"].state_dict()["state"]
    assert sa.keys() == sb.keys() and all(torch.equal(sa[i]["exp_avg_sq"], sb[i]["exp_avg_sq"]) for i in sa)
    steps = [json.loads(x)["step"] for x in (tmp_path / "split" / "metrics.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4]


def test_resume_refuses_another_encoder(tmp_path):
    _trainer(tmp_path / "run", recipe=_recipe(steps=1)).train()
    other = EncoderConfig(image_size=16, latent_dim=16, channels=(4, 8), kernels=(5, 5, 4), strides=(2, 2, 1))
    with pytest.raises(CheckpointError, match="the encoder config differs"):
        VAEGANTrainer(TINY_GAN, other, _recipe(steps=1), _boxes(), tmp_path / "run", device="cpu", resume=True, progress=False)
    with pytest.raises(CheckpointError, match="kl_weight"):
        _trainer(tmp_path / "run", recipe=_recipe(steps=1, kl_weight=1.0), resume=True)


def test_init_from_a_gan_run_copies_g_and_d(tmp_path):
    gan_recipe = GANTrainConfig(steps=2, batch_size=4, sample_every=0, checkpoint_every=0, seed=9)
    gan_run = GANTrainer(TINY_GAN, gan_recipe, _boxes(), tmp_path / "gan", device="cpu", progress=False)
    gan_run.train()
    trainer = _trainer(tmp_path / "vae", init_from=tmp_path / "gan")
    assert _same_state(trainer.model.generator.state_dict(), gan_run.model.generator.state_dict())
    assert _same_state(trainer.model.discriminator.state_dict(), gan_run.model.discriminator.state_dict())
    assert trainer.resolved_config()["init_from"] == str(tmp_path / "gan")
    assert trainer.initialised == ("generator", "discriminator")  # a GAN has no encoder to replace
    # A model folder works as well; an architecture that differs is refused by name.
    from_model = _trainer(tmp_path / "vae2", init_from=tmp_path / "gan" / "model")
    assert _same_state(from_model.model.generator.state_dict(), gan_run.model.generator.state_dict())
    ShapeGAN(TINY_GAN.replace(latent_dim=8)).save_pretrained(tmp_path / "other")
    with pytest.raises(CheckpointError, match="init_from .*other: its architecture differs"):
        _trainer(tmp_path / "vae3", init_from=tmp_path / "other")


def test_init_from_a_vae_gan_run_also_copies_the_encoder_when_it_is_the_same(tmp_path):
    warm_up = _trainer(tmp_path / "warm", recipe=_recipe(steps=2, gan_weight=0.0))
    warm_up.train()
    trainer = _trainer(tmp_path / "joint", init_from=tmp_path / "warm")
    for part in ("encoder", "generator", "discriminator"):
        assert _same_state(getattr(trainer.model, part).state_dict(), getattr(warm_up.model, part).state_dict()), part
    # A fresh encoder would differ: the copy is what makes them equal.
    assert not _same_state(ShapeVAEGAN(TINY_GAN, TINY_ENCODER).encoder.state_dict(), warm_up.model.encoder.state_dict())
    assert trainer.initialised == ("generator", "discriminator", "encoder")
    # Another encoder (e.g. a backbone's) starts fresh under the copied G and D.
    other = EncoderConfig(image_size=16, latent_dim=16, channels=(4, 8), kernels=(5, 5, 4), strides=(2, 2, 1))
    trainer = VAEGANTrainer(TINY_GAN, other, _recipe(), _boxes(), tmp_path / "joint2", init_from=tmp_path / "warm", device="cpu", progress=False)
    torch.manual_seed(trainer.train_config.seed)  # as the trainer seeds its initial weights
    fresh = ShapeVAEGAN(TINY_GAN, other).encoder.state_dict()
    assert trainer.initialised == ("generator", "discriminator", "encoder replaced")
    assert trainer.resolved_config()["initialised"] == ["generator", "discriminator", "encoder replaced"]
    for part in ("generator", "discriminator"):
        assert _same_state(getattr(trainer.model, part).state_dict(), getattr(warm_up.model, part).state_dict()), part
    assert _same_state(trainer.model.encoder.state_dict(), fresh)
    # A different G/D architecture is still refused.
    with pytest.raises(CheckpointError, match="init_from .*warm: its architecture differs"):
        VAEGANTrainer(TINY_GAN.replace(latent_std=0.5), TINY_ENCODER, _recipe(), _boxes(), tmp_path / "joint3", init_from=tmp_path / "warm", device="cpu", progress=False)


def test_the_recipe_loss_and_penalties_apply_to_the_vae_gan_too(tmp_path, monkeypatch):
    calls = []
    real_r1 = losses.r1_penalty
    monkeypatch.setattr(losses, "r1_penalty", lambda d, x: calls.append(x.shape) or real_r1(d, x))
    recipe = _recipe(loss="hinge", real_label=1.0, r1_gamma=1.0, r1_every=2)
    layer = TINY_GAN.replace(discriminator_norm="layer")
    trainer = VAEGANTrainer(layer, TINY_ENCODER, recipe, _boxes(), tmp_path / "run", device="cpu", progress=False)
    for _ in range(3):
        result = trainer.train_step()
    assert calls == [(4, 1, 16, 16, 16)] * 2  # steps 0 and 2
    assert result.loss_d >= 0.0  # hinge plus a penalty
    with pytest.raises(ConfigError, match="r1_gamma and gp_weight penalise D's gradient per shape"):
        _trainer(tmp_path / "bn", recipe=recipe)
