"""The same inputs give the same bytes on 1, 2 or 16 threads (fixed row groups; sums
that do not depend on how the rows were cut into batches)."""

from __future__ import annotations

import hashlib
import json
import math
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labelprep.exactsum import exact_units, units_to_float
from labelprep.outputs import row_group_rows

ROWS = 300_000
CLASSES = ["c0", "c1", "c2", "c3", "c4"]


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Probabilities, labels, excluded and candidate sets, bad rows and splits."""
    rng = np.random.default_rng(3)
    kind = rng.integers(0, 5, ROWS)
    probs = rng.dirichlet(np.full(5, 0.5), size=ROWS)
    probs[(rng.random(ROWS) < 0.01), 0] = 1.7  # probability_above_one
    names = np.array(CLASSES)

    def only(where: np.ndarray, values: np.ndarray) -> pl.Series:
        return pl.Series(np.where(where, values, "")).replace("", None)

    pairs = np.char.add(
        np.char.add(names[rng.integers(0, 5, ROWS)], "|"), names[rng.integers(0, 5, ROWS)]
    )
    columns = {
        f"c{i}": pl.Series(np.where(kind == 0, probs[:, i], np.nan)).fill_nan(None)
        for i in range(5)
    }
    frame = pl.DataFrame(
        {
            "id": np.arange(ROWS),
            **columns,
            "label": only(kind == 1, names[rng.integers(0, 5, ROWS)]),
            "excluded": only(kind == 2, names[rng.integers(0, 5, ROWS)]),
            "candidates": only(kind == 3, pairs),
            "split": rng.choice(["train", "val", "test"], ROWS),
        }
    )
    path = tmp_path_factory.mktemp("determinism") / "mixed.parquet"
    frame.write_parquet(path, row_group_size=25_000)
    return path


def run_with_threads(source: Path, out: Path, threads: int, *extra: str) -> None:
    command = [sys.executable, "-m", "labelprep", "run", str(source), "-o", str(out)]
    command += ["--no-config", "--classes", ",".join(CLASSES), *extra]
    env = {**os.environ, "POLARS_MAX_THREADS": str(threads)}
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("extra", [(), ("--partial", "prior", "--sample-weight", "balanced")])
def test_outputs_are_byte_identical_on_1_2_and_16_threads(tmp_path, mixed, extra):
    outs = {threads: tmp_path / f"t{threads}" for threads in (1, 2, 16)}
    for threads, out in outs.items():
        run_with_threads(mixed, out, threads, *extra)
    one = digests(outs[1])
    assert set(one) >= {"targets.parquet", "rejects.parquet", "class_stats.parquet"}
    assert digests(outs[2]) == one
    assert digests(outs[16]) == one
    manifest = json.loads((outs[1] / "manifest.json").read_text())
    assert manifest["rows"]["in"] == ROWS
    rejects = pq.ParquetFile(outs[1] / "rejects.parquet").metadata
    schema = pl.read_parquet_schema(outs[1] / "rejects.parquet")
    assert rejects.row_group(0).num_rows == min(rejects.num_rows, row_group_rows(schema))


def test_row_groups_depend_on_the_schema_only():
    narrow = pl.Schema({"id": pl.Int64, "soft_target": pl.Array(pl.Float32, 10)})
    wide = pl.Schema({"id": pl.Int64, "soft_target": pl.Array(pl.Float32, 1000)})
    assert row_group_rows(narrow) == 1 << 18
    assert row_group_rows(wide) == 8192  # 64 MiB / (8 + 8000) bytes, down to 4096s


def test_exact_sum_of_a_worked_example():
    values = np.array([0.1, 0.2, 0.3])
    assert units_to_float(exact_units(values)) == 0.6  # numpy's sum gives 0.6000000000000001
    assert exact_units(values, np.array([True, False, True])) == exact_units(np.array([0.1, 0.3]))


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=200),
    cuts=st.lists(st.integers(0, 200), max_size=6),
    seed=st.integers(0, 2**32 - 1),
)
def test_exact_sums_do_not_depend_on_batches_or_order(values, cuts, seed):
    array = np.array(values)
    whole = exact_units(array)
    shuffled = np.random.default_rng(seed).permutation(array)
    parts = np.split(shuffled, sorted({c % (len(values) + 1) for c in cuts}))
    assert sum(exact_units(part) for part in parts) == whole
    exact = sum(map(Fraction, values))
    assert abs(Fraction(whole, 1 << 64) - exact) <= Fraction(len(values), 1 << 64)
    # the units are n * 2**-65 from the exact sum at most, then rounded once: within an
    # ulp of its float (1.8e-15 at a sum of 8.9) and that much
    bound = math.ulp(float(exact)) + len(values) * 2.0**-65
    assert abs(units_to_float(whole) - float(exact)) <= bound
