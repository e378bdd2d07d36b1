"""Time to quality: each recipe trained for the same wall-clock budget, measured as it goes.

Every candidate (a preset and a recipe) trains on the ModelNet10 chairs at 32^3 with 10% of
the chairs held out (``--holdout 0.1``). After every ``--eval-every`` minutes of training it
is stopped, measured with ``shapespace eval gen`` against the held-out chairs (1-NNA, COV and
MMD with Chamfer and 1 - IoU; as many samples as held-out chairs), and resumed. Evaluation
time does not count as training time.

The run can go on for hours in the background and be stopped at any point: results go to
``OUT/results.jsonl`` one line per measurement, each candidate's run folder keeps its
checkpoint of the last measurement, and a second call skips what is done and continues
from there (a measurement cut short is redone from the previous one). It prints a JSON
summary and draws 1-NNA (Chamfer) against minutes, one line per candidate, to ``--plot``.

    python benchmarks/time_to_quality.py --minutes 60 --eval-every 10
    python benchmarks/time_to_quality.py --minutes 8 --eval-every 4 --candidates fast,robust-lite
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from shapespace.data.sources import DataSelection
from shapespace.io.atomic import write_text_atomic
from shapespace.models import get_preset
from shapespace.pipelines.datasets import prepare
from shapespace.pipelines.evaluation import evaluate_generation
from shapespace.rendering.figures import save_png
from shapespace.training.config import GAN_RECIPES, recipe_architecture
from shapespace.training.gan_trainer import GANTrainer

ROOT = Path(__file__).resolve().parent.parent
CHAIRS = ROOT.parent / "shared" / "data" / "modelnet10-chair-vox30"
# Each candidate: preset, recipe, and changes to the recipe. All use the normal prior (the
# demo's; the uniform prior gives near-identical shapes in short runs).
CANDIDATES: dict[str, tuple[str, str, dict[str, Any]]] = {
    "paper": ("paper-32", "paper", {}),
    "fast": ("paper-32", "fast", {}),
    "robust": ("paper-32", "robust", {}),
    "robust-lite": ("lite-32", "robust", {}),
    "robust-lite-b8": ("lite-32", "robust", {"batch_size": 8}),
    "robust-lite-none": ("lite-32", "robust", {}),  # D without normalisation (architecture below)
    "fast-lite": ("lite-32", "fast", {}),
}
ARCHITECTURE_CHANGES: dict[str, dict[str, Any]] = {"robust-lite-none": {"discriminator_norm": "none"}}
COLOURS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75), (227, 119, 194)]


def read_results(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def trainer_for(name: str, data, run_dir: Path, resume: bool, device: str) -> GANTrainer:
    preset, recipe, changes = CANDIDATES[name]
    config = recipe_architecture(recipe, get_preset(preset)).replace(latent_prior="normal", **ARCHITECTURE_CHANGES.get(name, {}))
    # A budget in minutes, not steps: a step count no run reaches, and checkpoints only
    # when a measurement is due (so a run cut short restarts from the last measurement).
    train_config = GAN_RECIPES.get(recipe).replace(steps=10**7, sample_every=0, checkpoint_every=0, log_every=50, **changes)
    return GANTrainer(config, train_config, data, run_dir, device=device, resume=resume, progress=False)


def measure(name: str, args: argparse.Namespace, cache: Path, data, results_path: Path) -> None:
    done = [r for r in read_results(results_path) if r["candidate"] == name]
    run_dir = Path(args.out) / name
    trained = done[-1]["train_seconds"] if done else 0.0
    points = [args.eval_every * k for k in range(1, int(args.minutes // args.eval_every) + 1)]
    for minutes in points:
        if any(abs(r["minutes"] - minutes) < 1e-9 for r in done):
            continue
        resume = bool(done)
        if not resume and run_dir.exists():
            raise SystemExit(f"{run_dir} holds a run without measurements; remove it to start {name} afresh")
        trainer = trainer_for(name, data, run_dir, resume, args.device)
        started = time.perf_counter()
        summary = trainer.train(max_seconds=minutes * 60 - trained)
        trained += time.perf_counter() - started
        evaluated = time.perf_counter()
        result = evaluate_generation(
            str(cache), checkpoint=run_dir, selection=DataSelection(split="test", classes=("chair",)), seed=0, device=args.device
        )
        record = {
            "candidate": name,
            "preset": CANDIDATES[name][0],
            "recipe": CANDIDATES[name][1],
            "changes": CANDIDATES[name][2] | ARCHITECTURE_CHANGES.get(name, {}),
            "minutes": minutes,
            "train_seconds": round(trained, 1),
            "steps": summary["steps"],
            "eval_seconds": round(time.perf_counter() - evaluated, 1),
            "chamfer": result["chamfer"],
            "iou": result["iou"],
            "jsd": result["jsd"],
            "empty_samples": result["empty_samples"],
            "n": result["n_samples"],
        }
        with open(results_path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")
        done.append(record)
        print(json.dumps({k: record[k] for k in ("candidate", "minutes", "steps")} | {"1nna_chamfer": record["chamfer"]["1nna"],
              "cov_chamfer": record["chamfer"]["cov"]}), file=sys.stderr, flush=True)  # fmt: skip


def plot(results: list[dict[str, Any]], path: Path, width: int = 900, height: int = 560) -> None:
    """1-NNA (Chamfer) against training minutes, one line per candidate, as a PNG."""
    image = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default()
    left, right, top, bottom = 70, width - 200, 40, height - 60
    max_minutes = max([r["minutes"] for r in results] + [1])
    lo, hi = 0.4, 1.0  # 1-NNA: 0.5 is ideal, 1.0 means every sample is told apart

    def xy(minutes: float, value: float) -> tuple[float, float]:
        return left + (right - left) * minutes / max_minutes, bottom - (bottom - top) * (value - lo) / (hi - lo)

    draw.rectangle([left, top, right, bottom], outline=(0, 0, 0))
    for value in np.arange(lo, hi + 1e-9, 0.1):
        y = xy(0, value)[1]
        draw.line([left, y, right, y], fill=(225, 225, 225))
        draw.text((left - 40, y - 6), f"{value:.0%}", fill=(0, 0, 0), font=font)
    draw.line([left, xy(0, 0.5)[1], right, xy(0, 0.5)[1]], fill=(120, 120, 120), width=2)
    draw.text((right - 110, xy(0, 0.5)[1] + 4), "ideal (50%)", fill=(90, 90, 90), font=font)
    for k in range(0, int(max_minutes) + 1, max(1, int(max_minutes) // 6)):
        x = xy(k, lo)[0]
        draw.line([x, bottom, x, bottom + 5], fill=(0, 0, 0))
        draw.text((x - 6, bottom + 10), str(k), fill=(0, 0, 0), font=font)
    draw.text(((left + right) / 2 - 80, height - 30), "minutes of training (2 CPU cores)", fill=(0, 0, 0), font=font)
    draw.text((left, 12), "1-NNA (Chamfer) against held-out ModelNet10 chairs; lower is better", fill=(0, 0, 0), font=font)
    names = list(dict.fromkeys(r["candidate"] for r in results))
    for i, name in enumerate(names):
        colour = COLOURS[i % len(COLOURS)]
        points = [xy(r["minutes"], r["chamfer"]["1nna"]) for r in results if r["candidate"] == name]
        if len(points) > 1:
            draw.line(points, fill=colour, width=3)
        for x, y in points:
            draw.ellipse([x - 4, y - 4, x + 4, y + 4], fill=colour)
        draw.line([right + 20, top + 20 + 22 * i, right + 45, top + 20 + 22 * i], fill=colour, width=3)
        draw.text((right + 52, top + 14 + 22 * i), name, fill=(0, 0, 0), font=font)
    save_png(np.asarray(image), path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=CHAIRS, help="the ModelNet10 chair .mat folder (default ../shared/data/...)")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "time_to_quality", help="run folders and results.jsonl")
    parser.add_argument("--minutes", type=float, default=60.0, help="training budget per candidate (default 60)")
    parser.add_argument("--eval-every", type=float, default=10.0, help="minutes of training between measurements (default 10)")
    parser.add_argument("--candidates", default="paper,fast,robust,robust-lite", help=f"comma-separated, of: {', '.join(CANDIDATES)}")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda")
    parser.add_argument("--plot", type=Path, help="PNG to draw (default OUT/time_to_quality.png)")
    args = parser.parse_args()
    names = [n.strip() for n in args.candidates.split(",") if n.strip()]
    unknown = [n for n in names if n not in CANDIDATES]
    if unknown:
        parser.error(f"--candidates: unknown {', '.join(unknown)}; known: {', '.join(CANDIDATES)}")
    if not args.data.is_dir():
        print(json.dumps({"skipped": f"{args.data} is not there (the ModelNet10 chairs of ../shared/data)"}))
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    cache = args.out / "chairs-32"
    if not (cache / "cache.json").is_file():
        prepare(str(args.data), cache, resolution=32, selection=DataSelection(classes=("chair",), holdout=0.1), progress=False)
    data = DataSelection(split="train", classes=("chair",)).load(str(cache), 32)
    results_path = args.out / "results.jsonl"
    for name in names:
        measure(name, args, cache, data, results_path)
    results = [r for r in read_results(results_path) if r["candidate"] in names]
    plot(results, args.plot or args.out / "time_to_quality.png")
    summary = {
        "data": str(args.data),
        "held_out_chairs": results[0]["n"] if results else None,
        "minutes": args.minutes,
        "results": [{k: r[k] for k in ("candidate", "minutes", "steps")}
                    | {"1nna_chamfer": r["chamfer"]["1nna"], "cov_chamfer": r["chamfer"]["cov"],
                       "1nna_iou": r["iou"]["1nna"], "cov_iou": r["iou"]["cov"]} for r in results],
    }  # fmt: skip
    write_text_atomic(args.out / "summary.json", json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
