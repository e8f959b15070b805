"""Frames in, frames out: Polars, pandas and PyArrow frames read as files are, and a run
with ``output_dir=None`` returning its outputs in memory."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import labelprep
from labelprep.errors import ColumnNotFoundError, InputError

# The SPEC's 4-row table plus a row summing to 1.5 (row 5) and one with a bad number.
ROWS: dict[str, list[Any]] = {
    "id": [1, 2, 3, 4, 5, 6],
    "c1": [0.9, 0.2, 0.3, 0.7, 0.3, None],
    "c2": [0.05, 0.8, 0.3, 0.0, 0.3, 0.5],
    "c3": [0.05, 0.0, 0.4, 0.3, 0.9, 0.5],
    "split": ["train", "train", "val", "train", "val", "train"],
}
FRAME = pl.DataFrame(ROWS)


def converted(kind: str, frame: pl.DataFrame) -> Any:
    """``frame`` as the given library's frame."""
    return {
        "polars": lambda: frame,
        "lazy": frame.lazy,
        "pandas": frame.to_pandas,
        "pyarrow": frame.to_arrow,
    }[kind]()


def in_memory(inputs: Any, **options: Any) -> labelprep.RunResult:
    return labelprep.run(inputs, output_dir=None, config=False, **options)


@pytest.fixture(scope="module")
def from_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[labelprep.RunResult, Path]:
    """The same rows run from a Parquet file (rows numbered 1.. as a frame's are)."""
    folder = tmp_path_factory.mktemp("file")
    FRAME.write_parquet(folder / "rows.parquet")
    result = labelprep.run(folder / "rows.parquet", output_dir=folder / "out", config=False)
    return result, folder / "out"


@pytest.mark.parametrize("kind", ["polars", "lazy", "pandas", "pyarrow"])
def test_a_frame_gives_the_outputs_of_the_same_rows_in_a_file(
    kind: str, from_file: tuple[labelprep.RunResult, Path]
) -> None:
    file_result, out = from_file
    result = in_memory(converted(kind, FRAME))
    assert result.output_dir is None
    assert_frame_equal(result.targets, pl.read_parquet(out / "targets.parquet"))
    assert_frame_equal(result.class_stats, file_result.class_stats)
    file_rejects = pl.read_parquet(out / "rejects.parquet")
    assert_frame_equal(result.rejects.drop("source"), file_rejects.drop("source"))
    assert result.rejects.select("source", "row", "id", "reason").rows() == [
        ("<frame 0>", 5, "5", "bad_sum"),
        ("<frame 0>", 6, "6", "wrong_length"),
    ]
    assert result.targets["id"].to_list() == [1, 2, 3, 4]
    assert result.targets["soft_target"][1].to_list() == pytest.approx([0.2, 0.8, 0.0])


def test_the_manifest_lists_a_frame_without_a_hash() -> None:
    result = in_memory(FRAME)
    (entry,) = result.manifest["inputs"]
    assert entry == {
        "path": "<frame 0>",
        "format": "frame",
        "rows": 6,
        "accepted": 4,
        "rejected": 2,
        "votes": False,
        "sha256": None,
    }
    assert result.manifest["rows"]["in"] == 6


def test_output_dir_none_leaves_no_file_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    monkeypatch.chdir(tmp_path)
    result = in_memory(FRAME)
    assert result.targets.height == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tmp"]
    assert list(scratch.iterdir()) == []


def test_a_failed_in_memory_run_leaves_no_file_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with pytest.raises(ColumnNotFoundError, match=r"<frame 0>: .*'item'"):
        in_memory(FRAME, id_column="item")
    assert list(tmp_path.iterdir()) == []


def test_an_in_memory_run_failing_after_it_began_writing_leaves_no_file_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[str] = []
    mkdtemp = tempfile.mkdtemp

    def spy(*args: Any, **kwargs: Any) -> str:
        made.append(mkdtemp(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(tempfile, "mkdtemp", spy)
    # The label cast fails only when the rows are read: in the main pass, while writing.
    failing = pl.LazyFrame({"id": [1, 2], "label": ["0", "x"]}).with_columns(
        pl.col("label").cast(pl.Int64)
    )
    with pytest.raises(InputError, match=r"conversion from `str` to `i64` failed"):
        in_memory(failing, classes=["a", "b"])
    assert len(made) == 1  # the temporary directory was made...
    assert list(tmp_path.iterdir()) == []  # ...and removed


def test_a_result_written_to_a_folder_reads_its_outputs_from_there(tmp_path: Path) -> None:
    result = labelprep.run(FRAME, output_dir=tmp_path / "out", config=False)
    assert result.targets.height == 4
    assert result.rejects.height == 2
    assert result.manifest["inputs"][0]["path"] == "<frame 0>"
    assert result.annotators is None


def test_files_and_frames_mix_and_keep_their_order(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("id,c1,c2,c3\n10,1,0,0\n11,0.5,0.5,0.5\n", encoding="utf-8")
    result = in_memory([path, FRAME.to_pandas(), FRAME.with_columns(pl.col("id") + 100)])
    rejects = result.rejects.select("source", "row", "reason").rows()
    assert rejects == [
        (str(path), 3, "bad_sum"),
        ("<frame 1>", 5, "bad_sum"),
        ("<frame 1>", 6, "wrong_length"),
        ("<frame 2>", 5, "bad_sum"),
        ("<frame 2>", 6, "wrong_length"),
    ]
    assert [e["path"] for e in result.manifest["inputs"]] == [str(path), "<frame 1>", "<frame 2>"]
    assert result.rows_in == 2 + 6 + 6


def test_the_same_frame_given_twice_is_read_once() -> None:
    result = in_memory([FRAME, FRAME])
    assert result.rows_in == 6
    assert "<frame 1> is the same frame as <frame 0>; it is read once." in result.notices


def test_ids_of_a_frame_are_typed_as_those_of_a_parquet_file(tmp_path: Path) -> None:
    rows = pl.DataFrame({"id": ["007", "8"], "label": ["a", "b"]})
    rows.write_parquet(tmp_path / "ids.parquet")
    from_frame = in_memory(rows)
    from_file = in_memory(tmp_path / "ids.parquet")
    assert from_frame.targets["id"].to_list() == ["007", "8"]
    assert from_frame.targets.schema["id"] == from_file.targets.schema["id"] == pl.String
    note = "ids with leading zeros (such as 007) are kept as text."
    assert f"<frame 0>: {note}" in from_frame.notices
    assert f"{tmp_path / 'ids.parquet'}: {note}" in from_file.notices


def test_a_named_pandas_index_is_a_column() -> None:
    frame = pd.DataFrame({"item": [7, 8], "label": ["a", "b"]}).set_index("item")
    result = in_memory(frame, id_column="item")
    assert result.targets["id"].to_list() == [7, 8]


def test_list_columns_of_pandas_and_pyarrow_are_probability_lists() -> None:
    rows = {"id": [1, 2], "probs": [[0.25, 0.75], [0.5, 0.6]]}
    for frame in (pd.DataFrame(rows), pa.table(rows)):
        result = in_memory(frame, classes=["a", "b"])
        assert result.targets["soft_target"][0].to_list() == [0.25, 0.75]
        assert result.rejects_by_reason == {"bad_sum": 1}


def test_class_stats_validate_and_compare_take_frames() -> None:
    stats = labelprep.class_stats(FRAME.to_pandas(), config=False)
    overall = stats.filter(pl.col("split").is_null()).sort("index")
    assert overall["soft_mass"].to_list() == pytest.approx([2.1, 1.15, 0.75])
    report = labelprep.validate(FRAME, max_reject_rate=0.5, baseline=FRAME.head(4), config=False)
    assert report.inputs == ("<frame 0>",)
    assert report.rejects_by_reason == {"bad_sum": 1, "wrong_length": 1}
    assert report.passed
    drift = labelprep.compare(FRAME, FRAME.to_arrow(), config=False)
    assert drift.drift.linf == 0.0
    assert (drift.a, drift.b) == ("<frame A>", "<frame B>")
    assert labelprep.compare(stats, FRAME, config=False).drift.linf == 0.0


def test_aggregate_takes_vote_frames_and_returns_annotators() -> None:
    votes = pl.DataFrame(
        {
            "id": [1, 1, 1, 2, 2, 2],
            "annotator": ["x", "y", "z", "x", "y", "z"],
            "label": ["a", "a", "b", "b", "b", "nope"],
        }
    )
    result = labelprep.aggregate(votes, output_dir=None, classes=["a", "b"], config=False)
    targets = result.targets["soft_target"].to_list()
    assert targets[0] == pytest.approx([2 / 3, 1 / 3])
    assert targets[1] == [0.0, 1.0]
    assert result.rejects.select("source", "row", "reason").rows() == [
        ("<frame 0>", 6, "unknown_class")
    ]
    assert result.annotators is not None
    assert sorted(result.annotators["annotator"].to_list()) == ["x", "y", "z"]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"id": [1]}, r"input 0: an object of type dict is neither a path nor a frame"),
        (42, r"^an object of type int is neither a path nor a frame"),
        (
            pd.DataFrame({"id": [1, 2], "label": [{"a": 1}, "x"]}),
            r"<frame 0>: cannot convert a pandas DataFrame to a Polars frame",
        ),
        (
            pl.scan_parquet("/nonexistent/rows.parquet"),
            r"<frame 0>: cannot read the frame's schema: .*/nonexistent/rows\.parquet",
        ),
        (
            pl.DataFrame({"id": [1], "__row": [1], "label": ["a"]}),
            r"<frame 0>: the frame has a column '__row'",
        ),
        (
            pl.DataFrame(
                {"id": [1], "label": [object()]}, schema={"id": pl.Int64, "label": pl.Object}
            ),
            r"<frame 0>: column 'label' holds Python objects",
        ),
        (
            pl.DataFrame({"id": [1, 2], "label": [["a"], ["a", "b"]]}),
            r"^<frame 0>: the label column 'label' holds List\(String\) values; a label is one "
            r"value per row \(text or a number\), and a list of possible classes goes in the "
            r"candidates column\.$",
        ),
        (
            pa.table({"id": [1], "label": [{"name": "a"}]}),
            r"^<frame 0>: the label column 'label' holds Struct\(\{'name': String\}\) values",
        ),
        (
            pl.DataFrame({"id": [1], "label": ["a"], "split": [["train"]]}),
            r"^<frame 0>: the split column 'split' holds List\(String\) values; a split is one "
            r"value per row \(text or a number\)\.$",
        ),
    ],
)
def test_what_is_not_a_readable_frame_is_an_input_error(bad: Any, message: str) -> None:
    inputs = [bad] if isinstance(bad, dict) else bad
    with pytest.raises(InputError, match=message):
        in_memory(inputs, classes=["a"])


def test_a_frame_is_recognised_without_importing_pandas_or_pyarrow() -> None:
    code = (
        "import sys, polars as pl\n"
        "from labelprep.inputs.frames import is_frame\n"
        "assert is_frame(pl.DataFrame()) and is_frame(pl.LazyFrame())\n"
        "assert not is_frame([1]) and not is_frame('x.csv')\n"
        "print(sorted(m for m in ('pandas', 'pyarrow') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


LABELS = st.sampled_from(["a", "b", "c", "", "zz", None, "1", "7"])


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(labels=st.lists(LABELS, min_size=1, max_size=12), ids=st.data())
def test_each_row_of_a_frame_has_the_verdict_of_the_same_row_in_a_file(
    labels: list[str | None], ids: st.DataObject
) -> None:
    """Rows of any labels and ids (repeats, nulls) get the same outcome from a frame as from a
    Parquet file with the same rows, and every row is a target or a reject."""
    id_values = ids.draw(
        st.lists(st.none() | st.integers(0, 5), min_size=len(labels), max_size=len(labels))
    )
    frame = pl.DataFrame(
        {"id": id_values, "label": labels}, schema={"id": pl.Int64, "label": pl.String}
    )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "rows.parquet"
        frame.write_parquet(path)
        from_file = in_memory(path, classes=["a", "b", "c"])
    from_frame = in_memory(frame.to_arrow(), classes=["a", "b", "c"])
    assert from_frame.rows_in == len(labels) == from_frame.rows_accepted + from_frame.rows_rejected
    assert_frame_equal(from_frame.targets, from_file.targets)
    assert_frame_equal(from_frame.rejects.drop("source"), from_file.rejects.drop("source"))
    assert set(from_frame.rejects["source"]) <= {"<frame 0>"}


def test_class_names_a_pyarrow_table_stores_are_read_as_from_a_parquet_file() -> None:
    import datasets  # heavy, and only this test needs it

    features = datasets.Features(
        {"id": datasets.Value("int64"), "label": datasets.ClassLabel(names=["neg", "neu", "pos"])}
    )
    data = datasets.Dataset.from_dict({"id": [1, 2, 3], "label": [0, 2, 1]}, features=features)
    result = in_memory(data.data.table)
    assert result.classes == ("neg", "neu", "pos")
    assert result.targets["hard_label"].to_list() == ["neg", "pos", "neu"]
    assert any(
        "Hugging Face ClassLabel of column 'label' of <frame 0>" in n for n in result.notices
    )


def test_validate_writes_a_frames_outputs_against_a_baseline_path(tmp_path: Path) -> None:
    FRAME.write_parquet(tmp_path / "base.parquet")
    report = labelprep.validate(
        FRAME,
        output_dir=tmp_path / "out",
        baseline=tmp_path / "base.parquet",
        max_jsd=0.0,
        max_reject_rate=0.5,
        config=False,
    )
    assert report.passed
    assert {g.name for g in report.gates} >= {"max_jsd", "max_linf", "max_reject_rate"}
    assert pl.read_parquet(tmp_path / "out" / "targets.parquet").height == 4
    assert report.samples[0].source == "<frame 0>"


def test_a_result_without_outputs_says_how_to_get_them() -> None:
    counted = dataclasses.replace(in_memory(FRAME), held=None)
    with pytest.raises(labelprep.ConfigError, match=r"run with output_dir=None"):
        _ = counted.targets
