"""The project's error types. Every error a user can cause derives from :class:`ShapespaceError`."""


class ShapespaceError(Exception):
    """Base class: a clear, user-facing error (bad file, bad flag, bad config)."""


class ConfigError(ShapespaceError, ValueError):
    """A configuration value or preset name is invalid."""


class DataError(ShapespaceError, ValueError):
    """A data source is missing, unreadable or malformed; the message names it."""


class CheckpointError(ShapespaceError, ValueError):
    """A checkpoint or run folder is missing, incomplete or inconsistent."""
