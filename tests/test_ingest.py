"""Reading inputs: formats, globs, vocabulary inference, and file-level errors."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

import labelprep
from labelprep import ColumnNotFoundError, InputError, OutputError, VocabularyError
from tests.conftest import SPEC_TABLE, targets_of


def no_outputs_left(folder: Path) -> bool:
    return not any(p.name == "out" or p.name.startswith(".out.") for p in folder.iterdir())


def test_every_format_gives_the_same_targets(write, write_jsonl, write_parquet, run, tmp_path):
    csv = write("a.csv", "id,label\n1,x\n")
    tsv = write("b.tsv", "id\tlabel\n2\ty\n")
    jsonl = write_jsonl("c.jsonl", [{"id": 3, "label": "x"}])
    parquet = write_parquet("d.parquet", pl.DataFrame({"id": [4], "label": ["y"]}))
    result, out = run([csv, tsv, jsonl, parquet], classes="x,y")
    frame = targets_of(out).sort("id")
    assert frame["id"].dtype == pl.Int64  # integer ids in every format: one Int64 column
    assert frame["id"].to_list() == [1, 2, 3, 4]
    assert frame["hard_label"].to_list() == ["x", "y", "x", "y"]
    assert [i["format"] for i in result.summary["inputs"]] == ["csv", "tsv", "jsonl", "parquet"]


def test_globs_expand_in_sorted_order(write, run, tmp_path):
    write("part-2.csv", "id,label\n2,x\n")
    write("part-1.csv", "id,label\n1,y\n")
    result, _ = run([str(tmp_path / "part-*.csv")], classes="x,y")
    assert [i["path"] for i in result.summary["inputs"]] == [
        str(tmp_path / "part-1.csv"),
        str(tmp_path / "part-2.csv"),
    ]


def test_input_format_overrides_the_extension(write, run):
    path = write("data.txt", "id\tlabel\n1\tx\n")
    result, _ = run([path], classes="x", input_format="tsv")
    assert result.rows_accepted == 1


def test_classes_inferred_from_wide_columns_with_a_notice(write, run):
    result, _ = run([write("s.csv", SPEC_TABLE)])
    assert result.classes == ("c1", "c2", "c3")
    assert any("classes inferred from the probability columns" in n for n in result.notices)


def test_classes_inferred_from_labels_sort_numerically(write, run):
    # Not all non-negative, so not class indices: the names, in numeric order.
    result, _ = run([write("l.csv", "id,label\n1,10\n2,2\n3,-1\n")])
    assert result.classes == ("-1", "2", "10")


def test_non_numeric_extra_columns_are_ignored_with_a_notice(write, run):
    result, out = run([write("t.csv", "id,a,b,text\n1,0.5,0.5,hello\n")])
    assert result.classes == ("a", "b")
    assert any("ignoring column(s) 'text'" in n for n in result.notices)
    assert "text" not in targets_of(out).columns


def test_keep_columns_pass_through(write, run):
    _, out = run([write("t.csv", "id,a,b,text\n1,0.5,0.5,hello\n")], keep=["text"])
    assert targets_of(out)["text"].to_list() == ["hello"]


def test_no_classes_to_infer(write, run):
    with pytest.raises(VocabularyError, match="cannot infer the classes"):
        run([write("e.csv", "id,other\n1,x\n")])


@pytest.mark.parametrize(
    ("name", "content", "error", "match"),
    [
        ("missing.csv", None, InputError, "no such file"),
        ("data.xlsx", "id\n1\n", InputError, "unknown format '.xlsx'"),
        ("empty.csv", "", InputError, "the file is empty"),
        ("noid.csv", "item,label\n1,x\n", ColumnNotFoundError, "the id column 'id' is missing"),
    ],
)
def test_file_level_errors_leave_no_output(write, tmp_path, name, content, error, match):
    path = write(name, content) if content is not None else tmp_path / name
    with pytest.raises(error, match=match):
        labelprep.run([path], output_dir=tmp_path / "out", config=False, classes="x")
    assert no_outputs_left(tmp_path)


def test_missing_id_column_suggests_a_close_name(write, tmp_path):
    path = write("ids.csv", "ID,label\n1,x\n")
    with pytest.raises(ColumnNotFoundError, match="Did you mean 'ID'"):
        labelprep.run([path], output_dir=tmp_path / "out", config=False)


def test_non_utf8_text_is_refused(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes(b"id,label\n1,caf\xe9\n" + b"2,x\n" * 10)
    with pytest.raises(InputError, match="not valid UTF-8"):
        labelprep.run([path], output_dir=tmp_path / "out", config=False)
    assert no_outputs_left(tmp_path)


def test_utf16_text_is_refused(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_bytes("id,label\n1,x\n".encode("utf-16"))
    with pytest.raises(InputError, match="UTF-16"):
        labelprep.run([path], output_dir=tmp_path / "out", config=False)


def test_corrupt_parquet_is_refused(tmp_path):
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(InputError, match=r"broken\.parquet: cannot read it as parquet"):
        labelprep.run([path], output_dir=tmp_path / "out", config=False)
    assert no_outputs_left(tmp_path)


def test_a_file_with_only_some_class_columns_is_refused(write, tmp_path):
    path = write("some.csv", "id,a,b\n1,0.5,0.5\n")
    with pytest.raises(ColumnNotFoundError, match="probability column 'c' is missing"):
        labelprep.run([path], output_dir=tmp_path / "out", config=False, classes="a,b,c")


def test_keep_column_must_exist(write, tmp_path):
    path = write("k.csv", "id,label\n1,x\n")
    with pytest.raises(ColumnNotFoundError, match="--keep column 'nope'"):
        labelprep.run([path], output_dir=tmp_path / "out", config=False, keep=["nope"])


def test_a_failed_run_keeps_the_previous_outputs(write, run, tmp_path):
    _, out = run([write("good.csv", "id,label\n1,x\n")])
    before = (out / "targets.parquet").read_bytes()
    with pytest.raises(InputError):
        run([tmp_path / "missing.csv"])
    assert (out / "targets.parquet").read_bytes() == before


def test_refuses_to_replace_a_folder_that_is_not_an_output(write, tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "precious.txt").write_text("keep me")
    with pytest.raises(OutputError, match=r"holds files labelprep did not write: precious\.txt"):
        labelprep.run(
            [write("g.csv", "id,label\n1,x\n")], output_dir=tmp_path / "out", config=False
        )
    assert (tmp_path / "out" / "precious.txt").read_text() == "keep me"


def test_numeric_metadata_next_to_labels_is_not_a_class(write, run):
    result, out = run([write("m.csv", "id,label,note,score\n1,cat,hi,0.5\n2,dog,yo,0.7\n")])
    assert result.classes == ("cat", "dog")
    assert any("ignoring column(s) 'note', 'score'" in n for n in result.notices)
    assert targets_of(out)["hard_label"].to_list() == ["cat", "dog"]


def test_a_probs_list_wins_over_other_numeric_fields(write_jsonl, run):
    rows = [{"uid": "a", "dist": [0.3, 0.7, 0.0], "entropy": 0.88}]
    result, _ = run([write_jsonl("c.jsonl", rows)], id_column="uid", probs_column="dist")
    assert result.classes == ("0", "1", "2")
    assert result.rows_accepted == 1


def test_an_integer_gold_column_next_to_candidates_is_not_a_class(write_parquet, run):
    frame = pl.DataFrame({"id": [0, 1], "candidates": [[0, 1], [2]], "gold": [0, 2]})
    result, _ = run([write_parquet("p.parquet", frame)])
    assert result.classes == ("0", "1", "2")
    assert result.rows_accepted == 2


def test_unused_columns_are_named_when_the_classes_are_given(write, run):
    result, _ = run([write("u.csv", "id,a,b,note\n1,0.5,0.5,x\n")], classes="a,b")
    assert any("ignoring column(s) 'note'" in n for n in result.notices)


def test_a_renamed_role_column_must_exist(write, tmp_path):
    path = write("r.csv", "id,label\n1,x\n")
    with pytest.raises(ColumnNotFoundError, match=r"label column 'lable' is missing.*'label'"):
        labelprep.run([path], output_dir=tmp_path / "out", config=False, label_column="lable")


def test_rows_read_are_counted_per_input(write, run):
    result, _ = run([write("s.csv", SPEC_TABLE)])
    assert result.summary["inputs"][0]["rows"] == 4
    assert result.summary["inputs"][0]["accepted"] == 4


def test_a_setting_of_the_wrong_type_is_a_config_error(write, tmp_path):
    path = write("s.csv", SPEC_TABLE)
    with pytest.raises(labelprep.ConfigError, match="tolerance='abc' must be a number"):
        labelprep.run([path], output_dir=tmp_path / "out", config=False, tolerance="abc")
