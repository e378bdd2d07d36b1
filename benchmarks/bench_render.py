"""Benchmark: the on-the-fly photo renderer against the 3D-VAE-GAN training step it feeds.

Prints one JSON object:

* ``render``: images per second of :func:`shapespace.rendering.photos.render_photos` (random
  view, light, material, background) for 32^3 shapes at the encoder's input size, per batch;
* ``render_cluttered``: the same with ``--clutter``, ``--occluders``, ``--texture`` and
  ``--blur`` (defaults 0.5, 0.3, 0.5 and 0.3, the README's run): a cluttered image renders a
  second shape for its background;
* ``train_step``: seconds of one full ``VAEGANTrainer.train_step`` (render, E, G, D) with the
  ``fast`` recipe at the same batch size;
* ``render_fraction`` / ``render_cluttered_fraction``: the share of the step spent rendering.

Target (issue #4): rendering is never the bottleneck, i.e. a small fraction of the step.

    python benchmarks/bench_render.py [--batch 16] [--encoder cpu-64] [--repeats 5] [--clutter 0.5] [--occluders 0.3]
        [--texture 0.5] [--blur 0.3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time

import torch

from shapespace.data.sources import load_voxel_set
from shapespace.models import get_preset
from shapespace.models.encoder import get_encoder_preset
from shapespace.rendering.photos import PhotoSettings, render_photos
from shapespace.training.vaegan_config import VAE_RECIPES
from shapespace.training.vaegan_trainer import VAEGANTrainer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=16, help="shapes per batch (the fast recipe's 16)")
    parser.add_argument("--encoder", default="cpu-64", help="encoder preset, which sets the image size")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--clutter", type=float, default=0.5, help="chance of a cluttered background (PhotoSettings.clutter)")
    parser.add_argument("--occluders", type=float, default=0.3, help="chance of an occluding band (PhotoSettings.occluders)")
    parser.add_argument("--texture", type=float, default=0.5, help="chance of a patterned object (PhotoSettings.texture)")
    parser.add_argument("--blur", type=float, default=0.3, help="chance of a blurred photo (PhotoSettings.blur)")
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)

    data = load_voxel_set("builtin:all", 32, count=max(4, args.batch))
    shapes = data.voxels[: args.batch]
    encoder = get_encoder_preset(args.encoder)
    size = encoder.image_size

    def time_renders(settings: PhotoSettings) -> float:
        times = []
        for i in range(args.repeats + 1):
            g = torch.Generator().manual_seed(i)
            started = time.perf_counter()
            render_photos(shapes, size, g, settings)
            if i:  # the first call warms up
                times.append(time.perf_counter() - started)
        return statistics.median(times)

    render_s = time_renders(PhotoSettings())
    busy = PhotoSettings(clutter=args.clutter, occluders=args.occluders, texture=args.texture, blur=args.blur)
    cluttered_s = time_renders(busy)

    model_config = get_preset("paper-32").replace(latent_prior="normal")
    recipe = VAE_RECIPES.get("fast").replace(batch_size=args.batch, sample_every=0, checkpoint_every=0)
    with tempfile.TemporaryDirectory() as tmp:
        trainer = VAEGANTrainer(model_config, encoder, recipe, data, os.path.join(tmp, "run"), device="cpu", progress=False)
        step_times = []
        for i in range(args.repeats + 1):
            started = time.perf_counter()
            trainer.train_step()
            if i:
                step_times.append(time.perf_counter() - started)

    step_s = statistics.median(step_times)
    print(json.dumps({
        "batch": args.batch,
        "image_size": size,
        "resolution": 32,
        "threads": torch.get_num_threads(),
        "render": {"seconds_per_batch": round(render_s, 4), "images_per_second": round(args.batch / render_s, 1)},
        "render_cluttered": {
            "clutter": args.clutter, "occluders": args.occluders, "texture": args.texture, "blur": args.blur,
            "seconds_per_batch": round(cluttered_s, 4), "images_per_second": round(args.batch / cluttered_s, 1),
        },
        "train_step": {"seconds": round(step_s, 3), "precision": trainer.precision, "recipe": "fast"},
        "render_fraction": round(render_s / step_s, 3),
        "render_cluttered_fraction": round(cluttered_s / step_s, 3),
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
