"""`shapespace serve`: its flags and one-line errors (the page itself: tests/web)."""

import os
import socket

import pytest
import torch

from shapespace.cli.main import main
from shapespace.models import ShapeGAN, get_preset


def _error(capsys) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("shapespace: error: ")
    return lines[0]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["serve"], "the following arguments are required: RUN_OR_MODEL"),
        (["serve", "run", "--port", "0"], "--port: expected an integer in [1, 65535], got 0"),
        (["serve", "run", "--port", "http"], "--port: expected an integer in [1, 65535], got 'http'"),
    ],
)
def test_bad_flags_exit_2_naming_the_flag(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_a_missing_model_exits_2_naming_it(tmp_path, capsys):
    assert main(["serve", str(tmp_path / "nothing")]) == 2
    assert _error(capsys) == f"shapespace: error: {tmp_path / 'nothing'}: no such run or model folder"


def test_a_port_in_use_exits_2_naming_the_flag(tmp_path, capsys, monkeypatch):
    pytest.importorskip("gradio", reason="Gradio is not installed (pip install 'shapespace[web]')")
    for name in ("GRADIO_ANALYTICS_ENABLED", "GRADIO_TEMP_DIR", "HF_HUB_OFFLINE", "HF_HUB_DISABLE_TELEMETRY", "NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, os.environ.get(name, ""))  # serve sets them for the process; restored after
    torch.manual_seed(0)
    ShapeGAN(get_preset("tiny-16")).save_pretrained(tmp_path / "model")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", str(tmp_path / "model"), "--port", str(port), "--device", "cpu"]) == 2
    assert _error(capsys).startswith(f"shapespace: error: --port {port} on 127.0.0.1 cannot be used (Cannot find empty port")
