"""The one JSON reader: missing, malformed and mistyped files are one-line errors naming the file."""

import pytest

from shapespace.errors import CheckpointError, DataError
from shapespace.io.jsonfile import read_json, read_json_lines


def test_reads_an_object_or_a_list(tmp_path):
    (tmp_path / "a.json").write_text('{"step": 3}')
    (tmp_path / "b.json").write_text("[1, 2]")
    assert read_json(tmp_path / "a.json", "run config") == {"step": 3}
    assert read_json(tmp_path / "b.json", "list", expect=list) == [1, 2]


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (None, "no such file"),
        ("{not json", "invalid JSON (Expecting property name enclosed in double quotes at line 1, column 2)"),
        ("\n\n[1, 2", "invalid JSON (Expecting ',' delimiter at line 3, column 6)"),
        ("[1, 2]", "expected a JSON object, found a JSON array"),
        ("null", "expected a JSON object, found null"),
        (b"\xff\xfe{}", "not UTF-8 text"),
    ],
)
def test_bad_files_are_named_with_what_is_wrong(tmp_path, content, why):
    path = tmp_path / "config.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(CheckpointError) as info:
        read_json(path, "run config", error=CheckpointError)
    assert str(info.value) == f"{path}: not a readable run config: {why}"


def test_a_folder_is_not_a_json_file(tmp_path):
    with pytest.raises(DataError, match=f"^{tmp_path}: not a readable cache description: a folder, not a file$"):
        read_json(tmp_path, "cache description")


def test_json_lines_name_the_bad_line(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"step": 1}\n\n{"step": 2}\n')
    assert read_json_lines(path, "training log") == [{"step": 1}, {"step": 2}]
    path.write_text('{"step": 1}\n{"step": 2\n')
    with pytest.raises(DataError, match="line 2, column 11"):
        read_json_lines(path, "training log")
    path.write_text('{"step": 1}\n[2]\n')
    with pytest.raises(DataError, match="line 2 holds a JSON array, expected a JSON object"):
        read_json_lines(path, "training log")
