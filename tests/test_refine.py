"""labelprep refine: a run's candidate masks combined with a model's probabilities."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import labelprep
from labelprep.cli import main
from labelprep.errors import ConfigError, InputError
from labelprep.refine import NO_OVERLAP, NO_PREDICTION, REFINED, SINGLE, combine
from tests.conftest import rejects_of, targets_of

CLASSES = ["a", "b", "c", "d", "e"]


@pytest.fixture
def candidate_run(tmp_path: Path) -> tuple[Path, np.ndarray, np.ndarray]:
    """A run over 300 random candidate sets (2 to 5 classes) and a model's probabilities."""
    rng = np.random.default_rng(7)
    mask = rng.random((300, 5)) < 0.5
    mask[mask.sum(axis=1) < 2, :2] = True
    probs = rng.dirichlet(np.full(5, 0.7), size=300)
    sets = [[CLASSES[j] for j in np.flatnonzero(row)] for row in mask]
    pl.DataFrame({"id": range(300), "candidates": sets}).write_parquet(tmp_path / "c.parquet")
    labelprep.run(
        [tmp_path / "c.parquet"], output_dir=tmp_path / "run", classes=CLASSES, config=False
    )
    return tmp_path / "run", mask, probs


def write_wide(path: Path, ids: range | list[int], probs: np.ndarray) -> Path:
    frame = pl.DataFrame({"id": list(ids), **{c: probs[:, i] for i, c in enumerate(CLASSES)}})
    frame.write_csv(path)
    return path


def stacked(out: Path, column: str = "soft_target") -> np.ndarray:
    return np.array(targets_of(out).sort("id")[column].to_list(), dtype=np.float64)


def test_targets_are_the_normalized_product_of_mask_and_prediction(candidate_run, tmp_path):
    run_dir, mask, probs = candidate_run
    preds = write_wide(tmp_path / "q.csv", range(300), probs)
    result = labelprep.refine(run_dir, preds, output_dir=tmp_path / "epoch1")
    expected = mask * probs / (mask * probs).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(stacked(tmp_path / "epoch1"), expected, atol=1e-6, rtol=0)
    assert stacked(tmp_path / "epoch1", "mask").astype(bool).tolist() == mask.tolist()
    assert result.refined == 300
    hard = targets_of(tmp_path / "epoch1").sort("id")["hard_index"].to_numpy()
    assert hard.tolist() == np.argmax(expected.astype(np.float32), axis=1).tolist()
    before = targets_of(run_dir).sort("id")["hard_index"].to_numpy()
    assert result.argmax_changed == int(np.count_nonzero(hard != before))


def test_list_column_predictions_mix_and_temperature(candidate_run, tmp_path):
    run_dir, mask, probs = candidate_run
    frame = pl.DataFrame({"id": range(300), "probs": probs.tolist()})
    frame.write_parquet(tmp_path / "q.parquet")
    labelprep.refine(
        run_dir, tmp_path / "q.parquet", output_dir=tmp_path / "e1", mix=0.25, temperature=2.0
    )
    previous = mask / mask.sum(axis=1, keepdims=True)
    sharp = mask * np.sqrt(probs)
    expected = 0.25 * previous + 0.75 * sharp / sharp.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(stacked(tmp_path / "e1"), expected, atol=1e-6, rtol=0)


def test_worked_example():
    # previous uniform over {a, b}; q = (0.1, 0.3, 0.6); T = 2, mix = 0.5:
    # q^(1/2) on the mask = (0.3162, 0.5477) -> (0.3660, 0.6340); half of it and half of 0.5.
    new, status = combine(
        np.array([[0.5, 0.5, 0.0]]),
        np.array([[True, True, False]]),
        np.array([[0.1, 0.3, 0.6]]),
        np.array([True]),
        mix=0.5,
        temperature=2.0,
    )
    share = np.sqrt(0.1) / (np.sqrt(0.1) + np.sqrt(0.3))
    assert new[0] == pytest.approx([0.25 + 0.5 * share, 0.25 + 0.5 * (1 - share), 0.0])
    assert status.tolist() == [REFINED]


def test_tiny_temperature_does_not_underflow():
    new, _ = combine(
        np.array([[0.5, 0.5]]),
        np.array([[True, True]]),
        np.array([[0.4, 0.6]]),
        np.array([True]),
        temperature=1e-3,
    )
    assert new[0] == pytest.approx([0.0, 1.0])


SETS = "id,candidates,label\n1,a|b,\n2,,a\n3,b|c,\n4,a|c,\n5,a|b|c,\n"


def test_each_kind_of_row(write, tmp_path):
    labelprep.run(
        [write("s.csv", SETS)], output_dir=tmp_path / "run", classes="a,b,c", config=False
    )
    preds = write(
        "q.csv",
        "id,a,b,c\n1,0.2,0.2,0.6\n2,0.1,0.8,0.1\n3,1,0,0\n9,0.5,0.5,0\n5,0.5,x,0.5\n",
    )
    result = labelprep.refine(tmp_path / "run", preds, output_dir=tmp_path / "e1")
    out = tmp_path / "e1"
    frame = targets_of(out)
    targets = dict(zip(frame["id"].to_list(), frame["soft_target"].to_list(), strict=True))
    assert targets[1] == pytest.approx([0.5, 0.5, 0])  # masked a|b: 0.2 and 0.2
    assert targets[2] == pytest.approx([1, 0, 0])  # a known class: unchanged
    assert targets[4] == pytest.approx([0.5, 0, 0.5])  # no prediction: unchanged
    assert targets[5] == pytest.approx([1 / 3] * 3)  # its prediction was rejected: unchanged
    assert 3 not in targets  # mask b|c, prediction all on a
    rejects = rejects_of(out).sort("reason")
    assert rejects.select("id", "reason", "column", "value").rows() == [
        ("3", "no_overlap", "mask", "b|c"),
        ("5", "not_a_number", "b", "x"),
        ("9", "unknown_id", "id", "9"),
    ]
    assert (result.refined, result.single_class, result.no_prediction) == (1, 1, 2)
    assert (result.rows_in, result.rows_accepted, result.rows_rejected) == (5, 4, 1)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["rows"] == {
        "in": 5,
        "accepted": 4,
        "rejected": 1,
        "rejected_by_reason": {"no_overlap": 1},
        "by_evidence": {"candidates": 3, "label": 1},
    }
    assert manifest["refine"]["predictions"]["rejected_by_reason"] == {
        "not_a_number": 1,
        "unknown_id": 1,
    }
    assert [i["role"] for i in manifest["inputs"]] == ["run", "predictions"]
    assert all(len(i["sha256"]) == 64 for i in manifest["inputs"])


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("1,-0.1,0.6,0.5", "negative_probability"),
        ("1,1.2,0,0", "probability_above_one"),
        ("1,0.2,0.2,0.2", "bad_sum"),
        ("1,0.5,0.5,", "wrong_length"),
        ("1,nan,0.5,0.5", "not_a_number"),
    ],
)
def test_predictions_are_checked_like_probabilities(write, tmp_path, row, reason):
    labelprep.run(
        [write("s.csv", SETS)], output_dir=tmp_path / "run", classes="a,b,c", config=False
    )
    preds = write("q.csv", f"id,a,b,c\n{row}\n")
    result = labelprep.refine(tmp_path / "run", preds, output_dir=tmp_path / "e1")
    assert result.predictions_rejected_by_reason == {reason: 1}
    assert result.no_prediction == 4


def test_statistics_are_recomputed(candidate_run, tmp_path):
    run_dir, mask, probs = candidate_run
    preds = write_wide(tmp_path / "q.csv", range(300), probs)
    result = labelprep.refine(run_dir, preds, output_dir=tmp_path / "e1")
    stats = pl.read_parquet(tmp_path / "e1" / "class_stats.parquet").sort("index")
    targets = stacked(tmp_path / "e1")
    assert stats["soft_mass"].to_list() == pytest.approx(targets.sum(axis=0).tolist(), abs=1e-5)
    assert stats["candidate_count"].to_list() == mask.sum(axis=0).tolist()
    assert (
        stats["hard_count"].to_list() == np.bincount(targets.argmax(axis=1), minlength=5).tolist()
    )
    assert result.class_stats.equals(stats)


def test_epochs_chain_and_never_replace_the_run(candidate_run, tmp_path):
    run_dir, _, probs = candidate_run
    preds = write_wide(tmp_path / "q.csv", range(300), probs)
    labelprep.refine(run_dir, preds, output_dir=tmp_path / "e1")
    labelprep.refine(tmp_path / "e1", preds, output_dir=tmp_path / "e2", mix=0.5)
    once = stacked(tmp_path / "e1")
    np.testing.assert_allclose(stacked(tmp_path / "e2"), once, atol=1e-6)  # a fixed point
    before = (run_dir / "targets.parquet").read_bytes()
    with pytest.raises(ConfigError, match="never replaces the run"):
        labelprep.refine(run_dir, preds, output_dir=run_dir)
    assert (run_dir / "targets.parquet").read_bytes() == before


def test_ids_that_cannot_take_the_runs_type_are_a_clear_error(candidate_run, write):
    run_dir, _, _ = candidate_run
    preds = write("q.csv", "id,a,b,c,d,e\nxyz,0.2,0.2,0.2,0.2,0.2\n")
    with pytest.raises(InputError, match=r"q.csv: row 2: id 'xyz' cannot be read as the run's id"):
        labelprep.refine(run_dir, preds, output_dir=run_dir.parent / "e1")


def test_predictions_without_class_columns_are_a_clear_error(candidate_run, write):
    run_dir, _, _ = candidate_run
    preds = write("q.csv", "id,a,b\n1,0.5,0.5\n")
    with pytest.raises(InputError, match="one column per class"):
        labelprep.refine(run_dir, preds, output_dir=run_dir.parent / "e1")


@pytest.mark.parametrize(("option", "value"), [("mix", 1.5), ("temperature", 0.0)])
def test_bad_settings(candidate_run, tmp_path, option, value):
    run_dir, _, _ = candidate_run
    with pytest.raises(ConfigError, match=option):
        labelprep.refine(run_dir, tmp_path / "q.csv", output_dir=tmp_path / "e1", **{option: value})


def test_cli(candidate_run, tmp_path):
    run_dir, _, probs = candidate_run
    preds = write_wide(tmp_path / "q.csv", [*range(299), 1000], probs)
    out = tmp_path / "e1"
    result = CliRunner().invoke(
        main, ["refine", str(run_dir), "--predictions", str(preds), "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    changed = manifest["refine"]["argmax_changed"]
    lines = result.output.splitlines()
    assert lines[0] == (
        "300 rows: 299 refined, 0 single-class unchanged, 1 without a prediction unchanged, "
        "0 rejected (no_overlap)"
    )
    assert lines[1] == "300 predictions: 299 used, 1 rejected, unknown_id 1"
    assert lines[2] == f"argmax changed on {changed} rows"
    again = CliRunner().invoke(
        main, ["refine", str(run_dir), "--predictions", str(preds), "-o", str(run_dir)]
    )
    assert again.exit_code == 2
    assert "never replaces the run" in again.output


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.lists(st.booleans(), min_size=4, max_size=4),
            st.lists(st.floats(0, 1), min_size=4, max_size=4),
        ),
        min_size=1,
        max_size=20,
    ),
    st.floats(0, 1),
    st.floats(0.05, 20),
)
def test_combine_properties(rows, mix, temperature):
    mask = np.array([m for m, _ in rows])
    mask[~mask.any(axis=1), 0] = True
    probs = np.array([q for _, q in rows])
    previous = mask / mask.sum(axis=1, keepdims=True)
    new, status = combine(
        previous, mask, probs, np.ones(len(rows), bool), mix=mix, temperature=temperature
    )
    assert set(status.tolist()) <= {REFINED, SINGLE, NO_OVERLAP, NO_PREDICTION}
    assert (status == NO_OVERLAP).tolist() == (
        ((mask * probs).sum(axis=1) == 0) & (mask.sum(axis=1) > 1)
    ).tolist()
    assert np.allclose(new.sum(axis=1), 1.0)
    assert (new[~mask] == 0).all()
    assert (new[status != REFINED] == previous[status != REFINED]).all()


def test_splits_and_kept_columns_carry_over(write, tmp_path):
    text = "id,candidates,label,split,note\n1,a|b,,train,x\n2,,a,train,y\n3,b|c,,val,z\n"
    labelprep.run(
        [write("s.csv", text)],
        output_dir=tmp_path / "run",
        classes="a,b,c",
        keep=["note"],
        config=False,
    )
    preds = write("q.csv", "id,a,b,c\n1,0.1,0.3,0.6\n3,0.5,0.25,0.25\n")
    labelprep.refine(tmp_path / "run", preds, output_dir=tmp_path / "e1")
    before, after = targets_of(tmp_path / "run"), targets_of(tmp_path / "e1")
    assert after.columns == before.columns
    assert after.schema == before.schema
    assert after.select("id", "split", "note").equals(before.select("id", "split", "note"))
    stats = pl.read_parquet(tmp_path / "e1" / "class_stats.parquet")
    train = stats.filter(pl.col("split") == "train").sort("index")
    val = stats.filter(pl.col("split") == "val").sort("index")
    assert train["soft_mass"].to_list() == pytest.approx([1.25, 0.75, 0.0])  # (a|b: .25/.75) + a
    assert val["soft_mass"].to_list() == pytest.approx([0.0, 0.5, 0.5])
    assert train["labelled_count"].to_list() == [1, 0, 0]


def test_a_missing_predictions_file_is_a_clear_error(candidate_run, tmp_path):
    run_dir, _, _ = candidate_run
    with pytest.raises(InputError, match=r"nope.csv: no such file \(the predictions\)"):
        labelprep.refine(run_dir, tmp_path / "nope.csv", output_dir=tmp_path / "e1")


VALUES = st.one_of(st.floats(-0.5, 1.5), st.sampled_from(["", "x", "nan", "0.5", "1", "0", "-0"]))


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), VALUES, VALUES, VALUES), min_size=1, max_size=8))
def test_every_prediction_row_is_used_or_rejected(tmp_path_factory, rows):
    folder = tmp_path_factory.mktemp("p")
    (folder / "s.csv").write_text(SETS)
    labelprep.run([folder / "s.csv"], output_dir=folder / "run", classes="a,b,c", config=False)
    lines = "".join(f"{i},{a},{b},{c}\n" for i, a, b, c in rows)
    (folder / "q.csv").write_text("id,a,b,c\n" + lines)
    result = labelprep.refine(folder / "run", folder / "q.csv", output_dir=folder / "e1")
    preds = result.summary["refine"]["predictions"]
    assert preds["rows"] == len(rows) == preds["used"] + preds["rejected"]
    assert result.rows_in == result.rows_accepted + result.rows_rejected == 5
    assert rejects_of(folder / "e1").height == preds["rejected"] + result.rows_rejected


def test_sample_weights_come_from_the_refined_statistics(write, tmp_path):
    text = "id,candidates\n1,a|b\n2,a|b\n3,a\n4,b|c\n"
    labelprep.run(
        [write("s.csv", text)],
        output_dir=tmp_path / "run",
        classes="a,b,c",
        sample_weight="balanced",
        config=False,
    )
    preds = write("q.csv", "id,a,b,c\n1,1,0,0\n2,1,0,0\n4,0,0,1\n")
    labelprep.refine(tmp_path / "run", preds, output_dir=tmp_path / "e1")
    # refined targets: a, a, a, c -> soft mass (3, 0, 1); balanced N / (K+ n_k): (2/3, 0, 2)
    frame = targets_of(tmp_path / "e1").sort("id")
    assert frame["sample_weight"].to_list() == pytest.approx([2 / 3, 2 / 3, 2 / 3, 2.0])
