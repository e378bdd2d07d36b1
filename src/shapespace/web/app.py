"""The web demo's page (Gradio ``gr.Blocks``) and the server behind ``shapespace serve``.

Tabs: **Sample** (seed, count and occupancy threshold; a picture of the samples, one of them
in 3D, its meshes to download), **Interpolate** (two seeds or two uploaded shape files),
**Reconstruct** (a photo to a shape, for a 3D-VAE-GAN) and **About** (the model card). Each
control calls one function of :mod:`shapespace.web.handlers`; a library error becomes a
one-line message in the tab's status line, in the words of the page's controls.

:func:`serve` keeps the server to itself: it binds 127.0.0.1 unless told otherwise, never
opens a share link, turns Gradio's analytics and version check off and tells Hugging Face's
hub client to stay offline, so that nothing is fetched from or sent to the network at run
time. Every file it serves lies in one temporary folder of its own (results and Gradio's
cache of them and of uploads), removed when the server stops. Requests wait in Gradio's
queue and run one at a time, since they share the one model.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable

from shapespace.errors import ConfigError, ShapespaceError
from shapespace.pipelines.model_card import locate_model
from shapespace.web import handlers
from shapespace.web.handlers import DemoModel, WebLimits

# What the page calls the parameters that handler errors name.
CONTROL_NAMES = {
    "seed": "Seed", "count": "Shapes", "threshold": "Occupancy threshold", "index": "Shape shown in 3D",
    "seeds": "Seed A / Seed B", "steps": "Steps", "shape_files": "Shape files", "fit_steps": "Fitting steps",
    "photo": "Photo", "class_prior": "Class prior",
}  # fmt: skip
# One model serves every request: they run one at a time (a CPU model uses every core for
# one request), and at most this many wait in the queue before a visitor is told to retry.
CONCURRENCY_ID = "model"
MAX_QUEUE = 32
# Gradio deletes its cached copies of results and uploads older than an hour, every 10 minutes.
CACHE_CLEANUP = (600, 3600)
VIEW_HEIGHT = 360
# The 3D view's background (white, as the pictures) and its first camera: a three-quarter
# view from the front left, a little above, as the pictures (rendering/preview.py).
CLEAR_COLOR = (1.0, 1.0, 1.0, 1.0)
CAMERA = (55.0, 65.0, 2.2)
# No "share" button on pictures: it posts to Hugging Face's servers.
IMAGE_BUTTONS = ["download", "fullscreen"]


def error_line(exc: ShapespaceError) -> str:
    """The status line of a failed request: the message, naming the page's controls."""
    return "**Error:** " + exc.describe(lambda name: f"*{CONTROL_NAMES.get(name, name)}*")


def _files(meshes: handlers.MeshFiles) -> list[str] | None:
    return [str(path) for path in meshes.downloads] or None


def _view_file(meshes: handlers.MeshFiles) -> str | None:
    return str(meshes.view) if meshes.view is not None else None


def _guard(function: Callable[..., tuple], outputs: int, on_error: str = "keep") -> Callable[..., tuple]:
    """``function`` with library errors shown in its last output (the status line); its other
    outputs are kept as they were (``on_error="keep"``) or cleared (``"clear"``)."""
    import gradio as gr

    def run(*args: Any) -> tuple:
        try:
            return function(*args)
        except ShapespaceError as exc:
            others = [gr.skip() if on_error == "keep" else None for _ in range(outputs - 1)]
            return (*others, error_line(exc))

    return run


def build_app(demo: DemoModel) -> Any:
    """The page for ``demo``: a ``gr.Blocks`` app, not yet launched."""
    import gradio as gr

    limits = demo.limits
    with gr.Blocks(title=f"shapespace: {handlers.model_title(demo)}", analytics_enabled=False, delete_cache=CACHE_CLEANUP) as app:
        gr.Markdown(f"## shapespace: {handlers.model_title(demo)}")
        with gr.Tabs():
            with gr.Tab("Sample", id="sample"):
                _sample_tab(app, demo, limits)
            with gr.Tab("Interpolate", id="interpolate") as interpolate_tab:
                _interpolate_tab(interpolate_tab, demo, limits)
            with gr.Tab("Reconstruct", id="reconstruct"):
                _reconstruct_tab(demo, limits)
            with gr.Tab("About", id="about"):
                gr.Markdown(handlers.model_card_markdown(demo), elem_id="model-card")
    return app


def _threshold_slider() -> Any:
    import gradio as gr

    return gr.Slider(0.05, 0.95, value=0.5, step=0.05, label="Occupancy threshold")


def _index_slider(prefix: str, what: str, count: int) -> Any:
    import gradio as gr

    return gr.Slider(0, count - 1, value=0, step=1, label=f"{what} shown in 3D", elem_id=f"{prefix}-index")


def _model_view(prefix: str) -> Any:
    import gradio as gr

    return gr.Model3D(label="3D view (drag to turn, scroll to zoom)", height=VIEW_HEIGHT, clear_color=CLEAR_COLOR,
                      camera_position=CAMERA, elem_id=f"{prefix}-view")  # fmt: skip


def _downloads(prefix: str) -> Any:
    import gradio as gr

    return gr.File(label="Meshes: GLB (y up, as glTF), OBJ and PLY (z up)", file_count="multiple", interactive=False,
                   elem_id=f"{prefix}-files")  # fmt: skip


def _shape_events(demo: DemoModel, make: Callable[..., handlers.ShapesResult], inputs: list,
                  triggers: list, shapes: Any, picture: Any, index: Any, view: Any, files: Any, threshold: Any,
                  status: Any) -> None:  # fmt: skip
    """Wire a tab that makes a set of shapes: ``make`` on ``triggers``, a new threshold
    redraws them, the index slider picks the shape in 3D."""
    import gradio as gr

    def on_make(*args: Any) -> tuple:
        result = make(*args, index=0)
        slider = gr.Slider(minimum=0, maximum=max(result.count - 1, 1), value=result.index, interactive=result.count > 1)
        return result.shape_set, str(result.picture), slider, _view_file(result.meshes), _files(result.meshes), result.status

    def on_threshold(shape_set: Any, threshold_value: float, index_value: int) -> tuple:
        result = handlers.redraw(demo, shape_set, threshold_value, index_value)
        return str(result.picture), _view_file(result.meshes), _files(result.meshes), result.status

    def on_index(shape_set: Any, index_value: int, threshold_value: float) -> tuple:
        shown = handlers.show_shape(demo, shape_set, index_value, threshold_value)
        return _view_file(shown.meshes), _files(shown.meshes), shown.status

    common = {"concurrency_id": CONCURRENCY_ID, "trigger_mode": "always_last"}
    gr.on(triggers, _guard(on_make, 6), inputs=inputs, outputs=[shapes, picture, index, view, files, status], **common)
    # `input`: the user moved the slider or typed in its box (not a value set by `make`).
    threshold.input(_guard(on_threshold, 4), inputs=[shapes, threshold, index], outputs=[picture, view, files, status], **common)
    index.input(_guard(on_index, 3), inputs=[shapes, index, threshold], outputs=[view, files, status], **common)


def _sample_tab(app: Any, demo: DemoModel, limits: WebLimits) -> None:
    import gradio as gr

    gr.Markdown("Shapes drawn from the model's latent prior: the same seed always gives the same shapes. "
                "A voxel is solid where the model's occupancy probability is above the threshold.")  # fmt: skip
    with gr.Row():
        seed = gr.Number(value=0, precision=0, minimum=0, step=1, label="Seed", elem_id="sample-seed")
        count = gr.Slider(1, limits.max_samples, value=limits.max_samples, step=1, label="Shapes")
        threshold = _threshold_slider()
    button = gr.Button("Sample", variant="primary")
    status = gr.Markdown(elem_id="sample-status")
    with gr.Row():
        picture = gr.Image(label="Samples", type="filepath", interactive=False, buttons=IMAGE_BUTTONS, elem_id="sample-picture")
        with gr.Column():
            index = _index_slider("sample", "Sample", limits.max_samples)
            view = _model_view("sample")
            files = _downloads("sample")
    shapes = gr.State(None)

    def make(seed_value: float, count_value: float, threshold_value: float, index: int) -> handlers.ShapesResult:
        return handlers.sample(demo, seed_value, count_value, threshold_value, index)

    triggers = [app.load, seed.change, count.input, button.click]
    _shape_events(demo, make, [seed, count, threshold], triggers, shapes, picture, index, view, files, threshold, status)


def _interpolate_tab(tab: Any, demo: DemoModel, limits: WebLimits) -> None:
    import gradio as gr

    gr.Markdown("Shapes along the straight line between two latent codes: those of two seeds, or of two "
                "uploaded shape files (their codes are found by fitting the generator's output to them, "
                "which takes longer).")  # fmt: skip
    with gr.Row():
        seed_a = gr.Number(value=0, precision=0, minimum=0, step=1, label="Seed A", elem_id="interpolate-seed-a")
        seed_b = gr.Number(value=1, precision=0, minimum=0, step=1, label="Seed B", elem_id="interpolate-seed-b")
        steps = gr.Slider(2, limits.max_steps, value=min(8, limits.max_steps), step=1, label="Steps")
        threshold = _threshold_slider()
    with gr.Accordion("... or two shape files (a mesh, voxel grid or point cloud in any format shapespace reads)", open=False):
        with gr.Row():
            file_a = gr.File(label="Shape A", type="filepath")
            file_b = gr.File(label="Shape B", type="filepath")
            fit_steps = gr.Slider(10, limits.max_fit_steps, value=min(100, limits.max_fit_steps), step=10, label="Fitting steps")
    button = gr.Button("Interpolate", variant="primary")
    status = gr.Markdown(elem_id="interpolate-status")
    picture = gr.Image(label="Interpolation", type="filepath", interactive=False, buttons=IMAGE_BUTTONS, elem_id="interpolate-picture")
    with gr.Row():
        with gr.Column(scale=1):
            index = _index_slider("interpolate", "Step", limits.max_steps)
            files = _downloads("interpolate")
        with gr.Column(scale=2):
            view = _model_view("interpolate")
    shapes = gr.State(None)

    def make(a: float, b: float, steps_value: float, threshold_value: float, path_a: str | None, path_b: str | None,
             fit: float, index: int) -> handlers.ShapesResult:  # fmt: skip
        uploads = [path for path in (path_a, path_b) if path]
        if uploads:
            return handlers.interpolate(demo, steps_value, threshold_value, shape_files=uploads, fit_steps=fit, index=index)
        return handlers.interpolate(demo, steps_value, threshold_value, seeds=(a, b), index=index)

    inputs = [seed_a, seed_b, steps, threshold, file_a, file_b, fit_steps]
    # Made when the tab is opened, not when the page loads: a 3D view that receives its file
    # while its tab is hidden stays blank when the tab is shown (Gradio 6.31).
    triggers = [tab.select, seed_a.change, seed_b.change, steps.input, button.click]
    _shape_events(demo, make, inputs, triggers, shapes, picture, index, view, files, threshold, status)


def _reconstruct_tab(demo: DemoModel, limits: WebLimits) -> None:
    import gradio as gr

    if not demo.has_encoder:
        gr.Markdown(handlers.NO_ENCODER, elem_id="reconstruct-status")
        return
    size = demo.model.encoder_config.image_size
    gr.Markdown(f"A 3D shape from one photo: the image encoder reads it at {size} x {size} pixels (the whole photo, "
                "stretched to a square, so crop it around one object), and the generator decodes the code it finds.")  # fmt: skip
    with gr.Row():
        photo_limits = f"at most {handlers.size_words(limits.max_upload_bytes)}, {limits.max_image_side} x {limits.max_image_side} pixels"
        photo = gr.File(label=f"Photo (JPEG, PNG, ...; {photo_limits})", type="filepath", elem_id="reconstruct-photo")
        threshold = _threshold_slider()
        # A model with a class head also names the class, and can mix the class's mean shape in (docs/backbone.md).
        with_classes = bool(demo.model.classes)
        class_prior = gr.Slider(0.0, 1.0, value=0.5 if with_classes else 0.0, step=0.05, visible=with_classes, elem_id="reconstruct-class-prior",
                                label="Class prior (0: the decoded shape alone)")  # fmt: skip
        classes = gr.Label(label="Class (the encoder's class head)", num_top_classes=3, visible=with_classes, elem_id="reconstruct-classes")
    status = gr.Markdown(elem_id="reconstruct-status")
    with gr.Row():
        encoder_view = gr.Image(label=f"What the encoder sees ({size} x {size})", type="filepath", interactive=False,
                                buttons=IMAGE_BUTTONS, elem_id="reconstruct-input")  # fmt: skip
        picture = gr.Image(label="Reconstruction", type="filepath", interactive=False, buttons=IMAGE_BUTTONS, elem_id="reconstruct-picture")
        view = _model_view("reconstruct")
    files = _downloads("reconstruct")

    def on_photo(path: str | None, threshold_value: float, prior: float) -> tuple:
        if path is None:
            return None, None, None, None, None, ""
        result = handlers.reconstruct_photo(demo, path, threshold_value, prior)
        named = result.classes or None
        return str(result.encoder_view), str(result.picture), _view_file(result.meshes), named, _files(result.meshes), result.status

    outputs = [encoder_view, picture, view, classes, files, status]
    common = {"concurrency_id": CONCURRENCY_ID, "trigger_mode": "always_last"}
    gr.on([photo.change, threshold.input, class_prior.input], _guard(on_photo, 6, on_error="clear"),
          inputs=[photo, threshold, class_prior], outputs=outputs, **common)  # fmt: skip


# -- the server -------------------------------------------------------------------------------


def offline_environment(folder: Path) -> None:
    """Settings read when Gradio is imported: no analytics or version check, Gradio's cache
    (results it serves, uploads) inside ``folder``, Hugging Face's client offline, and
    requests to this machine never sent through a proxy."""
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    os.environ["GRADIO_TEMP_DIR"] = str(folder / "gradio")
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
    for name in ("NO_PROXY", "no_proxy"):
        hosts = [host for host in os.environ.get(name, "").split(",") if host]
        os.environ[name] = ",".join(dict.fromkeys(hosts + ["localhost", "127.0.0.1"]))


def import_gradio() -> Any:
    try:
        import gradio
    except ImportError:
        raise ConfigError("the web demo needs Gradio: pip install 'shapespace[web]'") from None
    return gradio


def serve(
    path: str | os.PathLike,
    host: str = "127.0.0.1",
    port: int = 7860,
    device: str = "auto",
    limits: WebLimits | None = None,
    announce: Callable[[str], None] = lambda line: print(line, flush=True),
) -> None:
    """Serve the demo page for the model of a run, model or ``shapespace demo`` folder until
    interrupted (Ctrl-C or SIGTERM), then remove its temporary folder.

    Raises:
        CheckpointError: naming ``path`` when it holds no readable model.
        ConfigError: naming ``port`` when it is taken, or when Gradio is not installed.
    """
    if not 1 <= port <= 65535:
        raise ConfigError(f"`port` must be in [1, 65535], got {port}")
    limits = limits or WebLimits()
    locate_model(path)  # a wrong path is named before anything else happens
    folder = Path(tempfile.mkdtemp(prefix="shapespace-serve-"))
    try:
        offline_environment(folder)
        import_gradio()
        demo = DemoModel.load(path, folder / "results", device=device, limits=limits)
        app = build_app(demo)
        app.queue(default_concurrency_limit=1, max_size=MAX_QUEUE)
        try:
            app.launch(
                server_name=host, server_port=port, share=False, inbrowser=False, show_error=False, quiet=True,
                max_file_size=limits.max_upload_bytes, ssr_mode=False, pwa=False, mcp_server=False,
                prevent_thread_lock=True,
            )  # fmt: skip
        except OSError as exc:
            raise ConfigError(f"`port` {port} on {host} cannot be used ({str(exc).split('. ')[0]})") from None
        announce(f"shapespace: serving {path} ({handlers.model_title(demo)}) on {demo.device} at http://{host}:{port}; "
                 f"files in {folder}, removed on exit (Ctrl-C to stop)")  # fmt: skip
        _wait_until_stopped(app)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _wait_until_stopped(app: Any) -> None:
    """Block until SIGINT or SIGTERM (or the server stops), then close the server. Signal
    handlers can only be set in the main thread; elsewhere SIGTERM keeps its usual effect."""

    def stop(signal_number: int, frame: Any) -> None:
        raise KeyboardInterrupt

    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, stop) if main_thread else None
    try:
        while app.is_running:
            time.sleep(0.2)
    except KeyboardInterrupt:
        print("shapespace: stopping the server", file=sys.stderr)
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)
        app.close()
