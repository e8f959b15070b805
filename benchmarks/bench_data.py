"""Generate (and cache) the synthetic inputs of ``benchmarks/bench_run.py``.

Not a test. Usage, from the repository root::

    python benchmarks/bench_data.py --rows 1000000 --classes 10      # prints the file's path

The input is a Parquet file (zstd) with ``id`` (Int64), one Float32 column per class
(``c0`` .. ``c{K-1}``) and ``excluded`` (list of class names):

- K <= 100: imbalanced Dirichlet soft labels with exact zeros (draws below 0.02);
- K > 100: sparse soft labels as a teacher model gives them: ``--top`` classes (20)
  nonzero per row, drawn by class popularity (Zipf), Dirichlet(0.3) values; the rest 0.

Every row sums to 1 within 1e-6 (in float64). About 5% of the rows are partial (class
columns null, ``excluded`` names 1..min(K-1, 20) classes) and about 0.1% are bad (the top
value negated, or 0.1 added to the smallest), which ``labelprep run`` must reject. Row
groups hold about 10 million values (1M rows at K = 10, 10k rows at K = 1000), as a
streaming writer makes them. Files are cached in ``--workdir`` (default
``benchmarks/.data``, ignored by git) by rows, classes, top and seed, with a JSON sidecar of
what was put in them; a second call returns the cached file.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

DEFAULT_WORKDIR = Path(__file__).resolve().parent / ".data"
VALUES_PER_GROUP = 10_000_000
PARTIAL_RATE = 0.05
BAD_RATE = 0.001
ZERO_BELOW = 0.02  # dense Dirichlet draws below this become exact zeros
SPARSE_ABOVE = 100  # more classes than this: sparse teacher-model rows
MAX_EXCLUDED = 20
TEACHER_ALPHA = 0.3

Info = dict[str, Any]
Probs = npt.NDArray[np.float32]


def class_names(k: int) -> list[str]:
    """``c0`` .. ``c{k-1}``."""
    return [f"c{i}" for i in range(k)]


def _top_takes_rounding(probs: npt.NDArray[np.float64]) -> Probs:
    """float32 rows whose float32 rounding error goes to each row's top class."""
    out = probs.astype(np.float32)
    rows = np.arange(out.shape[0])
    top = out.argmax(axis=1)
    rest = out.astype(np.float64).sum(axis=1) - out[rows, top]
    out[rows, top] = (1.0 - rest).astype(np.float32)
    return out


def dense_labels(rng: np.random.Generator, n: int, k: int) -> Probs:
    """Imbalanced Dirichlet rows with exact zeros."""
    probs = rng.dirichlet(np.geomspace(1.0, 0.1, k), size=n)
    probs[probs < ZERO_BELOW] = 0.0
    probs /= probs.sum(axis=1, keepdims=True)
    return _top_takes_rounding(probs)


def sparse_labels(rng: np.random.Generator, n: int, k: int, top: int) -> Probs:
    """``top`` nonzero classes a row, drawn without replacement by Zipf popularity
    (the ``top`` smallest of Exp(1) / weight: an exponential race)."""
    top = min(top, k)
    weights = (1.0 / np.arange(1, k + 1)).astype(np.float32)
    keys = rng.standard_exponential(size=(n, k), dtype=np.float32) / weights
    picked = np.argpartition(keys, top - 1, axis=1)[:, :top]
    values = rng.dirichlet(np.full(top, TEACHER_ALPHA), size=n)
    values[values < 1e-9] = 1e-9  # every picked class stays nonzero
    values /= values.sum(axis=1, keepdims=True)
    probs = np.zeros((n, k), dtype=np.float32)
    np.put_along_axis(probs, picked, _top_takes_rounding(values), axis=1)
    return probs


def spoil_rows(rng: np.random.Generator, probs: Probs, bad: npt.NDArray[np.bool_]) -> int:
    """Make the ``bad`` rows invalid: negate the top value, or add 0.1 to the smallest.

    Returns how many rows got a negative value (the others have a bad sum).
    """
    rows = np.flatnonzero(bad)
    negative = rng.random(rows.size) < 0.5
    neg_rows, sum_rows = rows[negative], rows[~negative]
    top = probs[neg_rows].argmax(axis=1)
    probs[neg_rows, top] = -probs[neg_rows, top]
    low = probs[sum_rows].argmin(axis=1)
    probs[sum_rows, low] += np.float32(0.1)
    return int(neg_rows.size)


def excluded_lists(
    rng: np.random.Generator, partial: npt.NDArray[np.bool_], classes: Sequence[str]
) -> Any:
    """A ``list<string>`` array: 1..min(K-1, 20) distinct class names on partial rows."""
    import pyarrow as pa

    k = len(classes)
    m = int(partial.sum())
    counts = rng.integers(1, min(k, MAX_EXCLUDED + 1), size=m)
    order = np.argsort(rng.random((m, k)), axis=1)
    picked = order[np.arange(k) < counts[:, None]]  # row-major: each row's picks in turn
    lengths = np.zeros(partial.size, dtype=np.int32)
    lengths[partial] = counts
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    values = pa.array(np.asarray(classes)[picked].tolist(), type=pa.string())
    return pa.ListArray.from_arrays(pa.array(offsets), values, mask=pa.array(~partial))


def make_chunk(seed: int, index: int, start: int, n: int, *, k: int, top: int) -> tuple[Any, Info]:
    """Rows ``start .. start+n`` as an Arrow table, and what was put in them."""
    import pyarrow as pa

    rng = np.random.default_rng([seed, index])
    classes = class_names(k)
    probs = sparse_labels(rng, n, k, top) if k > SPARSE_ABOVE else dense_labels(rng, n, k)
    partial = rng.random(n) < PARTIAL_RATE
    bad = ~partial & (rng.random(n) < BAD_RATE)
    negative = spoil_rows(rng, probs, bad)
    columns: dict[str, Any] = {"id": pa.array(np.arange(start, start + n, dtype=np.int64))}
    for i, name in enumerate(classes):
        columns[name] = pa.array(probs[:, i], mask=partial)
    columns["excluded"] = excluded_lists(rng, partial, classes)
    counts = {"partial": int(partial.sum()), "negative": negative}
    counts["bad_sum"] = int(bad.sum()) - negative
    return pa.table(columns), counts


def dataset_path(workdir: Path, rows: int, k: int, top: int, seed: int) -> Path:
    kind = f"top{top}" if k > SPARSE_ABOVE else "dense"
    return workdir / f"soft_{rows}x{k}_{kind}_seed{seed}.parquet"


def ensure_dataset(workdir: Path, rows: int, k: int, *, top: int = 20, seed: int = 0) -> Path:
    """The cached input file for (rows, k, top, seed), generated in chunks when missing."""
    path = dataset_path(workdir, rows, k, top, seed)
    if path.exists() and path.with_suffix(".json").exists():
        return path
    import pyarrow.parquet as pq

    log(f"generating {rows:,} rows x {k} classes -> {path}")
    started = time.perf_counter()
    workdir.mkdir(parents=True, exist_ok=True)
    partial_path = path.with_suffix(".parquet.tmp")
    totals = {"rows": rows, "classes": k, "partial": 0, "negative": 0, "bad_sum": 0}
    chunk = max(1, VALUES_PER_GROUP // k)
    writer = None
    try:
        for index, start in enumerate(range(0, rows, chunk)):
            n = min(chunk, rows - start)
            table, counts = make_chunk(seed, index, start, n, k=k, top=top)
            if writer is None:
                writer = pq.ParquetWriter(partial_path, table.schema, compression="zstd")
            writer.write_table(table, row_group_size=chunk)
            for key, value in counts.items():
                totals[key] += value
    finally:
        if writer is not None:
            writer.close()
    partial_path.replace(path)
    path.with_suffix(".json").write_text(json.dumps(totals))
    size = path.stat().st_size / 2**20
    log(f"  done in {time.perf_counter() - started:.1f} s ({size:.0f} MiB)")
    return path


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--classes", type=int, required=True, help="number of classes K (>= 2)")
    parser.add_argument("--top", type=int, default=20, help="nonzero classes a row, K > 100")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    args = parser.parse_args(argv)
    if args.classes < 2 or args.rows < 1 or args.top < 1:
        parser.error("need --classes >= 2, --rows >= 1 and --top >= 1")
    print(ensure_dataset(args.workdir, args.rows, args.classes, top=args.top, seed=args.seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
