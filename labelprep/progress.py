"""How far a run has got: the stage it is in and the rows its main pass has seen.

The library only counts; it never prints. The pipeline names its stages with
:func:`stage` and :class:`labelprep.batches.RowTap` adds each batch's rows with
:func:`add_rows`. Both do nothing unless a caller is watching, within :func:`tracking`;
then a :class:`Tracker` holds the counts, which another thread may read (the command
line's progress display reads them a few times a second).

Examples
--------
>>> from labelprep import progress
>>> with progress.tracking() as tracker:
...     progress.stage("main pass")
...     progress.add_rows(1000)
...     progress.add_rows(500)
>>> [(s.name, s.rows) for s in tracker.stages]
[('main pass', 1500)]
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

__all__ = ["Stage", "Tracker", "add_rows", "stage", "tracking"]


@dataclass
class Stage:
    """One stage of a run: its name, when it started and ended, the rows it counted."""

    name: str
    started: float
    rows: int = 0
    ended: float | None = None

    @property
    def seconds(self) -> float:
        """Seconds the stage took (so far, while it runs)."""
        return (time.perf_counter() if self.ended is None else self.ended) - self.started


class Tracker:
    """The stages of a run, the last one current. Safe to update from several threads."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.stages: list[Stage] = []
        self._lock = threading.Lock()

    @property
    def seconds(self) -> float:
        """Seconds since tracking began."""
        return time.perf_counter() - self.started

    @property
    def current(self) -> Stage | None:
        """The running stage (None before the first, or after :meth:`finish`)."""
        last = self.stages[-1] if self.stages else None
        return last if last is not None and last.ended is None else None

    def begin(self, name: str) -> None:
        """End the current stage, if any, and start ``name``."""
        with self._lock:
            now = time.perf_counter()
            if self.stages and self.stages[-1].ended is None:
                self.stages[-1].ended = now
            self.stages.append(Stage(name, now))

    def add(self, rows: int) -> None:
        """Count rows against the current stage (rows outside a stage are not counted)."""
        with self._lock:
            current = self.current
            if current is not None:
                current.rows += rows

    def finish(self) -> None:
        """End the current stage."""
        with self._lock:
            if self.stages and self.stages[-1].ended is None:
                self.stages[-1].ended = time.perf_counter()


_watched: list[Tracker] = []
"""The tracker in use (at most one)."""


@contextmanager
def tracking() -> Iterator[Tracker]:
    """Count the stages and rows of what runs inside (one tracker at a time; a nested
    call gets the outer one)."""
    if _watched:
        yield _watched[0]
        return
    tracker = Tracker()
    _watched.append(tracker)
    try:
        yield tracker
    finally:
        tracker.finish()
        _watched.clear()


def stage(name: str) -> None:
    """The run enters stage ``name`` (nothing happens unless someone is tracking)."""
    if _watched:
        _watched[0].begin(name)


def add_rows(rows: int) -> None:
    """``rows`` more rows went through the current stage (nothing unless tracking)."""
    if _watched:
        _watched[0].add(rows)
