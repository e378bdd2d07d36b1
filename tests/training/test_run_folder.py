"""The run folder: what a new run and a resumed run need, and what they refuse."""

import json

import pytest

from shapespace.errors import CheckpointError
from shapespace.training.run_folder import RunFolder, check_resumable


def _resolved(**changes):
    config = {
        "kind": "3d-gan-run",
        "shapespace_version": "0.1.0",
        "model": {"resolution": 16},
        "training": {"steps": 10, "batch_size": 4, "log_every": 1},
        "data": {"source": "builtin:chair", "shapes": 3},
        "resolved": {"device": "cpu"},
        "deviations_from_paper": {},
    }
    for key, value in changes.items():
        config[key] = {**config.get(key, {}), **value} if isinstance(value, dict) else value
    return config


def test_resume_accepts_a_new_budget_and_cadence_and_bookkeeping():
    # Returns without an error: a longer budget, another cadence and another device are the same run.
    assert check_resumable(_resolved(), _resolved(training={"steps": 20, "log_every": 5}, resolved={"device": "cuda"}), "run") is None


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"model": {"resolution": 32}}, "resume: the model config differs from the run in run"),
        ({"encoder": {"image_size": 64}}, "resume: the encoder config differs"),
        ({"data": {"source": "builtin:table"}}, "resume: the run in run was trained on 'builtin:chair', not 'builtin:table'"),
        ({"training": {"batch_size": 8}}, "resume: training settings differ from the saved run: batch_size"),
    ],
)
def test_resume_refuses_another_run(changes, message):
    with pytest.raises(CheckpointError, match=message):
        check_resumable(_resolved(), _resolved(**changes), "run")


def test_a_folder_holds_one_run(tmp_path):
    folder = RunFolder(tmp_path / "run")
    folder.check(resume=False)  # nothing there yet
    with pytest.raises(CheckpointError, match="holds no run to resume"):
        folder.check(resume=True)
    folder.write_config(_resolved())
    with pytest.raises(CheckpointError, match="already holds a run; pass resume"):
        folder.check(resume=False)


def test_metrics_after_the_resumed_step_are_dropped(tmp_path):
    folder = RunFolder(tmp_path / "run")
    folder.path.mkdir()
    for step in (1, 2, 3):
        folder.append_metrics({"step": step, "loss_d": float(step)})
    folder.truncate_metrics(2)
    assert [json.loads(line)["step"] for line in folder.metrics_path.read_text().splitlines()] == [1, 2]


def test_resume_refusals_name_each_field_with_both_values():
    saved = _resolved(model={"resolution": 16, "widths": [8, 16]})
    with pytest.raises(CheckpointError) as info:
        check_resumable(saved, _resolved(model={"resolution": 32, "widths": [8, 16, 32]}), "run")
    assert str(info.value) == (
        "resume: the model config differs from the run in run: resolution 16 in the run, 32 now; widths [8, 16] in the run, [8, 16, 32] now"
    )
    with pytest.raises(CheckpointError) as info:
        check_resumable(_resolved(), _resolved(encoder={"image_size": 64}), "run")
    assert str(info.value) == "resume: the encoder config differs from the run in run: null in the run, {\"image_size\": 64} now"
    with pytest.raises(CheckpointError) as info:
        check_resumable(_resolved(), _resolved(training={"batch_size": 8, "steps": 99}), "run")
    assert str(info.value) == "resume: training settings differ from the saved run: batch_size 4 in the run, 8 now"
