"""The run report: one self-contained HTML page."""

import json

import pytest

from shapespace.cli.main import main
from shapespace.pipelines.report import svg_curve


def test_report_of_a_tiny_run(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "gan", "--data", "builtin:chair", "--preset", "tiny-16", "--out", str(run), "--steps", "2",
                 "--batch-size", "2", "--sample-every", "1", "--log-every", "1", "--no-progress"]) == 0  # fmt: skip
    (run / "eval").mkdir()
    (run / "eval" / "gen.json").write_text(json.dumps({"iou": {"1nna": 0.75}}))
    capsys.readouterr()
    assert main(["report", str(run)]) == 0
    page = (run / "report.html").read_text()
    assert page.startswith("<!doctype html>") and page.count("<svg") == 3
    assert page.count("data:image/png;base64,") == 2  # latest samples and the interpolation strip
    assert "&quot;1nna&quot;: 0.75" in page and "batch_size" in page
    assert "src=\"http" not in page and "src='http" not in page, "nothing is loaded from elsewhere"


def test_report_of_a_non_run_is_an_error(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert "not a run folder" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("name", "content", "why"),
    [
        ("config.json", "garbage", "not a readable run config: invalid JSON (Expecting value at line 1, column 1)"),
        ("config.json", "[1]", "not a readable run config: expected a JSON object, found a JSON array"),
        ("metrics.jsonl", '{"step": 1}\n{"step": 2', "not a readable training log: invalid JSON (Expecting ',' delimiter at line 2, column 11)"),
        ("eval/gen.json", "{", "not a readable evaluation result: invalid JSON (Expecting property name enclosed in double quotes at line 1, column 2)"),
    ],
)
def test_report_names_a_malformed_json_file(tmp_path, capsys, name, content, why):
    run = tmp_path / "run"
    (run / "eval").mkdir(parents=True)
    (run / "config.json").write_text("{}")
    (run / name).write_text(content)
    assert main(["report", str(run)]) == 2
    assert capsys.readouterr().err == f"shapespace: error: {run / name}: {why}\n"
    assert not (run / "report.html").exists()


def test_svg_curve_scales_points_into_the_box():
    svg = svg_curve([0, 10], [1.0, 3.0], "loss", width=100, height=100)
    assert 'points="36.0,64.0 64.0,36.0"' in svg
