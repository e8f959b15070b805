"""Semantics per row (the SPEC's table), with values worked out by hand."""

from __future__ import annotations

import polars as pl
import pytest

from labelprep.config import Options
from labelprep.pipeline import prepare, targets_frame
from tests.conftest import SPEC_TABLE, overall, rejects_of, targets_of

THIRD = 1 / 3


def targets_by_id(out) -> dict[str, list[float]]:
    frame = targets_of(out)
    return dict(zip(frame["id"].cast(pl.String), frame["soft_target"].to_list(), strict=True))


def masks_by_id(out) -> dict[str, list[int]]:
    frame = targets_of(out)
    return dict(zip(frame["id"].cast(pl.String), frame["mask"].to_list(), strict=True))


def reasons_by_id(out) -> dict[str, str]:
    frame = rejects_of(out)
    return dict(zip(frame["id"], frame["reason"], strict=True))


def test_spec_table_soft_mass_and_support(write, run):
    result, _ = run([write("soft.csv", SPEC_TABLE)])
    stats = overall(result.class_stats)
    assert stats["class"].to_list() == ["c1", "c2", "c3"]
    assert stats["soft_mass"].to_list() == pytest.approx([2.1, 1.15, 0.75])
    assert stats["support"].to_list() == [4, 3, 3]
    # argmax: 0.9 -> c1, 0.8 -> c2, 0.4 -> c3, 0.7 -> c1
    assert stats["hard_count"].to_list() == [2, 1, 1]
    assert stats["candidate_count"].to_list() == [4, 3, 3]


def test_spec_table_targets_are_the_rows(write, run):
    _, out = run([write("soft.csv", SPEC_TABLE)])
    targets = targets_by_id(out)
    assert targets["2"] == pytest.approx([0.2, 0.8, 0.0])
    assert masks_by_id(out)["2"] == [1, 1, 0]
    assert targets_of(out)["evidence"].unique().to_list() == ["probs"]


def test_excluded_sets_spread_uniformly(write_jsonl, run):
    rows = [{"id": "a", "excluded": ["c2", "c3"]}, {"id": "b", "excluded": ["c1"]}]
    _, out = run([write_jsonl("p.jsonl", rows)], classes="c1,c2,c3,c4")
    targets, masks = targets_by_id(out), masks_by_id(out)
    assert targets["a"] == pytest.approx([0.5, 0, 0, 0.5])
    assert masks["a"] == [1, 0, 0, 1]
    assert targets["b"] == pytest.approx([0, THIRD, THIRD, THIRD])
    assert masks["b"] == [0, 1, 1, 1]


def test_excluded_and_candidates_from_csv_text(write, run):
    text = "id,excluded,candidates\na,c2|c3,\nb,,c1|c4\nc,c4,c1|c4\n"
    _, out = run([write("p.csv", text)], classes="c1,c2,c3,c4")
    targets = targets_by_id(out)
    assert targets["a"] == pytest.approx([0.5, 0, 0, 0.5])
    assert targets["b"] == pytest.approx([0.5, 0, 0, 0.5])
    assert targets["c"] == pytest.approx([1, 0, 0, 0])  # candidates minus excluded
    assert targets_of(out).sort("id")["evidence"].to_list() == [
        "excluded",
        "candidates",
        "candidates+excluded",
    ]


def test_label_by_name_and_by_index(write, run):
    _, out = run([write("l.csv", "id,label\na,c2\nb,0\nc,2\n")], classes="c1,c2,c3")
    targets = targets_by_id(out)
    assert targets == {"a": [0, 1, 0], "b": [1, 0, 0], "c": [0, 0, 1]}
    assert targets_of(out).sort("id")["hard_label"].to_list() == ["c2", "c1", "c3"]
    assert targets_of(out).sort("id")["hard_index"].to_list() == [1, 0, 2]


def test_a_class_name_wins_over_an_index(write, run):
    _, out = run([write("l.csv", "id,label\na,0\nb,1\n")], classes="1,0")
    assert targets_by_id(out) == {"a": [0, 1], "b": [1, 0]}


def test_probs_list_column_in_csv(write, run):
    _, out = run([write("l.csv", "id,probs\na,0.2|0.8|0\n")], classes="x,y,z")
    assert targets_by_id(out)["a"] == pytest.approx([0.2, 0.8, 0])


def test_renormalize_rescales_instead_of_rejecting(write, run):
    path = write("r.csv", "id,a,b,c\nr,0.2,0.2,0.1\n")
    result, out = run([path])
    assert result.rejects_by_reason == {"bad_sum": 1}
    result, out = run([path], renormalize=True)
    assert result.rows_accepted == 1
    assert targets_by_id(out)["r"] == pytest.approx([0.4, 0.4, 0.2])


def test_within_tolerance_is_normalized(write, run):
    _, out = run([write("t.csv", "id,a,b\nr,0.5,0.5005\n")])
    assert targets_by_id(out)["r"] == pytest.approx([0.5 / 1.0005, 0.5005 / 1.0005])


def test_prior_weighted_partial_labels(write, run):
    # Fully labelled rows: a, a, a, b -> prior (0.75, 0.25, 0).
    text = "id,label,excluded,candidates\n1,a,,\n2,a,,\n3,a,,\n4,b,,\nx,,c,\ny,,,b|c\nz,,,c\n"
    _, out = run([write("p.csv", text)], classes="a,b,c", partial="prior")
    targets = targets_by_id(out)
    assert targets["x"] == pytest.approx([0.75, 0.25, 0])
    assert targets["y"] == pytest.approx([0, 1, 0])  # c has prior 0
    assert targets["z"] == pytest.approx([0, 0, 1])  # prior 0 on the whole set: uniform
    assert masks_by_id(out)["y"] == [0, 1, 1]  # the mask keeps every possible class


def test_smoothing_never_puts_mass_on_an_excluded_class(write, run):
    text = "id,label,excluded\nplain,a,\nexcl,a,c\n"
    _, out = run([write("s.csv", text)], classes="a,b,c", smoothing=0.1)
    targets = targets_by_id(out)
    assert targets["plain"] == pytest.approx([0.9 + 0.1 / 3, 0.1 / 3, 0.1 / 3])
    assert targets["excl"] == pytest.approx([0.9 + 0.05, 0.05, 0])
    assert masks_by_id(out)["excl"] == [1, 1, 0]


def test_ties_go_to_the_first_class_in_the_vocabulary(write, run):
    text = "id,a,b,c\nt1,0.5,0.5,0\nt2,0,0.5,0.5\nt3,0.25,0.25,0.5\n"
    _, out = run([write("t.csv", text)])
    frame = targets_of(out).sort("id")
    assert frame["hard_label"].to_list() == ["a", "b", "c"]


def test_probabilities_with_excluded_classes(write, run):
    text = "id,a,b,c,excluded\nok,0.5,0.5,0,c\nbad,0.5,0.25,0.25,c\n"
    _, out = run([write("e.csv", text)])
    assert masks_by_id(out)["ok"] == [1, 1, 0]
    assert reasons_by_id(out) == {"bad": "conflict"}


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("y,c,,c", "conflict"),  # the label is excluded
        ("y,c,a|b,", "conflict"),  # the label is not a candidate
        ("y,,a,a", "conflict"),  # candidates all excluded
        ("y,,,a|b|c", "all_excluded"),
        ("y,b,,", None),
    ],
)
def test_set_conflicts(write, run, row, reason):
    text = "id,label,candidates,excluded\n" + row + "\n"
    _, out = run([write("c.csv", text)], classes="a,b,c")
    assert reasons_by_id(out).get("y") == reason


def test_probs_and_label_must_agree(write, run):
    text = "id,a,b,label\nagree,0.3,0.7,a\ndisagree,0,1,a\n"
    _, out = run([write("pl.csv", text)])
    assert targets_by_id(out)["agree"] == pytest.approx([0.3, 0.7])
    assert targets_of(out)["evidence"].to_list() == ["probs+label"]
    assert reasons_by_id(out) == {"disagree": "conflict"}


def test_empty_candidate_list_rules_out_everything(write_parquet, run):
    frame = pl.DataFrame({"id": [1, 2], "candidates": [[], ["a"]]})
    _, out = run([write_parquet("e.parquet", frame)], classes="a,b")
    assert reasons_by_id(out) == {"1": "all_excluded"}


def test_zero_count_class_keeps_its_slot(write, run):
    result, out = run([write("z.csv", "id,label\n1,a\n2,c\n")], classes="a,b,c")
    assert targets_by_id(out)["2"] == [0, 0, 1]
    stats = overall(result.class_stats)
    assert stats["class"].to_list() == ["a", "b", "c"]
    assert stats["soft_mass"].to_list() == [1.0, 0.0, 1.0]


def test_per_split_statistics(write, run):
    text = "id,label,split\n1,a,train\n2,b,train\n3,a,val\n"
    result, _ = run([write("s.csv", text)], classes="a,b")
    stats = result.class_stats
    train = stats.filter(pl.col("split") == "train").sort("index")
    val = stats.filter(pl.col("split") == "val").sort("index")
    assert train["soft_mass"].to_list() == [1.0, 1.0]
    assert val["soft_mass"].to_list() == [1.0, 0.0]
    assert overall(stats)["soft_mass"].to_list() == [2.0, 1.0]


def test_labelled_and_excluded_counts(write, run):
    text = "id,label,excluded\n1,a,\n2,a,b\n3,,a\n"
    result, _ = run([write("c.csv", text)], classes="a,b,c")
    stats = overall(result.class_stats)
    assert stats["labelled_count"].to_list() == [2, 0, 0]
    assert stats["excluded_count"].to_list() == [1, 1, 0]
    # row 3 spreads over b, c: soft mass a = 2, b = 0.5, c = 0.5
    assert stats["soft_mass"].to_list() == pytest.approx([2.0, 0.5, 0.5])


def _plan_text(write_parquet, k: int, **options) -> int:
    """Length of the unoptimised plan of the checked targets for ``k`` classes, with
    probability rows and rows that exclude classes (every kind of target)."""
    classes = [f"c{i}" for i in range(k)]
    frame = pl.DataFrame(
        {"id": ["a", "b"], **{c: [1.0 if i == 0 else 0.0, None] for i, c in enumerate(classes)}}
    ).with_columns(excluded=pl.Series([None, ["c1"]], dtype=pl.List(pl.String)))
    path = write_parquet(f"wide{k}.parquet", frame)
    prepared = prepare([str(path)], Options(classes=tuple(classes), **options))
    return len(targets_frame(prepared).explain(optimized=False))


@pytest.mark.parametrize("options", [{}, {"partial": "prior"}, {"smoothing": 0.1}])
def test_the_plan_grows_linearly_with_the_classes(write_parquet, options):
    # A per-row quantity every class uses (the mask's size, the row's total) is one
    # column: put inline in each class's expression it made the plan quadratic in K
    # (at K = 1000, seconds of planning in every pass).
    small, large = (_plan_text(write_parquet, k, **options) for k in (40, 80))
    assert large / small < 2.4
