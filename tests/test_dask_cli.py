"""``--engine dask`` on the command line and ``engine="dask"`` in the Python API: the same
outputs, statistics and verdicts as the local engine, on a cluster given by its scheduler
address or started for the call."""

from __future__ import annotations

import hashlib
import json
import shutil
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


SETS_A = "id,candidates,split\n1,c1|c2,train\n2,c2|c3,train\n3,c1|c3,val\n"
SETS_B = "id,candidates,label,split\n4,c1|c2|c3,,val\n5,,c2,train\n6,c2|c3,,train\n7,,c9,val\n"
PREDICTIONS = (
    "id,c1,c2,c3\n1,0.2,0.6,0.2\n2,0.5,0.25,0.25\n3,0.6,0.3,0.1\n4,0.1,0.1,0.8\n"
    "5,0.3,0.3,0.4\n6,1,0,0\n7,0.3,0.3,0.4\n"
)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, dask_cluster: Any) -> dict[str, Path]:
    """The candidate sets of a.csv and b.csv run by each engine (the dask run: one part
    per file; b.csv line 5 names an unknown class), and a model's predictions for them."""
    folder = tmp_path_factory.mktemp("dask-runs")
    (folder / "a.csv").write_text(SETS_A)
    (folder / "b.csv").write_text(SETS_B)
    (folder / "q.csv").write_text(PREDICTIONS)
    files = [str(folder / "a.csv"), str(folder / "b.csv")]
    common = ["--no-config", "--classes", "c1,c2,c3"]
    engine = ["--engine", "dask", "--scheduler", dask_cluster.scheduler_address]
    for name, flags in (("local", []), ("dask", engine)):
        ran = invoke("run", *files, "-o", str(folder / name), *common, *flags)
        assert ran.exit_code == 0, ran.output
    assert sorted(p.name for p in (folder / "dask" / "targets").iterdir()) == [
        "part-00000.parquet",
        "part-00001.parquet",
    ]
    return {"local": folder / "local", "dask": folder / "dask", "predictions": folder / "q.csv"}


def test_refine_reads_a_run_of_part_files(runs: dict[str, Path], tmp_path: Path) -> None:
    outs = {}
    for name in ("local", "dask"):
        outs[name] = tmp_path / f"{name}-e1"
        refined = invoke(
            "refine", str(runs[name]), "--predictions", str(runs["predictions"]),
            "-o", str(outs[name]),
        )  # fmt: skip
        assert refined.exit_code == 0, refined.output
    targets = pl.read_parquet(outs["dask"] / "targets.parquet")
    assert targets.equals(pl.read_parquet(outs["local"] / "targets.parquet"))
    stats = pl.read_parquet(outs["dask"] / "class_stats.parquet")
    assert stats.equals(pl.read_parquet(outs["local"] / "class_stats.parquet"))
    # worked by hand: mask * q normalised; id 5 (a label) keeps its target; id 6 (c2|c3,
    # all of q on c1) is rejected
    soft = dict(zip(targets["id"], targets["soft_target"].to_list(), strict=True))
    assert soft[1] == pytest.approx([0.25, 0.75, 0.0])
    assert soft[2] == pytest.approx([0.0, 0.5, 0.5])
    assert soft[3] == pytest.approx([6 / 7, 0.0, 1 / 7])
    assert soft[4] == pytest.approx([0.1, 0.1, 0.8])
    assert soft[5] == pytest.approx([0.0, 1.0, 0.0])
    assert 6 not in soft
    # a rejected row names the file it came from and its row there: id 6 is row 6 of
    # targets.parquet, row 3 of the second part
    rejects = {
        name: pl.read_parquet(outs[name] / "rejects.parquet")
        .select("source", "row", "id", "reason")
        .rows()
        for name in outs
    }
    part = runs["dask"] / "targets" / "part-00001.parquet"
    unknown = (str(runs["predictions"]), 8, "7", "unknown_id")
    assert rejects["local"] == [
        (str(runs["local"] / "targets.parquet"), 6, "6", "no_overlap"),
        unknown,
    ]
    assert rejects["dask"] == [(str(part), 3, "6", "no_overlap"), unknown]
    manifests = {n: json.loads((outs[n] / "manifest.json").read_text()) for n in outs}
    for key in ("rows", "refine", "classes", "summary"):
        assert manifests["dask"][key] == manifests["local"][key], key
    inputs = manifests["dask"]["inputs"]
    assert [(i["path"], i["rows"], i["role"]) for i in inputs] == [
        (str(runs["dask"] / "targets" / "part-00000.parquet"), 3, "run"),
        (str(part), 3, "run"),
        (str(runs["predictions"]), 7, "predictions"),
    ]
    assert inputs[1]["sha256"] == hashlib.sha256(part.read_bytes()).hexdigest()


def test_report_re_renders_a_run_of_part_files(runs: dict[str, Path], tmp_path: Path) -> None:
    folder = tmp_path / "dask"
    shutil.copytree(runs["dask"], folder)
    written = (folder / "report.md").read_text()
    b_csv = runs["predictions"].parent / "b.csv"
    example = f"| {b_csv} | 5 | label | c9 | column label: 'c9' is not a known class |"
    assert example in written  # b.csv line 5: an example of its reason
    (folder / "report.md").unlink()
    (folder / "report.html").unlink()
    rendered = invoke("report", str(folder))
    assert rendered.exit_code == 0, rendered.output
    assert (folder / "report.md").read_text() == written
    assert written == (runs["local"] / "report.md").read_text()


def test_torch_loaders_read_a_run_of_part_files(runs: dict[str, Path]) -> None:
    torch_data = pytest.importorskip("labelprep.torch_data", exc_type=ImportError)
    for split in (None, "val"):
        local = torch_data.TargetsDataset(runs["local"], split=split)
        dask = torch_data.TargetsDataset(runs["dask"], split=split)
        assert len(dask) == len(local) == (6 if split is None else 2)
        assert torch_data.torch.equal(dask.ids, local.ids)
        assert dask.soft_target.equal(local.soft_target)
        assert dask.mask.equal(local.mask)
        assert dask.hard_index.equal(local.hard_index)
    weights = torch_data.class_weight_tensor(runs["dask"], "balanced")
    assert weights.equal(torch_data.class_weight_tensor(runs["local"], "balanced"))
