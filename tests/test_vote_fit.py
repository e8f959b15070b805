"""Aggregation through the pipeline: gold files, fitted parameters, convergence, vote columns."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner

import labelprep
from labelprep.cli import main
from labelprep.errors import ColumnNotFoundError, InputError
from tests.conftest import targets_of

# w1 and w2 agree on i1, i2; w3 disagrees; i3 is a 1-1 tie between w1 (a) and w3 (b).
VOTES = """\
id,annotator,label
i1,w1,a
i1,w2,a
i1,w3,b
i2,w1,b
i2,w2,b
i2,w3,a
i3,w1,a
i3,w3,b
"""


def aggregate(tmp_path, votes, **settings):
    out = tmp_path / "out"
    result = labelprep.aggregate([votes], output_dir=out, config=False, classes="a,b", **settings)
    return result, out


def test_targets_carry_vote_count_and_tie(write, tmp_path):
    _, out = aggregate(tmp_path, write("v.csv", VOTES), method="majority")
    frame = targets_of(out).sort("id")
    assert frame["votes"].to_list() == [3, 3, 2]
    assert frame["tied"].to_list() == [False, False, True]
    assert frame.schema["votes"] == pl.Int64
    assert frame.schema["tied"] == pl.Boolean


def test_gold_item_is_fixed_and_its_accuracy_reported(write, tmp_path):
    gold = write("gold.csv", "id,label\ni3,b\nnope,a\n")
    result, out = aggregate(tmp_path, write("v.csv", VOTES), method="wawa", gold=gold)
    frame = targets_of(out).sort("id")
    assert frame.filter(pl.col("id") == "i3")["soft_target"].to_list() == [[0.0, 1.0]]
    info = result.summary["votes"]["gold"]
    assert (info["given"], info["items"], info["unmatched"]) == (2, 1, 1)
    # Majority labels a, b and (gold) b: skills w1 2/3, w2 1, w3 1/3. From its votes alone
    # i3 is then a: 2/3 against b: 1/3, so the accuracy on the gold items is 0.
    assert info["accuracy"] == 0.0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["summary"]["votes"]["gold"]["accuracy"] == 0.0


def test_fitted_parameters_and_convergence_in_outputs(write, tmp_path):
    result, out = aggregate(tmp_path, write("v.csv", VOTES), method="dawid-skene", tol=1e-8)
    info = result.summary["votes"]
    history = info["log_likelihood"]
    assert len(history) == info["iterations"] >= 2
    assert info["final_change"] == pytest.approx(abs(history[-1] - history[-2]) / abs(history[-2]))
    assert info["converged"] is (info["final_change"] < 1e-8)
    assert set(info["class_prior"]) == {"a", "b"}
    assert sum(info["class_prior"].values()) == pytest.approx(1.0)
    annotators = pl.read_parquet(out / "annotators.parquet").sort("annotator")
    assert annotators.schema["confusion"] == pl.Array(pl.Float64, (2, 2))
    confusion = np.array(annotators["confusion"].to_list())
    np.testing.assert_allclose(confusion.sum(axis=2), 1.0, atol=1e-12)
    np.testing.assert_allclose(annotators["skill"].to_numpy(), annotators["estimated_accuracy"])
    # w3 always disagrees with w1 and w2: its confusion matrix is read inverted.
    assert confusion[2, 0, 1] > 0.99
    sparse = "dawid-skene: the median annotator has 3 votes"
    assert any(notice.startswith(sparse) for notice in result.notices)


@pytest.mark.parametrize(
    ("text", "error", "message"),
    [
        ("id,label\ni1,c\n", InputError, r"gold\.csv: gold row 1 has a label outside"),
        ("id,label\ni1,a\ni2,\n", InputError, "gold row 2 has an empty label"),
        ("id,label\ni1,a\ni1,b\n", InputError, "id 'i1' is given two different labels"),
        ("id,class\ni1,a\n", ColumnNotFoundError, "label"),
    ],
)
def test_bad_gold_files_stop_the_run(write, tmp_path, text, error, message):
    with pytest.raises(error, match=message):
        aggregate(tmp_path, write("v.csv", VOTES), method="mace", gold=write("gold.csv", text))
    assert not (tmp_path / "out").exists()


def test_repeated_gold_rows_with_one_label_are_fine(write, tmp_path):
    gold = write("gold.csv", "id,label\ni1,a\ni1,a\n")
    result, _ = aggregate(tmp_path, write("v.csv", VOTES), method="wawa", gold=gold)
    assert result.summary["votes"]["gold"]["items"] == 1


def test_cli_lists_methods_and_prints_fit(write, tmp_path):
    votes = write("v.csv", VOTES)
    gold = write("gold.csv", "id,label\ni1,a\n")
    runner = CliRunner()
    for method in ("one-coin-dawid-skene", "glad", "mace", "wawa", "zero-based-skill"):
        out = tmp_path / method
        args = ["aggregate", str(votes), "-o", str(out), "--no-config", "--classes", "a,b"]
        result = runner.invoke(main, [*args, "--method", method, "--gold", str(gold)])
        assert result.exit_code == 0, result.output
        assert "gold: 1 items, accuracy 1.0000 (0 gold ids without votes)" in result.stdout
    result = runner.invoke(
        main,
        [
            "aggregate",
            str(votes),
            "--method",
            "dawid-skene",
            "-o",
            str(tmp_path / "ds"),
            "--no-config",
            "--classes",
            "a,b",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "note: dawid-skene: the median annotator has 3 votes" in result.stderr
    assert "iterations, converged" in result.stdout
