"""``shapespace demo``: train a 3D-GAN on built-in chairs, then show and measure what it learned.

Writes into ``OUT`` (default ``runs/demo``)::

    OUT/run/                    the training run (model/, state/, samples/, config.json, ...)
    OUT/samples.png             16 samples, shaded, in a grid
    OUT/samples.npy             their occupancy probabilities (16, 32, 32, 32), canonical frame
    OUT/samples_NNN.obj         their marching-cubes meshes
    OUT/interpolation.png       8 shapes between the latents of seeds 0 and 1
    OUT/quality.json            sample quality against held-out built-in shapes
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shapespace.data.builtin import CLASSES
from shapespace.data.sources import load_voxel_set
from shapespace.errors import CheckpointError
from shapespace.io.atomic import write_text_atomic
from shapespace.metrics.quick_quality import quick_quality
from shapespace.models import get_preset
from shapespace.models.prior import latents_for_seeds
from shapespace.pipelines.sampling import interpolate_shapes, sample_shapes, write_shapes
from shapespace.training.config import GAN_RECIPES, recipe_architecture
from shapespace.training.gan_trainer import GANTrainer



@dataclass(frozen=True)
class DemoSettings:
    """What the demo trains and how much it measures; the defaults are ``make demo``'s.

    Attributes:
        preset: the model preset. ``lite-32``: a quarter of ``paper-32``'s work per shape, so
            several times more steps fit in the demo's minutes (README, "What make demo does").
        data: the built-in class to train on.
        recipe: the training recipe (its architecture changes apply too).
        recipe_changes: fields of the recipe that the demo sets otherwise, as (name, value)
            pairs. The robust recipe's learning rates are for long runs; in the demo's six
            minutes on the procedural chairs, higher rates and smaller batches (more steps)
            gave samples nearer the chairs and more of them in one piece (measured, README).
        steps: generator updates (about 6 minutes on two CPU cores).
        latent_prior: N(0, 0.33) latents ("normal"): with the release's U[0, 1) all latents
            share a large common component and short runs produce nearly one shape (the
            paper's prior is a named choice, docs/paper.md section 1).
        train_count: built-in training shapes (None: the built-in default, 1000).
        quality_samples: samples measured for ``quality.json``.
        heldout_per_class: held-out chairs, and held-out shapes of the other classes together.
    """

    preset: str = "lite-32"
    data: str = "builtin:chair"
    recipe: str = "robust"
    recipe_changes: tuple[tuple[str, Any], ...] = (("lr_generator", 1e-3), ("lr_discriminator", 1e-3), ("batch_size", 8))
    steps: int = 1800
    latent_prior: str = "normal"
    train_count: int | None = None
    quality_samples: int = 200
    heldout_per_class: int = 200


def run_demo(
    out: str | Path = "runs/demo",
    steps: int | None = None,
    seed: int = 0,
    device: str = "auto",
    progress: bool = True,
    overwrite: bool = False,
    settings: DemoSettings = DemoSettings(),
) -> dict[str, Any]:
    """Train, sample, mesh, interpolate and measure; returns the report (also in quality.json)."""
    demo = settings
    demo_started = time.perf_counter()
    out = Path(out)
    run_dir = out / "run"
    if run_dir.exists():
        if not overwrite:
            raise CheckpointError(f"{out} already holds a demo; pass `overwrite` to replace it or choose another `out`")
        shutil.rmtree(run_dir)
    config = recipe_architecture(demo.recipe, get_preset(demo.preset)).replace(latent_prior=demo.latent_prior)
    steps = steps or demo.steps
    recipe = GAN_RECIPES.get(demo.recipe).replace(**dict(demo.recipe_changes), seed=seed, steps=steps)
    train = load_voxel_set(demo.data, config.resolution, count=demo.train_count)
    changes = "".join(f", {name} {value}" for name, value in demo.recipe_changes)
    print(
        f"demo: training {demo.preset} on {demo.data} ({len(train)} shapes) for {recipe.steps} steps "
        f"with the '{demo.recipe}' recipe{changes} and the {demo.latent_prior} latent prior "
        f"(deviations from the paper: {', '.join({**config.deviations(), **recipe.deviations()})})",
        file=sys.stderr,
    )
    started = time.perf_counter()
    trainer = GANTrainer(config, recipe, train, run_dir, device=device, progress=progress)
    trainer.train()
    train_seconds = time.perf_counter() - started

    model = trainer.inference_model()  # the averaged generator when the recipe keeps one
    written = write_shapes(sample_shapes(model, 16, seed=seed), out, ("npy", "png", "obj"), name="samples", ncols=4)
    z = latents_for_seeds(model.config, [seed, seed + 1])
    write_shapes(interpolate_shapes(model, z[0], z[1], steps=8), out, ("png",), name="interpolation", ncols=8)

    heldout_chairs = load_voxel_set(demo.data, config.resolution, split="test", count=demo.heldout_per_class).voxels
    others = [c for c in CLASSES if c not in demo.data.removeprefix("builtin:").split(",")]
    heldout_other = load_voxel_set(
        "builtin:" + ",".join(others), config.resolution, split="test", count=demo.heldout_per_class // len(others)
    ).voxels
    samples = sample_shapes(model, demo.quality_samples, seed=seed + 1000)
    quality = quick_quality(samples, train.voxels, heldout_chairs, heldout_other)
    report = {
        "preset": demo.preset,
        "data": demo.data,
        "recipe": demo.recipe,
        "recipe_changes": dict(demo.recipe_changes),
        "latent_prior": demo.latent_prior,
        "deviations_from_paper": {**config.deviations(), **recipe.deviations()},
        "steps": trainer.step,
        "device": str(trainer.device),
        "precision": trainer.precision,
        "train_seconds": round(train_seconds, 1),
        "wall_seconds": None,  # filled in below, once everything is written
        "quality": {k: round(v, 4) if isinstance(v, float) else v for k, v in quality.items()},
        "outputs": {
            "samples_png": str(out / "samples.png"),
            "interpolation_png": str(out / "interpolation.png"),
            "samples_npy": str(out / "samples.npy"),
            "meshes": f"{out}/samples_000.obj ... samples_{len(written['obj']) - 1:03d}.obj",
            "run": str(run_dir),
        },
    }
    report["wall_seconds"] = round(time.perf_counter() - demo_started, 1)
    write_text_atomic(out / "quality.json", json.dumps(report, indent=2) + "\n")
    print(f"demo: samples in {out / 'samples.png'}, meshes in {out}/samples_*.obj, interpolation in {out / 'interpolation.png'}", file=sys.stderr)
    return report
