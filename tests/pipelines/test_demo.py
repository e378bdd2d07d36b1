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
    assert report["steps"] == 1 and report["recipe"] == "fast" and report["latent_prior"] == "normal"
    assert report["quality"]["samples"] == 8 and report["preset"] == "tiny-16"
    quality = report["quality"]
    # Held-out and training chairs only (the fixed built-in data set), rounded to 4 places.
    assert (quality["reference_spread"], quality["heldout_nn_distance_train"]) == (0.7995, 0.4461)
    # After one step every sample is a distinct, non-empty blob nearer a bulky bed, sofa or
    # bookcase than any chair (the same with fp32 or bf16 and on any number of threads).
    assert (quality["nn_class_accuracy"], quality["distinct_fraction"], quality["empty_fraction"]) == (0.0, 1.0, 0.0)
    assert report["deviations_from_paper"]["joint_d_batch"] == {"value": True, "paper": False}
    run_config = json.loads((out / "run" / "config.json").read_text())
    assert run_config["training"]["instance_noise_steps"] == 0  # 0: the noise fades to 0 at twice --steps
    with pytest.raises(CheckpointError, match="overwrite"):
        run_demo(out, steps=1, device="cpu", progress=False, settings=TINY)
