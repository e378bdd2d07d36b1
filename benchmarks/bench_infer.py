"""Benchmark: sampling shapes and exporting meshes, the project's pipeline against plain code.

Prints one JSON object. For each preset (``paper-32``: 32^3, ``paper-64``: 64^3), in one
process and alternating, repeat after repeat:

* sampling, shapes per second for ``--shapes`` shapes (default 32, one batch) from latents of
  one seed:

  - ``project``: :func:`shapespace.pipelines.sampling.sample_shapes` on a model loaded with
    :func:`~shapespace.pipelines.sampling.load_gan` -- as ``shapespace sample`` does: bf16
    autocast on CPUs with native bf16, channels-last 3D weights, batches of 32;
  - ``reference``: ``ShapeGAN.from_pretrained`` and ``G(z)`` on all latents at once under
    ``torch.no_grad()`` in eval mode: fp32, contiguous, as typical sampling scripts do;

  with the largest difference between their occupancy probabilities, and the achieved GFLOP/s
  of G's forward pass (2 FLOPs per multiply-add of its (transposed) convolutions, counted from
  the config; BatchNorm and activations not counted) against the measured bf16 matmul peak.
  The networks have their random initial weights (speed does not depend on them);

* mesh export, seconds per shape, for built-in chairs (solid 0/1 grids like a trained G's
  outputs after thresholding, at the preset's resolution) written as ``.obj``:

  - ``project``: :func:`~shapespace.geometry.mesh.voxels_to_mesh` + :func:`~shapespace.io.meshes.write_mesh`
    (padded marching cubes in the world frame, outward faces, atomic write);
  - ``reference``: ``skimage.measure.marching_cubes`` on the padded grid and
    ``trimesh.Trimesh(vertices, faces).export(path)``.

Target (issue #6): sampling at least 2x the reference.

    python benchmarks/bench_infer.py [--presets paper-32,paper-64] [--shapes 32] [--repeats 5] [--warmup 1] [--quick]
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import trimesh
from skimage import measure

from shapespace.data.builtin import builtin_voxels
from shapespace.geometry.mesh import voxels_to_mesh
from shapespace.io.meshes import write_mesh
from shapespace.models import ShapeGAN, get_preset
from shapespace.models.prior import sample_latents
from shapespace.pipelines.sampling import generate_from_latents, load_gan, sample_shapes
from shapespace.training.runtime import cpu_has_native_bf16, resolve_precision

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_train import matmul_peak, step_flops, time_interleaved  # noqa: E402

PRESETS = ("paper-32", "paper-64")
TARGETS = {"sampling_speedup_min": 2.0}
SEED = 0


def reference_sample(model: ShapeGAN, z: torch.Tensor) -> torch.Tensor:
    """Plain sampling: fp32 G on all latents at once. (N, latent_dim) -> (N, R, R, R)."""
    model.generator.eval()
    with torch.no_grad():
        return model.generator(z)[:, 0]


def reference_mesh(volume: np.ndarray, path: Path) -> None:
    """Plain mesh export: marching cubes on the padded grid, written by trimesh."""
    vertices, faces, _normals, _values = measure.marching_cubes(np.pad(volume, 1), level=0.5)
    trimesh.Trimesh(vertices=vertices, faces=faces).export(path)


def bench_sampling(name: str, args: argparse.Namespace, folder: Path, bf16_peak: float) -> dict[str, Any]:
    config = get_preset(name)
    torch.manual_seed(SEED)
    ShapeGAN(config).save_pretrained(folder / name)
    project_model = load_gan(folder / name, device="cpu")
    reference_model = ShapeGAN.from_pretrained(folder / name)
    z = sample_latents(config, args.shapes, torch.Generator().manual_seed(SEED))  # what sample_shapes draws
    runners: dict[str, Callable[[], object]] = {
        "project": lambda: sample_shapes(project_model, args.shapes, seed=SEED),
        "reference": lambda: reference_sample(reference_model, z),
    }
    times = time_interleaved(runners, args.warmup, args.repeats)
    difference = float((sample_shapes(project_model, args.shapes, seed=SEED) - reference_sample(reference_model, z)).abs().max())
    g_flops = step_flops(config, 1)["g_forward_per_sample"]
    out: dict[str, Any] = {"shapes_per_call": args.shapes}
    for side, seconds in times.items():
        rate = args.shapes / statistics.median(seconds)
        out[side] = {
            "shapes_per_second": round(rate, 2),
            "seconds_per_call": [round(s, 4) for s in seconds],
            "gflops_per_second": round(rate * g_flops / 1e9, 1),
            "fraction_of_bf16_peak": round(rate * g_flops / 1e9 / bf16_peak, 3),
        }
    weight = project_model.generator.blocks[1][0].weight
    out["project"]["settings"] = {
        "precision": resolve_precision("auto", torch.device("cpu")),
        "memory_format": "channels_last" if weight.is_contiguous(memory_format=torch.channels_last_3d) else "contiguous",
        "batch_size": inspect.signature(generate_from_latents).parameters["batch_size"].default,
    }
    out["reference"]["settings"] = {"precision": "fp32", "memory_format": "contiguous", "batch_size": args.shapes}
    out["speedup"] = round(out["project"]["shapes_per_second"] / out["reference"]["shapes_per_second"], 3)
    out["max_abs_probability_difference"] = round(difference, 5)
    return out


def bench_meshes(name: str, args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    resolution = get_preset(name).resolution
    voxels, _labels = builtin_voxels("chair", args.meshes, resolution)
    volumes = [v.astype(np.float32) for v in voxels]
    out_dir = folder / f"meshes-{name}"
    out_dir.mkdir()

    def project() -> None:
        for i, volume in enumerate(volumes):
            write_mesh(voxels_to_mesh(volume), out_dir / f"project_{i:03d}.obj")

    def reference() -> None:
        for i, volume in enumerate(volumes):
            reference_mesh(volume, out_dir / f"reference_{i:03d}.obj")

    times = time_interleaved({"project": project, "reference": reference}, args.warmup, args.repeats)
    faces = [len(voxels_to_mesh(v).faces) for v in volumes]
    out: dict[str, Any] = {"shapes": len(volumes), "mean_faces": round(float(np.mean(faces)))}
    for side, seconds in times.items():
        out[side] = {"seconds_per_shape": round(statistics.median(seconds) / len(volumes), 5)}
    out["speedup"] = round(out["reference"]["seconds_per_shape"] / out["project"]["seconds_per_shape"], 3)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default=",".join(PRESETS), help="comma-separated: paper-32, paper-64")
    parser.add_argument("--shapes", type=int, default=32, help="shapes sampled per timed call")
    parser.add_argument("--meshes", type=int, default=16, help="chairs meshed per timed call")
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per side (median)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed calls per side first")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 warm-up and 3 timed calls, 8 meshes")
    args = parser.parse_args()
    if args.quick:
        args.warmup, args.repeats, args.meshes = 1, 3, 8
    presets = [p.strip() for p in args.presets.split(",") if p.strip()]
    unknown = [p for p in presets if p not in PRESETS]
    if unknown:
        parser.error(f"--presets: unknown {unknown}; choose from {', '.join(PRESETS)}")
    if min(args.shapes, args.meshes, args.repeats) < 1 or args.warmup < 0:
        parser.error("--shapes, --meshes and --repeats must be at least 1, --warmup at least 0")

    torch.set_num_threads(os.cpu_count() or 1)
    load_at_start = os.getloadavg()[0]
    bf16_peak = matmul_peak(torch.bfloat16)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sampling = {name: bench_sampling(name, args, folder, bf16_peak) for name in presets}
        meshes = {name: bench_meshes(name, args, folder) for name in presets}
    report = {
        "machine": {"cpu_cores": os.cpu_count(), "torch_threads": torch.get_num_threads(), "torch": torch.__version__,
                    "native_bf16": cpu_has_native_bf16(), "load_average_1min_at_start": round(load_at_start, 2)},  # fmt: skip
        "bf16_peak_gflops_per_second": round(bf16_peak, 1),
        "warmup_calls": args.warmup,
        "timed_calls": args.repeats,
        "sampling": sampling,
        "mesh_export_obj": meshes,
        "targets": TARGETS,
        "met": {f"{name}_sampling_speedup": r["speedup"] >= TARGETS["sampling_speedup_min"] for name, r in sampling.items()},
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
