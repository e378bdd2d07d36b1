"""Stopping a training run cleanly: SIGINT (Ctrl-C) and SIGTERM (what a cluster scheduler
sends) ask the run to stop after the current step; the run then writes a checkpoint and
raises :class:`TrainingInterrupted`. A second signal aborts at once (``KeyboardInterrupt``),
leaving the last checkpoint as it was; checkpoints are written atomically, so none is ever
half-written.
"""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path
from types import FrameType

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class TrainingInterrupted(Exception):
    """A signal stopped training after a step; the checkpoint of that step is saved.

    Attributes:
        signal_number: the signal (``signal.SIGINT`` or ``signal.SIGTERM``).
        step: the step of the saved checkpoint.
        run_dir: the run folder.
    """

    def __init__(self, signal_number: int, step: int, run_dir: Path) -> None:
        self.signal_number, self.step, self.run_dir = signal_number, step, Path(run_dir)
        name = signal.Signals(signal_number).name
        super().__init__(f"{name} at step {step}: the checkpoint of step {step} is saved in {self.run_dir}")

    @property
    def exit_status(self) -> int:
        """The shell's convention for a process ended by a signal: 128 + its number (130, 143)."""
        return 128 + int(self.signal_number)


class ProcessGroupFailed(Exception):
    """Another process of a data-parallel run stopped or lost its connection, so this one
    cannot go on; the run folder keeps its last checkpoint."""


class StopRequests:
    """A context manager that turns the first SIGINT or SIGTERM into a request (``received``)
    and a second one into ``KeyboardInterrupt``; the previous handlers come back on exit.

    Signal handlers can only be installed from the main thread; elsewhere (a web server's
    worker, a test thread) this does nothing and signals keep their usual effect.
    """

    def __init__(self, announce=None) -> None:
        self.received: int | None = None
        self._previous: dict[int, object] = {}
        self._announce = announce or (lambda message: print(f"shapespace: {message}", file=sys.stderr, flush=True))

    def _handle(self, signal_number: int, frame: FrameType | None) -> None:
        if self.received is not None:
            raise KeyboardInterrupt
        self.received = signal_number
        self._announce(
            f"{signal.Signals(signal_number).name} received: stopping after this step and saving a checkpoint "
            "(send it again to abort without saving)"
        )

    def __enter__(self) -> "StopRequests":
        if threading.current_thread() is threading.main_thread():
            for number in STOP_SIGNALS:
                self._previous[number] = signal.signal(number, self._handle)
        return self

    def __exit__(self, *exc_info) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        self._previous.clear()
