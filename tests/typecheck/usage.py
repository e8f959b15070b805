"""A user's calls of the public API: ``mypy --strict`` must accept every one of them
(checked by tests/test_api_typed.py). Nothing here runs at import."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa

import labelprep


def train_inputs(frame: pl.DataFrame, table: pa.Table) -> pl.DataFrame:
    result: labelprep.RunResult = labelprep.run(
        [frame, table, "more/*.csv", Path("extra.parquet")],
        output_dir=None,
        classes=["cat", "dog"],
        id_column="item",
        tolerance=0.01,
        renormalize=True,
        partial="prior",
        count_by="hard",
        compression="zstd",
        sample_weight="balanced",
        layout="long",
        missing=("-1", "-1000"),
    )
    rejected: int = result.rows_rejected
    assert rejected >= 0
    return result.targets


def statistics(frame: pl.LazyFrame) -> tuple[pl.DataFrame, int]:
    stats: pl.DataFrame = labelprep.class_stats(frame, smoothing=0.1, config=False)
    table, totals = labelprep.class_stats(frame, with_counts=True)
    return stats, totals.rows_in + table.height


def gate(path: str) -> bool:
    report = labelprep.validate(path, max_reject_rate=0.05, min_rows=10, baseline=Path("base"))
    drift = labelprep.compare(path, split_a="train", split_b="val", max_jsd=0.1, align="union")
    return report.passed and drift.passed


def votes(frame: pl.DataFrame) -> pl.DataFrame | None:
    result = labelprep.aggregate(frame, output_dir=None, method="dawid-skene", max_iter=50)
    return result.annotators


def weights(stats: pl.DataFrame) -> npt.NDArray[np.float64]:
    by_class: dict[str, float] = labelprep.class_weights(stats, "balanced", count_by="hard")
    offsets = labelprep.logit_adjustment("labelprep-out", tau=0.5)
    assert by_class
    return offsets.array
