"""Votes through the pipeline: aggregate and run, long and wide layouts, vote rejects."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import labelprep
from labelprep.inputs.ingest import PRE_REASON, ROW
from labelprep.vote_codes import _first_appearance, encode, label_codes, repeated
from labelprep.votes import _vote_reasons
from tests.conftest import rejects_of, targets_of

LONG = """\
id,annotator,label
i1,w1,a
i1,w2,a
i1,w3,b
i2,w1,b
i2,w2,c
"""

WIDE = """\
id,w1,w2,w3
i1,a,a,b
i2,b,c,-1
"""


def soft_targets(out) -> dict[str, list[float]]:
    frame = targets_of(out)
    return dict(zip(frame["id"], frame["soft_target"].to_list(), strict=True))


def aggregate(tmp_path, paths, **settings):
    out = tmp_path / "out"
    result = labelprep.aggregate(paths, output_dir=out, config=False, classes="a,b,c", **settings)
    return result, out


def test_vote_shares(write, tmp_path):
    result, out = aggregate(tmp_path, [write("v.csv", LONG)])
    targets = soft_targets(out)
    assert targets["i1"] == pytest.approx([2 / 3, 1 / 3, 0])
    assert targets["i2"] == pytest.approx([0, 0.5, 0.5])
    frame = targets_of(out).sort("id")
    assert frame["mask"].to_list() == [[1, 1, 0], [0, 1, 1]]
    assert frame["evidence"].to_list() == ["votes", "votes"]
    assert frame["hard_label"].to_list() == ["a", "b"]  # i2 ties b and c: first class wins
    assert result.summary["votes"]["ties"] == 1
    assert result.rows_in == 2


def test_smoothed_shares_open_every_class(write, tmp_path):
    _, out = aggregate(tmp_path, [write("v.csv", LONG)], alpha=1.0)
    # i1: counts (2, 1, 0) + 1 each over 3 + 3
    assert soft_targets(out)["i1"] == pytest.approx([3 / 6, 2 / 6, 1 / 6])
    assert targets_of(out)["mask"].to_list()[0] == [1, 1, 1]


def test_majority_one_hot_with_ties_to_the_first_class(write, tmp_path):
    _, out = aggregate(tmp_path, [write("v.csv", LONG)], method="majority")
    assert soft_targets(out) == {"i1": [1, 0, 0], "i2": [0, 1, 0]}


def test_wide_layout_equals_long(write, tmp_path):
    _, out = aggregate(tmp_path, [write("w.csv", WIDE)], layout="wide", missing="-1")
    targets = soft_targets(out)
    assert targets["i1"] == pytest.approx([2 / 3, 1 / 3, 0])
    assert targets["i2"] == pytest.approx([0, 0.5, 0.5])


def test_annotators_file_and_agreement(write, tmp_path):
    result, out = aggregate(tmp_path, [write("v.csv", LONG)], method="dawid-skene")
    annotators = pl.read_parquet(out / "annotators.parquet").sort("annotator")
    assert annotators["annotator"].to_list() == ["w1", "w2", "w3"]
    assert annotators["votes"].to_list() == [2, 2, 1]
    assert "estimated_accuracy" in annotators.columns
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["summary"]["votes"]["votes_in"] == 5
    assert manifest["summary"]["votes"]["method"] == "dawid_skene"
    assert "Votes and annotator agreement" in (out / "report.md").read_text()
    assert result.summary["votes"]["agreement"]["krippendorff_alpha"] is not None


@pytest.mark.parametrize(
    ("policy", "rejected_lines", "i1"),
    [
        ("keep", [], [1 / 4, 3 / 4, 0]),  # w1 counts three times: a, b, b; w2: b
        ("first", [3, 4], [1 / 2, 1 / 2, 0]),  # w1's first vote (a) and w2's (b)
        ("reject", [2, 3, 4], [0, 1, 0]),  # all of w1's votes go; w2's b stays
    ],
)
def test_duplicate_vote_policies(write, tmp_path, policy, rejected_lines, i1):
    text = "id,annotator,label\ni1,w1,a\ni1,w1,b\ni1,w1,b\ni1,w2,b\n"
    result, out = aggregate(tmp_path, [write("d.csv", text)], duplicates=policy)
    rejects = rejects_of(out)
    assert rejects["row"].to_list() == rejected_lines
    assert set(rejects["reason"]) <= {"duplicate_vote"}
    assert result.summary["votes"]["duplicate_votes"] == 2  # repeats of w1, whatever the policy
    assert result.summary["votes"]["duplicate_votes_rejected"] == len(rejected_lines)
    assert soft_targets(out)["i1"] == pytest.approx(i1)


def test_bad_votes_are_rejected_with_their_line(write, tmp_path):
    text = "id,annotator,label\ni1,w1,a\n,w2,a\ni1,w3,zebra\ni1,w4,\n"
    result, out = aggregate(tmp_path, [write("b.csv", text)])
    rejects = rejects_of(out).select("row", "reason").rows()
    assert rejects == [(3, "missing_id"), (4, "unknown_class"), (5, "no_evidence")]
    assert soft_targets(out) == {"i1": [1.0, 0.0, 0.0]}
    assert result.rows_in == result.rows_accepted + result.rows_rejected == 4


def test_run_takes_vote_files_with_other_annotations(write, tmp_path):
    votes = write("v.csv", LONG)
    soft = write("s.csv", "id,a,b,c\ns1,0.2,0.3,0.5\n")
    result = labelprep.run([soft, votes], output_dir=tmp_path / "out", config=False)
    frame = targets_of(tmp_path / "out").sort("id")
    assert frame["id"].to_list() == ["i1", "i2", "s1"]
    assert frame["evidence"].to_list() == ["votes", "votes", "probs"]
    assert result.summary["votes"]["method"] == "shares"


def test_keep_is_refused_for_a_vote_file_with_a_clear_error(write, tmp_path):
    votes = write("v.csv", "id,annotator,label,note\ni1,w1,a,x\ni1,w2,b,y\n")
    soft = write("s.csv", "id,a,b,c,note\ns1,0.2,0.3,0.5,z\n")
    with pytest.raises(labelprep.ConfigError, match=r"v\.csv: a vote file .* --keep note"):
        labelprep.run([soft, votes], output_dir=tmp_path / "out", keep=["note"], config=False)
    assert not (tmp_path / "out").exists()
    result = labelprep.run([soft], output_dir=tmp_path / "plain", keep=["note"], config=False)
    assert targets_of(tmp_path / "plain")["note"].to_list() == ["z"]
    assert result.rows_accepted == 1


def test_an_item_id_already_used_by_another_file_is_a_duplicate(write, tmp_path):
    votes = write("v.csv", LONG)
    soft = write("s.csv", "id,a,b,c\ni1,0.2,0.3,0.5\n")
    labelprep.run([soft, votes], output_dir=tmp_path / "out", config=False)
    rejects = rejects_of(tmp_path / "out")
    assert rejects.select("id", "reason").rows() == [("i1", "duplicate_id")]


def test_aggregate_needs_vote_files(write, tmp_path):
    path = write("plain.csv", "id,label\n1,a\n")
    with pytest.raises(labelprep.ColumnNotFoundError, match="annotator column 'annotator'"):
        labelprep.aggregate([path], output_dir=tmp_path / "out", config=False)


def test_wide_items_without_any_vote_are_rejected_not_lost(write, tmp_path):
    text = "id,w1,w2\n1,a,b\n2,-1,-1\n3,,\n4,a,a\n"
    result, out = aggregate(tmp_path, [write("w.csv", text)], layout="wide")
    assert rejects_of(out).select("row", "id", "reason").rows() == [
        (3, "2", "no_evidence"),
        (4, "3", "no_evidence"),
    ]
    assert sorted(soft_targets(out)) == ["1", "4"]
    assert result.summary["inputs"][0]["rows"] == 4


def test_repeats_are_looked_for_among_valid_votes(write, tmp_path):
    text = "id,annotator,label\ni1,w1,zebra\ni1,w1,b\n"
    _, out = aggregate(tmp_path, [write("z.csv", text)], duplicates="first")
    assert rejects_of(out).select("row", "reason").rows() == [(2, "unknown_class")]
    assert soft_targets(out) == {"i1": [0.0, 1.0, 0.0]}


SENTINELS = "id,w1,w2,w3,w4\ni1,a,-1000,b,a\ni2,-1,b,b,-1000\n"


def test_several_missing_markers(write, tmp_path):
    result, out = aggregate(
        tmp_path, [write("w.csv", SENTINELS)], layout="wide", missing=["-1", "-1000"]
    )
    targets = soft_targets(out)
    assert targets["i1"] == pytest.approx([2 / 3, 1 / 3, 0])
    assert targets["i2"] == pytest.approx([0, 1, 0])
    assert result.summary["votes"]["votes_in"] == 5


def test_one_missing_marker_as_a_string_still_works(write, tmp_path):
    text = "id,w1,w2\ni1,a,-9\n"
    _, out = aggregate(tmp_path, [write("w.csv", text)], layout="wide", missing="-9")
    assert soft_targets(out)["i1"] == pytest.approx([1, 0, 0])


def test_validate_reads_vote_files_like_run(write):
    path = write("w.csv", SENTINELS)
    report = labelprep.validate(
        path, layout="wide", missing=("-1", "-1000"), classes="a,b,c", config=False
    )
    assert report.passed
    assert (report.rows_in, report.rows_accepted) == (2, 2)


def test_run_counts_kept_repeats_of_a_long_vote_file(write, tmp_path):
    text = "id,annotator,label\ni1,w1,a\ni1,w1,a\ni1,w2,b\ni2,w2,b\ni2,w2,b\ni2,w2,c\n"
    result = labelprep.run(
        write("v.csv", text), output_dir=tmp_path / "o", classes="a,b,c", config=False
    )
    assert result.summary["votes"]["duplicate_votes"] == 3
    assert result.summary["votes"]["duplicate_votes_rejected"] == 0


@pytest.mark.parametrize("big_id", [8, 10**15])  # ids ranked by offset / by sorting
@pytest.mark.parametrize("policy", ["keep", "first"])
def test_integer_vote_columns_decide_as_their_text(write, tmp_path, big_id, policy):
    # Parquet integers are encoded without being turned into text; every decision must be
    # the one the same votes written as CSV text (labels with a leading space) give.
    ids = [7, 7, 7, 3, 3, None, big_id, 7, 3]
    annotators = [1, 2, 2, 1, 3, 1, 2, 1, 1]
    labels = [0, 1, 1, 2, 7, 0, 1, 0, 1]  # 7 names no class
    parquet = tmp_path / "v.parquet"
    pl.DataFrame({"id": ids, "annotator": annotators, "label": labels}).write_parquet(parquet)
    rows = zip(ids, annotators, labels, strict=True)
    lines = [f"{'' if i is None else i},{a}, {b}\n" for i, a, b in rows]
    csv = write("v.csv", "id,annotator,label\n" + "".join(lines))
    runs = {}
    for name, path in (("parquet", str(parquet)), ("csv", csv)):
        out = tmp_path / name
        result = labelprep.aggregate(
            [path], output_dir=out, config=False, classes="0,1,2", duplicates=policy
        )
        targets = targets_of(out)
        runs[name] = (
            targets["id"].to_list(),
            targets["soft_target"].to_list(),
            rejects_of(out).sort("row")["reason"].to_list(),
            pl.read_parquet(out / "annotators.parquet").rows(),
            result.summary["votes"]["duplicate_votes"],
        )
    assert runs["parquet"] == runs["csv"]
    item_ids, soft, reasons, annotator_rows, repeats = runs["csv"]
    assert item_ids == ["7", "3", str(big_id)]  # order of first appearance, as text
    assert repeats == 3  # (7, 2), (7, 1) and (3, 1) voted twice each
    assert [row[0] for row in annotator_rows] == ["1", "2"]  # "3" voted only an unknown class
    if policy == "keep":
        assert reasons == ["unknown_class", "missing_id"]
        # 7: votes 0, 1, 1, 0; 3: votes 2, 1
        assert soft == [[0.5, 0.5, 0.0], [0.0, 0.5, 0.5], [0.0, 1.0, 0.0]]
    else:
        assert reasons == ["duplicate_vote", "unknown_class", "missing_id"] + ["duplicate_vote"] * 2
        # 7: votes 0, 1 (the repeats of 2 and 1 go); 3: vote 2
        assert soft == [[0.5, 0.5, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]]


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.one_of(st.none(), st.integers(-3, 40), st.just(2**40)),  # id
            st.one_of(st.none(), st.integers(0, 5)),  # annotator
            st.one_of(st.none(), st.integers(0, 4)),  # label: 3 and 4 name no class
        ),
        max_size=40,
    ),
    policy=st.sampled_from(["keep", "first", "reject"]),
)
def test_integer_columns_encode_as_their_text(rows, policy):
    # The same votes as Int64 columns and as text columns: same reasons, same codes.
    ints = pl.DataFrame(rows, schema=["id", "annotator", "label"], orient="row")
    ints = ints.with_columns(pl.all().cast(pl.Int64), pl.lit(0, pl.Int64).alias(ROW))
    text = ints.with_columns(pl.col("id", "annotator", "label").cast(pl.String))
    index_of = {"0": 0, "1": 1, "2": 2}
    decided = [_vote_reasons(frame, index_of, policy) for frame in (ints, text)]
    assert decided[0][PRE_REASON].to_list() == decided[1][PRE_REASON].to_list()
    assert repeated(decided[0]) == repeated(decided[1])
    encoded = [encode(d.filter(pl.col(PRE_REASON).is_null()), 3) for d in decided]
    (v_int, items_int, names_int), (v_text, items_text, names_text) = encoded
    for column in ("item", "annotator", "label"):
        assert getattr(v_int, column).tolist() == getattr(v_text, column).tolist()
    assert items_int["id"].to_list() == items_text["id"].to_list()
    assert names_int == names_text
    # Items are numbered in order of first appearance among the counted votes.
    counted = decided[1].filter(pl.col(PRE_REASON).is_null())
    order = list(dict.fromkeys(counted["id"].to_list()))
    assert items_text["id"].to_list() == order
    assert v_text.item.tolist() == [order.index(i) for i in counted["id"]]
    voters = list(dict.fromkeys(counted["annotator"].to_list()))
    assert names_text == voters
    assert v_text.annotator.tolist() == [voters.index(a) for a in counted["annotator"]]


@pytest.mark.parametrize(
    ("ranks", "codes", "rows"),
    [
        ([0, 0, 1, 1, 1, 3, 3], [0, 0, 1, 1, 1, 2, 2], [0, 2, 5]),  # sorted: runs
        ([2, 0, 2, 1], [0, 1, 0, 2], [0, 1, 3]),  # unsorted: first appearances
        ([5], [0], [0]),
        ([], [], []),
    ],
)
def test_first_appearance_codes(ranks: list[int], codes: list[int], rows: list[int]) -> None:
    got_codes, got_rows = _first_appearance(np.array(ranks, dtype=np.int64))
    assert (got_codes.tolist(), got_rows.tolist()) == (codes, rows)


@pytest.mark.parametrize("dtype", [pl.Int64, pl.String])
def test_label_codes_integers_and_text(dtype: pl.DataType) -> None:
    # 3 and 7 name classes; 12 names none; a null stays null (integer table or lookup).
    labels = pl.Series("label", [3, None, 7, 12, 3]).cast(dtype)
    codes = pl.DataFrame(labels).select(label_codes(labels, {"3": 0, "7": 1}))
    assert codes.to_series().to_list() == [0, None, 1, None, 0]
