"""Benchmark: what one interaction of the web demo (``shapespace serve``) costs on this machine.

Prints one JSON object, seconds (median of ``--repeats`` after a warm-up) of the functions
behind the page (:mod:`shapespace.web.handlers`), on the CPU:

* ``paper32_untrained``: a ``paper-32`` model with its random initial weights (the speed of G
  does not depend on them, but its noisy outputs have far more surface than a trained model's,
  so picture and mesh times are an upper bound):

  - ``sample_tab``: :func:`~shapespace.web.handlers.sample` of ``--count`` shapes (default 16):
    G, the labelled picture of all of them, one shape's GLB, OBJ and PLY;
  - ``generator``, ``picture``, ``meshes``: its three parts, alone;
  - ``pick_shape``: another shape of the same set in 3D (:func:`~shapespace.web.handlers.show_shape`);
  - ``new_threshold``: the picture and mesh again at another threshold (:func:`~shapespace.web.handlers.redraw`);
  - ``interpolate_tab``: 8 shapes between two seeds, picture and one mesh;

* ``builtin_chairs``: ``picture`` and ``meshes`` for 32^3 built-in chairs, shapes like a
  trained model's;
* ``model``: the same interactions as the first item for ``--model RUN`` (a trained run), if given.

    python benchmarks/bench_web.py [--count 16] [--repeats 3] [--model runs/demo]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Callable

import torch

from shapespace.data.builtin import builtin_voxels
from shapespace.models import ShapeGAN, get_preset
from shapespace.pipelines.sampling import sample_shapes
from shapespace.rendering.figures import render_mosaic
from shapespace.web.handlers import TILE_SIZE, DemoModel, interpolate, redraw, sample, show_shape, write_meshes


def seconds(work: Callable[[], object], repeats: int) -> float:
    work()  # warm-up: first calls allocate and pick kernels
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return round(statistics.median(times), 3)


def interactions(demo: DemoModel, count: int, repeats: int) -> dict[str, float]:
    shown = sample(demo, 0, count, 0.5)
    with torch.inference_mode():
        shapes = sample_shapes(demo.model, count, seed=0).numpy()
    labels = [str(i) for i in range(count)]
    folder = Path(demo.request_folder("bench"))
    return {
        "sample_tab": seconds(lambda: sample(demo, 1, count, 0.5), repeats),
        "generator": seconds(lambda: sample_shapes(demo.model, count, seed=1), repeats),
        "picture": seconds(lambda: render_mosaic(shapes, ncols=4, size=TILE_SIZE, labels=labels), repeats),
        "meshes": seconds(lambda: write_meshes(shapes[0], folder, "bench", 0.5), repeats),
        "pick_shape": seconds(lambda: show_shape(demo, shown.shape_set, 1, 0.5), repeats),
        "new_threshold": seconds(lambda: redraw(demo, shown.shape_set, 0.4, 0), repeats),
        "interpolate_tab": seconds(lambda: interpolate(demo, 8, 0.5, seeds=(0, 1)), repeats),
        "faces_of_shape_0": shown.meshes.faces,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=16, help="shapes per sample request (default 16)")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats per measurement (default 3)")
    parser.add_argument("--model", type=Path, help="a trained run, model or demo folder to time as well")
    args = parser.parse_args()
    result: dict[str, object] = {"threads": torch.get_num_threads(), "count": args.count}
    with tempfile.TemporaryDirectory() as tmp:
        torch.manual_seed(0)
        ShapeGAN(get_preset("paper-32")).save_pretrained(Path(tmp) / "paper-32")
        demo = DemoModel.load(Path(tmp) / "paper-32", Path(tmp) / "app", device="cpu")
        result["paper32_untrained"] = interactions(demo, args.count, args.repeats)
        chairs = builtin_voxels("chair", args.count, 32)[0].astype("float32")  # (N, 32, 32, 32), 0 or 1
        labels = [str(i) for i in range(args.count)]
        result["builtin_chairs"] = {
            "picture": seconds(lambda: render_mosaic(chairs, ncols=4, size=TILE_SIZE, labels=labels), args.repeats),
            "meshes": seconds(lambda: write_meshes(chairs[0], Path(tmp), "chair", 0.5), args.repeats),
        }
        if args.model is not None:
            trained = DemoModel.load(args.model, Path(tmp) / "app-model", device="cpu")
            result["model"] = {"path": str(args.model), **interactions(trained, args.count, args.repeats)}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
