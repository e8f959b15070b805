"""``run``, ``validate`` and ``stats`` on a Dask cluster.

The driver (this process) does the cheap global steps: it scans the inputs, fixes the
vocabulary and the plan (:func:`labelprep.pipeline.prepare` with ``passes=False``) and
cuts the run into tasks (:mod:`labelprep.engine.split`). The passes over the rows run
on the cluster, each task on its slice with the local engine's own functions
(:mod:`labelprep.engine.tasks`):

1. **Repeated ids**: a hash shuffle. Each task hashes its ids into one bucket per
   worker; one reduce per bucket finds the hashes seen twice; each task then reports
   its rows with those hashes (id, rows, first row), and the driver keeps the ids on
   more than one row. The tasks of the next passes know them, and reject exactly the
   rows the local engine rejects.
2. **The prior** of ``partial="prior"``: each task's exact sums, added up.
3. **The main pass**: each task writes ``targets/part-N.parquet`` and
   ``rejects/part-N.parquet`` into the staging directory and returns its counts,
   merged in task order (:mod:`labelprep.engine.merge`).

With ``split_files`` the driver then writes ``splits/NAME.parquet`` and the dataset card
from the target parts, read in task order (input order) in one streaming pass: the files
the local engine writes from its ``targets.parquet`` (:mod:`labelprep.split_files`).
The driver then writes ``class_stats.parquet``, the reports and ``manifest.json``
(every part and split file with its sha256) and the staging directory replaces the
output directory atomically, as with the local engine. A task whose worker dies is run
again by Dask; it replaces its own parts, so every row is written once.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from labelprep.duplicates import DuplicateIds
from labelprep.engine import merge
from labelprep.engine.cluster import Engine, connect, gather
from labelprep.engine.split import context, plan_tasks
from labelprep.engine.tasks import (
    TMP_DIR,
    Partial,
    id_buckets,
    id_firsts,
    main_pass,
    prior_part,
    repeated_hashes,
)
from labelprep.errors import ConfigError
from labelprep.outdir import output_location
from labelprep.outputs import (
    ANNOTATORS,
    CLASS_STATS,
    Hasher,
    atomic_directory,
    write_parquet,
    write_reports,
)
from labelprep.pipeline import Counts, Prepared
from labelprep.prior import estimate_prior
from labelprep.rejects import REJECT_COLUMNS
from labelprep.results import class_statistics, result_of, scheme_weights
from labelprep.split_files import check_split_column, write_split_files
from labelprep.stats import RowCounts
from labelprep.stores import join, polars_options
from labelprep.summary import HeldOutputs, RunResult, write_manifest

PART_DIRS = ("targets", "rejects")
REPORT_SAMPLES = 3  # rejected rows per reason in the report (as labelprep.reporting)


class Driver:
    """The passes of one run on a cluster (see the module docstring)."""

    def __init__(self, client: Any, prepared: Prepared, engine: Engine) -> None:
        self.client = client
        self.tasks = plan_tasks(prepared, engine.rows_per_task)
        self.run_id = uuid.uuid4().hex[:8]
        self.prepared = self._global_passes(prepared)
        self._ctx = self.client.scatter(context(self.prepared), broadcast=True)

    def map(
        self, step: str, function: Callable[..., Any], *args: Any, ctx: Any = None, **kwargs: Any
    ) -> Any:
        """``function(ctx, task, *args, **kwargs)`` for every task (``ctx``: the run's
        context by default); the results in task order."""
        ctx = self._ctx if ctx is None else ctx
        futures = [
            self.client.submit(
                function,
                ctx,
                task,
                *args,
                key=f"labelprep-{step}-{task.index:05d}-{self.run_id}",
                pure=False,
                **kwargs,
            )
            for task in self.tasks
        ]
        return gather(self.client, futures)

    def _global_passes(self, prepared: Prepared) -> Prepared:
        ctx = self.client.scatter(context(prepared), broadcast=True)
        id_type = prepared.frame.collect_schema()["id"]
        duplicates = self._duplicates(ctx, id_type)
        prepared = replace(
            prepared, plan=replace(prepared.plan, duplicates=duplicates), ids_checked=True
        )
        if prepared.options.partial != "prior":
            return prepared
        ctx = self.client.scatter(context(prepared), broadcast=True)
        k = len(prepared.classes)
        prior = estimate_prior(merge.prior_sums(self.map("prior", prior_part, ctx=ctx), k), k)
        return replace(prepared, plan=replace(prepared.plan, prior=prior.weights), prior=prior)

    def _duplicates(self, ctx: Any, id_type: pl.DataType) -> DuplicateIds:
        """The hash shuffle of the ids (module docstring, step 1)."""
        workers = len(self.client.scheduler_info(n_workers=-1).get("workers", {}))
        buckets = merge.bucket_count(workers)
        maps = [
            self.client.submit(
                id_buckets,
                ctx,
                task,
                buckets,
                key=f"labelprep-ids-{task.index:05d}-{self.run_id}",
                pure=False,
            )
            for task in self.tasks
        ]
        pieces = [
            [self.client.submit(_item, m, b, pure=False) for m in maps] for b in range(buckets)
        ]
        reduced = [self.client.submit(repeated_hashes, *p, pure=False) for p in pieces]
        repeated = [h for h in gather(self.client, reduced) if h.size]
        if not repeated:
            return merge.duplicate_ids([], id_type)
        found = self.map("firsts", id_firsts, np.concatenate(repeated), ctx=ctx)
        return merge.duplicate_ids(found, id_type)

    def count(self, *, samples: int = 0) -> tuple[Counts, pl.DataFrame]:
        """The main pass writing nothing: counts, and the first rejects of each reason."""
        partials: list[Partial] = self.map("count", main_pass, None, samples=samples)
        return merge.counts(partials, len(self.prepared.classes)), merge.samples(partials, samples)

    def execute(self, folder: Path) -> RunResult:
        """Every output of the run, into ``folder`` (an empty staging directory)."""
        prepared = self.prepared
        weights = None
        if prepared.options.sample_weight is not None:  # the weights come before the targets
            counted, _ = self.count()
            counted = Counts(counted.sums, RowCounts(), pl.DataFrame())
            weights = scheme_weights(
                class_statistics(prepared, counted), prepared.options.sample_weight
            )
        for name in (*PART_DIRS, TMP_DIR):
            (folder / name).mkdir()
        partials: list[Partial] = self.map(
            "main", main_pass, str(folder), weights=weights, samples=REPORT_SAMPLES
        )
        shutil.rmtree(folder / TMP_DIR, ignore_errors=True)  # parts of tasks that died
        counts = merge.counts(partials, len(prepared.classes))
        with Hasher() as hasher:
            for source in prepared.sources:
                if source.format != "frame":
                    hasher.submit(source.path)
            if prepared.options.split_files:  # splits/NAME.parquet and the dataset card
                for path in write_split_files(prepared, folder):
                    hasher.submit(path)
            result = result_of(prepared, counts, folder)
            write_parquet(result.class_stats, folder / CLASS_STATS, metadata=_classes(prepared))
            if prepared.votes is not None:
                write_parquet(prepared.votes.annotators, folder / ANNOTATORS)
            samples = merge.samples(partials, REPORT_SAMPLES).to_dicts()
            write_reports(folder, result.class_stats, {**result.summary, "reject_samples": samples})
            write_manifest(folder, prepared, result, hasher)
        return result


def _item(pieces: Sequence[Any], index: int) -> Any:
    return pieces[index]


def _classes(prepared: Prepared) -> dict[str, str]:
    return {"labelprep.classes": json.dumps(list(prepared.classes))}


def check_supported(prepared: Prepared) -> None:
    """Refuse, before anything runs, what the Dask engine cannot run."""
    if not prepared.parts:
        raise ConfigError("the prepared run has no parts to distribute.")


def run(prepared: Prepared, output_dir: str | Path | None, engine: Engine) -> RunResult:
    """The outputs of a prepared run (``prepare(..., passes=False)``), written on the
    engine's cluster and moved atomically into ``output_dir``; with None, into a temporary
    directory read back into memory and removed (the workers must see it: a local cluster)."""
    if output_dir is None:
        with tempfile.TemporaryDirectory(prefix="labelprep-") as folder:
            result = run(prepared, Path(folder) / "out", engine)
            held = HeldOutputs.read(Path(folder) / "out")
        return replace(result, output_dir=None, held=held)
    check_supported(prepared)
    check_split_column(prepared)  # split_files without a split column: before any pass
    inputs = [s.path for s in prepared.sources if s.format != "frame"]
    with connect(engine) as client, atomic_directory(output_dir, inputs=inputs) as staging:
        result = Driver(client, prepared, engine).execute(staging)
    return replace(result, output_dir=output_location(output_dir))


def inspect(
    prepared: Prepared, engine: Engine, *, samples_per_reason: int = 0
) -> tuple[Prepared, Counts, pl.DataFrame]:
    """Count on the cluster without writing: the run as the passes fixed it (repeated
    ids, prior), its counts, and the first rejected rows of each reason."""
    check_supported(prepared)
    with connect(engine) as client:
        driver = Driver(client, prepared, engine)
        counts, samples = driver.count(samples=samples_per_reason)
    return driver.prepared, counts, samples


def run_with_samples(
    prepared: Prepared, output_dir: str | Path, engine: Engine, *, samples_per_reason: int
) -> tuple[RunResult, pl.DataFrame]:
    """:func:`run`, and the first rejected rows of each reason (``validate -o DIR``)."""
    result = run(prepared, output_dir, engine)
    where = output_location(output_dir)
    if isinstance(where, str):  # an object store's prefix
        rejects = pl.scan_parquet(
            join(where, "rejects", "*.parquet"), storage_options=polars_options(where)
        )
    else:
        rejects = pl.scan_parquet(where / "rejects" / "*.parquet")
    first = rejects.group_by("reason", maintain_order=True).head(samples_per_reason)
    return result, first.select(REJECT_COLUMNS).collect()


def count(prepared: Prepared, engine: Engine) -> tuple[Prepared, Counts]:
    """:func:`labelprep.pipeline.count` on the cluster: the run as its passes fixed it
    (repeated ids, prior) and its counts (``labelprep stats``)."""
    prepared, counts, _ = inspect(prepared, engine)
    return prepared, counts


def result_and_samples(
    prepared: Prepared, output_dir: str | Path | None, engine: Engine, *, samples_per_reason: int
) -> tuple[RunResult, pl.DataFrame]:
    """The result of ``validate`` and the first rejected rows of each reason: counted
    only, or with the outputs written to ``output_dir``."""
    if output_dir is not None:
        return run_with_samples(prepared, output_dir, engine, samples_per_reason=samples_per_reason)
    prepared, counts, samples = inspect(prepared, engine, samples_per_reason=samples_per_reason)
    return result_of(prepared, counts, None), samples
