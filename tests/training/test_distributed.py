"""Data-parallel training with torchrun on CPUs (gloo, 2 processes, a tiny model).

Two processes with a global batch of B train the same weights as one process with batch B
(within float rounding: the gradients and BatchNorm statistics are summed in another
order); resume under two processes is exact; rank 0 alone writes; a process that dies
stops the others with a message instead of a hang.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
from safetensors.torch import load_file

from conftest import REPO_ROOT
from shapespace.errors import ConfigError
from shapespace.training.config import GANTrainConfig
from shapespace.training.distributed import Distributed
from shapespace.training.gan_trainer import GANTrainer

# Two processes agree with one to within this (fp32; sums in another order).
TOLERANCE = 1e-5
TRAIN = ["train", "gan", "--data", "builtin:chair", "--preset", "tiny-16", "--batch-size", "8", "--precision", "fp32",
         "--log-every", "1", "--sample-every", "0", "--checkpoint-minutes", "0", "--no-progress", "--device", "cpu"]  # fmt: skip
RECIPES = {
    # R1 on a layer-norm D; G's BatchNorm over the global batch
    "robust": ["--recipe", "robust", "--generator-ema", "0"],
    # BatchNorm in D on a joint batch, instance noise, flips and the weight average
    "fast": ["--recipe", "fast", "--augment", "flip"],
}


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO_ROOT / "src"), "OMP_NUM_THREADS": "1"}


def _launch(processes: int, *args: str) -> list[str]:
    if processes == 1:
        return [sys.executable, "-m", "shapespace", *args]
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={processes}", "-m", "shapespace", *args]


def _train(processes: int, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    result = subprocess.run(_launch(processes, *args), env=_env(), capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, "\n".join(l for l in result.stderr.splitlines() if "rank1" not in l)[-3000:]
    return result


def _weights(run_dir: Path) -> dict[str, torch.Tensor]:
    return load_file(run_dir / "model" / "model.safetensors")


def _largest_difference(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    assert a.keys() == b.keys()
    return max((a[k].double() - b[k].double()).abs().max().item() for k in a)


@pytest.mark.parametrize("recipe", sorted(RECIPES))
def test_two_processes_train_the_weights_of_one_with_the_same_global_batch(tmp_path, recipe):
    _train(1, *TRAIN, *RECIPES[recipe], "--steps", "4", "--out", str(tmp_path / "one"))
    _train(2, *TRAIN, *RECIPES[recipe], "--steps", "4", "--out", str(tmp_path / "two"))
    one, two = _weights(tmp_path / "one"), _weights(tmp_path / "two")
    assert _largest_difference(one, two) < TOLERANCE
    # Not trivially: the weights moved from their initial values.
    _train(1, *TRAIN, *RECIPES[recipe], "--steps", "1", "--out", str(tmp_path / "start"))
    assert _largest_difference(one, _weights(tmp_path / "start")) > 100 * TOLERANCE


VAE_TRAIN = ["train", "vae-gan", "--data", "builtin:chair", "--count", "16", "--preset", "tiny-16", "--batch-size", "4", "--steps", "3",
             "--precision", "fp32", "--log-every", "1", "--sample-every", "0", "--no-progress", "--device", "cpu"]  # fmt: skip


def test_two_processes_train_the_3d_vae_gan_of_one(tmp_path):
    _train(1, *VAE_TRAIN, "--out", str(tmp_path / "one"))
    _train(2, *VAE_TRAIN, "--out", str(tmp_path / "two"))
    one, two = _weights(tmp_path / "one"), _weights(tmp_path / "two")
    # Per tensor, relative to its size: the encoder has weights whose first gradients are
    # ~1e-9, sums of terms near 1e-2 that cancel, so rounding changes them wholly and Adam
    # (which divides a gradient by its own size) moves those few weights differently.
    for name in one:
        a, b = one[name].double(), two[name].double()
        assert (a - b).norm() <= 1e-4 * max(a.norm().item(), 1e-6), name


def test_resume_under_two_processes_is_exact_and_needs_two(tmp_path):
    _train(2, *TRAIN, *RECIPES["robust"], "--steps", "4", "--out", str(tmp_path / "straight"))
    _train(2, *TRAIN, *RECIPES["robust"], "--steps", "2", "--out", str(tmp_path / "split"))
    _train(2, *TRAIN, *RECIPES["robust"], "--steps", "4", "--out", str(tmp_path / "split"), "--resume")
    straight, split = _weights(tmp_path / "straight"), _weights(tmp_path / "split")
    assert all(torch.equal(straight[k], split[k]) for k in straight)
    refused = subprocess.run(_launch(1, *TRAIN, *RECIPES["robust"], "--steps", "6", "--out", str(tmp_path / "split"), "--resume"),
                             env=_env(), capture_output=True, text=True, timeout=120)  # fmt: skip
    assert refused.returncode == 2
    assert "was trained by 2 process(es) and this is 1; resume it with 2" in refused.stderr


@pytest.fixture
def one_member_group():
    """A real gloo process group of one, so that a trainer can be told it is rank 1 of 2."""
    dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=1)
    yield
    dist.destroy_process_group()


def test_only_rank_0_writes_the_run_folder(tiny_config, box_set, tmp_path, one_member_group, single_thread):
    recipe = GANTrainConfig(steps=3, batch_size=8, sample_every=1, checkpoint_every=1, log_every=1, seed=3, precision="fp32")
    second = GANTrainer(tiny_config, recipe, box_set, tmp_path / "run", device="cpu", progress=False, distributed=Distributed(rank=1, world_size=2))
    summary = second.train()
    assert summary["steps"] == 3 and second.step == 3
    assert not (tmp_path / "run").exists()  # no config, metrics, pictures, checkpoints or lock
    first = GANTrainer(tiny_config, recipe, box_set, tmp_path / "run", device="cpu", progress=False, distributed=Distributed(rank=0, world_size=2))
    first.train()
    assert {p.name for p in (tmp_path / "run").iterdir()} >= {"config.json", "metrics.jsonl", "model", "state", "samples"}


def test_a_global_batch_must_split_evenly(tiny_config, box_set, tmp_path):
    recipe = GANTrainConfig(steps=1, batch_size=9)
    with pytest.raises(ConfigError, match="batch_size 9 does not split evenly among 2 processes"):
        GANTrainer(tiny_config, recipe, box_set, tmp_path / "run", device="cpu", distributed=Distributed(rank=0, world_size=2))


def test_a_process_that_dies_stops_the_run_with_a_message(tmp_path):
    run_dir = tmp_path / "run"
    launcher = subprocess.Popen(_launch(2, *TRAIN, *RECIPES["robust"], "--steps", "100000", "--out", str(run_dir)), env=_env(),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while not ((run_dir / "metrics.jsonl").is_file() and (run_dir / "metrics.jsonl").read_text().count("\n") >= 3):
            assert time.monotonic() < deadline and launcher.poll() is None, "training did not start"
            time.sleep(0.1)
        os.kill(_worker_of_rank(launcher.pid, 1), signal.SIGKILL)
        _, stderr = launcher.communicate(timeout=60)  # a hang fails here
    finally:
        if launcher.poll() is None:
            os.killpg(launcher.pid, signal.SIGKILL)
    assert launcher.returncode != 0
    assert "shapespace: error: rank 0 of 2: the process group broke at step" in stderr
    assert "start the same command with --resume" in stderr


def _worker_of_rank(launcher_pid: int, rank: int) -> int:
    """The pid of torchrun's worker process with ``RANK=rank`` (from /proc)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) != launcher_pid:
                continue
            environment = (entry / "environ").read_bytes().split(b"\0")
        except (OSError, ValueError, IndexError):
            continue
        if f"RANK={rank}".encode() in environment:
            return int(entry.name)
    raise AssertionError(f"no worker of rank {rank} under process {launcher_pid}")
