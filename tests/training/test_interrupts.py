"""Interrupt-safe training: SIGINT/SIGTERM save and stop, a second signal aborts, kill -9
loses at most the time since the last checkpoint, and a run folder is held by one process."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from conftest import REPO_ROOT
from shapespace.cli.main import main
from shapespace.errors import CheckpointError
from shapespace.training.config import GANTrainConfig
from shapespace.training.gan_trainer import GANTrainer
from shapespace.training.interrupts import StopRequests, TrainingInterrupted
from shapespace.training.run_folder import RunFolder
from shapespace.training.state import load_training_state


def _recipe(**changes):
    base = GANTrainConfig(steps=6, batch_size=8, sample_every=0, checkpoint_every=0, checkpoint_minutes=0, log_every=1, seed=3)
    return base.replace(**changes)


def _trainer(tiny_config, box_set, run_dir, resume=False, **changes):
    return GANTrainer(tiny_config, _recipe(**changes), box_set, run_dir, device="cpu", resume=resume, progress=False)


def _saved_step(run_dir: Path) -> int:
    return int(load_training_state(Path(run_dir) / "state")[0]["step"])


def test_first_signal_is_a_request_and_a_second_aborts():
    previous = signal.getsignal(signal.SIGINT)
    with StopRequests(announce=lambda message: None) as stop:
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.received == signal.SIGTERM  # no exception: the step in progress finishes
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is previous  # handlers restored


@pytest.mark.parametrize("number, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_after_the_step_with_a_checkpoint_and_resume_is_exact(tiny_config, box_set, tmp_path, single_thread, number, status):
    straight = _trainer(tiny_config, box_set, tmp_path / "straight")
    straight.train()

    def send_at_step_3(record):
        if record["step"] == 3:
            os.kill(os.getpid(), number)

    trainer = _trainer(tiny_config, box_set, tmp_path / "stopped")
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)  # SIG_IGN under nohup
    with pytest.raises(TrainingInterrupted) as caught:
        trainer.train(on_log=send_at_step_3)
    assert (caught.value.step, caught.value.signal_number, caught.value.exit_status) == (3, number, status)
    assert _saved_step(tmp_path / "stopped") == 3
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before  # handlers restored

    resumed = _trainer(tiny_config, box_set, tmp_path / "stopped", resume=True)
    assert resumed.step == 3
    resumed.train()
    for key, value in straight.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[key]), key


def test_a_checkpoint_after_every_n_minutes(tiny_config, box_set, tmp_path, single_thread):
    seen = []
    trainer = _trainer(tiny_config, box_set, tmp_path / "run", checkpoint_minutes=1e-9)  # due after every step
    trainer.train(on_log=lambda record: seen.append(_saved_step(tmp_path / "run") if (tmp_path / "run" / "state").is_dir() else None))
    # A step's log comes before its checkpoint: each line sees the previous step's state.
    assert seen == [None, 1, 2, 3, 4, 5]


def test_a_folder_in_use_is_refused_and_the_lock_goes_with_its_process(tiny_config, box_set, tmp_path, single_thread):
    run_dir = tmp_path / "run"
    with RunFolder(run_dir).lock():
        with pytest.raises(CheckpointError, match=r"out: .* is in use: process \d+ is training into it"):
            _trainer(tiny_config, box_set, run_dir).train()
    _trainer(tiny_config, box_set, run_dir).train()  # released: free again
    with RunFolder(run_dir).lock():
        with pytest.raises(CheckpointError, match="is in use"):
            _trainer(tiny_config, box_set, run_dir, resume=True, steps=8)


def test_processes_checking_a_folder_at_once_do_not_refuse_each_other(tmp_path):
    # On resume every process of a data-parallel run checks the folder; one's probe must not
    # make another's fail (it did now and then when the probe took the exclusive lock).
    import fcntl
    import os

    folder = RunFolder(tmp_path / "run")
    with folder.lock():
        pass  # leaves .lock behind, as a finished run does
    fd = os.open(tmp_path / "run" / ".lock", os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)  # the other process's probe, held
        folder.check_unlocked()
    finally:
        os.close(fd)
    with folder.lock():  # a training process still refuses it
        with pytest.raises(CheckpointError, match="is in use"):
            RunFolder(tmp_path / "run").check_unlocked()


def test_resume_of_a_run_stopped_before_its_first_checkpoint_starts_again(tiny_config, box_set, tmp_path, single_thread):
    run_dir = tmp_path / "run"
    stopped = RunFolder(run_dir)
    stopped.write_config(_trainer(tiny_config, box_set, tmp_path / "scratch").resolved_config())
    stopped.append_metrics({"step": 1, "loss_d": 1.0})  # as a killed process leaves it
    resumed = _trainer(tiny_config, box_set, run_dir, resume=True)
    assert resumed.step == 0 and not stopped.metrics_path.read_text().strip()
    resumed.train()
    assert _saved_step(run_dir) == 6
    # The saved config must still describe the same run.
    other = RunFolder(tmp_path / "other")
    other.write_config(json.loads((run_dir / "config.json").read_text()))
    with pytest.raises(CheckpointError, match="lr_generator"):
        _trainer(tiny_config, box_set, other.path, resume=True, lr_generator=0.5)


# -- the command line, in a process of its own ----------------------------------------------

TRAIN = [sys.executable, "-m", "shapespace", "train", "gan", "--data", "builtin:chair", "--preset", "tiny-16", "--recipe", "fast",
         "--batch-size", "4", "--log-every", "1", "--sample-every", "0", "--checkpoint-every", "0", "--checkpoint-minutes", "0",
         "--no-progress", "--device", "cpu"]  # fmt: skip


def _start(run_dir: Path, steps: int, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "src"), "OMP_NUM_THREADS": "1"}
    command = TRAIN + ["--steps", str(steps), "--out", str(run_dir), *extra]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_steps(process: subprocess.Popen, run_dir: Path, steps: int, timeout: float = 60.0) -> None:
    metrics = run_dir / "metrics.jsonl"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"training ended early: {process.communicate()[1]}")
        if metrics.is_file() and len(metrics.read_text().splitlines()) >= steps:
            return
        time.sleep(0.05)
    process.kill()
    raise AssertionError("training did not reach its steps in time")


@pytest.mark.parametrize("number, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_the_command_saves_on_a_signal_and_says_how_to_resume(tmp_path, number, status):
    run_dir = tmp_path / "run"
    process = _start(run_dir, 100000)
    _wait_for_steps(process, run_dir, 2)
    process.send_signal(number)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == status, stderr
    step = _saved_step(run_dir)
    assert step >= 2
    assert f"interrupted by {signal.Signals(number).name} at step {step}: the checkpoint of step {step} is saved in {run_dir}" in stderr
    assert f"--out {run_dir} --resume" in stderr.splitlines()[-1]
    resumed = _start(run_dir, step + 2, "--resume")
    _, stderr = resumed.communicate(timeout=60)
    assert resumed.returncode == 0, stderr
    assert f"resuming the run in {run_dir} at step {step}" in stderr
    assert _saved_step(run_dir) == step + 2


def test_kill_9_loses_only_the_steps_since_the_last_checkpoint(tmp_path, capsys):
    run_dir = tmp_path / "run"
    process = _start(run_dir, 100000)
    _wait_for_steps(process, run_dir, 2)
    process.kill()  # SIGKILL: no handler runs, no checkpoint, and the lock goes with the process
    process.communicate(timeout=60)
    assert not (run_dir / "state").exists() and (run_dir / "config.json").is_file()
    assert main(["sample", str(run_dir), "--out", str(tmp_path / "samples")]) == 2
    assert "a training run without a model yet (it stopped before its first checkpoint)" in capsys.readouterr().err
    resumed = _start(run_dir, 3, "--resume")
    _, stderr = resumed.communicate(timeout=60)
    assert resumed.returncode == 0, stderr
    assert "at step 0 (it stopped before its first checkpoint)" in stderr
    assert _saved_step(run_dir) == 3
    metrics = [json.loads(line)["step"] for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert metrics == [1, 2, 3]  # the killed process's lines were dropped
