"""Reading text files as their authors meant them: line endings, BOM, blank lines,
headerless and whitespace-separated files, per-row parsing, file-level errors, id types
and each file read once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import labelprep
from labelprep import InputError
from tests.conftest import rejects_of, targets_of

ROWS = ["id,a,b", "1,0.5,0.5", "2,0.2,0.8", "3,0.9,0.9"]  # row 3 (line 4) is bad_sum


def write_bytes(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("ending", "bom", "final"),
    [
        ("\n", False, True),
        ("\r\n", False, True),
        ("\r", False, True),
        ("\r", True, False),
        ("\r\n", True, False),
    ],
)
def test_line_endings_and_bom(tmp_path, run, ending, bom, final):
    text = ending.join(ROWS) + (ending if final else "")
    data = (b"\xef\xbb\xbf" if bom else b"") + text.encode()
    result, out = run([write_bytes(tmp_path, "e.csv", data)])
    assert result.classes == ("a", "b")
    assert targets_of(out)["id"].to_list() == [1, 2]
    assert rejects_of(out).select("row", "reason").rows() == [(4, "bad_sum")]


def test_mixed_line_endings_keep_physical_line_numbers(tmp_path, run):
    data = b"id,a,b\r\n1,0.5,0.5\r2,0.2,0.8\n3,0.9,0.9\r\n"
    _, out = run([write_bytes(tmp_path, "m.csv", data)])
    assert rejects_of(out).select("row", "id").rows() == [(4, "3")]


def test_blank_and_whitespace_lines_are_skipped_but_counted(tmp_path, run):
    data = b"id,a,b\n\n1,0.5,0.5\n   \n\t\n2,0.2,0.8\n\n3,0.9,0.9\n\n"
    result, out = run([write_bytes(tmp_path, "b.csv", data)])
    assert result.rows_in == 3
    assert rejects_of(out).select("row", "reason").rows() == [(8, "bad_sum")]


def test_a_field_spanning_lines_keeps_later_line_numbers(tmp_path, run):
    data = b'id,a,b,note\n1,0.5,0.5,"two\nlines"\n2,0.9,0.9,x\n'
    _, out = run([write_bytes(tmp_path, "q.csv", data)], keep=["note"])
    assert targets_of(out)["note"].to_list() == ["two\nlines"]
    assert rejects_of(out).select("row", "id").rows() == [(4, "2")]


def test_blank_line_inside_a_quoted_field_is_data(tmp_path, run):
    data = b'id,label,note\n1,x,"a\n\nb"\n2,y,z\n'
    _, out = run([write_bytes(tmp_path, "q.csv", data)], keep=["note"], classes="x,y")
    assert targets_of(out)["note"].to_list() == ["a\n\nb", "z"]


def test_quoted_empty_cell_is_empty(tmp_path, run):
    frame = pl.DataFrame({"id": [1, 2], "a": [0.5, None], "b": [0.5, 1.0]})
    path = tmp_path / "w.csv"
    frame.write_csv(path, quote_style="always")  # writes "" for the null
    _, out = run([path])
    assert rejects_of(out).select("id", "reason").rows() == [("2", "wrong_length")]


def test_no_header_with_column_names(write, run):
    result, out = run(
        [write("v.txt", "1,x\n2,y\n")], no_header=True, column_names="id,label", input_format="csv"
    )
    assert result.rows_accepted == 2
    assert rejects_of(out).height == 0


def test_no_header_without_names_uses_polars_names(write, run):
    result, _ = run(
        [write("v.csv", "1,x\n2,y\n")],
        no_header=True,
        id_column="column_1",
        label_column="column_2",
    )
    assert result.rows_accepted == 2


def test_headerless_rows_are_numbered_from_line_one(write, run):
    _, out = run(
        [write("v.csv", "1,x\n\n2,zz\n")], no_header=True, column_names="id,label", classes="x"
    )
    assert rejects_of(out).select("row", "reason").rows() == [(3, "unknown_class")]


@pytest.mark.parametrize("separator", ["whitespace", " "])
def test_whitespace_separated_votes(write, tmp_path, separator):
    path = write("crowd.txt", "1 w1 a\n1\tw2   b\n  2 w1 a  \n\n2  w2\ta\n")
    result = labelprep.aggregate(
        [path],
        output_dir=tmp_path / "out",
        config=False,
        no_header=True,
        column_names="id,annotator,label",
        separator=separator,
        input_format="csv",
    )
    frame = targets_of(tmp_path / "out").sort("id")
    assert frame["soft_target"].to_list() == [[0.5, 0.5], [1.0, 0.0]]
    assert result.rows_accepted == 2


@pytest.mark.parametrize("separator", [";", "\\t", "|"])
def test_any_single_character_separator(write, run, separator):
    sep = "\t" if separator == "\\t" else separator
    result, _ = run(
        [write("s.txt", f"id{sep}label\n1{sep}x\n")], separator=separator, input_format="csv"
    )
    assert result.rows_accepted == 1


@pytest.mark.parametrize("separator", [";;", "\u00e9", "\n", "\r"])
def test_a_separator_polars_cannot_take_is_refused(write, run, separator):
    with pytest.raises(labelprep.ConfigError, match="must be one ASCII character"):
        run([write("s.csv", "id,label\n1,x\n")], separator=separator)


@pytest.mark.parametrize("quote", ["''", "\u00e9", ","])
def test_a_quote_polars_cannot_take_is_refused(write, run, quote):
    with pytest.raises(labelprep.ConfigError, match="quote character"):
        run([write("s.csv", "id,label\n1,x\n")], quote_char=quote)


# -- a row's verdict depends on that row alone -------------------------------------------


def test_one_quoted_number_in_jsonl_does_not_retype_the_column(write_jsonl, run):
    rows = [
        {"id": 1, "a": 0.5, "b": 0.5},
        {"id": 2, "a": "0.5", "b": 0.5},
        {"id": 3, "a": 0.2, "b": 0.8},
    ]
    result, _ = run([write_jsonl("n.jsonl", rows)], classes="a,b")
    assert result.rows_accepted == 3


def test_mixed_types_in_one_jsonl_column_get_a_verdict_per_row(write_jsonl, run):
    rows = [
        {"id": 1, "a": 0.5, "b": 0.5},
        {"id": 2, "a": True, "b": 0.5},
        {"id": 3, "a": [0.5], "b": 0.5},
        {"id": 4, "a": {"x": 1}, "b": 0.5},
        {"id": 5, "a": "text", "b": 0.5},
        {"id": 6, "a": 0.3, "b": 0.7},
    ]
    _, out = run([write_jsonl("m.jsonl", rows)], classes="a,b")
    assert targets_of(out)["id"].to_list() == [1, 6]
    assert set(rejects_of(out)["reason"]) == {"not_a_number"}
    assert rejects_of(out)["row"].to_list() == [2, 3, 4, 5]


def test_one_delimited_probs_row_among_lists(write_jsonl, run):
    rows = [
        {"id": 1, "probs": [0.5, 0.5]},
        {"id": 2, "probs": "0.2|0.8"},
        {"id": 3, "probs": [0.1, 0.9]},
    ]
    _, out = run([write_jsonl("p.jsonl", rows)], classes="a,b")
    expected = [[0.5, 0.5], [0.2, 0.8], [0.1, 0.9]]
    np.testing.assert_allclose(targets_of(out)["soft_target"].to_list(), expected, rtol=1e-6)


def test_jsonl_blank_lines_and_crlf_keep_line_numbers(tmp_path, run):
    lines = [json.dumps({"id": 1, "label": "x"}), "", "  ", json.dumps({"id": 2, "label": "q"})]
    data = b"\xef\xbb\xbf" + "\r\n".join(lines).encode()
    _, out = run([write_bytes(tmp_path, "j.jsonl", data)], classes="x")
    assert rejects_of(out).select("row", "reason").rows() == [(4, "unknown_class")]


# -- file-level problems ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "match"),
    [
        ("dup.csv", b"id,a,a\n1,0.5,0.5\n", r"dup.csv, line 1: the column name 'a' appears more"),
        (
            "q.csv",
            b'id,a,b\n1,0.5,0.5\n2,"0.5,0.5\n3,1,0\n',
            r"q.csv, line 3: a quoted field is never closed",
        ),
        (
            "f.csv",
            b"id,a,b\n1,0.5,0.5\n\n2,0.5,0.5,7\n",
            r"f.csv, line 4: 4 fields, but the first line has 3",
        ),
        (
            "s.csv",
            b'id,a,b\n1,0.5,0.5\n2,5" x,1\n',
            r"s.csv, line 3: a quote \(\"\) inside an unquoted",
        ),
        (
            "u.csv",
            b"id,a\n" + b"1,0.5\n" * 50_000 + b"2,caf\xe9\n",
            r"u.csv, line 50002: the file is not valid UTF-8",
        ),
        ("n.csv", b"id,a\n1,0.5\n2,\x000\n", r"n.csv, line 3: a NUL byte"),
        ("b.jsonl", b'{"id": 1}\n\n{"id": 2\n', r"b.jsonl, line 3: not valid JSON"),
        ("l.jsonl", b'{"id": 1}\n[1, 2]\n', r"l.jsonl, line 2: a JSON list, not an object"),
        ("t.csv", b"id,label,\n1,x,\n", r"t.csv, line 1: column 3 has no name"),
        ("i.jsonl", b'{"id": 1}\n{"id": 2, "a": Infinity}\n', r"i.jsonl, line 2: not valid JSON"),
        (
            "s.jsonl",
            b'{"id": {"a": 1}, "label": "x"}\n',
            r"s.jsonl: the id column 'id' holds Struct",
        ),
        ("only.csv", b"\n  \n\n", r"only.csv: the file has no header line"),
    ],
)
def test_file_level_problems_name_the_file_and_line(tmp_path, run, name, data, match):
    with pytest.raises(InputError, match=match):
        run([write_bytes(tmp_path, name, data)], classes="x,a")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("dtype", [pl.Binary, pl.List(pl.Int64)])
def test_parquet_ids_of_an_unsupported_type_are_refused(write_parquet, run, dtype):
    values = [b"a"] if dtype == pl.Binary else [[1]]
    frame = pl.DataFrame({"id": pl.Series(values, dtype=dtype), "label": ["x"]})
    with pytest.raises(InputError, match="the id column 'id' holds"):
        run([write_parquet("i.parquet", frame)], classes="x")


def test_quote_char_none_reads_quotes_as_text(tmp_path, run):
    data = b'id,label,note\n1,x,5" tall\n'
    _, out = run([write_bytes(tmp_path, "q.csv", data)], quote_char="", keep=["note"], classes="x")
    assert targets_of(out)["note"].to_list() == ['5" tall']


# -- ids ----------------------------------------------------------------------------------


def test_missing_ids_per_row(write, write_parquet, run):
    _, out = run([write("i.csv", "id,label\n,x\n  ,x\nNaN,x\nok,x\n")], classes="x")
    assert rejects_of(out).select("row", "reason").rows() == [
        (2, "missing_id"),
        (3, "missing_id"),
        (4, "missing_id"),
    ]
    frame = pl.DataFrame({"id": [1.0, float("nan"), None], "label": ["x", "x", "x"]})
    result, _ = run([write_parquet("f.parquet", frame)], classes="x")
    assert result.rejects_by_reason == {"missing_id": 2}


def test_csv_integer_ids_are_int64_like_polars(write, run):
    path = write("i.csv", "id,label\n10,x\n2,x\n")
    _, out = run([path], classes="x")
    assert targets_of(out)["id"].to_list() == [10, 2]
    assert targets_of(out)["id"].dtype == pl.read_csv(path)["id"].dtype == pl.Int64


def test_leading_zero_ids_stay_text_with_a_notice(write, run):
    result, out = run([write("i.csv", "id,label\n007,x\n7,x\n")], classes="x")
    assert targets_of(out)["id"].to_list() == ["007", "7"]
    assert any("leading zeros" in n for n in result.notices)


def test_jsonl_ids_beyond_int64_are_kept_exactly(write, run):
    text = '{"id": 99999999999999999999999, "label": "x"}\n{"id": 1, "label": "x"}\n'
    result, out = run([write("b.jsonl", text)], classes="x")
    assert targets_of(out)["id"].to_list() == ["99999999999999999999999", "1"]
    assert any("beyond the int64 range" in n for n in result.notices)


def test_jsonl_string_ids_stay_text(write_jsonl, run):
    _, out = run([write_jsonl("s.jsonl", [{"id": "1", "label": "x"}])], classes="x")
    assert targets_of(out)["id"].dtype == pl.String


def test_mixed_id_types_across_inputs_become_text_with_a_notice(write, write_jsonl, run):
    ints = write("a.csv", "id,label\n1,x\n")
    text = write_jsonl("b.jsonl", [{"id": "k", "label": "x"}])
    result, out = run([ints, text], classes="x")
    assert targets_of(out)["id"].to_list() == ["1", "k"]
    assert any("ids have different types" in n for n in result.notices)


def test_integer_widths_unify_to_int64(write, write_parquet, run):
    small = write_parquet(
        "s.parquet", pl.DataFrame({"id": pl.Series([1], dtype=pl.Int16), "label": ["x"]})
    )
    _, out = run([small, write("b.csv", "id,label\n2,x\n")], classes="x")
    assert targets_of(out)["id"].dtype == pl.Int64


def test_id_from_row(write, run):
    _, out = run([write("w.csv", "label\nx\n\nx\n")], id_from_row=True, classes="x")
    assert targets_of(out)["id"].to_list() == [2, 4]


# -- each file once -------------------------------------------------------------------------


def test_each_file_is_read_once_whatever_the_spelling(write, run, tmp_path, monkeypatch):
    path = write("a.csv", "id,label\n1,x\n")
    (tmp_path / "sub").mkdir()
    os.symlink(path, tmp_path / "link.csv")
    monkeypatch.chdir(tmp_path)
    spellings = ["a.csv", str(path), "./sub/../a.csv", "link.csv", "*.csv"]
    result, _ = run(spellings, classes="x")
    assert result.rows_in == 1
    assert [i["path"] for i in result.summary["inputs"]] == ["a.csv"]
    dropped = [n for n in result.notices if "is the same file as a.csv" in n]
    assert len(dropped) == 3  # the absolute path, ./sub/../a.csv and the symlink


def test_the_normalised_copy_is_removed_when_the_process_ends(tmp_path):
    data = tmp_path / "cr.csv"
    data.write_bytes(b"id,label\r1,x\r2,y\r")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch)}
    argv = [sys.executable, "-m", "labelprep", "run", str(data), "-o", str(tmp_path / "out")]
    done = subprocess.run([*argv, "--no-config"], env=env, capture_output=True, check=False)
    assert done.returncode == 0, done.stderr
    assert targets_of(tmp_path / "out")["id"].to_list() == [1, 2]
    assert list(scratch.iterdir()) == []
