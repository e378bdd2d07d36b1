import os

import pytest

from shapespace.io.atomic import write_text_atomic, write_with_atomic


def test_write_replaces_content_with_plain_file_permissions(tmp_path):
    target = tmp_path / "sub" / "report.json"
    write_text_atomic(target, "first")
    write_text_atomic(target, "second")
    assert target.read_text() == "second"
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    assert os.stat(target).st_mode & 0o777 == os.stat(plain).st_mode & 0o777
    assert sorted(p.name for p in target.parent.iterdir()) == ["report.json"]


def test_failed_write_keeps_the_previous_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "mesh.obj"
    write_text_atomic(target, "old")

    def broken_writer(tmp):
        assert tmp.suffix == ".obj"  # libraries that pick a format from the name still work
        tmp.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_with_atomic(target, broken_writer)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["mesh.obj"]
