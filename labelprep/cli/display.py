"""How much a command says: ``-q/--quiet`` and ``-v/--verbose``, and the progress line.

Verbosity
    Given to the group (``labelprep -q run``) or to a command (``labelprep run -q``);
    each ``-v`` adds one, each ``-q`` takes one away. Quiet (below 0) drops the notes and
    the informational lines; warnings, errors, the product of a command (``stats``'s
    table, ``schema``'s JSON, a machine-readable ``--format``) and the exit code stay;
    ``-qq`` drops the warnings too. Verbose (above 0) adds the files read, the options
    in effect and the time of each stage, on stderr.
Progress
    :func:`watching` tracks the stages of a command (:mod:`labelprep.progress`) and, when
    stderr is a terminal and the command is not quiet, shows the stage, the rows done
    and the rows per second on one line of stderr once the command has run for
    :data:`DELAY` seconds, refreshed every :data:`INTERVAL` seconds by a thread, and
    erased when the command ends: nothing else it prints changes.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, Any, TypeVar

import click

from labelprep import progress

F = TypeVar("F", bound=Callable[..., Any])

DELAY = 2.0
"""Seconds before the progress line appears (shorter commands show none)."""
INTERVAL = 0.25
"""Seconds between two refreshes of the progress line."""
_KEY = "labelprep.verbosity"
_ROWS = "{desc}: {n_fmt}{unit} [{elapsed}, {rate_fmt}]"
_NO_ROWS = "{desc} [{elapsed}]"


def verbosity() -> int:
    """The verbosity of the running command: below 0 quiet, 0 normal, above 0 verbose."""
    ctx = click.get_current_context(silent=True)
    return 0 if ctx is None else int(ctx.find_root().meta.get(_KEY, 0))


def quiet() -> bool:
    return verbosity() < 0


def verbose() -> bool:
    return verbosity() > 0


def _add(step: int) -> Callable[[click.Context, click.Parameter, int], None]:
    def callback(ctx: click.Context, _param: click.Parameter, count: int) -> None:
        meta = ctx.find_root().meta
        meta[_KEY] = meta.get(_KEY, 0) + step * count

    return callback


def verbosity_options(func: F) -> F:
    """``-q/--quiet`` and ``-v/--verbose``, on the group and on every command."""
    func = click.option(
        "-v",
        "--verbose",
        count=True,
        expose_value=False,
        callback=_add(1),
        help="Say more: the files read, the options in effect, the time of each stage.",
    )(func)
    return click.option(
        "-q",
        "--quiet",
        count=True,
        expose_value=False,
        callback=_add(-1),
        help="Say less: no notes or progress; warnings, errors, results and the exit code "
        "stay (-qq: no warnings either).",
    )(func)


def detail(line: str) -> None:
    """A line of detail on stderr, shown with ``-v`` only."""
    if verbose():
        pause()
        click.echo(f"info: {line}", err=True)


def is_terminal(stream: IO[str]) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if isatty is not None else False
    except (OSError, ValueError):  # a closed or detached stream
        return False


@contextmanager
def watching(ctx: click.Context, stream: IO[str] | None = None) -> Iterator[progress.Tracker]:
    """Track the command's stages; show progress on a terminal; with ``-v``, print the
    time of each stage at the end."""
    out = sys.stderr if stream is None else stream
    with progress.tracking() as tracker:
        line = ProgressLine(tracker, out, ctx) if is_terminal(out) else None
        try:
            yield tracker
        finally:
            if line is not None:
                line.stop()
    if int(ctx.find_root().meta.get(_KEY, 0)) > 0:
        for stage in tracker.stages:
            rate = f", {stage.rows / stage.seconds:,.0f} rows/s" if stage.rows else ""
            rows = f" ({stage.rows:,} rows{rate})" if stage.rows else ""
            click.echo(f"info: {stage.name}: {stage.seconds:.2f} s{rows}", err=True, file=out)


class ProgressLine:
    """A thread that shows the current stage on one terminal line (with tqdm, imported
    only when the line is first shown)."""

    def __init__(self, tracker: progress.Tracker, stream: IO[str], ctx: click.Context) -> None:
        self.tracker, self.stream, self.meta = tracker, stream, ctx.find_root().meta
        self._stop = threading.Event()
        self._bar: Any = None
        self._stage: progress.Stage | None = None
        self._thread = threading.Thread(target=self._loop, name="labelprep-progress", daemon=True)
        self._thread.start()
        _showing.append(self)

    def _due(self) -> bool:
        return self.tracker.seconds >= DELAY and int(self.meta.get(_KEY, 0)) >= 0

    def _loop(self) -> None:
        while not self._stop.wait(INTERVAL):
            if self._due():
                self.show()

    def show(self) -> None:
        """Draw the current stage (its rows, rows per second) in place."""
        stage = self.tracker.current
        if stage is None:
            return
        if stage is not self._stage:  # a new stage: a new line, its own rate
            from tqdm import tqdm

            if self._bar is not None:
                self._bar.close()
            self._stage = stage
            self._bar = tqdm(
                desc=stage.name,
                initial=stage.rows,
                file=self.stream,
                unit=" rows",
                unit_scale=True,
                leave=False,
                mininterval=0,
                dynamic_ncols=True,
                bar_format=_ROWS if stage.rows else _NO_ROWS,
            )
            return
        self._bar.bar_format = _ROWS if stage.rows else _NO_ROWS
        self._bar.update(stage.rows - self._bar.n)  # draws (mininterval=0)

    def stop(self) -> None:
        """Stop the thread; erase the line (after drawing the last counts, if shown)."""
        if self._stop.is_set():
            return
        self._stop.set()
        self._thread.join()
        if self._due():
            self.show()
        if self._bar is not None:
            self._bar.close()
        if self in _showing:
            _showing.remove(self)


_showing: list[ProgressLine] = []


def pause() -> None:
    """Before the command prints: once the work has begun (a stage was entered), the
    progress line is erased for good, so what the command prints after its run is not
    mixed with it. Before that (a note on the configuration file) it is left alone."""
    for line in list(_showing):
        if line.tracker.stages:
            line.stop()
