"""Benchmark the Dask engine against the local engine, and distributed Dawid-Skene.

Not a test. Usage, from the repository root::

    python benchmarks/bench_dask.py --quick     # 8 files x 200k rows, 200k votes: ~1-2 minutes
    python benchmarks/bench_dask.py             # 8 files x 2M rows x 10 classes, 20M votes

Each configuration runs in a fresh child process (imports and, for Dask, the start of a
local cluster of N worker processes are timed apart from the run):

local
    ``labelprep.run`` on the 8 files (the local engine).
dask-N
    the same run on a ``LocalCluster`` of N worker processes (one thread each; Polars
    uses every core in each). Reported: cluster start, run wall time, the tasks, the
    per-task overhead (the same run on 8 files of 1,000 rows: wall time / tasks), and the
    peak RSS of the driver and of each worker (``ru_maxrss``).
votes
    Dawid-Skene on long votes (items x 5 votes of 50 annotators, 10 classes) spread over
    8 files: the local model (the votes read and encoded in this process) against
    :func:`labelprep.engine.votes.aggregate_votes` on 2 workers, with the largest
    posterior difference.

Inputs are cached in ``--workdir`` (default ``benchmarks/.data``, ignored by git).
Numbers taken on a busy machine are not comparable with those on an idle one: the load
average is printed before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_data import dense_labels

DEFAULT_WORKDIR = Path(__file__).resolve().parent / ".data"
FILES = 8
ROW_GROUP = 500_000
VOTES_PER_ITEM, ANNOTATORS = 5, 50


def make_files(folder: Path, rows: int, k: int, *, files: int = FILES) -> list[str]:
    """``files`` Parquet files of ``rows`` Dirichlet soft labels each (ids distinct)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for f in range(files):
        path = folder / f"soft-{rows}-{k}-{f}.parquet"
        if not path.exists():
            probs = dense_labels(np.random.default_rng(f), rows, k)
            frame = pl.DataFrame({f"c{i}": probs[:, i] for i in range(k)})
            frame = frame.with_columns(id=pl.int_range(f * rows, (f + 1) * rows, dtype=pl.Int64))
            frame.select("id", pl.exclude("id")).write_parquet(path, row_group_size=ROW_GROUP)
        paths.append(str(path))
    return paths


def make_votes(folder: Path, items: int, k: int) -> list[str]:
    """Long votes of ``items`` items, 5 each from 50 annotators of varied accuracy,
    shuffled over ``FILES`` files (an item's votes land in several)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"votes-{items}-{k}-{f}.parquet" for f in range(FILES)]
    if not all(p.exists() for p in paths):
        rng = np.random.default_rng(1)
        truth = rng.integers(0, k, items)
        item = np.repeat(np.arange(items), VOTES_PER_ITEM)
        annotator = rng.integers(0, ANNOTATORS, item.size)
        right = rng.random(item.size) < np.linspace(0.4, 0.9, ANNOTATORS)[annotator]
        label = np.where(right, truth[item], (truth[item] + rng.integers(1, k, item.size)) % k)
        order = rng.permutation(item.size)
        frame = pl.DataFrame(
            {"id": item[order], "annotator": annotator[order], "label": label[order]}
        ).with_columns(
            pl.format("i{}", "id").alias("id"),
            pl.format("w{}", "annotator").alias("annotator"),
            pl.format("c{}", "label").alias("label"),
        )
        for path, part in zip(paths, np.array_split(np.arange(item.size), FILES), strict=True):
            frame[part].write_parquet(path)
    return [str(p) for p in paths]


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_local(paths: list[str], out: str) -> dict[str, Any]:
    import labelprep

    start = time.perf_counter()
    labelprep.run(paths, output_dir=out, config=False)
    return {"run_s": time.perf_counter() - start, "driver_peak_mib": peak_mib()}


def child_dask(paths: list[str], tiny: list[str], out: str, workers: int) -> dict[str, Any]:
    from distributed import Client, LocalCluster

    from labelprep.api import resolve_run_inputs
    from labelprep.engine import Engine, dask_run
    from labelprep.engine.split import plan_tasks
    from labelprep.pipeline import prepare

    start = time.perf_counter()
    with (
        LocalCluster(n_workers=workers, threads_per_worker=1, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        started = time.perf_counter() - start
        engine = Engine("dask", scheduler=cluster.scheduler_address)

        def timed(files: list[str]) -> tuple[float, int]:
            begin = time.perf_counter()
            resolved, options = resolve_run_inputs(files, config=False, settings={})
            prepared = prepare(resolved, options, passes=False)
            dask_run.run(prepared, out, engine)
            return time.perf_counter() - begin, len(plan_tasks(prepared, engine.rows_per_task))

        timed(tiny)  # warm the workers' imports
        tiny_s, tiny_tasks = timed(tiny)
        run_s, tasks = timed(paths)
        worker_peaks = client.run(peak_mib)
    return {
        "cluster_start_s": started,
        "run_s": run_s,
        "tasks": tasks,
        "tiny_run_s": tiny_s,
        "per_task_overhead_s": tiny_s / tiny_tasks,
        "driver_peak_mib": peak_mib(),
        "worker_peak_mib": sorted(worker_peaks.values()),
    }


def child_votes(paths: list[str], k: int) -> dict[str, Any]:
    from distributed import Client, LocalCluster

    from labelprep.aggregation import DawidSkene, EncodedVotes
    from labelprep.engine.votes import aggregate_votes

    classes = [f"c{i}" for i in range(k)]
    begin = time.perf_counter()
    votes = pl.concat([pl.read_parquet(p) for p in paths])
    items = votes.select("id").unique(maintain_order=True).with_row_index("item")
    workers = votes.select("annotator").unique(maintain_order=True).with_row_index("code")
    coded = votes.join(items, on="id", maintain_order="left").join(
        workers, on="annotator", maintain_order="left"
    )
    label = coded["label"].str.strip_prefix("c").cast(pl.Int64).to_numpy()
    encoded = EncodedVotes(
        coded["item"].to_numpy(), coded["code"].to_numpy(), label, items.height, workers.height, k
    )
    local = DawidSkene().fit_predict_proba(encoded)
    local_s = time.perf_counter() - begin
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        begin = time.perf_counter()
        fit = aggregate_votes(client, paths, classes, method="dawid-skene", partitions=2)
        dask_s = time.perf_counter() - begin
    got = fit.items.join(items, on="id").sort("item")
    diff = np.abs(np.array(got["proba"].to_list()) - local.proba).max()
    return {
        "votes": votes.height,
        "local_s": local_s,
        "dask_2_workers_s": dask_s,
        "iterations": [local.n_iter, fit.n_iter],
        "max_posterior_difference": float(diff),
    }


def in_child(kind: str, **kwargs: Any) -> dict[str, Any]:
    """Run one configuration in a fresh interpreter; return what it measured."""
    code = (
        f"import json, sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
        f"import bench_dask as b; print(json.dumps(b.child_{kind}(**json.loads(sys.argv[1]))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, json.dumps(kwargs)], capture_output=True, text=True, check=True
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument("--classes", type=int, default=10)
    args = parser.parse_args()
    rows, items = (200_000, 40_000) if args.quick else (2_000_000, 4_000_000)
    k = args.classes
    paths = make_files(args.workdir, rows, k)
    tiny = make_files(args.workdir / "tiny", 1000, k)
    votes = make_votes(args.workdir, items, k)
    out = str(args.workdir / "bench-dask-out")
    print(f"load average before: {os.getloadavg()}")
    print(f"{FILES} files x {rows} rows x {k} classes")
    print("local  ", json.dumps(in_child("local", paths=paths, out=out)))
    for workers in (1, 2):
        measured = in_child("dask", paths=paths, tiny=tiny, out=out, workers=workers)
        print(f"dask-{workers} ", json.dumps(measured))
    print(f"votes: {items * VOTES_PER_ITEM}")
    print("votes  ", json.dumps(in_child("votes", paths=votes, k=k)))
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
