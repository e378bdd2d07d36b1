"""Output paths checked before any work: the kind, the ancestors, and writability."""

import errno
import os
from pathlib import Path

import pytest

from shapespace.errors import OutputError, ShapespaceError
from shapespace.io import paths
from shapespace.io.paths import check_output_path, nearest_existing


def test_new_and_existing_paths_of_the_right_kind_pass_and_nothing_is_left(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "old.json").write_text("{}")
    assert check_output_path(tmp_path / "a" / "b" / "x.json", "file") == tmp_path / "a" / "b" / "x.json"
    assert check_output_path(tmp_path / "old.json", "file") == tmp_path / "old.json"
    assert check_output_path(tmp_path / "run", "dir") == tmp_path / "run"  # --resume, --overwrite
    assert check_output_path(tmp_path / "new" / "run", "dir") == tmp_path / "new" / "run"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.json", "run"], "no probe file and no folder is left"
    assert list((tmp_path / "run").iterdir()) == []


def test_wrong_kinds_and_file_ancestors_are_refused_naming_the_parameter(tmp_path):
    (tmp_path / "afile").write_text("x")
    (tmp_path / "adir").mkdir()
    cases = [
        (tmp_path / "afile", "dir", f"`out` {tmp_path / 'afile'}: is a file, not a folder"),
        (tmp_path / "adir", "file", f"`out` {tmp_path / 'adir'}: is a folder, not a file"),
        (tmp_path / "afile" / "x.json", "file", f"`out` {tmp_path / 'afile' / 'x.json'}: {tmp_path / 'afile'} is a file, not a folder"),
        (tmp_path / "afile" / "a" / "b", "dir", f"`out` {tmp_path / 'afile' / 'a' / 'b'}: {tmp_path / 'afile'} is a file, not a folder"),
    ]
    for path, kind, message in cases:
        with pytest.raises(OutputError) as info:
            check_output_path(path, kind)
        assert info.value.message == message
        assert isinstance(info.value, ShapespaceError)
    with pytest.raises(OutputError, match="^cache "):
        check_output_path(tmp_path / "afile", "dir", parameter="cache")


def test_writability_is_probed_by_creating_a_file(tmp_path, monkeypatch):
    """os.access says yes to root on a read-only file system; a real file says the truth."""
    def read_only(directory):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(paths, "probe_writable", read_only)
    with pytest.raises(OutputError, match=f"cannot write in {tmp_path} \\(Read-only file system\\)$"):
        check_output_path(tmp_path / "new" / "x.png", "file")


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc")
def test_a_folder_nobody_can_write_in_is_refused():
    """Not even root may create files in /proc."""
    with pytest.raises(OutputError, match="^out /proc/shapespace/x.png: cannot write in /proc \\("):
        check_output_path("/proc/shapespace/x.png", "file")


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root may write in a read-only folder")
def test_a_read_only_folder_is_refused(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    try:
        with pytest.raises(OutputError, match="Permission denied"):
            check_output_path(locked / "run", "dir")
    finally:
        locked.chmod(0o755)


def test_nearest_existing_ancestor(tmp_path):
    assert nearest_existing(tmp_path / "a" / "b") == tmp_path
    assert nearest_existing(tmp_path) == tmp_path
