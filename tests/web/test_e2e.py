"""The web demo in a real headless browser: ``shapespace serve`` as a subprocess with a tiny
3D-VAE-GAN made here, driven by Playwright through Debian's ``chromium``.

Skipped, with the reason, when Playwright or chromium is missing (``make test`` installs
chromium with apt-get where it can). Every request the page makes to anywhere but the
server is refused and recorded: the demo must work offline.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pytest
import torch
from PIL import Image

from shapespace.models import get_preset
from shapespace.models.encoder import EncoderConfig
from shapespace.models.vaegan import ShapeVAEGAN

pytestmark = pytest.mark.e2e

# Headless chromium has no GPU: WebGL (the 3D view) runs on SwiftShader, which recent
# chromium versions enable only when asked.
BROWSER_ARGS = ["--enable-unsafe-swiftshader", "--use-angle=swiftshader"]
STARTUP_SECONDS = 90
WAIT_MS = 30_000


def _chromium() -> str:
    if importlib.util.find_spec("gradio") is None:
        pytest.skip("Gradio is not installed (pip install -e '.[web]')")
    if importlib.util.find_spec("playwright") is None:
        pytest.skip("Playwright for Python is not installed (pip install -e '.[dev]')")
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("no chromium on PATH (Debian: apt-get install chromium; `make test` does this as root)")
    return path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``shapespace serve`` of a tiny 3D-VAE-GAN; yields its URL and the folder of test files."""
    chromium = _chromium()
    root = tmp_path_factory.mktemp("e2e")
    torch.manual_seed(0)
    gan = get_preset("tiny-16").replace(latent_prior="normal")
    encoder = EncoderConfig(image_size=16, latent_dim=16, channels=(8, 16), kernels=(5, 5, 4), strides=(2, 2, 1))
    ShapeVAEGAN(gan, encoder).save_pretrained(root / "model")
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (48, 40, 3), dtype=np.uint8)).save(root / "chair.png")
    (root / "notes.jpg").write_text("not a photo\n")
    port = _free_port()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # a tiny model: one thread is fastest on a busy machine
    command = [sys.executable, "-m", "shapespace", "serve", str(root / "model"), "--port", str(port), "--device", "cpu"]
    log = root / "serve.log"  # a file, not a pipe: a full pipe would stall the server
    with open(log, "w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never through a proxy
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if process.poll() is not None:
                pytest.fail(f"shapespace serve exited with {process.returncode}:\n{log.read_text()}")
            try:
                with direct.open(url, timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"shapespace serve did not answer within {STARTUP_SECONDS} s")
            time.sleep(0.25)
        yield {"url": url, "root": root, "chromium": chromium}
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    # SIGTERM stops it cleanly, and its temporary folder goes with it.
    output = log.read_text()
    assert process.returncode == 0, output
    folder = re.search(r"files in (\S+), removed on exit", output)
    assert folder is not None and not os.path.exists(folder.group(1)), output


@pytest.fixture(scope="module")
def browser(server):
    """One page for the tests below, in order, and the requests it tried to send elsewhere."""
    from playwright.sync_api import sync_playwright

    outside: list[str] = []
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=server["chromium"], args=BROWSER_ARGS)
        page = chromium.new_page(viewport={"width": 1100, "height": 800})
        page.set_default_timeout(WAIT_MS)

        def only_the_server(route):
            if route.request.url.startswith((server["url"], "data:", "blob:")):
                route.continue_()
            else:
                outside.append(route.request.url)
                route.abort()

        page.route("**/*", only_the_server)
        yield {"page": page, "outside": outside, "glb": {}}
        chromium.close()


def _status(page, name: str, text: str) -> str:
    """Wait until the status line of tab ``name`` holds ``text``; return that line (without
    the elapsed time Gradio shows above it while an event is still finishing)."""
    status = page.locator(f"#{name}-status")
    status.filter(has_text=text).wait_for()
    return next(line for line in status.inner_text().splitlines() if text in line)


def test_the_page_opens_with_samples_and_a_3d_view(browser, server):
    page = browser["page"]
    with page.expect_response(lambda response: response.url.endswith(".glb")) as glb:
        page.goto(server["url"])
    assert glb.value.ok and glb.value.url.endswith("seed0_00.glb")
    assert _status(page, "sample", "triangles").startswith("16 samples of seed 0; shape 0 in 3D: ")
    picture = page.locator("#sample-picture img")
    picture.wait_for()
    assert page.evaluate("(img) => img.naturalWidth", picture.element_handle()) == 4 * 160 + 5 * 4
    page.locator("#sample-view canvas").wait_for()
    browser["glb"]["seed 0"] = glb.value.url


def test_a_new_seed_shows_new_shapes_in_3d(browser):
    page = browser["page"]
    with page.expect_response(lambda response: response.url.endswith("seed7_00.glb")) as glb:
        page.locator("#sample-seed input").fill("7")
    assert glb.value.ok and glb.value.url != browser["glb"]["seed 0"]
    assert _status(page, "sample", "of seed 7").startswith("16 samples of seed 7; shape 0 in 3D: ")
    links = page.locator("#sample-files a[download]")
    assert [links.nth(i).get_attribute("download") for i in range(links.count())] == ["seed7_00.glb", "seed7_00.obj", "seed7_00.ply"]
    obj = page.request.get(links.nth(1).get_attribute("href")).text()
    assert obj.count("\nf ") > 0 and obj.count("\nv ") > 0


def test_interpolation_shows_each_step_in_3d(browser):
    page = browser["page"]
    with page.expect_response(lambda response: response.url.endswith("seed0-seed1_00.glb")):
        page.get_by_role("tab", name="Interpolate").click()
    assert _status(page, "interpolate", "triangles").startswith("8 shapes from seed 0 to seed 1; shape 0 in 3D: ")
    page.locator("#interpolate-view canvas").wait_for()
    with page.expect_response(lambda response: response.url.endswith("seed0-seed1_05.glb")):
        page.locator("#interpolate-index input[type=number]").fill("5")
    assert _status(page, "interpolate", "shape 5 in 3D").startswith("8 shapes from seed 0 to seed 1; shape 5 in 3D: ")


def test_a_non_image_upload_gets_a_message_not_a_traceback(browser, server):
    page = browser["page"]
    page.get_by_role("tab", name="Reconstruct").click()
    page.locator("#reconstruct-photo input[type=file]").set_input_files(str(server["root"] / "notes.jpg"))
    line = _status(page, "reconstruct", "Error")
    assert line == "Error: Photo: notes.jpg is not an image (expected a JPEG, PNG, WebP, BMP, GIF or TIFF photo)"
    assert "Traceback" not in page.content()


def test_a_photo_is_reconstructed_in_3d(browser, server):
    page = browser["page"]
    page.locator("#reconstruct-photo").get_by_role("button", name="Clear").click()
    with page.expect_response(lambda response: response.url.endswith("chair_reconstruction.glb")) as glb:
        page.locator("#reconstruct-photo input[type=file]").set_input_files(str(server["root"] / "chair.png"))
    assert glb.value.ok
    assert _status(page, "reconstruct", "triangles").startswith("chair.png: the encoder sees it at 16 x 16 pixels; ")
    seen = page.locator("#reconstruct-input img")
    seen.wait_for()
    assert page.evaluate("(img) => [img.naturalWidth, img.naturalHeight]", seen.element_handle()) == [256, 256]
    page.locator("#reconstruct-view canvas").wait_for()


def test_the_about_tab_shows_the_model_card(browser):
    page = browser["page"]
    page.get_by_role("tab", name="About").click()
    card = page.locator("#model-card")
    card.get_by_text("tiny-16").first.wait_for()
    assert "No run folder beside this model" in card.inner_text()


def test_nothing_is_fetched_from_outside(browser):
    assert browser["outside"] == []
