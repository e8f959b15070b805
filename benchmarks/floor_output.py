"""The yardsticks of ``labelprep run``: a same-codec copy and the output floor.

Not a test. Usage, from the repository root (on an input of ``benchmarks/bench_data.py``)::

    python benchmarks/floor_output.py copy  INPUT OUT.parquet [--compression zstd]
    python benchmarks/floor_output.py floor INPUT OUT.parquet [--compression zstd] [--count]

copy
    ``pl.scan_parquet(INPUT).sink_parquet(OUT)``: Polars reading and rewriting the file.
floor
    The output floor: ``targets.parquet``'s schema (``id``, ``soft_target`` as a
    fixed-size list of K Float32, ``mask`` as a fixed-size list of K Boolean,
    ``evidence``, ``hard_label``, ``hard_index``) written by the cheapest code: a Polars
    scan that drops the rows the benchmark input spoils (negative, above one, or a sum
    off 1 by more than 1e-3), one numpy step per batch (``map_batches``: stack the
    classes, normalise, mask ``p > 0``, partial rows uniform over the classes their
    ``excluded`` list leaves, argmax) and a Polars sink with the same codec. It writes
    the rows ``labelprep run`` accepts with the same values up to float rounding, but
    checks only what the benchmark input can get wrong, writes no rejects, statistics,
    reports or manifest, and knows the input's layout (wide class columns ``c0``..,
    ``excluded``) without resolving a vocabulary.
floor --count
    The floor plus the per-class counting ``labelprep run`` does while it writes, in
    the same numpy step: soft mass (float64), support = candidates (mask counts),
    hard counts, excluded counts, and the row histograms of the summary (evidence,
    candidate-set size, target entropy in 0.05-bit bins).

Prints one JSON line: the rows written (and, with ``--count``, totals of the counts).
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

TOLERANCE = 1e-3  # labelprep's default sum tolerance
ENTROPY_BIN = 0.05  # bits, as labelprep's summary
NOT_CLASSES = ("id", "excluded")
EVIDENCE = pl.Series(["probs", "excluded"], dtype=pl.Enum(["excluded", "probs"]))

Floats = npt.NDArray[np.float32]
Bools = npt.NDArray[np.bool_]


class Counts:
    """Per-class sums and row histograms of the written rows: each batch is counted on
    its own (in parallel, numpy releases the GIL), then merged under a lock."""

    def __init__(self, k: int) -> None:
        self.k = k
        self.parts: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def add(self, soft: Floats, mask: Bools, hard: Any, excluded: Any, partial: Bools) -> None:
        k = self.k
        logs = np.log2(soft, where=mask, out=np.zeros_like(soft))
        entropy = np.maximum(-np.einsum("ij,ij->i", soft, logs, dtype=np.float64), 0.0)
        part = {
            "soft_mass": soft.sum(axis=0, dtype=np.float64),
            "candidates": mask.sum(axis=0),
            "hard": np.bincount(hard, minlength=k),
            "excluded": np.bincount(excluded, minlength=k),
            "partial": np.count_nonzero(partial),
            "set_size": np.bincount(mask.sum(axis=1), minlength=k + 1),
            "entropy_bins": np.bincount(np.floor(entropy / ENTROPY_BIN).astype(np.int64)),
            "entropy_sum": entropy.sum(),
        }
        with self.lock:
            self.parts.append(part)

    def totals(self) -> dict[str, float]:
        """Each count summed over the batches (histograms and per-class arrays summed
        over their bins too: a checksum that the work was done)."""
        return {
            name: float(sum(np.sum(part[name]) for part in self.parts))
            for name in ("soft_mass", "candidates", "hard", "excluded", "partial", "entropy_sum")
        }


class Floor:
    """The numpy step: one batch of checked rows -> the targets columns."""

    def __init__(self, classes: Sequence[str], *, count: bool) -> None:
        self.k = len(classes)
        self.classes = list(classes)
        self.labels = pl.Series(self.classes, dtype=pl.Enum(self.classes))
        self.counts = Counts(self.k) if count else None
        self.rows = 0
        self.lock = threading.Lock()  # Polars calls the step from several threads at once

    def schema(self) -> dict[str, pl.DataType]:
        return {
            "id": pl.Int64(),
            "soft_target": pl.Array(pl.Float32, self.k),
            "mask": pl.Array(pl.Boolean, self.k),
            "evidence": EVIDENCE.dtype,
            "hard_label": self.labels.dtype,
            "hard_index": pl.Int64(),
        }

    def __call__(self, batch: pl.DataFrame) -> pl.DataFrame:
        probs = batch.select(self.classes).to_numpy(order="c")  # NaN on partial rows
        partial = np.isnan(probs[:, 0])
        soft = probs / probs.sum(axis=1, keepdims=True)
        mask = soft > 0
        excluded = np.zeros(0, dtype=np.int64)
        if partial.any():
            rows, excluded = self._excluded(batch["excluded"], partial)
            mask[partial] = True
            mask[rows, excluded] = False
            allowed = mask[partial]
            soft[partial] = allowed / allowed.sum(axis=1, keepdims=True, dtype=np.float32)
        hard = soft.argmax(axis=1)
        if self.counts is not None:
            self.counts.add(soft, mask, hard, excluded, partial)
        with self.lock:
            self.rows += batch.height
        index = pl.Series("hard_index", hard, dtype=pl.Int64)
        return pl.DataFrame(
            [
                batch["id"],
                pl.Series("soft_target", soft, dtype=pl.Array(pl.Float32, self.k)),
                pl.Series("mask", mask, dtype=pl.Array(pl.Boolean, self.k)),
                EVIDENCE.gather(partial.astype(np.uint32)).alias("evidence"),
                self.labels.gather(index).alias("hard_label"),
                index,
            ]
        )

    def _excluded(self, column: pl.Series, partial: Bools) -> tuple[Any, Any]:
        """(row, class index) of every class a partial row excludes."""
        lists = column.filter(pl.Series(partial))
        codes = lists.explode().cast(self.labels.dtype).to_physical().to_numpy()
        rows = np.repeat(np.flatnonzero(partial), lists.list.len().to_numpy())
        return rows, codes.astype(np.int64)


def checked_rows(source: Path) -> tuple[pl.LazyFrame, list[str]]:
    """The input without the rows the benchmark spoils (checks as Polars expressions)."""
    frame = pl.scan_parquet(source)
    classes = [c for c in frame.collect_schema() if c not in NOT_CLASSES]
    probs = [pl.col(c) for c in classes]
    good = (
        (pl.min_horizontal(probs) >= 0)
        & (pl.max_horizontal(probs) <= 1)
        & ((pl.sum_horizontal(probs) - 1).abs() <= TOLERANCE)
    )
    partial = pl.col(classes[0]).is_null() & pl.col("excluded").is_not_null()
    return frame.filter(partial | good.fill_null(False)), classes


def write_floor(source: Path, output: Path, *, compression: str, count: bool) -> dict[str, Any]:
    rows, classes = checked_rows(source)
    floor = Floor(classes, count=count)
    targets = rows.map_batches(floor, streamable=True, schema=floor.schema())
    codec: Any = compression  # checked by Polars
    targets.sink_parquet(output, compression=codec)
    report: dict[str, Any] = {"rows": floor.rows}
    if floor.counts is not None:
        report.update(floor.counts.totals())
    return report


def copy(source: Path, output: Path, *, compression: str) -> dict[str, Any]:
    codec: Any = compression  # checked by Polars
    pl.scan_parquet(source).sink_parquet(output, compression=codec)
    return {}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["copy", "floor"])
    parser.add_argument("input", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--compression", default="snappy", help="Parquet codec (snappy)")
    parser.add_argument("--count", action="store_true", help="floor: count as labelprep does")
    args = parser.parse_args(argv)
    if args.mode == "copy":
        report = copy(args.input, args.output, compression=args.compression)
    else:
        report = write_floor(
            args.input, args.output, compression=args.compression, count=args.count
        )
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
