"""``--engine dask`` on the command line and ``engine="dask"`` in the Python API: the same
outputs, statistics and verdicts as the local engine, on a cluster given by its scheduler
address or started for the call."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from click.testing import CliRunner

import labelprep
from labelprep.cli import main

CLASSES = ["c1", "c2", "c3"]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two files: line 3 of a.csv sums to 1.5 (bad_sum); id 2 is in both (duplicate_id on
    line 2 of b.csv); b.csv line 4 names an unknown class."""
    folder = tmp_path_factory.mktemp("dask-cli")
    (folder / "a.csv").write_text("id,c1,c2,c3\n1,0.9,0.05,0.05\n2,0.3,0.3,0.9\n3,0.2,0.8,0\n")
    (folder / "b.csv").write_text("id,label\n2,c1\n4,c2\n5,c9\n6,c3\n")
    return [folder / "a.csv", folder / "b.csv"]


def invoke(*args: str) -> Any:
    return CliRunner().invoke(main, list(args))


def test_run_stats_and_validate_on_a_scheduler(
    inputs: list[Path], dask_cluster: Any, tmp_path: Path
) -> None:
    files = [str(p) for p in inputs]
    common = ["--no-config", "--classes", "c1,c2,c3"]
    engine = ["--engine", "dask", "--scheduler", dask_cluster.scheduler_address]
    ran = invoke("run", *files, "-o", str(tmp_path / "out"), *common, *engine)
    assert ran.exit_code == 0, ran.output
    local = labelprep.run(inputs, output_dir=tmp_path / "local", config=False, classes=CLASSES)
    targets = pl.read_parquet(tmp_path / "out" / "targets" / "*.parquet")
    assert targets.equals(pl.read_parquet(tmp_path / "local" / "targets.parquet"))
    assert targets["id"].to_list() == [1, 3, 4, 6]
    assert local.rejects_by_reason == {"bad_sum": 1, "duplicate_id": 1, "unknown_class": 1}
    stats = invoke("stats", *files, "--format", "csv", *common, *engine)
    assert stats.exit_code == 0, stats.output
    expected = labelprep.class_stats(inputs, config=False, classes=CLASSES)
    assert pl.read_csv(stats.stdout.encode()).equals(pl.read_csv(expected.write_csv().encode()))
    gate = ("validate", *files, "--max-reject-rate", "0.5", "--format", "json", *common)
    checked = invoke(*gate, *engine)
    assert checked.exit_code == 0, checked.output
    assert json.loads(checked.stdout) == json.loads(invoke(*gate).stdout)
    assert json.loads(checked.stdout)["rejects_by_reason"] == local.rejects_by_reason


def test_aggregate_on_a_scheduler(dask_cluster: Any, tmp_path: Path) -> None:
    votes = tmp_path / "votes.csv"
    votes.write_text("id,annotator,label\n1,w1,c1\n1,w2,c2\n2,w1,c3\n1,w3,c1\n2,w2,c7\n")
    settings: dict[str, Any] = {"config": False, "classes": CLASSES, "method": "dawid-skene"}
    local = labelprep.aggregate(votes, output_dir=tmp_path / "local", **settings)
    address = dask_cluster.scheduler_address
    result = labelprep.aggregate(
        votes, output_dir=tmp_path / "dask", engine="dask", scheduler=address, **settings
    )
    targets = pl.read_parquet(tmp_path / "dask" / "targets" / "*.parquet")
    assert targets.equals(pl.read_parquet(tmp_path / "local" / "targets.parquet"))
    annotators = pl.read_parquet(tmp_path / "dask" / "annotators.parquet")
    assert annotators.equals(pl.read_parquet(tmp_path / "local" / "annotators.parquet"))
    assert result.summary == local.summary
    assert result.rejects_by_reason == {"unknown_class": 1}


def test_engine_flags_are_checked(inputs: list[Path], tmp_path: Path) -> None:
    out = str(tmp_path / "out")
    refused = invoke("run", *map(str, inputs), "-o", out, "--no-config", "--workers", "2")
    assert refused.exit_code == 2
    assert "--scheduler and --workers need --engine dask" in refused.output
    assert not (tmp_path / "out").exists()


def test_a_local_cluster_started_for_the_call(inputs: list[Path], tmp_path: Path) -> None:
    report = labelprep.validate(
        inputs,
        config=False,
        classes=CLASSES,
        max_reject_rate=0.5,
        output_dir=tmp_path / "out",
        engine="dask",
        workers=1,
    )
    local = labelprep.validate(inputs, config=False, classes=CLASSES, max_reject_rate=0.5)
    assert report.samples == local.samples
    assert report.rejects_by_reason == local.rejects_by_reason
    assert report.passed
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["rows"]["in"] == 7
