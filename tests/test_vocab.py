"""Class vocabulary inference: stored names, integer labels, and no silent guesses."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import labelprep
from labelprep.errors import VocabularyError
from tests.conftest import targets_of


def write_arrow(path: Path, table: pa.Table, metadata: dict[str, str]) -> Path:
    pq.write_table(table.replace_schema_metadata(metadata), path)
    return path


def hf_metadata(features: dict[str, object]) -> dict[str, str]:
    return {"huggingface": json.dumps({"info": {"features": features}})}


def class_label(*names: str) -> dict[str, object]:
    return {"names": list(names), "_type": "ClassLabel"}


# -- integer labels are class indices ----------------------------------------------------------


def test_integer_labels_give_every_class_up_to_the_largest(write, run):
    result, out = run([write("l.csv", "id,label\n1,0\n2,5\n3,2\n4,1\n")])
    assert result.classes == ("0", "1", "2", "3", "4", "5")
    targets = targets_of(out).sort("id")
    assert targets["hard_label"].to_list() == ["0", "5", "2", "1"]
    assert [row.index(1.0) for row in targets["soft_target"].to_list()] == [0, 5, 2, 1]
    notice = next(n for n in result.notices if n.startswith("classes "))
    assert "integer labels" in notice
    assert "no row names class 3, 4" in notice


def test_integer_candidates_are_indices_too(write_parquet, run):
    frame = pl.DataFrame({"id": [1, 2], "candidates": [[0, 3], [3]]})
    result, out = run([write_parquet("c.parquet", frame)])
    assert result.classes == ("0", "1", "2", "3")
    assert targets_of(out).sort("id")["soft_target"].to_list() == [
        [0.5, 0.0, 0.0, 0.5],
        [0.0, 0.0, 0.0, 1.0],
    ]


def test_one_based_labels_are_told_how_to_drop_class_zero(write, run):
    result, _ = run([write("l.csv", "id,label\n1,1\n2,2\n")])
    assert result.classes == ("0", "1", "2")
    assert any("if the labels are 1-based, pass --classes" in n for n in result.notices)


def test_integer_labels_beyond_the_class_limit_are_refused(write, run):
    with pytest.raises(VocabularyError, match="integers up to 123456, which would make 123457"):
        run([write("l.csv", "id,label\n1,0\n2,123456\n")])


# -- class names stored in the input -----------------------------------------------------------


def test_hugging_face_class_label_names_in_their_order(tmp_path, run):
    table = pa.table({"id": [1, 2, 3], "label": pa.array([2, 0, 2], pa.int64())})
    path = write_arrow(
        tmp_path / "hf.parquet", table, hf_metadata({"label": class_label("neg", "neutral", "pos")})
    )
    result, out = run([path])
    assert result.classes == ("neg", "neutral", "pos")
    assert targets_of(out).sort("id")["hard_label"].to_list() == ["pos", "neg", "pos"]
    assert any(
        "read from the Hugging Face ClassLabel of column 'label'" in n and str(path) in n
        for n in result.notices
    )
    assert result.summary["classes_source"] == "stored"


def test_a_dataset_written_by_datasets_keeps_its_names(tmp_path, run):
    import datasets  # in the test extra

    features = datasets.Features(
        {
            "id": datasets.Value("int64"),
            "candidates": datasets.Sequence(datasets.ClassLabel(names=["cat", "dog", "eel"])),
        }
    )
    data = datasets.Dataset.from_dict({"id": [1, 2], "candidates": [[2, 0], [1]]}, features)
    path = tmp_path / "ds.parquet"
    data.to_parquet(str(path))
    result, out = run([path])
    assert result.classes == ("cat", "dog", "eel")
    assert targets_of(out).sort("id")["soft_target"].to_list() == [[0.5, 0, 0.5], [0, 1, 0]]


def test_our_own_classes_metadata_is_used(tmp_path, run):
    table = pa.table({"id": [1], "label": ["b"]})
    path = write_arrow(tmp_path / "own.parquet", table, {"labelprep.classes": '["c", "b", "a"]'})
    result, _ = run([path])
    assert result.classes == ("c", "b", "a")


def test_a_stored_class_count_gives_zero_to_n_minus_one(tmp_path, run):
    table = pa.table({"id": [1, 2], "candidates": [[0, 1], [1]]})
    path = write_arrow(tmp_path / "pll.parquet", table, {"n_classes": "4"})
    result, out = run([path])
    assert result.classes == ("0", "1", "2", "3")
    assert targets_of(out).sort("id")["mask"].to_list() == [[1, 1, 0, 0], [0, 1, 0, 0]]
    assert any("the 'n_classes' metadata (4 classes)" in n for n in result.notices)


def test_inputs_that_store_different_names_are_an_error(tmp_path, run):
    table = pa.table({"id": [1], "label": [0]})
    a = write_arrow(tmp_path / "a.parquet", table, hf_metadata({"label": class_label("x", "y")}))
    b = write_arrow(tmp_path / "b.parquet", table, hf_metadata({"label": class_label("y", "x")}))
    with pytest.raises(VocabularyError, match="store different class names") as error:
        run([a, b])
    assert str(a) in str(error.value)
    assert str(b) in str(error.value)


def test_given_classes_win_over_stored_ones_with_a_notice(tmp_path, run):
    table = pa.table({"id": [1], "label": ["x"]})
    path = write_arrow(tmp_path / "s.parquet", table, {"labelprep.classes": '["x", "y"]'})
    result, _ = run([path], classes="y,x")
    assert result.classes == ("y", "x")
    assert any("the given classes are used instead" in n for n in result.notices)


# -- no vocabulary from a stray numeric column -------------------------------------------------


def test_a_lone_numeric_column_is_not_a_vocabulary(write_jsonl, run):
    rows = [
        {"id": 1, "label_dist": [0.3, 0.7, 0.0], "entropy": 0.88},
        {"id": 2, "label_dist": [0.1, 0.1, 0.8], "entropy": 0.92},
    ]
    path = write_jsonl("chaos.jsonl", rows)
    with pytest.raises(VocabularyError) as error:
        run([path])
    message = str(error.value)
    assert "'entropy'" in message
    assert "did you mean --probs-column label_dist?" in message
    assert "--classes" in message


def test_the_hinted_list_column_then_reads(write_jsonl, run):
    rows = [{"id": 1, "label_dist": [0.3, 0.7], "entropy": 0.88}]
    result, out = run([write_jsonl("chaos.jsonl", rows)], probs_column="label_dist")
    assert result.classes == ("0", "1")
    assert targets_of(out)["soft_target"].to_list() == [pytest.approx([0.3, 0.7])]


@pytest.mark.parametrize(
    "extra",
    [
        {"entropy": 1.0, "votes": 100},  # out of range
        {"entropy": 0.9, "agreement": 0.6},  # in range, but not rows summing to 1
    ],
)
def test_numeric_columns_next_to_a_probability_list_are_not_classes(write_jsonl, run, extra):
    rows = [{"id": 1, "dist": [0.5, 0.5], **extra}, {"id": 2, "dist": [0.1, 0.9], **extra}]
    with pytest.raises(VocabularyError, match="did you mean --probs-column dist"):
        run([write_jsonl("d.jsonl", rows)])


def test_a_lone_numeric_column_next_to_labels_is_ignored(write, run):
    result, _ = run([write("l.csv", "id,label,score\n1,a,0.9\n2,b,0.4\n")])
    assert result.classes == ("a", "b")
    assert any("ignoring column(s) 'score'" in n for n in result.notices)


def test_wide_columns_that_are_not_probabilities_are_read_with_a_warning(write, run):
    result, _ = run([write("w.csv", "id,a,b\n1,2,3\n")])
    assert result.classes == ("a", "b")
    assert result.rejects_by_reason == {"probability_above_one": 1}
    assert any(
        "although most of their first rows are not probability rows" in n for n in result.notices
    )


def test_nothing_to_infer_from_names_the_flags(write, run):
    with pytest.raises(VocabularyError, match=r"cannot infer the classes.*--classes"):
        run([write("n.csv", "id,text\n1,hello\n")])


def test_class_label_values_are_positions_even_when_names_are_numbers(tmp_path, run):
    # Star ratings named "1".."3" stored as indices 0..2: value 1 is "2", not the name "1".
    table = pa.table({"id": [1, 2, 3], "label": pa.array([0, 1, 2], pa.int64())})
    metadata = hf_metadata({"label": class_label("1", "2", "3")})
    result, out = run([write_arrow(tmp_path / "stars.parquet", table, metadata)])
    assert result.classes == ("1", "2", "3")
    assert targets_of(out).sort("id")["hard_label"].to_list() == ["1", "2", "3"]


@settings(max_examples=15, deadline=None)
@given(labels=st.lists(st.integers(min_value=0, max_value=30), min_size=1, max_size=12))
def test_integer_labels_are_their_own_class_index(tmp_path_factory, labels):
    folder = tmp_path_factory.mktemp("ints")
    rows = "".join(f"{i},{label}\n" for i, label in enumerate(labels))
    (folder / "l.csv").write_text("id,label\n" + rows, encoding="utf-8")
    result = labelprep.run(folder / "l.csv", output_dir=folder / "out", config=False)
    assert result.classes == tuple(str(i) for i in range(max(labels) + 1))
    targets = targets_of(folder / "out").sort("id")
    assert targets["hard_label"].to_list() == [str(label) for label in labels]


def test_given_classes_settle_stored_names_that_disagree(tmp_path, run):
    table = pa.table({"id": [1], "label": ["x"]})
    a = write_arrow(tmp_path / "a.parquet", table, {"labelprep.classes": '["x", "y"]'})
    b = write_arrow(tmp_path / "b.parquet", table, {"labelprep.classes": '["y", "x"]'})
    result, _ = run([a, b], classes="x,y")
    assert result.classes == ("x", "y")
    assert result.rejects_by_reason == {"duplicate_id": 1}  # one id in both files
