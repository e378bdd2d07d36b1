"""The one reader of the package's JSON files (configs, cache descriptions, results).

A missing file, a file that is not JSON, or JSON of the wrong kind becomes a one-line
error naming the file, never a ``JSONDecodeError`` traceback.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from shapespace.errors import DataError, ShapespaceError

_NOUNS = {dict: "a JSON object", list: "a JSON array", str: "a string", int: "a number", float: "a number", bool: "true or false", type(None): "null"}


def _noun(kind: type) -> str:
    return _NOUNS.get(kind, kind.__name__)


def _unreadable(error: type[ShapespaceError], path: Path, what: str, why: str) -> ShapespaceError:
    return error(f"{path}: not a readable {what}: {why}")


def _decode(path: Path, text: str, what: str, error: type[ShapespaceError], line: int | None = None) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {line if line is not None else exc.lineno}, column {exc.colno}"
        raise _unreadable(error, path, what, f"invalid JSON ({exc.msg} at {where})") from None


def _read_text(path: Path, what: str, error: type[ShapespaceError]) -> str:
    if not path.exists():
        raise _unreadable(error, path, what, "no such file")
    if path.is_dir():
        raise _unreadable(error, path, what, "a folder, not a file")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise _unreadable(error, path, what, "not UTF-8 text") from None
    except OSError as exc:
        raise _unreadable(error, path, what, str(exc.strerror or exc)) from None


def read_json(path: str | os.PathLike, what: str, expect: type = dict, error: type[ShapespaceError] = DataError) -> Any:
    """The parsed content of a JSON file whose top level must be an ``expect`` (dict or list).

    Args:
        path: the file.
        what: what the file is, for messages ("run configuration", "cache description").
        expect: the type the top level must have.
        error: the :class:`ShapespaceError` subclass to raise.

    Raises:
        ``error``: for a missing or unreadable file, invalid JSON or another top-level type.
    """
    path = Path(path)
    value = _decode(path, _read_text(path, what, error), what, error)
    if not isinstance(value, expect):
        raise _unreadable(error, path, what, f"expected {_noun(expect)}, found {_noun(type(value))}")
    return value


def read_json_lines(path: str | os.PathLike, what: str, error: type[ShapespaceError] = DataError) -> list[dict]:
    """The records of a JSON-lines file (one object per non-empty line), checked like :func:`read_json`."""
    path = Path(path)
    records = []
    for number, line in enumerate(_read_text(path, what, error).splitlines(), start=1):
        if not line.strip():
            continue
        record = _decode(path, line, what, error, line=number)
        if not isinstance(record, dict):
            raise _unreadable(error, path, what, f"line {number} holds {_noun(type(record))}, expected a JSON object")
        records.append(record)
    return records
