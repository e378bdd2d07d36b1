"""What training teaches D: the paper's classification experiment against a random-D control.

A 3D-GAN (a preset and a recipe) trains for ``--minutes`` on ModelNet10's train split at
32^3 (all ten classes, from ``modelnet10-pcd``). Then its D's features (the last three conv
responses, max-pooled to 2^3, concatenated, standardised; ``shapespace eval classify``) feed a
linear SVM fitted on the train split and scored on the test split. The control is the same
network untrained: the same preset, recipe architecture and seed, so the same initial
weights. The gain is the trained D's accuracy minus the control's.

Resumable: run it again with a larger ``--minutes`` and training continues where it stopped.

    python benchmarks/classify_control.py --minutes 25
    python benchmarks/classify_control.py --preset paper-32 --minutes 25 --out runs/classify-paper32
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from shapespace.data.sources import DataSelection
from shapespace.io.atomic import write_text_atomic
from shapespace.models import get_preset
from shapespace.models.gan import ShapeGAN
from shapespace.pipelines.datasets import prepare
from shapespace.pipelines.evaluation import evaluate_classification
from shapespace.training.config import GAN_RECIPES, recipe_architecture
from shapespace.training.gan_trainer import GANTrainer
from shapespace.training.run_folder import RunFolder

ROOT = Path(__file__).resolve().parent.parent
MODELNET = ROOT.parent / "shared" / "data" / "modelnet10-pcd"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=MODELNET, help="ModelNet10 point clouds (default ../shared/data/modelnet10-pcd)")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "classify_control", help="cache, run folder and result")
    parser.add_argument("--preset", default="lite-32", help="model preset (default lite-32)")
    parser.add_argument("--recipe", default="robust", help="training recipe (default robust)")
    parser.add_argument("--minutes", type=float, default=25.0, help="training budget in minutes (default 25)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the weights (trained and control)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda")
    args = parser.parse_args()
    if not args.data.is_dir():
        print(json.dumps({"skipped": f"{args.data} is not there (ModelNet10 point clouds of ../shared/data)"}))
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    cache = args.out / "modelnet10-32"
    if not (cache / "cache.json").is_file():
        prepare(str(args.data), cache, resolution=32, selection=DataSelection(), progress=False)

    config = recipe_architecture(args.recipe, get_preset(args.preset)).replace(latent_prior="normal")
    recipe = GAN_RECIPES.get(args.recipe).replace(steps=10**7, sample_every=0, checkpoint_every=0, log_every=100, seed=args.seed)
    run_dir = args.out / f"{args.preset}-{args.recipe}"
    progress_file = run_dir / "train_seconds.json"
    trained = json.loads(progress_file.read_text())["seconds"] if progress_file.is_file() else 0.0
    resume = RunFolder(run_dir).has_state()
    if trained < args.minutes * 60:
        data = DataSelection(split="train").load(str(cache), config.resolution)
        trainer = GANTrainer(config, recipe, data, run_dir, device=args.device, resume=resume, progress=False)
        started = time.perf_counter()
        summary = trainer.train(max_seconds=args.minutes * 60 - trained)
        trained += time.perf_counter() - started
        write_text_atomic(progress_file, json.dumps({"seconds": trained, "steps": summary["steps"]}) + "\n")
    steps = json.loads(progress_file.read_text())["steps"]

    control_dir = args.out / f"{args.preset}-{args.recipe}-untrained"
    torch.manual_seed(args.seed)  # as GANTrainer seeds the initial weights
    ShapeGAN(config).save_pretrained(control_dir)

    results = {}
    for name, checkpoint in (("trained", run_dir), ("untrained", control_dir)):
        started = time.perf_counter()
        result = evaluate_classification(checkpoint, str(cache), device=args.device)
        results[name] = {
            "overall_accuracy": round(result["overall_accuracy"], 4),
            "mean_class_accuracy": round(result["mean_class_accuracy"], 4),
            "seconds": round(time.perf_counter() - started, 1),
        }
        n_train, n_test, features = result["n_train"], result["n_test"], result["features"]
    summary = {
        "preset": args.preset,
        "recipe": args.recipe,
        "train_minutes": round(trained / 60, 1),
        "steps": steps,
        "n_train": n_train,
        "n_test": n_test,
        "features": features,
        "trained": results["trained"],
        "untrained_control": results["untrained"],
        "gain_points": round(100 * (results["trained"]["overall_accuracy"] - results["untrained"]["overall_accuracy"]), 1),
        "paper_accuracy": 0.910,
    }
    write_text_atomic(args.out / f"{args.preset}-{args.recipe}.json", json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
