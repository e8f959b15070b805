"""Every bad row lands in rejects.parquet with its reason, file, line, column and value."""

from __future__ import annotations

import json

import polars as pl
import pytest

from tests.conftest import rejects_of, targets_of

MIXED_CSV = """\
id,a,b,c,label,excluded
good1,0.5,0.5,0,,
good2,,,,b,
good3,,,,,a
,0.5,0.5,0,,
good1,0.2,0.8,0,,
nan1,0.5,abc,0.5,,
gap1,0.5,,0.5,,
neg1,0.5,-0.1,0.6,,
big1,1.5,0,0,,
unk1,,,,zebra,
none1,,,,,
sum1,0.5,0.4,0,,
conf1,0.5,0.5,0,,a
all1,,,,,a|b|c
"""

EXPECTED = [  # (line, id, reason, column, value): the header is line 1
    (5, None, "missing_id", "id", None),
    (6, "good1", "duplicate_id", "id", "good1"),
    (7, "nan1", "not_a_number", "b", "abc"),
    (8, "gap1", "wrong_length", "b", "2"),
    (9, "neg1", "negative_probability", "b", "-0.1"),
    (10, "big1", "probability_above_one", "a", "1.5"),
    (11, "unk1", "unknown_class", "label", "zebra"),
    (12, "none1", "no_evidence", None, None),
    (13, "sum1", "bad_sum", "a..c", "0.9"),
    (14, "conf1", "conflict", "excluded", "a"),
    (15, "all1", "all_excluded", "excluded", "a|b|c"),
]


def test_each_bad_row_has_its_reason_line_column_and_value(write, run):
    path = write("mixed.csv", MIXED_CSV)
    result, out = run([path])
    rejects = rejects_of(out)
    got = list(
        zip(
            rejects["row"],
            rejects["id"],
            rejects["reason"],
            rejects["column"],
            rejects["value"],
            strict=True,
        )
    )
    assert got == EXPECTED
    assert set(rejects["source"]) == {str(path)}
    assert sorted(targets_of(out)["id"]) == ["good1", "good2", "good3"]
    assert result.rows_in == 14 == result.rows_accepted + result.rows_rejected
    assert result.rows_rejected == 11


def test_messages_name_the_column_and_value(write, run):
    _, out = run([write("mixed.csv", MIXED_CSV)])
    messages = dict(zip(rejects_of(out)["reason"], rejects_of(out)["message"], strict=True))
    assert messages["not_a_number"] == "column b: value 'abc' is not a number"
    assert messages["unknown_class"] == "column label: 'zebra' is not a known class"
    assert messages["bad_sum"].startswith("probabilities sum to 0.9, not 1 (tolerance 0.001")
    assert messages["wrong_length"] == "column b: expected 3 probabilities, found 2"


def test_manifest_counts_every_row(write, run):
    _, out = run([write("mixed.csv", MIXED_CSV)])
    manifest = json.loads((out / "manifest.json").read_text())
    rows = manifest["rows"]
    assert rows["in"] == rows["accepted"] + rows["rejected"] == 14
    assert sum(rows["rejected_by_reason"].values()) == rows["rejected"] == 11
    assert manifest["inputs"][0]["rows"] == 14
    assert manifest["inputs"][0]["rejected"] == 11


def test_jsonl_lines_and_list_reasons(write_jsonl, run):
    rows = [
        {"id": 1, "probs": [0.5, 0.5, 0.0]},
        {"id": 2, "probs": [0.5, 0.5]},
        {"id": 3, "excluded": ["a", "zebra"]},
        {"id": 4, "candidates": ["a", "b"], "excluded": ["c"]},
        {"id": 5, "label": "a", "candidates": ["b"]},
    ]
    _, out = run([write_jsonl("v.jsonl", rows)], classes="a,b,c")
    rejects = rejects_of(out)
    assert rejects.select("row", "reason", "column", "value").rows() == [
        (2, "wrong_length", "probs", "2"),
        (3, "unknown_class", "excluded", "zebra"),
        (5, "conflict", "candidates", "b"),
    ]
    assert sorted(targets_of(out)["id"]) == [1, 4]  # ids keep their type


def test_parquet_rows_and_duplicates_across_files(write, write_parquet, run):
    first = write("first.csv", "id,label\n10,a\n11,b\n")
    frame = pl.DataFrame({"id": ["11", "12"], "label": ["a", "b"]})
    second = write_parquet("second.parquet", frame)
    result, out = run([first, second], classes="a,b")
    rejects = rejects_of(out)
    assert rejects.select("source", "row", "id", "reason").rows() == [
        (str(second), 1, "11", "duplicate_id")
    ]
    assert result.rows_in == 4


@pytest.mark.parametrize("value", ["nan", "NaN"])
def test_nan_is_not_a_number(write, run, value):
    _, out = run([write("n.csv", f"id,a,b\n1,{value},1\n")])
    assert rejects_of(out)["reason"].to_list() == ["not_a_number"]


def test_all_rows_rejected_still_writes_every_output(write, run):
    result, out = run([write("bad.csv", "id,a,b\n1,2,3\n")])
    assert result.rows_accepted == 0
    assert targets_of(out).height == 0
    assert rejects_of(out).height == 1
    assert result.class_stats["soft_mass"].to_list() == [0.0, 0.0]


CONFLICTS_CSV = """\
id,a,b,c,label,excluded,candidates
1,,,,c,c,
2,,,,c,,a|b
3,0.5,0.5,0,,b,
4,0,1,0,a,,
5,,,,,a,a
"""


def test_conflict_messages_say_which_contradiction(write, run):
    _, out = run([write("conflicts.csv", CONFLICTS_CSV)])
    rejects = rejects_of(out)
    assert rejects.select("row", "column", "value", "message").rows() == [
        (2, "excluded", "c", "label 'c' is in the excluded set 'c'"),
        (3, "candidates", "a|b", "label 'c' is not among the candidates 'a|b'"),
        (4, "excluded", "b", "probability mass on a class that column excluded rules out ('b')"),
        (5, "label", "a", "label 'a' has probability 0 in the row's probabilities"),
        (6, "candidates", "a", "every candidate is excluded ('a')"),
    ]
    assert set(rejects["reason"]) == {"conflict"}
