"""The output files: types, metadata readable by pyarrow/pandas/datasets, determinism."""

from __future__ import annotations

import hashlib
import json

import polars as pl
import pyarrow.parquet as pq
import pytest

import labelprep
from tests.conftest import OUTPUT_FILES, SPEC_TABLE, targets_of


def test_run_writes_every_output(write, run):
    _, out = run([write("s.csv", SPEC_TABLE)])
    assert {p.name for p in out.iterdir()} == OUTPUT_FILES


def test_targets_types_and_class_metadata(write, run):
    _, out = run([write("s.csv", SPEC_TABLE)])
    schema = pl.read_parquet_schema(out / "targets.parquet")
    assert schema["soft_target"] == pl.Array(pl.Float32, 3)
    assert schema["mask"] == pl.Array(pl.Boolean, 3)
    arrow = pq.read_schema(out / "targets.parquet")
    assert json.loads(arrow.metadata[b"labelprep.classes"]) == ["c1", "c2", "c3"]
    features = json.loads(arrow.metadata[b"huggingface"])["info"]["features"]
    assert features["hard_index"] == {"names": ["c1", "c2", "c3"], "_type": "ClassLabel"}


def test_pandas_reads_targets_without_reshaping(write, run):
    _, out = run([write("s.csv", SPEC_TABLE)])
    frame = pq.read_table(out / "targets.parquet").to_pandas()
    assert list(frame.loc[1, "soft_target"]) == pytest.approx([0.2, 0.8, 0.0])


def test_hugging_face_datasets_sees_class_labels_and_fixed_lists(write, run):
    import datasets  # heavy, and only this test needs it

    _, out = run([write("s.csv", SPEC_TABLE)])
    dataset = datasets.load_dataset(
        "parquet", data_files=str(out / "targets.parquet"), split="train"
    )
    assert dataset.features["hard_index"].names == ["c1", "c2", "c3"]
    assert dataset.features["soft_target"].length == 3
    assert dataset[1]["soft_target"] == pytest.approx([0.2, 0.8, 0.0])


def digest(folder) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_same_inputs_give_identical_outputs(tmp_path):
    paths = labelprep.sample_paths()
    labelprep.run(paths, output_dir=tmp_path / "one", config=False)
    labelprep.run(paths, output_dir=tmp_path / "two", config=False)
    assert digest(tmp_path / "one") == digest(tmp_path / "two")


def test_manifest_records_inputs_outputs_and_options(write, run):
    path = write("s.csv", SPEC_TABLE)
    _, out = run([path], tolerance=0.01)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["inputs"][0]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert manifest["classes"] == ["c1", "c2", "c3"]
    assert manifest["options"]["tolerance"] == 0.01
    outputs = {o["path"]: o["sha256"] for o in manifest["outputs"]}
    assert set(outputs) == OUTPUT_FILES - {"manifest.json"}
    assert outputs["targets.parquet"] == digest(out)["targets.parquet"]


def test_sample_weight_column(write, run):
    _, out = run([write("s.csv", SPEC_TABLE)], sample_weight="balanced")
    weights = [4 / (3 * 2.1), 4 / (3 * 1.15), 4 / (3 * 0.75)]
    row = [0.2, 0.8, 0.0]  # id 2
    expected = sum(p * w for p, w in zip(row, weights, strict=True))
    frame = targets_of(out)
    assert frame.filter(pl.col("id") == 2)["sample_weight"].item() == pytest.approx(expected)


def test_class_stats_output_matches_the_result(write, run):
    result, out = run([write("s.csv", SPEC_TABLE)])
    on_disk = pl.read_parquet(out / "class_stats.parquet")
    assert on_disk.equals(result.class_stats)
    assert on_disk["balanced"].to_list()[:3] == pytest.approx(
        [4 / (3 * 2.1), 4 / (3 * 1.15), 4 / (3 * 0.75)]
    )


def test_report_can_be_rendered_again(write, run):
    _, out = run([write("s.csv", SPEC_TABLE)])
    before = (out / "report.md").read_text()
    (out / "report.md").unlink()
    labelprep.report(out)
    assert (out / "report.md").read_text() == before


def test_a_digest_taken_while_writing_is_used_only_while_the_file_is_unchanged(tmp_path):
    from labelprep.outputs import Hasher, sink_parquet

    path = tmp_path / "t.parquet"
    sink_parquet(pl.LazyFrame({"a": [1, 2, 3]}), path, metadata={})
    with Hasher() as hasher:
        assert hasher.sha256(path) == hashlib.sha256(path.read_bytes()).hexdigest()
        path.write_bytes(b"another file")  # a new size: the digest of the write is stale
        assert hasher.sha256(path) == hashlib.sha256(b"another file").hexdigest()
