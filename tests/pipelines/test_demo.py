import json

import numpy as np
import pytest

from shapespace.errors import CheckpointError
from shapespace.pipelines.demo import DemoSettings, run_demo

# The demo path end to end with a toy model and small sets (make demo trains paper-32).
TINY = DemoSettings(preset="tiny-16", train_count=24, quality_samples=8, heldout_per_class=10)


def test_demo_writes_pictures_meshes_and_a_quality_report(tmp_path):
    """One training step of the demo path: every output is there, the measures are exact."""
    out = tmp_path / "demo"
    report = run_demo(out, steps=1, device="cpu", progress=False, settings=TINY)
    names = sorted(p.name for p in out.iterdir())
    assert names == ["interpolation.png", "quality.json", "run", "samples.npy", "samples.png"] + [
        f"samples_{i:03d}.obj" for i in range(16)
    ]
    samples = np.load(out / "samples.npy")
    assert samples.shape == (16, 16, 16, 16) and samples.dtype == np.float32
    saved = json.loads((out / "quality.json").read_text())
    assert saved == report
    assert report["steps"] == 1 and report["recipe"] == "robust" and report["latent_prior"] == "normal"
    assert report["recipe_changes"] == {"lr_generator": 1e-3, "lr_discriminator": 1e-3, "batch_size": 8}
    assert report["quality"]["samples"] == 8 and report["preset"] == "tiny-16"
    quality = report["quality"]
    # Held-out and training chairs only (the fixed built-in data set), rounded to 4 places.
    assert (quality["reference_spread"], quality["heldout_nn_distance_train"]) == (0.7995, 0.4461)
    assert quality["reference_whole_fraction"] == 1.0  # every held-out built-in chair is in one piece, even at 16^3
    # After one step every sample is a distinct, non-empty blob nearer a bulky bed, sofa or
    # bookcase than any chair (the same with fp32 or bf16 and on any number of threads).
    assert (quality["nn_class_accuracy"], quality["distinct_fraction"], quality["empty_fraction"]) == (0.0, 1.0, 0.0)
    deviations = report["deviations_from_paper"]
    assert deviations["lr_generator"] == {"value": 1e-3, "paper": 0.0025} and deviations["r1_gamma"] == {"value": 1.0, "paper": 0.0}
    run_config = json.loads((out / "run" / "config.json").read_text())
    assert (run_config["training"]["batch_size"], run_config["training"]["lr_discriminator"]) == (8, 1e-3)
    with pytest.raises(CheckpointError, match="overwrite"):
        run_demo(out, steps=1, device="cpu", progress=False, settings=TINY)
