"""Model folders: one save/load for every model class, and run folders accepted as models."""

import pytest
import torch

from shapespace.errors import CheckpointError
from shapespace.models import GANConfig, ShapeGAN, resolve_model_dir
from shapespace.models.encoder import EncoderConfig
from shapespace.models.pretrained import read_model_meta
from shapespace.models.vaegan import ShapeVAEGAN

GAN = GANConfig(resolution=16, latent_dim=8, generator_channels=(16, 8), discriminator_channels=(8, 16), latent_prior="normal")
ENCODER = EncoderConfig(image_size=16, latent_dim=8, channels=(4, 8), kernels=(3, 3, 4), strides=(2, 2, 1))


def test_both_model_classes_round_trip_exactly(tmp_path):
    torch.manual_seed(0)
    for cls, args in ((ShapeGAN, (GAN,)), (ShapeVAEGAN, (GAN, ENCODER))):
        model = cls(*args)
        folder = model.save_pretrained(tmp_path / cls.__name__)
        assert read_model_meta(folder)["model_type"] == cls.MODEL_TYPE
        loaded = cls.from_pretrained(folder)
        assert all(torch.equal(v, loaded.state_dict()[k]) for k, v in model.state_dict().items())


def test_a_vae_gan_folder_loads_as_a_gan_but_not_the_other_way(tmp_path):
    ShapeVAEGAN(GAN, ENCODER).save_pretrained(tmp_path / "vae")
    ShapeGAN(GAN).save_pretrained(tmp_path / "gan")
    assert ShapeGAN.from_pretrained(tmp_path / "vae").config == GAN
    with pytest.raises(CheckpointError, match="gan: a 3D-GAN without an image encoder"):
        ShapeVAEGAN.from_pretrained(tmp_path / "gan")


def test_run_folders_and_model_folders_resolve(tmp_path):
    ShapeGAN(GAN).save_pretrained(tmp_path / "run" / "model")
    assert resolve_model_dir(tmp_path / "run") == tmp_path / "run" / "model"
    assert resolve_model_dir(tmp_path / "run" / "model") == tmp_path / "run" / "model"
    assert resolve_model_dir(tmp_path) == tmp_path / "run" / "model"  # a demo's output folder holds its run in run/
    with pytest.raises(CheckpointError, match="no such run or model folder"):
        resolve_model_dir(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="neither a run folder"):
        resolve_model_dir(tmp_path / "empty")


def test_a_garbage_model_config_is_named_not_a_traceback(tmp_path, capsys):
    from shapespace.cli.main import main

    folder = ShapeGAN(GAN).save_pretrained(tmp_path / "model")
    (folder / "config.json").write_text("{garbage")
    with pytest.raises(CheckpointError, match=f"^{folder / 'config.json'}: not a readable model config: invalid JSON"):
        read_model_meta(folder)
    assert main(["sample", str(folder), "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err.startswith(f"shapespace: error: {folder / 'config.json'}: not a readable model config: invalid JSON (")
    (folder / "config.json").write_text("[]")
    with pytest.raises(CheckpointError, match="expected a JSON object, found a JSON array"):
        read_model_meta(folder)
