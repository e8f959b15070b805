"""The Dask engine gives the local engine's results: same targets (as a set of rows),
rejects, class statistics and summary, on a real cluster of two worker processes."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import distributed
import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import labelprep
from labelprep.api import resolve_run_inputs
from labelprep.engine import Engine, dask_run
from labelprep.engine.split import group_ranges
from labelprep.errors import ConfigError, InputError, OutputError
from labelprep.pipeline import inspect, prepare

CLASSES = ["c1", "c2", "c3"]
ROWS_PER_TASK = 1000  # a.parquet (3000 rows, row groups of 500) is cut into 3 tasks
PATTERNS = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.2, 0.3, 0.5]])


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """a.parquet: 3000 rows of probabilities (row 2501 sums to 1.9; id 10 again on row
    1601); b.csv: labels for ids 2990..3009 (2990..2999 repeat a.parquet's; line 5 names
    an unknown class); c.csv: candidate and excluded sets for ids 4000..4099."""
    folder = tmp_path_factory.mktemp("dask-inputs")
    n = 3000
    probs = PATTERNS[np.arange(n) % 3].copy()
    probs[2500] = [0.9, 0.9, 0.1]
    ids = np.arange(n)
    ids[1600] = 10
    frame = pl.DataFrame(
        {
            "id": ids,
            "c1": probs[:, 0],
            "c2": probs[:, 1],
            "c3": probs[:, 2],
            "split": np.where(np.arange(n) % 5 == 0, "val", "train"),
        }
    )
    frame.write_parquet(folder / "a.parquet", row_group_size=500)
    labels = [CLASSES[i % 3] for i in range(20)]
    labels[3] = "c9"  # line 5 (the header is line 1)
    b_rows = [
        f"{2990 + i},{lab},{'val' if i % 4 == 0 else 'train'}" for i, lab in enumerate(labels)
    ]
    (folder / "b.csv").write_text("id,label,split\n" + "\n".join(b_rows) + "\n")
    c_rows = []
    for i in range(100):
        candidates = "c1|c2" if i % 2 else ""
        excluded = "c3" if i % 2 == 0 else ""
        c_rows.append(f"{4000 + i},{candidates},{excluded},train")
    (folder / "c.csv").write_text("id,candidates,excluded,split\n" + "\n".join(c_rows) + "\n")
    return [folder / "a.parquet", folder / "b.csv", folder / "c.csv"]


def run_dask(inputs: list[Path], out: Path, address: str, **settings: Any) -> labelprep.RunResult:
    paths, options = resolve_run_inputs(inputs, config=False, settings=settings)
    prepared = prepare(paths, options, passes=False)
    engine = Engine("dask", scheduler=address, rows_per_task=ROWS_PER_TASK)
    return dask_run.run(prepared, out, engine)


def outputs(folder: Path, *, parts: bool) -> dict[str, Any]:
    """What a run wrote, comparable across engines: targets and rejects (the parts read in
    name order), class statistics, the manifest but its list of outputs, the report."""
    targets = folder / ("targets/*.parquet" if parts else "targets.parquet")
    rejects = folder / ("rejects/*.parquet" if parts else "rejects.parquet")
    manifest = json.loads((folder / "manifest.json").read_text())
    return {
        "targets": pl.read_parquet(targets),
        "rejects": pl.read_parquet(rejects),
        "stats": pl.read_parquet(folder / "class_stats.parquet"),
        "rows": manifest["rows"],
        "manifest": {k: v for k, v in manifest.items() if k != "outputs"},
        "report": (folder / "report.md").read_text(),
    }


def assert_same(local: dict[str, Any], dask: dict[str, Any]) -> None:
    assert dask["targets"].equals(local["targets"])
    assert dask["rejects"].equals(local["rejects"])
    assert dask["stats"].equals(local["stats"])
    assert dask["manifest"] == local["manifest"]  # counts, summary, inputs and their hashes
    assert dask["report"] == local["report"]


def test_group_ranges_cut_at_row_group_boundaries() -> None:
    assert group_ranges([500] * 6, 1000) == [(0, 1000), (1000, 1000), (2000, None)]
    assert group_ranges([500] * 5, 1000) == [(0, 1000), (1000, 1000), (2000, None)]
    assert group_ranges([3000], 1000) == [(0, None)]


def test_run_matches_the_local_engine(
    inputs: list[Path], dask_cluster: Any, tmp_path: Path
) -> None:
    settings = {"classes": CLASSES}
    labelprep.run(inputs, output_dir=tmp_path / "local", config=False, **settings)
    run_dask(inputs, tmp_path / "dask", dask_cluster.scheduler_address, **settings)
    local, dask = outputs(tmp_path / "local", parts=False), outputs(tmp_path / "dask", parts=True)
    assert_same(local, dask)
    # worked by hand: 3120 rows; rejected: row 2501 (bad_sum), row 1601 (id 10 again),
    # b.csv's ten ids already in a.parquet, and b.csv line 5 (c9) is one of those
    assert dask["rows"]["in"] == 3120
    assert dask["rows"]["rejected_by_reason"] == {"bad_sum": 1, "duplicate_id": 11}
    reasons = dask["rejects"].select("source", "row", "reason").rows()
    assert (str(inputs[0]), 2501, "bad_sum") in reasons
    assert (str(inputs[0]), 1601, "duplicate_id") in reasons
    assert (str(inputs[1]), 2, "duplicate_id") in reasons


def test_parts_carry_the_schema_and_metadata_and_are_in_the_manifest(
    inputs: list[Path], dask_cluster: Any, tmp_path: Path
) -> None:
    import datasets  # heavy, and only this test needs it
    import pyarrow.dataset as pads
    import pyarrow.parquet as pq

    labelprep.run(inputs, output_dir=tmp_path / "local", config=False, classes=CLASSES)
    run_dask(inputs, tmp_path / "dask", dask_cluster.scheduler_address, classes=CLASSES)
    expected = pq.read_schema(tmp_path / "local" / "targets.parquet")
    parts = sorted((tmp_path / "dask" / "targets").iterdir())
    assert [p.name for p in parts] == [f"part-0000{i}.parquet" for i in range(5)]  # 3 + 1 + 1
    rejects = pq.read_schema(tmp_path / "local" / "rejects.parquet")
    for part in parts:
        assert pq.read_schema(part).equals(expected, check_metadata=True)
        rejects_part = tmp_path / "dask" / "rejects" / part.name
        assert pq.read_schema(rejects_part).equals(rejects, check_metadata=True)
    listed = json.loads((tmp_path / "dask" / "manifest.json").read_text())["outputs"]
    hashes = {entry["path"]: entry["sha256"] for entry in listed}
    for part in parts:
        for kind in ("targets", "rejects"):
            data = (tmp_path / "dask" / kind / part.name).read_bytes()
            assert hashes[f"{kind}/{part.name}"] == hashlib.sha256(data).hexdigest()
    # the parts in order are the local file, row for row, for every reader
    local = pl.read_parquet(tmp_path / "local" / "targets.parquet")
    assert pl.read_parquet(tmp_path / "dask" / "targets" / "*.parquet").equals(local)
    table = pads.dataset(tmp_path / "dask" / "targets", format="parquet").to_table()
    assert table.schema.equals(expected, check_metadata=False)
    assert table.num_rows == local.height
    loaded = datasets.load_dataset(
        "parquet",
        data_dir=str(tmp_path / "dask" / "targets"),
        split="train",
        cache_dir=str(tmp_path / "hf-cache"),
    )
    assert loaded.features["hard_index"].names == CLASSES
    assert loaded.features["soft_target"].length == 3
    assert loaded["id"] == local["id"].to_list()
    # a second run replaces the first (a directory of parts is labelprep's own)
    run_dask(inputs, tmp_path / "dask", dask_cluster.scheduler_address, classes=CLASSES)
    assert not (tmp_path / "dask" / ".parts-tmp").exists()


def test_a_part_file_the_manifest_does_not_list_is_never_replaced(
    inputs: list[Path], dask_cluster: Any, tmp_path: Path
) -> None:
    out = tmp_path / "dask"
    run_dask(inputs, out, dask_cluster.scheduler_address, classes=CLASSES)
    users = out / "targets" / "part-99999.parquet"
    users.write_bytes((out / "targets" / "part-00000.parquet").read_bytes())
    with pytest.raises(OutputError, match="did not write: targets"):
        run_dask(inputs, out, dask_cluster.scheduler_address, classes=CLASSES)
    assert users.is_file()


def test_partial_prior_matches_the_local_engine(
    inputs: list[Path], dask_cluster: Any, tmp_path: Path
) -> None:
    settings = {"classes": CLASSES, "partial": "prior"}
    local_result = labelprep.run(inputs, output_dir=tmp_path / "local", config=False, **settings)
    result = run_dask(inputs, tmp_path / "dask", dask_cluster.scheduler_address, **settings)
    assert_same(outputs(tmp_path / "local", parts=False), outputs(tmp_path / "dask", parts=True))
    assert result.summary["partial_prior"] == local_result.summary["partial_prior"]
    assert result.summary["prior_source"] == "labelled"


def test_weights_smoothing_and_votes_match_the_local_engine(
    inputs: list[Path], dask_cluster: Any, tmp_path: Path
) -> None:
    votes = tmp_path / "votes.csv"
    votes.write_text(
        "id,annotator,label\n5000,w1,c1\n5000,w2,c2\n5001,w1,c3\n5000,w3,c1\n5001,w2,c7\n"
    )
    settings = {"classes": CLASSES, "sample_weight": "balanced", "smoothing": 0.1}
    files = [*inputs, votes]
    labelprep.run(files, output_dir=tmp_path / "local", config=False, **settings)
    result = run_dask(files, tmp_path / "dask", dask_cluster.scheduler_address, **settings)
    assert_same(outputs(tmp_path / "local", parts=False), outputs(tmp_path / "dask", parts=True))
    assert result.summary["fallbacks"] == {"smoothed": 3120 - 12 + 2}
    targets = pl.read_parquet(tmp_path / "dask" / "targets" / "*.parquet")
    # item 5000: votes c1, c2, c1 -> shares 2/3, 1/3, 0, smoothed by 0.1 over 3 classes
    row = targets.filter(pl.col("id").cast(pl.String) == "5000")
    expected = [0.9 * 2 / 3 + 0.1 / 3, 0.9 / 3 + 0.1 / 3, 0.1 / 3]
    assert row["soft_target"].to_list()[0] == pytest.approx(expected, abs=1e-6)
    assert row["votes"].to_list() == [3]


def test_counting_without_writing_matches_inspect(inputs: list[Path], dask_cluster: Any) -> None:
    paths, options = resolve_run_inputs(inputs, config=False, settings={"classes": CLASSES})
    local_counts, local_samples = inspect(prepare(paths, options), samples_per_reason=2)
    engine = Engine("dask", scheduler=dask_cluster.scheduler_address, rows_per_task=ROWS_PER_TASK)
    prepared = prepare(paths, options, passes=False)
    _, counts, samples = dask_run.inspect(prepared, engine, samples_per_reason=2)
    assert samples.equals(local_samples)
    assert counts.sums.equals(local_counts.sums)
    assert counts.rows.by_file == local_counts.rows.by_file
    key = ["__file", "reason"]
    assert counts.rejects.sort(key).equals(local_counts.rejects.sort(key))


def test_a_worker_killed_mid_run_loses_no_row(
    inputs: list[Path], dask_cluster: Any, tmp_path: Path
) -> None:
    from distributed.diagnostics.plugin import WorkerPlugin

    marker = tmp_path / "killed"

    class KillOnce(WorkerPlugin):  # type: ignore[misc]
        """Kills its worker once, right after task 1 of the main pass has written its
        parts: the task is run again elsewhere and rewrites them."""

        name = "kill-once"

        def transition(self, key: Any, start: str, finish: str, **kwargs: Any) -> None:
            first = not marker.exists()
            if str(key).startswith("labelprep-main-00001") and finish == "memory" and first:
                marker.touch()
                os._exit(1)

    with distributed.Client(dask_cluster) as client:
        client.register_plugin(KillOnce())
        try:
            run_dask(inputs, tmp_path / "dask", dask_cluster.scheduler_address, classes=CLASSES)
        finally:
            client.unregister_worker_plugin("kill-once")
    assert marker.exists()
    labelprep.run(inputs, output_dir=tmp_path / "local", config=False, classes=CLASSES)
    assert_same(outputs(tmp_path / "local", parts=False), outputs(tmp_path / "dask", parts=True))


def test_without_dask_the_error_names_the_extra(
    inputs: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "distributed" else real(name)
    )
    paths, options = resolve_run_inputs(inputs, config=False, settings={"classes": CLASSES})
    prepared = prepare(paths, options, passes=False)
    with pytest.raises(ConfigError, match=r"pip install 'labelprep\[dask\]'"):
        dask_run.run(prepared, tmp_path / "out", Engine("dask", workers=1))
    assert not (tmp_path / "out").exists()


def test_a_scheduler_that_cannot_be_reached_is_a_clear_error(
    inputs: list[Path], tmp_path: Path
) -> None:
    import dask

    with (
        dask.config.set({"distributed.comm.timeouts.connect": "1s"}),
        pytest.raises(ConfigError, match=r"cannot reach the Dask scheduler at tcp://127.0.0.1:9"),
    ):
        run_dask(inputs, tmp_path / "out", "tcp://127.0.0.1:9", classes=CLASSES)
    assert not (tmp_path / "out").exists()


def test_split_files_without_a_split_column_are_refused_before_it_runs(tmp_path: Path) -> None:
    plain = tmp_path / "plain.csv"
    plain.write_text("id,label\n1,c1\n")
    settings = {"classes": CLASSES, "split_files": True}
    with pytest.raises(InputError, match="no input has a split column"):
        run_dask([plain], tmp_path / "out", "tcp://127.0.0.1:9", **settings)  # none is reached
    assert not (tmp_path / "out").exists()


def test_split_files_match_the_local_engine(
    inputs: list[Path], dask_cluster: Any, tmp_path: Path
) -> None:
    settings = {"classes": CLASSES, "split_files": True}
    labelprep.run(inputs, output_dir=tmp_path / "local", config=False, **settings)
    out = tmp_path / "dask"
    run_dask(inputs, out, dask_cluster.scheduler_address, **settings)
    assert len(list((out / "targets").iterdir())) == 5  # cut into 5 tasks: 3 + 1 + 1
    for name in ("val", "train", "README.md"):
        file = f"splits/{name}.parquet" if name != "README.md" else name
        assert (out / file).read_bytes() == (tmp_path / "local" / file).read_bytes(), file
    assert_same(outputs(tmp_path / "local", parts=False), outputs(out, parts=True))
    # worked by hand: a.parquet has 600 val rows (i % 5 == 0) less rows 2501 and 1601 (both
    # val), 2400 train; b.csv keeps lines 12..21 (ids 3000..3009): 2 val, 8 train; c.csv:
    # 100 train. Val comes first (a.parquet's first row).
    targets = pl.read_parquet(out / "targets" / "*.parquet")
    for name, rows in (("val", 598 + 2), ("train", 2400 + 8 + 100)):
        split = pl.read_parquet(out / "splits" / f"{name}.parquet")
        assert split.height == rows
        assert split.equals(targets.filter(pl.col("split") == name))
    card = (out / "README.md").read_text()
    assert card.index('"splits/val.parquet"') < card.index('"splits/train.parquet"')
    listed = json.loads((out / "manifest.json").read_text())["outputs"]
    entries = {entry["path"]: entry for entry in listed}
    for file in ("splits/val.parquet", "splits/train.parquet", "README.md"):
        data = (out / file).read_bytes()
        assert entries[file]["bytes"] == len(data)
        assert entries[file]["sha256"] == hashlib.sha256(data).hexdigest()
    # a folder of splits the manifest lists is labelprep's own: a second run replaces it
    run_dask(inputs, out, dask_cluster.scheduler_address, **{**settings, "split_files": False})
    assert not (out / "splits").exists()
    assert not (out / "README.md").exists()


def test_a_bad_split_name_on_the_cluster_names_its_row_and_writes_nothing(
    dask_cluster: Any, tmp_path: Path
) -> None:
    good = tmp_path / "a.csv"
    good.write_text("id,label,split\n1,c1,train\n2,c2,train\n")
    bad = tmp_path / "b.csv"
    bad.write_text("id,label,split\n3,c1,train\n4,c3,val set\n5,c3,val set\n")
    settings = {"classes": CLASSES, "split_files": True}
    expected = "2 accepted row\\(s\\) have the split 'val set', not a valid name"
    with pytest.raises(InputError, match=expected) as raised:
        run_dask([good, bad], tmp_path / "out", dask_cluster.scheduler_address, **settings)
    assert "b.csv, line 3, id 4" in str(raised.value)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"kind": "spark"}, "engine 'spark'"),
        ({"workers": 2}, "need --engine dask"),
        ({"kind": "dask", "workers": 0}, "at least 1"),
        ({"kind": "dask", "workers": 2, "scheduler": "tcp://x:1"}, "not both"),
    ],
)
def test_engine_settings_are_checked(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Engine(**settings)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(1, 400),
    group=st.integers(1, 120),
    per_task=st.integers(1, 300),
    seed=st.integers(0, 2**16),
)
def test_any_cut_into_tasks_gives_the_local_outputs(
    dask_cluster: Any, n: int, group: int, per_task: int, seed: int
) -> None:
    """Random inputs (some rows summing to 1.5, some negative, ids repeating within and
    across files) cut into random row groups and tasks: the local engine's outputs."""
    rng = np.random.default_rng(seed)
    probs = PATTERNS[rng.integers(0, 3, size=n)].copy()
    probs[rng.random(n) < 0.1, 0] += 0.5
    probs[rng.random(n) < 0.05, 1] = -0.1
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        paths = []
        for f in range(2):
            ids = rng.integers(0, n, size=n)  # repeats within and across the files
            frame = pl.DataFrame({"id": ids, **{c: probs[:, i] for i, c in enumerate(CLASSES)}})
            frame.write_parquet(root / f"{f}.parquet", row_group_size=group)
            paths.append(root / f"{f}.parquet")
        labelprep.run(paths, output_dir=root / "local", config=False, classes=CLASSES)
        resolved, options = resolve_run_inputs(paths, config=False, settings={"classes": CLASSES})
        engine = Engine("dask", scheduler=dask_cluster.scheduler_address, rows_per_task=per_task)
        dask_run.run(prepare(resolved, options, passes=False), root / "dask", engine)
        local, dask = outputs(root / "local", parts=False), outputs(root / "dask", parts=True)
        assert_same(local, dask)
        assert dask["rows"]["in"] == 2 * n
