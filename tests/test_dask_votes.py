"""Votes at scale on a Dask cluster of two worker processes: an item's votes spread over
files are brought together by hashing its id and aggregated as the local engine does
(vote shares, majority, Dawid-Skene as a distributed EM, to 1e-9)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import distributed
import numpy as np
import polars as pl
import pytest

from labelprep.api import resolve_run_inputs
from labelprep.pipeline import prepare

CLASSES = ["c1", "c2", "c3"]

VOTE_SCHEMA = {"id": pl.String, "annotator": pl.String, "label": pl.String}


@pytest.fixture(scope="module")
def vote_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """400 items, each with 3 to 5 votes of 8 annotators (accuracies 0.5 to 0.9), the
    votes shuffled over three files so that an item's votes are spread across them."""
    folder = tmp_path_factory.mktemp("dask-votes")
    rng = np.random.default_rng(7)
    truth = rng.integers(0, 3, 400)
    accuracy = np.linspace(0.5, 0.9, 8)
    rows = []
    for item, true in enumerate(truth):
        for annotator in rng.choice(8, size=rng.integers(3, 6), replace=False):
            right = rng.random() < accuracy[annotator]
            label = true if right else (true + rng.integers(1, 3)) % 3
            rows.append((f"i{item}", f"w{annotator}", CLASSES[label]))
    order = rng.permutation(len(rows))
    paths = []
    for f, chunk in enumerate(np.array_split(order, 3)):
        path = folder / f"votes{f}.parquet"
        pl.DataFrame([rows[i] for i in chunk], schema=VOTE_SCHEMA, orient="row").write_parquet(path)
        paths.append(path)
    return paths


def local_posteriors(paths: list[Path], method: str) -> tuple[dict[str, list[float]], int]:
    """Per item id, the local engine's posterior (the votes step of ``prepare``), and the
    EM iterations it ran."""
    from labelprep.inputs.ingest import PRE_REASON, RAW_PROBS
    from labelprep.votes import VoteSettings

    files, options = resolve_run_inputs(paths, config=False, settings={"classes": CLASSES})
    votes = VoteSettings(method=method)
    prepared = prepare(files, options, votes=votes, only_votes=True)
    assert prepared.votes is not None
    rows = prepared.votes.canonical.filter(pl.col(PRE_REASON).is_null()).collect()
    posteriors = zip(rows["id"].cast(pl.String), rows[RAW_PROBS].to_list(), strict=True)
    return dict(posteriors), prepared.votes.result.n_iter


@pytest.mark.parametrize("method", ["shares", "majority", "dawid-skene"])
def test_votes_spread_over_files_aggregate_as_locally(
    vote_files: list[Path], dask_cluster: Any, method: str
) -> None:
    from labelprep.engine.votes import aggregate_votes

    expected, n_iter = local_posteriors(vote_files, method)
    with distributed.Client(dask_cluster) as client:
        fit = aggregate_votes(
            client,
            [str(p) for p in vote_files],
            CLASSES,
            method=method,
            partitions=3,
        )
    got = dict(zip(fit.items["id"], fit.items["proba"].to_list(), strict=True))
    assert got.keys() == expected.keys()
    assert len(got) == 400
    ids = sorted(got)
    diff = np.abs(np.array([got[i] for i in ids]) - np.array([expected[i] for i in ids]))
    assert diff.max() < 1e-9
    if method == "dawid-skene":
        assert fit.converged
        assert fit.n_iter == n_iter > 2


def read_outputs(folder: Path) -> dict[str, pl.DataFrame]:
    """Targets, rejects, class statistics and annotators of an output directory (the
    part files of the Dask engine read as one table)."""
    tables = {}
    for name in ("targets", "rejects", "class_stats", "annotators"):
        parts = folder / name
        tables[name] = pl.read_parquet(
            parts / "*.parquet" if parts.is_dir() else folder / f"{name}.parquet"
        )
    return tables


def assert_frames_close(got: pl.DataFrame, expected: pl.DataFrame) -> None:
    """Equal frames, floats (also inside lists) to 1e-9."""
    from polars.testing import assert_frame_equal

    assert_frame_equal(got, expected, check_exact=False, rel_tol=0, abs_tol=1e-9)


def assert_close(got: Any, expected: Any) -> None:
    """Equal JSON values, numbers (also nested) to 1e-9."""
    if isinstance(expected, dict):
        assert got.keys() == expected.keys()
        for key in expected:
            assert_close(got[key], expected[key])
    elif isinstance(expected, list):
        assert len(got) == len(expected)
        for g, e in zip(got, expected, strict=True):
            assert_close(g, e)
    elif isinstance(expected, float):
        assert got == pytest.approx(expected, rel=1e-9, abs=1e-9)
    else:
        assert got == expected


@pytest.mark.parametrize("method", ["shares", "dawid-skene"])
def test_aggregate_command_fits_the_votes_on_the_cluster(
    vote_files: list[Path],
    dask_cluster: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    method: str,
) -> None:
    """``aggregate --engine dask`` on votes of one item spread over three files (plus a
    fourth with an unknown class and an empty label on lines 3 and 4): the outputs of the
    local engine, and the model is fitted on the workers, never by the driver."""
    from click.testing import CliRunner

    import labelprep.votes
    from labelprep.cli import main

    extra = tmp_path / "extra.parquet"
    rows = [("i0", "w1", "c1"), ("i1", "w2", "c9"), ("i2", "w3", None)]
    pl.DataFrame(rows, schema=VOTE_SCHEMA, orient="row").write_parquet(extra)
    files = [*map(str, vote_files), str(extra)]
    common = ["--no-config", "--classes", "c1,c2,c3", "--method", method]
    local = CliRunner().invoke(main, ["aggregate", *files, "-o", str(tmp_path / "l"), *common])
    assert local.exit_code == 0, local.output

    def no_driver_fit(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the votes were aggregated on the driver")

    monkeypatch.setattr(labelprep.votes, "get_method", no_driver_fit)
    engine = ["--engine", "dask", "--scheduler", dask_cluster.scheduler_address]
    out = tmp_path / "d"
    ran = CliRunner().invoke(main, ["aggregate", *files, "-o", str(out), *common, *engine])
    assert ran.exit_code == 0, ran.output
    expected, got = read_outputs(tmp_path / "l"), read_outputs(out)
    assert got["targets"].height == 400
    assert got["rejects"].select("row", "reason").rows() == [
        (2, "unknown_class"),
        (3, "no_evidence"),
    ]
    for name in ("targets", "rejects", "class_stats", "annotators"):
        assert_frames_close(got[name], expected[name])
    summary = json.loads((out / "manifest.json").read_text())["summary"]["votes"]
    local_summary = json.loads((tmp_path / "l" / "manifest.json").read_text())["summary"]["votes"]
    assert_close(summary, local_summary)
    assert (summary["votes_in"], summary["votes_used"]) == (
        local_summary["votes_in"],
        1 + sum(pl.read_parquet(p).height for p in vote_files),
    )
    if method == "dawid-skene":
        assert summary["iterations"] == local_summary["iterations"] > 2
        assert summary["converged"]


def test_run_command_fits_the_votes_on_the_cluster(
    vote_files: list[Path], dask_cluster: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``run --engine dask`` on the vote files and a file of plain labels (its id i0 also
    an item of the votes: a duplicate_id): the local engine's targets and rejects, the
    votes aggregated on the workers."""
    from click.testing import CliRunner

    import labelprep.votes
    from labelprep.cli import main

    plain = tmp_path / "plain.csv"
    plain.write_text("id,label\nx1,c2\ni0,c1\n")
    files = [*map(str, vote_files), str(plain)]
    common = ["--no-config", "--classes", "c1,c2,c3"]
    local = CliRunner().invoke(main, ["run", *files, "-o", str(tmp_path / "l"), *common])
    assert local.exit_code == 0, local.output
    monkeypatch.setattr(labelprep.votes, "get_method", None)
    engine = ["--engine", "dask", "--scheduler", dask_cluster.scheduler_address]
    ran = CliRunner().invoke(main, ["run", *files, "-o", str(tmp_path / "d"), *common, *engine])
    assert ran.exit_code == 0, ran.output
    expected, got = read_outputs(tmp_path / "l"), read_outputs(tmp_path / "d")
    for name in ("targets", "rejects", "class_stats", "annotators"):
        assert_frames_close(got[name], expected[name])
    assert got["targets"].height == 401
    assert "x1" in got["targets"]["id"].to_list()
    assert got["rejects"].select("source", "row", "reason").rows() == [
        (str(plain), 3, "duplicate_id")
    ]


def test_a_cluster_fit_of_other_votes_is_not_used() -> None:
    """Items 'a' (votes c1, c2) and 'b' (c3): the cluster's shares are put in the
    driver's item order; a fit that saw other vote counts, or missed an item, is refused
    (None: the model is then fitted on the driver)."""
    from labelprep.aggregation import EncodedVotes
    from labelprep.engine.cluster_votes import result_of
    from labelprep.engine.votes import DistributedFit

    encoded = EncodedVotes(
        item=np.array([0, 0, 1]),
        annotator=np.array([0, 1, 0]),
        label=np.array([0, 1, 2]),
        n_items=2,
        n_annotators=2,
        n_classes=3,
    )
    items = pl.DataFrame({"id": ["a", "b"]})
    proba = pl.Series([[0.0, 0.0, 1.0], [0.5, 0.5, 0.0]], dtype=pl.List(pl.Float64))
    fit = DistributedFit(pl.DataFrame({"id": ["b", "a"], "proba": proba, "votes": [1, 2]}))
    result = result_of(fit, "shares", encoded, items, ["w1", "w2"])
    assert result is not None
    assert result.proba.tolist() == [[0.5, 0.5, 0.0], [0.0, 0.0, 1.0]]
    assert result.n_votes.tolist() == [2, 1]
    other_counts = DistributedFit(fit.items.with_columns(pl.Series("votes", [1, 3])))
    assert result_of(other_counts, "shares", encoded, items, ["w1", "w2"]) is None
    assert result_of(DistributedFit(fit.items.head(1)), "shares", encoded, items, []) is None
