"""Inputs and outputs in an object store: ``s3://`` URLs against a real S3-compatible server
(moto in server mode) started here on 127.0.0.1, with the endpoint and credentials given
through the environment as a user gives them. Nothing reaches a real store."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from click.testing import CliRunner

import labelprep
from labelprep import stores
from labelprep.cli import main
from labelprep.errors import InputError
from labelprep.remote_output import UPLOAD_RECORD

moto_server = pytest.importorskip("moto.server")
s3fs = pytest.importorskip("s3fs")

COMMON = ("--no-config", "--classes", "c1,c2,c3")
# a.parquet: row 3 sums to 1.5 (bad_sum). b.csv, CR-only line endings: id 2 again on
# line 2 (duplicate_id), c9 on line 4 (unknown_class).
A_ROWS = {
    "id": [1, 2, 3, 4, 5, 6],
    "c1": [0.9, 0.2, 0.3, 0.7, 0.0, 0.1],
    "c2": [0.05, 0.8, 0.3, 0.0, 1.0, 0.1],
    "c3": [0.05, 0.0, 0.9, 0.3, 0.0, 0.8],
    "split": ["train", "train", "train", "val", "train", "val"],
}
B_TEXT = "id,label,split\r2,c1,train\r7,c2,train\r8,c9,val\r9,c3,val\r"


_STORE: list[Any] = []


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    """An S3-compatible server on a free port of 127.0.0.1, for this module."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    _STORE[:] = [
        s3fs.S3FileSystem(
            key="testing", secret="testing", endpoint_url=url, skip_instance_cache=True
        )
    ]
    try:
        yield url
    finally:
        _STORE.clear()
        server.stop()


@pytest.fixture
def bucket(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A new, empty bucket, with the environment pointing at the server (and only there)."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
    name = f"b{uuid.uuid4().hex[:12]}"
    store().mkdir(name)
    return name


def store() -> Any:
    """The test's own client of the server (not labelprep's)."""
    fs = _STORE[0]
    fs.invalidate_cache()
    return fs


def objects(prefix: str) -> dict[str, bytes]:
    fs = store()
    return {key[len(prefix) + 1 :]: fs.cat_file(key) for key in fs.find(prefix)}


@pytest.fixture
def local_inputs(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "in"
    folder.mkdir()
    pl.DataFrame(A_ROWS).write_parquet(folder / "a.parquet", row_group_size=2)
    (folder / "b.csv").write_bytes(B_TEXT.encode())
    return [folder / "a.parquet", folder / "b.csv"]


@pytest.fixture
def urls(bucket: str, local_inputs: list[Path]) -> list[str]:
    fs = store()
    for path in local_inputs:
        fs.put_file(str(path), f"{bucket}/in/{path.name}")
    return [f"s3://{bucket}/in/*.parquet", f"s3://{bucket}/in/b.csv"]


def invoke(*args: str) -> Any:
    return CliRunner().invoke(main, list(args))


def comparable(folder: Path | str, *, parts: bool = False) -> dict[str, Any]:
    """A run's outputs with the input locations taken out (they name the store or disk)."""
    where = str(folder).rstrip("/")
    name = "targets/*.parquet" if parts else "targets.parquet"
    rejects = "rejects/*.parquet" if parts else "rejects.parquet"
    manifest = json.loads(_read(f"{where}/manifest.json"))
    sources = {e["path"]: Path(e["path"]).name for e in manifest["inputs"]}
    return {
        "targets": pl.read_parquet(f"{where}/{name}"),
        "rejects": pl.read_parquet(f"{where}/{rejects}").with_columns(
            pl.col("source").replace(sources)
        ),
        "stats": pl.read_parquet(f"{where}/class_stats.parquet"),
        "inputs": [(Path(e["path"]).name, e["sha256"]) for e in manifest["inputs"]],
        "rows": manifest["rows"],
        "classes": manifest["classes"],
    }


def _read(location: str) -> bytes:
    if location.startswith("s3://"):
        data: bytes = store().cat_file(location)
        return data
    return Path(location).read_bytes()


def test_a_run_from_s3_to_s3_equals_the_local_run(
    urls: list[str], local_inputs: list[Path], bucket: str, tmp_path: Path
) -> None:
    out = f"s3://{bucket}/out"
    ran = invoke("run", *urls, "-o", out, *COMMON)
    assert ran.exit_code == 0, ran.output
    assert f"wrote {out}/: class_stats.parquet manifest.json" in ran.output
    local = invoke("run", *map(str, local_inputs), "-o", str(tmp_path / "local"), *COMMON)
    assert local.exit_code == 0, local.output
    remote, here = comparable(out), comparable(tmp_path / "local")
    assert_same(remote, here)
    # worked by hand: 10 rows; a.parquet row 3 sums to 1.5; b.csv line 2 repeats id 2,
    # line 4 names c9; the CR-only line endings keep their line numbers
    assert remote["rows"]["rejected_by_reason"] == {
        "bad_sum": 1,
        "duplicate_id": 1,
        "unknown_class": 1,
    }
    assert remote["targets"]["id"].to_list() == [1, 2, 4, 5, 6, 7, 9]
    assert sorted(remote["rejects"].select("source", "row", "reason").rows()) == [
        ("a.parquet", 3, "bad_sum"),
        ("b.csv", 2, "duplicate_id"),
        ("b.csv", 4, "unknown_class"),
    ]
    rejects = pl.read_parquet(f"{out}/rejects.parquet")
    assert set(rejects["source"]) == {f"s3://{bucket}/in/a.parquet", urls[1]}
    # soft masses: c1 0.9+0.2+0.7+0+0.1, c2 0.05+0.8+0+1+0.1 (+1: id 7), c3 (+1: id 9)
    stats = remote["stats"].filter(pl.col("split").is_null())
    masses = dict(zip(stats["class"], stats["soft_mass"], strict=True))
    assert masses == pytest.approx({"c1": 1.9, "c2": 2.95, "c3": 2.15})
    written = objects(f"{bucket}/out")
    manifest = json.loads(written["manifest.json"])
    assert {e["path"]: e["bytes"] for e in manifest["outputs"]} == {
        name: len(data) for name, data in written.items() if name != "manifest.json"
    }
    assert UPLOAD_RECORD not in written


def assert_same(remote: dict[str, Any], here: dict[str, Any]) -> None:
    assert remote.keys() == here.keys()
    for key, value in remote.items():
        if isinstance(value, pl.DataFrame):
            assert value.equals(here[key]), key
        else:
            assert value == here[key], key


def test_the_python_api_reads_and_writes_urls(urls: list[str], bucket: str) -> None:
    out = f"s3://{bucket}/api-out/"
    result = labelprep.run(urls, output_dir=out, config=False, classes=["c1", "c2", "c3"])
    assert result.output_dir == out  # a URL stays a URL (no Path folding its //)
    assert result.targets["id"].to_list() == [1, 2, 4, 5, 6, 7, 9]
    assert result.rejects.height == 3
    assert result.manifest["rows"]["accepted"] == 7
    counted = labelprep.class_stats(urls, config=False, classes=["c1", "c2", "c3"])
    assert counted.equals(result.class_stats)


def test_a_rerun_replaces_the_previous_output_and_its_stale_objects(
    urls: list[str], bucket: str
) -> None:
    out = f"s3://{bucket}/out"
    first = invoke("run", *urls, "-o", out, "--split-files", *COMMON)
    assert first.exit_code == 0, first.output
    before = objects(f"{bucket}/out")
    assert {"splits/train.parquet", "splits/val.parquet", "README.md"} <= set(before)
    second = invoke("run", urls[0], "-o", out, *COMMON)
    assert second.exit_code == 0, second.output
    after = objects(f"{bucket}/out")
    manifest = json.loads(after["manifest.json"])
    assert sorted(after) == sorted(["manifest.json", *(e["path"] for e in manifest["outputs"])])
    assert not any(name.startswith("splits/") for name in after)
    assert "README.md" not in after
    assert manifest["rows"]["in"] == 6  # the second run's: a.parquet alone


def test_a_prefix_with_a_foreign_object_is_refused_and_left_as_it_was(
    urls: list[str], bucket: str
) -> None:
    out = f"s3://{bucket}/out"
    assert invoke("run", *urls, "-o", out, *COMMON).exit_code == 0
    store().pipe_file(f"{bucket}/out/notes.txt", b"my notes")
    before = objects(f"{bucket}/out")
    ran = invoke("run", urls[0], "-o", out, *COMMON)
    assert ran.exit_code == 2
    assert "holds objects labelprep did not write: notes.txt" in ran.output
    assert "Traceback" not in ran.output
    assert objects(f"{bucket}/out") == before  # nothing written, nothing removed


def test_an_output_prefix_that_holds_an_input_is_refused(urls: list[str], bucket: str) -> None:
    ran = invoke("run", *urls, "-o", f"s3://{bucket}/in", *COMMON)
    assert ran.exit_code == 2
    # in/ holds the inputs, which are not labelprep's output: refused before anything
    assert "labelprep did not write: a.parquet, b.csv" in ran.output
    assert sorted(objects(f"{bucket}/in")) == ["a.parquet", "b.csv"]


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("s3://{bucket}/in/missing.parquet", "s3://{bucket}/in/missing.parquet: no such object"),
        ("s3://{bucket}/in/missing.csv", "s3://{bucket}/in/missing.csv: no such object"),
        ("s3://nobucket{bucket}/a.parquet", "s3://nobucket{bucket}/a.parquet: no such bucket"),
        ("s3://nobucket{bucket}/*.parquet", "s3://nobucket{bucket}/*.parquet: no such bucket"),
        ("s3://{bucket}/in/*.tsv", "s3://{bucket}/in/*.tsv: the pattern matches no object."),
        ("s3://{bucket}/in", "s3://{bucket}/in: is a folder (a prefix), not an object"),
    ],
)
def test_a_missing_object_or_bucket_is_one_clear_line(
    urls: list[str], bucket: str, tmp_path: Path, given: str, message: str
) -> None:
    ran = invoke("run", given.format(bucket=bucket), "-o", str(tmp_path / "out"), *COMMON)
    assert ran.exit_code == 2
    lines = ran.output.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Error: " + message.format(bucket=bucket)), lines[0]
    assert not (tmp_path / "out").exists()


def test_an_output_bucket_that_does_not_exist_is_one_clear_line(
    urls: list[str], bucket: str
) -> None:
    ran = invoke("run", *urls, "-o", f"s3://nobucket{bucket}/out", *COMMON)
    assert ran.exit_code == 2
    assert ran.output.startswith(f"Error: s3://nobucket{bucket}/out: no such bucket")
    assert len(ran.output.strip().splitlines()) == 1


def test_a_missing_backend_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stores, "installed", lambda module: False)
    with pytest.raises(InputError, match=r"pip install 'labelprep\[gcs\]'") as caught:
        labelprep.run(["gs://bucket/a.parquet"], output_dir=None, config=False)
    assert str(caught.value).startswith("gs://bucket/a.parquet: ")
    ran = invoke("run", "s3://bucket/a.parquet", "-o", "out", *COMMON)
    assert ran.exit_code == 2
    assert "needs s3fs, which is not installed; install it with: pip install 'labelprep[s3]'" in (
        ran.output
    )


def test_the_dask_engine_reads_the_store_on_its_workers(
    urls: list[str], bucket: str, dask_cluster: Any, tmp_path: Path
) -> None:
    """The cluster's workers were started before the test set the environment: they read
    the objects with the options the driver's plan carries."""
    out = f"s3://{bucket}/dask-out"
    engine = ("--engine", "dask", "--scheduler", dask_cluster.scheduler_address)
    ran = invoke("run", *urls, "-o", out, *COMMON, *engine)
    assert ran.exit_code == 0, ran.output
    local = labelprep.run(
        urls, output_dir=tmp_path / "local", config=False, classes=["c1", "c2", "c3"]
    )
    remote, here = comparable(out, parts=True), comparable(local.output_dir or "")
    assert_same(remote, here)
    parts = sorted(n for n in objects(f"{bucket}/dask-out") if n.startswith("targets/"))
    assert parts == ["targets/part-00000.parquet", "targets/part-00001.parquet"]
    # the local engine into the same prefix replaces the parts with one file
    again = invoke("run", *urls, "-o", out, *COMMON)
    assert again.exit_code == 0, again.output
    assert not any("/" in name for name in objects(f"{bucket}/dask-out"))


def test_votes_in_the_store_are_aggregated_on_the_workers(
    bucket: str, dask_cluster: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Item i1's votes are split over two objects; the workers read both from the store
    (the driver's fit is switched off) and give the local shares."""
    import labelprep.votes

    schema = {"id": pl.String, "annotator": pl.String, "label": pl.String}
    files = {
        "v1.parquet": [("i1", "w1", "c1"), ("i1", "w2", "c1"), ("i2", "w1", "c3")],
        "v2.parquet": [("i1", "w3", "c2"), ("i2", "w2", "c3"), ("i2", "w3", "c1")],
    }
    for name, rows in files.items():
        pl.DataFrame(rows, schema=schema, orient="row").write_parquet(tmp_path / name)
        store().put_file(str(tmp_path / name), f"{bucket}/votes/{name}")
    common = ("--no-config", "--classes", "c1,c2,c3", "--method", "shares")
    votes = f"s3://{bucket}/votes/*.parquet"
    local = invoke("aggregate", votes, "-o", f"s3://{bucket}/local", *common)
    assert local.exit_code == 0, local.output

    def no_driver_fit(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the votes were aggregated on the driver")

    monkeypatch.setattr(labelprep.votes, "get_method", no_driver_fit)
    engine = ("--engine", "dask", "--scheduler", dask_cluster.scheduler_address)
    ran = invoke("aggregate", votes, "-o", f"s3://{bucket}/dask", *common, *engine)
    assert ran.exit_code == 0, ran.output
    got = pl.read_parquet(f"s3://{bucket}/dask/targets/*.parquet").sort("id")
    expected = pl.read_parquet(f"s3://{bucket}/local/targets.parquet").sort("id")
    assert got.equals(expected)
    # shares worked by hand: i1 has c1, c1, c2; i2 has c3, c3, c1
    shares = dict(zip(got["id"], got["soft_target"].to_list(), strict=True))
    assert shares["i1"] == pytest.approx([2 / 3, 1 / 3, 0], abs=1e-6)
    assert shares["i2"] == pytest.approx([1 / 3, 0, 2 / 3], abs=1e-6)
