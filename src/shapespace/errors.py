"""The project's error types. Every error a user can cause derives from :class:`ShapespaceError`.

Library code names the *parameter* that is wrong (``param="steps"``), never a command-line
flag: the CLI translates the parameter into its flag (:mod:`shapespace.cli.args`).
"""

from __future__ import annotations


class ShapespaceError(Exception):
    """Base class: a clear, user-facing error (bad file, bad flag, bad config).

    Args:
        message: what is wrong, in one line.
        param: the name of the parameter or config field at fault, if one is; ``str()``
            then reads ``"param: message"`` unless the message already starts with it.
    """

    def __init__(self, message: str, param: str | None = None) -> None:
        self.message = message
        self.param = param
        super().__init__(message)

    def __str__(self) -> str:
        return self.describe(self.param)

    def describe(self, name: str | None) -> str:
        """The message with the faulty parameter called ``name`` (e.g. its command-line flag)."""
        if self.param is None or name is None:
            return self.message
        if self.message.startswith(self.param):
            return name + self.message[len(self.param) :]
        return f"{name}: {self.message}"


class ConfigError(ShapespaceError, ValueError):
    """A configuration value or preset name is invalid."""


class DataError(ShapespaceError, ValueError):
    """A data source is missing, unreadable or malformed; the message names it."""


class CheckpointError(ShapespaceError, ValueError):
    """A checkpoint or run folder is missing, incomplete or inconsistent."""
