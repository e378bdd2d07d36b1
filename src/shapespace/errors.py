"""The project's error types. Every error a user can cause derives from :class:`ShapespaceError`.

Library code names the *parameters* at fault, never a command-line flag: a parameter is
written in backticks inside the message (``"`steps` must be at least 1"``). ``str()`` shows
the bare name (``steps must be at least 1``); the CLI shows its flag instead
(``--steps must be at least 1``; :mod:`shapespace.cli.args`).
"""

from __future__ import annotations

import re
from typing import Callable

_PARAMETER = re.compile(r"`([a-z_][a-z0-9_]*)`")


class ShapespaceError(Exception):
    """Base class: a clear, user-facing error (bad file, bad flag, bad config), in one line."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)

    @property
    def parameters(self) -> list[str]:
        """The parameters the message names, in order."""
        return _PARAMETER.findall(self.message)

    def describe(self, name_of: Callable[[str], str]) -> str:
        """The message with each parameter called ``name_of(parameter)`` (e.g. its flag)."""
        return _PARAMETER.sub(lambda match: name_of(match.group(1)), self.message)

    def __str__(self) -> str:
        return self.describe(lambda name: name)


class ConfigError(ShapespaceError, ValueError):
    """A configuration value or preset name is invalid."""


class DataError(ShapespaceError, ValueError):
    """A data source is missing, unreadable or malformed; the message names it."""


class CheckpointError(ShapespaceError, ValueError):
    """A checkpoint or run folder is missing, incomplete or inconsistent."""


class OutputError(ShapespaceError, ValueError):
    """An output path cannot be written: a file where a folder is needed, or the reverse,
    or a folder the process may not write in."""
