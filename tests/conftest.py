"""Shared helpers: write small inputs in every format, run the pipeline on them."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import labelprep

# The SPEC's table: soft masses 2.1 / 1.15 / 0.75, supports 4 / 3 / 3.
SPEC_TABLE = """\
id,c1,c2,c3
1,0.9,0.05,0.05
2,0.2,0.8,0
3,0.3,0.3,0.4
4,0.7,0,0.3
"""
# The same table with the third data row (line 4: the header is line 1) summing to 1.5.
ONE_BAD_ROW = SPEC_TABLE.replace("3,0.3,0.3,0.4", "3,0.3,0.3,0.9")
BAD_SUM_MESSAGE = (
    "probabilities sum to 1.5, not 1 (tolerance 0.001; pass --renormalize to rescale rows)"
)
OUTPUT_FILES = {
    "targets.parquet",
    "rejects.parquet",
    "class_stats.parquet",
    "manifest.json",
    "report.md",
    "report.html",
}


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str], Path]:
    """Write a text file (CSV, TSV, JSONL) into the test's folder."""

    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return _write


@pytest.fixture
def write_jsonl(tmp_path: Path) -> Callable[[str, Sequence[dict[str, Any]]], Path]:
    def _write(name: str, rows: Sequence[dict[str, Any]]) -> Path:
        path = tmp_path / name
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        return path

    return _write


@pytest.fixture
def write_parquet(tmp_path: Path) -> Callable[[str, pl.DataFrame], Path]:
    def _write(name: str, frame: pl.DataFrame) -> Path:
        path = tmp_path / name
        frame.write_parquet(path)
        return path

    return _write


@pytest.fixture
def run(tmp_path: Path) -> Callable[..., tuple[labelprep.RunResult, Path]]:
    """Run the pipeline into tmp_path/out (no config file) and return the result and folder."""

    def _run(inputs: Any, **settings: Any) -> tuple[labelprep.RunResult, Path]:
        out = tmp_path / "out"
        result = labelprep.run(inputs, output_dir=out, config=False, **settings)
        return result, out

    return _run


def targets_of(out: Path) -> pl.DataFrame:
    return pl.read_parquet(out / "targets.parquet")


def rejects_of(out: Path) -> pl.DataFrame:
    return pl.read_parquet(out / "rejects.parquet")


def overall(stats: pl.DataFrame) -> pl.DataFrame:
    return stats.filter(pl.col("split").is_null()).sort("index")


@pytest.fixture(scope="session")
def dask_cluster() -> Iterator[Any]:
    """A local Dask cluster of two worker processes, one thread each, started once for the
    session by the tests that ask for it (``tests/test_dask_*.py``)."""
    import distributed

    with distributed.LocalCluster(
        n_workers=2,
        processes=True,
        threads_per_worker=1,
        dashboard_address=None,
        scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
        host="127.0.0.1",
    ) as cluster:
        yield cluster
