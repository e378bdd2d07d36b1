"""Benchmark: the demo's wall time and the quality of what it learned.

Runs ``shapespace demo`` end to end (train ``lite-32`` on ``builtin:chair`` with the
``robust`` recipe and the demo's learning rates, sample, mesh, interpolate, measure) and prints one JSON object: wall time,
training time, steps, and the numbers of the quick quality check (``shapespace.metrics.quick_quality``)
next to their targets.

    python benchmarks/demo_quality.py [--out runs/bench-demo] [--steps N] [--device auto]

Targets (issues #2 and #15): the whole demo in at most 600 s on 2 CPU cores; samples that a
nearest-neighbour classifier calls chairs (``nn_class_accuracy`` >= 0.9), that are not copies
of one shape (``distinct_fraction`` >= 0.9, ``sample_spread`` at least 0.6 of the held-out
chairs' spread), not empty, and in one piece in most samples (``whole_fraction`` above 0.5:
legs and slats joined to the seat).
"""

from __future__ import annotations

import argparse
import json
import time

from shapespace.pipelines.demo import run_demo

TARGETS = {
    "wall_seconds_max": 600.0,
    "nn_class_accuracy_min": 0.9,
    "distinct_fraction_min": 0.9,
    "spread_ratio_min": 0.6,
    "empty_fraction_max": 0.0,
    "whole_fraction_min": 0.5,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/bench-demo", help="output folder (replaced)")
    parser.add_argument("--steps", type=int, default=None, help="override the recipe's steps")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()

    started = time.perf_counter()
    report = run_demo(args.out, steps=args.steps, device=args.device, progress=False, overwrite=True)
    wall = time.perf_counter() - started
    q = report["quality"]
    spread_ratio = q["sample_spread"] / q["reference_spread"]
    met = {
        "wall_seconds": wall <= TARGETS["wall_seconds_max"],
        "nn_class_accuracy": q["nn_class_accuracy"] >= TARGETS["nn_class_accuracy_min"],
        "distinct_fraction": q["distinct_fraction"] >= TARGETS["distinct_fraction_min"],
        "spread_ratio": spread_ratio >= TARGETS["spread_ratio_min"],
        "empty_fraction": q["empty_fraction"] <= TARGETS["empty_fraction_max"],
        "whole_fraction": q["whole_fraction"] > TARGETS["whole_fraction_min"],
    }
    print(json.dumps({
        "benchmark": "demo_quality",
        "wall_seconds": round(wall, 1),
        "train_seconds": report["train_seconds"],
        "steps": report["steps"],
        "device": report["device"],
        "precision": report["precision"],
        "quality": q,
        "spread_ratio": round(spread_ratio, 3),
        "targets": TARGETS,
        "met": met,
    }, indent=2))


if __name__ == "__main__":
    main()
