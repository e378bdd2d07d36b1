"""One self-contained HTML page for a training run (``shapespace report RUN_DIR``).

The page embeds everything (pictures as base64 PNG, curves as inline SVG), so it can be
mailed or archived alone. It shows the run's configuration and deviations from the paper,
training curves from ``metrics.jsonl``, the latest sample picture, an interpolation strip
rendered from the saved model, and every evaluation result found as JSON in ``RUN_DIR/eval/``
(``shapespace eval ... --out RUN_DIR/eval/NAME.json``).
"""

from __future__ import annotations

import base64
import html
import io
import json
import os
from pathlib import Path

import numpy as np

from shapespace.errors import CheckpointError
from shapespace.io.atomic import write_text_atomic
from shapespace.io.jsonfile import read_json, read_json_lines
from shapespace.io.paths import check_output_path

CURVES = (("loss_d", "D loss"), ("loss_g", "G loss"), ("d_accuracy", "D accuracy on its batch"))


def _read_metrics(path: Path) -> list[dict]:
    return read_json_lines(path, "training log", error=CheckpointError) if path.exists() else []


def svg_curve(steps: list[float], values: list[float], title: str, width: int = 420, height: int = 180) -> str:
    """A line chart as inline SVG (no plotting library needed)."""
    if not steps:
        return f"<p>{html.escape(title)}: no data</p>"
    pad = 36
    x0, x1 = min(steps), max(steps) if max(steps) > min(steps) else min(steps) + 1
    y0, y1 = min(values), max(values) if max(values) > min(values) else min(values) + 1
    points = " ".join(
        f"{pad + (x - x0) / (x1 - x0) * (width - 2 * pad):.1f},{height - pad - (y - y0) / (y1 - y0) * (height - 2 * pad):.1f}"
        for x, y in zip(steps, values)
    )
    return (
        f'<svg width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{html.escape(title)}">'
        f'<text x="{pad}" y="16" font-size="13">{html.escape(title)}</text>'
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#999"/>'
        f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{height - pad}" stroke="#999"/>'
        f'<text x="{pad}" y="{height - 18}" font-size="10">{x0:g}</text>'
        f'<text x="{width - pad}" y="{height - 18}" font-size="10" text-anchor="end">step {x1:g}</text>'
        f'<text x="{pad - 4}" y="{height - pad}" font-size="10" text-anchor="end">{y0:.3g}</text>'
        f'<text x="{pad - 4}" y="{pad + 4}" font-size="10" text-anchor="end">{y1:.3g}</text>'
        f'<polyline fill="none" stroke="#3b6fb6" stroke-width="1.5" points="{points}"/></svg>'
    )


def _png_tag(data: bytes, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(data).decode()}" style="max-width:100%">'


def _image_bytes(image: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def build_report(run_dir: str | os.PathLike, out: str | os.PathLike | None = None, device: str = "cpu") -> Path:
    """Write ``report.html`` for a run folder (or to ``out``) and return its path.

    Raises:
        CheckpointError: when ``run_dir`` is not a run folder, or one of its JSON files is
            unreadable.
        OutputError: when the page cannot be written at ``out`` (checked before any work).
    """
    from shapespace.pipelines.experiments import latents_for
    from shapespace.pipelines.sampling import interpolate_shapes, load_gan
    from shapespace.rendering.figures import render_mosaic

    run_dir = Path(run_dir)
    config_path = run_dir / "config.json"
    if not config_path.is_file():
        raise CheckpointError(f"{run_dir}: not a run folder (no config.json)")
    config = read_json(config_path, "run config", error=CheckpointError)
    out = Path(out) if out is not None else run_dir / "report.html"
    check_output_path(out, "file")
    metrics = _read_metrics(run_dir / "metrics.jsonl")
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>shapespace run {html.escape(run_dir.name)}</title>",
        "<style>body{font-family:sans-serif;max-width:1000px;margin:2em auto;color:#222}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}"
        "pre{background:#f6f6f6;padding:8px;overflow:auto}</style></head><body>",
        f"<h1>Run <code>{html.escape(str(run_dir))}</code></h1>",
    ]
    data = config.get("data", {})
    training = config.get("training", {})
    step = metrics[-1]["step"] if metrics else 0
    parts.append(
        "<table>"
        f"<tr><th>data</th><td>{html.escape(str(data.get('source')))} ({data.get('shapes')} shapes; {html.escape(', '.join(data.get('classes', [])))})</td></tr>"
        f"<tr><th>model</th><td>{config.get('model', {}).get('resolution')}^3, prior {html.escape(str(config.get('model', {}).get('latent_prior')))}</td></tr>"
        f"<tr><th>recipe</th><td>{html.escape(str(training.get('recipe')))}; step {step} of {training.get('steps')}</td></tr>"
        "</table>"
    )
    deviations = config.get("deviations_from_paper", {})
    if deviations:
        rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(str(v['value']))}</td><td>{html.escape(str(v['paper']))}</td></tr>" for k, v in deviations.items())
        parts.append(f"<h2>Deviations from the paper</h2><table><tr><th>field</th><th>this run</th><th>paper</th></tr>{rows}</table>")
    parts.append("<h2>Training</h2>")
    for key, title in CURVES:
        series = [(m["step"], m[key]) for m in metrics if key in m]
        parts.append(svg_curve([s for s, _ in series], [v for _, v in series], title))
    latest = run_dir / "samples" / "latest.png"
    if latest.is_file():
        parts.append("<h2>Samples</h2>" + _png_tag(latest.read_bytes(), "latest samples"))
    if (run_dir / "model").is_dir():
        model = load_gan(run_dir, device=device)
        z = latents_for(model, seeds=[0, 1])
        strip = interpolate_shapes(model, z[0], z[1], steps=8)
        parts.append("<h2>Interpolation (seeds 0 to 1)</h2>" + _png_tag(_image_bytes(render_mosaic(strip, ncols=8, size=112)), "interpolation"))
    evaluations = sorted((run_dir / "eval").glob("*.json")) if (run_dir / "eval").is_dir() else []
    if evaluations:
        parts.append("<h2>Evaluation</h2>")
        for path in evaluations:
            text = json.dumps(read_json(path, "evaluation result", error=CheckpointError), indent=2)
            parts.append(f"<h3>{html.escape(path.stem)}</h3><pre>{html.escape(text)}</pre>")
    parts.append("</body></html>")
    write_text_atomic(out, "\n".join(parts) + "\n")
    return out
