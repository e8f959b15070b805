"""Which engine runs a command, and the Dask client it runs on.

``engine="local"`` (the default) runs in this process. ``engine="dask"`` runs on a
Dask cluster: an existing one (``scheduler="tcp://host:8786"``) or a local one of
``workers`` processes started for the run and closed after it. Dask is optional:
``pip install 'labelprep[dask]'``.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Iterator
from concurrent.futures import CancelledError
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

from labelprep.errors import ConfigError, LabelprepError

EngineName = Literal["local", "dask"]
ENGINES: tuple[EngineName, ...] = ("local", "dask")
ROWS_PER_TASK = 4_000_000
"""A Parquet file with more rows is split, by row groups, into tasks of about this many rows."""


@dataclass(frozen=True)
class Engine:
    """Where a command runs (see the module docstring)."""

    kind: EngineName | None = None
    """``local`` (also None: a command-line flag left unset) or ``dask``."""
    scheduler: str | None = None
    """Address of a running Dask scheduler (``tcp://host:8786``)."""
    workers: int | None = None
    """Worker processes of a local cluster started for the run (default: one per core)."""
    rows_per_task: int = ROWS_PER_TASK

    def __post_init__(self) -> None:
        if self.name not in ENGINES:
            raise ConfigError(f"engine {self.name!r}: use one of {', '.join(ENGINES)}.")
        if self.name == "local" and (self.scheduler is not None or self.workers is not None):
            raise ConfigError("--scheduler and --workers need --engine dask.")
        if self.scheduler is not None and self.workers is not None:
            raise ConfigError("give --scheduler (an existing cluster) or --workers, not both.")
        if self.workers is not None and self.workers < 1:
            raise ConfigError(f"--workers {self.workers}: give at least 1.")
        if self.rows_per_task < 1:
            raise ConfigError(f"rows_per_task {self.rows_per_task}: give at least 1.")

    @property
    def name(self) -> EngineName:
        return self.kind or "local"

    @property
    def local(self) -> bool:
        return self.name == "local"


class ClusterError(LabelprepError):
    """The cluster could not finish the run (its workers died too often, or it went away)."""


def gather(client: Any, futures: list[Any]) -> list[Any]:
    """The results of ``futures``, in order; the futures are released afterwards. A lost
    cluster is a :class:`ClusterError`; an error raised by a task is raised as it is."""
    from distributed import KilledWorker
    from distributed.comm.core import CommClosedError

    try:
        results: list[Any] = client.gather(futures)
    except BaseException as exc:
        client.cancel(futures)  # on success they are released as they are dropped
        if isinstance(exc, (KilledWorker, CommClosedError, CancelledError, TimeoutError)):
            raise ClusterError(
                f"the Dask cluster could not finish the run ({type(exc).__name__}: {exc}); "
                "check that its workers are alive and can read the inputs and the output "
                "directory."
            ) from exc
        raise
    return results


def require_dask() -> None:
    """Raise a :class:`ConfigError` naming the extra when Dask is not installed."""
    missing = [m for m in ("dask", "distributed") if importlib.util.find_spec(m) is None]
    if missing:
        raise ConfigError(
            f"--engine dask needs {' and '.join(missing)}, which are not installed; "
            "install them with: pip install 'labelprep[dask]'"
        )


@contextmanager
def connect(engine: Engine) -> Iterator[Any]:
    """A ``distributed.Client`` on the engine's cluster, closed afterwards (with the
    local cluster it started, if any)."""
    require_dask()
    from distributed import Client, LocalCluster

    if engine.scheduler is not None:
        try:
            # waits distributed.comm.timeouts.connect (Dask's setting: 30 s by default)
            client = Client(engine.scheduler)  # type: ignore[no-untyped-call]
        except OSError as exc:
            raise ConfigError(
                f"cannot reach the Dask scheduler at {engine.scheduler}: {exc}; start one with "
                "'dask scheduler' or pass --workers N for a local cluster."
            ) from exc
        with client:
            yield client
        return
    cluster = LocalCluster(  # type: ignore[no-untyped-call]
        n_workers=engine.workers,
        threads_per_worker=1,  # one task at a time per worker: Polars uses every core
        processes=True,
        dashboard_address=None,
        # no dashboard; its health-check server on a free port, not 8787
        scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
        host="127.0.0.1",
        silence_logs=logging.ERROR,
    )
    with cluster, Client(cluster) as client:  # type: ignore[no-untyped-call]
        yield client
