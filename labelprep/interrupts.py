"""Stopping a run promptly and cleanly on SIGINT and SIGTERM.

Python runs signal handlers on the main thread, between bytecodes; a Polars query
runs in native threads, so a main thread blocked in ``collect`` would notice a signal
only when the query ends (seconds to minutes later). :func:`run_interruptibly` runs
the query on a worker thread while the main thread waits in short, interruptible
steps: the handler's exception then unwinds the run at once (its ``with`` blocks
remove the staging directory), and :func:`check` makes the per-batch tap of the
streaming pass stop the query itself. A query abandoned that way is not waited for
(beyond :data:`GRACE_SECONDS`): the process is about to exit.

:func:`install` (called by the command line only) makes SIGTERM and SIGINT raise
:class:`~labelprep.errors.Interrupted`. :func:`deferred_signals` holds a signal back
while a block that must not be cut in half (moving the output into place, cleaning
up) runs, and raises it when the block ends.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any, TypeVar

from labelprep.errors import Interrupted

T = TypeVar("T")

GRACE_SECONDS = 2.0
"""How long an interrupted run waits for its query to stop before leaving it."""
_POLL_SECONDS = 0.05

_cancelled = threading.Event()
_deferring = threading.local()
_pending: list[int] = []


class Cancelled(Exception):
    """Raised inside a Polars callback to stop the query of an interrupted run."""


Handlers = dict[int, Any]


def install() -> Handlers:
    """Make SIGINT and SIGTERM raise :class:`Interrupted` (main thread only); return the
    handlers they replace, for :func:`restore`."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {signum: signal.signal(signum, _handler) for signum in (signal.SIGINT, signal.SIGTERM)}


def restore(handlers: Handlers) -> None:
    """Put back the handlers :func:`install` replaced."""
    for signum, handler in handlers.items():
        if handler is not None:  # None: a handler set outside Python, left as it is
            signal.signal(signum, handler)


def _handler(signum: int, frame: FrameType | None) -> None:
    _cancelled.set()
    if getattr(_deferring, "depth", 0):
        _pending.append(signum)
        return
    raise Interrupted(signum)


@contextmanager
def deferred_signals() -> Iterator[None]:
    """Hold SIGINT/SIGTERM back during the block; raise :class:`Interrupted` after it."""
    depth = getattr(_deferring, "depth", 0)
    _deferring.depth = depth + 1
    try:
        yield
    finally:
        _deferring.depth = depth
    if depth == 0 and _pending:
        signum = _pending[0]
        _pending.clear()
        raise Interrupted(signum)


def check() -> None:
    """Raise :class:`Cancelled` when the run was interrupted (called per batch)."""
    if _cancelled.is_set():
        raise Cancelled("the run was interrupted")


def run_interruptibly(work: Callable[[], T]) -> T:
    """``work()`` on a worker thread, the calling (main) thread waiting interruptibly.

    Off the main thread, ``work()`` simply runs: signals only reach the main thread.
    """
    if threading.current_thread() is not threading.main_thread():
        return work()
    _cancelled.clear()  # a signal before this query was handled where it arrived
    outcome: list[T] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            outcome.append(work())
        except BaseException as exc:
            failure.append(exc)

    worker = threading.Thread(target=target, name="labelprep-query", daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(_POLL_SECONDS)
    except BaseException:
        _cancelled.set()  # the tap stops the streaming pass at its next batch
        worker.join(GRACE_SECONDS)
        raise
    _cancelled.clear()
    if failure:
        raise failure[0]
    return outcome[0]
