"""Benchmark: preparing real data into caches, and loading batches from a cache.

Prints one JSON object:

* ``prepare``: files per second of ``shapespace data prepare`` at 32^3 on all 10,668 files of
  ``../shared/data/modelnet10-chair-vox30`` (``--views all``) and all 4,899 point clouds of
  ``../shared/data/modelnet10-pcd``, with every core;
* ``cache_batches_per_second``: random batches of 64 grids from the chair cache
  (memory-mapped, unpacked to uint8 tensors, as the trainer draws them);
* ``train_steps_per_second``: full ``paper-32`` training steps (D and G) at batch 64 with the
  ``paper`` recipe on this machine, and the ratio of the two rates.

Target (issue #3): loading from the cache is never the bottleneck -- at least 20x the
training step rate.

    python benchmarks/data_prepare.py [--data ../shared/data] [--out runs/bench-data] [--train-steps 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import torch

from shapespace.data.cache import open_cache
from shapespace.data.sources import VoxelSet
from shapespace.models import get_preset
from shapespace.pipelines.datasets import prepare
from shapespace.training.config import GAN_RECIPES
from shapespace.training.gan_trainer import GANTrainer

REPO_ROOT = Path(__file__).resolve().parents[1]
TARGET_RATIO = 20.0
BATCH = 64


def time_prepare(source: Path, out: Path, views: str) -> dict:
    started = time.perf_counter()
    summary = prepare(str(source), out, resolution=32, views=views, progress=False, overwrite=True)
    seconds = time.perf_counter() - started
    return {"source": str(source), "files": summary["shapes"] + summary["skipped"], "seconds": round(seconds, 2),
            "files_per_second": round((summary["shapes"] + summary["skipped"]) / seconds, 1)}  # fmt: skip


def cache_batches_per_second(cache_dir: Path, batches: int = 300) -> float:
    voxels = open_cache(cache_dir).voxels
    rng = torch.Generator().manual_seed(0)
    started = time.perf_counter()
    for _ in range(batches):
        batch = voxels[torch.randint(0, len(voxels), (BATCH,), generator=rng)]
        batch.to(torch.float32)
    return batches / (time.perf_counter() - started)


def train_steps_per_second(cache_dir: Path, steps: int) -> float:
    cache = open_cache(cache_dir)
    data = VoxelSet(cache.voxels, torch.zeros(len(cache.voxels), dtype=torch.long), ("chair",), str(cache_dir))
    config = GAN_RECIPES.get("paper").replace(batch_size=BATCH, steps=steps + 1, sample_every=0, checkpoint_every=0)
    with tempfile.TemporaryDirectory() as run:
        trainer = GANTrainer(get_preset("paper-32"), config, data, Path(run) / "run", device="cpu", progress=False)
        trainer.train_step()  # warm-up: allocator, kernels
        started = time.perf_counter()
        for _ in range(steps):
            trainer.train_step()
        return steps / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO_ROOT.parent / "shared" / "data", help="the shared data folder")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "runs" / "bench-data", help="where the caches go (replaced)")
    parser.add_argument("--train-steps", type=int, default=3, help="timed training steps")
    args = parser.parse_args()

    chairs, clouds = args.data / "modelnet10-chair-vox30", args.data / "modelnet10-pcd"
    for folder in (chairs, clouds):
        if not folder.is_dir():
            raise SystemExit(f"benchmark needs {folder} (see ../shared/data/README.md)")
    args.out.mkdir(parents=True, exist_ok=True)
    prepare_chairs = time_prepare(chairs, args.out / "chairs-32", views="all")
    prepare_clouds = time_prepare(clouds, args.out / "modelnet10-pcd-32", views="first")
    loading = cache_batches_per_second(args.out / "chairs-32")
    training = train_steps_per_second(args.out / "chairs-32", args.train_steps)
    ratio = loading / training
    print(
        json.dumps(
            {
                "cpu_cores": os.cpu_count(),
                "torch_threads": torch.get_num_threads(),
                "prepare": {"modelnet10_chair_vox30": prepare_chairs, "modelnet10_pcd": prepare_clouds},
                "cache_batches_per_second": round(loading, 1),
                "batch_size": BATCH,
                "train_steps_per_second": round(training, 4),
                "train_step": "paper-32, paper recipe (fp32), batch 64, D and G step",
                "cache_to_train_ratio": round(ratio, 1),
                "targets": {"cache_to_train_ratio_min": TARGET_RATIO},
                "met": {"cache_to_train_ratio": ratio >= TARGET_RATIO},
            },
            indent=2,
        )
    )
    shutil.rmtree(args.out, ignore_errors=True)


if __name__ == "__main__":
    main()
