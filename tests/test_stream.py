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


def test_support_counts_the_targets_stored_as_nonzero(write, run):
    """Support is the rows whose stored (float32) target is above 0. 1e-45 is stored as
    the smallest subnormal, 1.4e-45; 5e-46 and 2**-150 (a tie) round to 0."""
    tie = 2.0**-150
    path = write("tiny.csv", f"id,c1,c2,c3\n1,1,1e-45,5e-46\n2,1,{tie!r},0\n3,0,0.5,0.5\n")
    result, out = run(path)
    stored = np.array(targets_of(out)["soft_target"].to_list(), dtype=np.float32)
    assert stored[:2].tolist() == [[1.0, np.float32(1e-45), 0.0], [1.0, 0.0, 0.0]]
    support = overall(result.class_stats)["support"].to_list()
    assert support == [2, 2, 1]
    assert support == np.count_nonzero(stored, axis=0).tolist()


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


@pytest.mark.parametrize("id_type", [pl.Int64(), pl.String()])
@pytest.mark.parametrize("has_split", [False, True])
@pytest.mark.parametrize("sample_weight", [False, True])
@pytest.mark.parametrize("votes", [False, True])
def test_the_written_schema_is_the_targets_contract(id_type, has_split, sample_weight, votes):
    from labelprep.schema import targets_schema
    from labelprep.votes import VOTE_COLUMNS

    classes = ("a", "b", "c")
    keep = {"note": pl.String(), **({"votes": pl.Int64(), "tied": pl.Boolean()} if votes else {})}
    assert set(keep) - {"note"} == (set(VOTE_COLUMNS) if votes else set())
    built = batches.output_schema(
        id_type, classes, has_split=has_split, keep=keep, sample_weight=sample_weight
    )
    written = batches.written_schema(built)
    assert written == batches.as_written(pl.LazyFrame(schema=built)).collect_schema()
    assert written["hard_label"] == pl.String
    assert written["evidence"] == pl.String
    # the run checks no schema: its columns must be the contract's by construction
    targets_schema(classes).validate(pl.DataFrame(schema=written), lazy=True)
    wrong = {**written, "hard_index": pl.Int32()}
    with pytest.raises(Exception, match="hard_index"):
        targets_schema(classes).validate(pl.DataFrame(schema=wrong), lazy=True)


def _broken_stats(stats: pl.DataFrame) -> dict[str, pl.DataFrame]:
    first = pl.int_range(pl.len()) == 0

    def at_first(column: str, value: object) -> pl.DataFrame:
        dtype = stats.schema[column]
        return stats.with_columns(
            pl.when(first).then(pl.lit(value, dtype=dtype)).otherwise(pl.col(column)).alias(column)
        )

    return {
        "negative mass": at_first("soft_mass", -0.5),
        "negative support": at_first("support", -1),
        "prior above one": at_first("prior", 1.5),
        "prior NaN": at_first("prior", float("nan")),
        "infinite weight": at_first("balanced", float("inf")),
        "NaN weight": at_first("median_frequency", float("nan")),
        "negative weight": at_first("effective_number", -1.0),
        "positive offset": at_first("logit_adjustment", 0.5),
        "infinite offset": at_first("logit_adjustment", float("-inf")),
        "unknown class": at_first("class", "zzz"),
        "index out of range": at_first("index", 99),
        "null class": at_first("class", None),
        "null count": at_first("hard_count", None),
        "wrong type": stats.with_columns(pl.col("support").cast(pl.Int32)),
        "extra column": stats.with_columns(pl.lit(1.0).alias("extra")),
        "missing column": stats.drop("excluded_count"),
    }


def test_the_run_checks_class_stats_with_the_pandera_contract(write, run):
    from pandera.errors import SchemaErrors

    from labelprep.schema import class_stats_schema

    result, _ = run([write("s.csv", "id,label\n1,a\n2,b\n3,a\n")], classes="a,b,c")
    classes, stats = result.classes, result.class_stats
    assert stats["hard_count"].to_list() == [2, 1, 0]  # c: no rows
    class_stats_schema(classes).validate(stats, lazy=True)
    for broken in _broken_stats(stats).values():
        with pytest.raises(SchemaErrors):
            class_stats_schema(classes).validate(broken, lazy=True)


def test_the_rejects_schema_is_known_before_the_pass(write, run):
    _, out = run([write("s.csv", ONE_BAD_ROW)])
    assert pl.read_parquet_schema(out / "rejects.parquet") == pipeline.REJECTS_TYPES
    assert pl.read_parquet(out / "rejects.parquet").height == 1


def test_hashing_stops_when_the_run_leaves(tmp_path):
    import hashlib
    import threading

    from labelprep.outputs import Hasher, sha256_file

    path = tmp_path / "data.bin"
    path.write_bytes(b"labelprep" * 300_000)  # several read chunks
    expected = hashlib.sha256(path.read_bytes()).hexdigest()
    assert sha256_file(path) == expected
    stop = threading.Event()
    stop.set()
    assert sha256_file(path, stop) == ""  # given up before the first chunk is hashed
    with Hasher() as hasher:
        hasher.submit(path)
        assert hasher.sha256(path) == expected
        assert hasher.sha256(tmp_path / "data.bin") == expected  # the same job


def _entropy_by_columns(stored: np.ndarray) -> np.ndarray:
    """The entropy of each row as the formula reads: the class terms added in order."""
    tiny = np.float32(np.finfo(np.float32).tiny)
    entropy = np.zeros(stored.shape[0])
    for column in stored.T:
        entropy -= column * np.log2(np.maximum(column, tiny))
    return np.maximum(entropy, 0.0)


@pytest.mark.parametrize("k", [2, 10, 64, 65, 300])
def test_entropy_is_the_same_bits_dense_or_sparse(k):
    rng = np.random.default_rng(k)
    values = rng.dirichlet(np.full(k, 0.3), size=9000).astype(np.float32)  # > a block
    values[values < 0.01] = 0.0  # exact zeros, visited or skipped
    values[0] = 0.0
    values[0, k - 1] = 1.0  # a one-hot row: entropy exactly 0
    values[1, 0] = np.float32(1e-40)  # a subnormal: its logarithm is that of the smallest normal
    entropy = batches.entropy_bits(np.ascontiguousarray(values))
    assert entropy.tobytes() == _entropy_by_columns(values).tobytes()
    assert entropy[0] == 0.0
    assert not np.signbit(entropy[0])
    half = np.zeros((1, k), dtype=np.float32)
    half[0, :2] = 0.5
    assert batches.entropy_bits(half).tolist() == [1.0]


@pytest.mark.parametrize("k", [5, 64, 65, 200])
def test_column_sums_are_the_exact_sums_of_each_column(k):
    from labelprep.exactsum import exact_column_units

    rng = np.random.default_rng(k)
    matrix = rng.random((9000, k)) / 3  # more rows than a block
    matrix[matrix < 0.25] = 0.0  # sparse past 64 columns: only the nonzero values are split
    matrix[5, 2] = np.nan  # a rejected row: left out by the row mask
    rows = np.ones(9000, dtype=bool)
    rows[5] = rows[17] = False
    expected = [exact_units(matrix[:, j], rows) for j in range(k)]
    assert exact_column_units(np.asfortranarray(matrix), rows) == expected
    assert exact_column_units(matrix[6:]) == [exact_units(matrix[6:, j]) for j in range(k)]
    assert expected[3] > 0


def test_the_rejects_kept_are_limited_in_values_not_rows(monkeypatch):
    monkeypatch.setattr(batches, "REJECT_LIMIT", 6)
    classes = ("a", "b", "c")
    schema = batches.output_schema(
        pl.Int64(), classes, has_split=False, keep={}, sample_weight=False
    )
    tap = batches.RowTap(classes, schema)
    tap._note_rejects(pl.Series([{"x": 1}, {"x": 2}]))  # 2 rows x 3 classes: kept
    kept = tap.rejected_rows()
    assert kept is not None
    assert kept["x"].to_list() == [1, 2]
    tap._note_rejects(pl.Series([{"x": 3}]))  # 9 values: the input will be read again
    assert tap.rejected_rows() is None
    assert tap.rejected == 3


def test_the_rejects_kept_from_many_batches_come_back_whole_and_in_order():
    classes = ("a", "b")
    schema = batches.output_schema(
        pl.Int64(), classes, has_split=False, keep={}, sample_weight=False
    )
    tap = batches.RowTap(classes, schema)
    for start in range(0, 120, 3):  # 40 batches of 3 rejected rows: kept as blocks
        tap._note_rejects(pl.Series([{"row": r, "id": f"x{r}"} for r in range(start, start + 3)]))
    kept = tap.rejected_rows()
    assert kept is not None
    assert kept["row"].to_list() == list(range(120))
    assert kept["id"][119] == "x119"
    assert tap.rejected == 120
