"""The single streaming pass: the per-batch tap, the id check after the pass, the
rejects kept in memory (and the re-read past the limit), batch-order independence of
the statistics, and the output codec."""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow.parquet as pq
import pytest

import labelprep
from labelprep import batches, pipeline
from labelprep.duplicates import IdRanges
from labelprep.exactsum import exact_units
from labelprep.stats import BatchStats, RowCounts, class_counts
from tests.conftest import ONE_BAD_ROW, SPEC_TABLE, overall, rejects_of, targets_of

# Every row of this table is accepted; rows 3 and 6 repeat ids 1 and 2 out of order.
REPEATS = """\
id,c1,c2
5,0.5,0.5
1,1,0
2,0,1
1,0.25,0.75
9,0.5,0.5
2,0.6,0.4
"""


def test_repeated_ids_out_of_order_are_found_after_the_pass(write, run, monkeypatch):
    calls = []
    find = pipeline.find_duplicate_ids
    monkeypatch.setattr(
        pipeline, "find_duplicate_ids", lambda frame: calls.append(1) or find(frame)
    )
    result, out = run([write("r.csv", REPEATS)])
    assert calls == [1]  # the ids were not increasing: the id pass ran once
    assert rejects_of(out).select("row", "id", "reason").rows() == [
        (5, "1", "duplicate_id"),
        (7, "2", "duplicate_id"),
    ]
    assert targets_of(out)["id"].to_list() == [5, 1, 2, 9]  # CSV integer ids are Int64
    # The statistics are those of the second pass: 4 accepted rows, not 6.
    assert result.rows_accepted == 4
    assert overall(result.class_stats)["soft_mass"].to_list() == [2.0, 2.0]


def test_increasing_ids_skip_the_id_pass(write, run, monkeypatch):
    calls = []
    monkeypatch.setattr(pipeline, "find_duplicate_ids", lambda frame: calls.append(1))
    result, _ = run([write("s.csv", SPEC_TABLE)])
    assert calls == []
    assert result.rows_accepted == 4


def test_unsorted_unique_ids_run_the_id_pass_but_not_the_main_pass_twice(write, run, monkeypatch):
    passes = []
    main = pipeline._main_pass
    monkeypatch.setattr(pipeline, "_main_pass", lambda *a: passes.append(1) or main(*a))
    result, _ = run([write("u.csv", "id,c1,c2\n3,1,0\n1,0,1\n2,0.5,0.5\n")])
    assert passes == [1]
    assert result.rows_accepted == 3


@pytest.mark.parametrize(
    ("batches_of_ids", "unique"),
    [
        ([[1, 2, 3], [4, 5]], True),
        ([[4, 5], [1, 2, 3]], True),  # batches may arrive in any order
        ([[1, 2, 3], [3, 4]], False),  # ranges touch: 3 twice
        ([[1, 3, 2]], False),  # not increasing: not proven
        ([["a", "b"], ["c"]], True),
        ([[1, None, 2]], True),  # nulls are rejected as missing_id, not repeats
    ],
)
def test_id_ranges_prove_uniqueness(batches_of_ids, unique):
    ranges = IdRanges()
    for ids in batches_of_ids:
        ranges.add(pl.Series(ids))
    assert ranges.unique() is unique


def test_rejects_past_the_limit_are_read_again_with_the_same_result(
    write, run, tmp_path, monkeypatch
):
    text = "id,c1,c2\n1,0.5,0.6\n2,1,0\n3,-1,2\n4,0.5,0.5\n5,x,1\n"
    _, out = run([write("b.csv", text)])
    kept = rejects_of(out)
    monkeypatch.setattr(batches, "REJECT_LIMIT", 1)
    again = labelprep.run([tmp_path / "b.csv"], output_dir=tmp_path / "again", config=False)
    reread = pl.read_parquet(tmp_path / "again" / "rejects.parquet")
    assert reread.equals(kept)
    assert kept.select("row", "reason").rows() == [
        (2, "bad_sum"),
        (4, "negative_probability"),
        (6, "not_a_number"),
    ]
    assert again.rows_rejected == 3


def test_an_error_inside_the_tap_is_reported_as_itself(write, run, monkeypatch):
    def broken(self, batch):
        raise ZeroDivisionError("inside the tap")

    monkeypatch.setattr(batches.RowTap, "_process", broken)
    with pytest.raises(ZeroDivisionError, match="inside the tap"):
        run([write("s.csv", SPEC_TABLE)])


def _sums(values: list[float]) -> list[int]:
    """A sums vector for k=1: rows, then the six per-class counts (the soft mass in
    2**-64 units, as :func:`labelprep.stats.class_sums` gives it)."""
    return [1, *(exact_units(np.array([v]), bound=1 << 7) for v in values), 1, 1, 0, 1, 0]


def test_class_sums_do_not_depend_on_the_order_batches_arrive():
    masses = [0.1, 0.2, 0.3, 100.0, -100.0, 0.7]
    forward, backward = BatchStats(1), BatchStats(1)
    for position, mass in enumerate(masses):
        forward.add(position, [(None, _sums([mass]))], RowCounts())
    for position, mass in reversed(list(enumerate(masses))):
        backward.add(position, [(None, _sums([mass]))], RowCounts())
    assert forward.sums().equals(backward.sums())
    table = class_counts(forward.sums(), ["a"])
    assert table["support"].to_list() == [6]


def test_rows_by_file_come_from_each_batch(write, run):
    first = write("a.csv", "id,c1,c2\n1,1,0\n2,0,1\n")
    second = write("b.csv", "id,c1,c2\n3,0.5,0.5\n")
    result, _ = run([first, second])
    inputs = result.summary["inputs"]
    assert [(e["accepted"], e["rejected"]) for e in inputs] == [(2, 0), (1, 0)]
    assert result.summary["target_entropy_bits"]["max"] == 1.0
    assert result.summary["candidate_set_size"] == {"1": 2, "2": 1}


@pytest.mark.parametrize(("codec", "name"), [("snappy", "SNAPPY"), ("zstd", "ZSTD")])
def test_compression_option_sets_the_parquet_codec(write, run, codec, name):
    _, out = run([write("s.csv", ONE_BAD_ROW)], compression=codec)
    for file in ("targets.parquet", "rejects.parquet"):
        meta = pq.ParquetFile(out / file).metadata
        assert meta.row_group(0).column(0).compression == name


def test_default_codec_is_snappy(write, run):
    _, out = run([write("s.csv", SPEC_TABLE)])
    meta = pq.ParquetFile(out / "targets.parquet").metadata
    assert meta.row_group(0).column(1).compression == "SNAPPY"


def test_text_columns_read_back_as_strings_everywhere(write, run):
    _, out = run([write("s.csv", SPEC_TABLE)])
    assert targets_of(out).schema["hard_label"] == pl.String
    arrow = pq.read_table(out / "targets.parquet").schema
    assert str(arrow.field("hard_label").type) == "large_string"
    assert str(arrow.field("evidence").type) == "large_string"
    assert targets_of(out)["hard_label"].to_list() == ["c1", "c2", "c3", "c1"]
