"""Output paths checked before any work starts.

A command that trains for an hour and then finds its ``--out`` under a file, or on a
read-only disk, has wasted the hour; :func:`check_output_path` finds out first.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Literal

from shapespace.errors import OutputError


def nearest_existing(path: Path) -> Path:
    """``path`` itself if it exists, else its closest existing ancestor."""
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return Path.cwd()  # a relative path whose first part does not exist


def probe_writable(directory: Path) -> None:
    """Create and remove a temporary file in ``directory``; raises OSError if that fails.

    ``os.access`` is not enough: it says yes to root on a read-only file system.
    """
    fd, name = tempfile.mkstemp(prefix=".shapespace-probe-", dir=directory)
    os.close(fd)
    os.unlink(name)


def check_output_path(path: str | os.PathLike, kind: Literal["file", "dir"] = "file", parameter: str = "out") -> Path:
    """Check that a file (``kind="file"``) or folder (``kind="dir"``) can be written at ``path``.

    Missing folders on the way are fine (writers create them); an existing folder is fine
    for ``kind="dir"`` and an existing file for ``kind="file"`` (it is replaced). Nothing
    is left behind.

    Raises:
        OutputError: when ``path`` or one of its ancestors is a file where a folder is
            needed, ``path`` is a folder where a file is needed, or the nearest existing
            folder cannot be written in; the message names ``parameter`` and the path.
    """
    if kind not in ("file", "dir"):
        raise ValueError(f"kind must be 'file' or 'dir', got {kind!r}")
    path = Path(path)
    prefix = f"`{parameter}` {path}"
    existing = nearest_existing(path)
    if existing == path:
        if kind == "file" and path.is_dir():
            raise OutputError(f"{prefix}: is a folder, not a file")
        if kind == "dir" and not path.is_dir():
            raise OutputError(f"{prefix}: is a file, not a folder")
        directory = path if kind == "dir" else path.parent
    elif not existing.is_dir():
        raise OutputError(f"{prefix}: {existing} is a file, not a folder")
    else:
        directory = existing
    try:
        probe_writable(directory)
    except OSError as error:
        raise OutputError(f"{prefix}: cannot write in {directory} ({error.strerror or error})") from None
    return path
