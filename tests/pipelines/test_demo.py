import json

import numpy as np
import pytest

from shapespace.errors import CheckpointError
from shapespace.pipelines.demo import run_demo


def test_demo_writes_pictures_meshes_and_a_quality_report(tmp_path):
    """One training step of the real demo (paper-32 on builtin:chair): every output is there."""
    out = tmp_path / "demo"
    report = run_demo(out, steps=1, device="cpu", progress=False)
    names = sorted(p.name for p in out.iterdir())
    assert names == ["interpolation.png", "quality.json", "run", "samples.npy", "samples.png"] + [
        f"samples_{i:03d}.obj" for i in range(16)
    ]
    samples = np.load(out / "samples.npy")
    assert samples.shape == (16, 32, 32, 32) and samples.dtype == np.float32
    saved = json.loads((out / "quality.json").read_text())
    assert saved == report
    assert report["steps"] == 1 and report["recipe"] == "fast" and report["latent_prior"] == "normal"
    assert report["quality"]["samples"] == 200
    assert 0 <= report["quality"]["nn_class_accuracy"] <= 1
    assert report["deviations_from_paper"]["joint_d_batch"] == {"value": True, "paper": False}
    run_config = json.loads((out / "run" / "config.json").read_text())
    assert run_config["training"]["instance_noise_steps"] == 2  # the noise schedule follows --steps
    with pytest.raises(CheckpointError, match="--overwrite"):
        run_demo(out, steps=1, device="cpu", progress=False)
