"""Votes at scale on a Dask cluster of two worker processes: an item's votes spread over
files are brought together by hashing its id and aggregated as the local engine does
(vote shares, majority, Dawid-Skene as a distributed EM, to 1e-9)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import distributed
import numpy as np
import polars as pl
import pytest

from labelprep.api import resolve_run_inputs
from labelprep.pipeline import prepare

CLASSES = ["c1", "c2", "c3"]


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
        lines = [",".join(rows[i]) for i in chunk]
        path = folder / f"votes{f}.csv"
        path.write_text("id,annotator,label\n" + "\n".join(lines) + "\n")
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
