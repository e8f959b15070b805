"""The output directory: written to a temporary sibling, then moved into place.

A failed or interrupted run leaves no partial output set: either the previous
contents of the directory, or the complete new set.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import polars as pl

from labelprep.errors import ConfigError

MANIFEST = "manifest.json"
TARGETS = "targets.parquet"
REJECTS = "rejects.parquet"
CLASS_STATS = "class_stats.parquet"
ANNOTATORS = "annotators.parquet"
_CHUNK = 1 << 20


@contextmanager
def atomic_directory(out_dir: str | Path) -> Iterator[Path]:
    """Yield an empty temporary directory that replaces ``out_dir`` on success.

    ``out_dir`` may not exist, be empty, or hold a previous labelprep output
    (it has a ``manifest.json``); anything else is refused rather than deleted.
    """
    final = Path(out_dir)
    _check_replaceable(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
    try:
        yield staging
        _swap_into_place(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _check_replaceable(final: Path) -> None:
    if not final.exists():
        return
    if not final.is_dir():
        raise ConfigError(f"{final}: the output path exists and is not a directory.")
    if any(final.iterdir()) and not (final / MANIFEST).is_file():
        raise ConfigError(
            f"{final}: the output directory is not empty and holds no labelprep "
            f"{MANIFEST}; choose another -o directory or empty this one."
        )


def _swap_into_place(staging: Path, final: Path) -> None:
    backup = None
    if final.exists():
        backup = final.with_name(f".{final.name}.old-{staging.name}")
        final.rename(backup)
    staging.rename(final)
    if backup is not None:
        shutil.rmtree(backup, ignore_errors=True)


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class Hasher:
    """sha256 of files, computed on background threads while the run goes on
    (``hashlib`` releases the GIL on large reads). Use as a context manager."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="labelprep-sha256")
        self._jobs: dict[str, Future[str]] = {}

    def __enter__(self) -> Hasher:
        return self

    def __exit__(self, *exc: object) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def submit(self, path: str | Path) -> None:
        """Start hashing ``path`` (it must not change afterwards)."""
        self._jobs.setdefault(str(path), self._pool.submit(sha256_file, path))

    def sha256(self, path: str | Path) -> str:
        """The hex digest of ``path``: the background result, or computed now."""
        job = self._jobs.get(str(path))
        return job.result() if job is not None else sha256_file(path)


def write_json(path: Path, data: Any) -> None:
    """Deterministic, human-readable JSON."""
    path.write_text(json.dumps(data, indent=2, sort_keys=False, allow_nan=False) + "\n")


def parquet_metadata(
    classes: Sequence[str], schema: pl.Schema, *, list_columns: Sequence[str] = ()
) -> dict[str, str]:
    """Key-value metadata of an output: the class vocabulary and ``datasets`` features.

    pyarrow (and so pandas and Hugging Face ``datasets``) take a file's schema
    metadata from its ``ARROW:schema`` entry, so that entry is written here too,
    carrying the same keys.
    """
    features = hf_features(classes, schema, list_columns=list_columns)
    keys = {
        "labelprep.classes": json.dumps(list(classes)),
        "huggingface": json.dumps({"info": {"features": features}}),
    }
    arrow = pl.DataFrame(schema=schema).to_arrow().schema.with_metadata(keys)
    encoded = base64.b64encode(arrow.serialize().to_pybytes()).decode("ascii")
    return {**keys, "ARROW:schema": encoded}


def hf_features(
    classes: Sequence[str], schema: pl.Schema, *, list_columns: Sequence[str]
) -> dict[str, Any]:
    """``datasets`` features: fixed-length lists, and ``hard_index`` as a ClassLabel."""
    features: dict[str, Any] = {}
    for name, dtype in schema.items():
        if name in list_columns:
            inner = "float32" if name == "soft_target" else "bool"
            features[name] = {
                "feature": {"dtype": inner, "_type": "Value"},
                "length": len(classes),
                "_type": "List",
            }
        elif name == "hard_index":
            features[name] = {"names": list(classes), "_type": "ClassLabel"}
        else:
            features[name] = {"dtype": _hf_dtype(dtype), "_type": "Value"}
    return features


def _hf_dtype(dtype: pl.DataType) -> str:
    if dtype == pl.String or isinstance(dtype, (pl.Categorical, pl.Enum)):
        return "string"
    if dtype == pl.Boolean:
        return "bool"
    if dtype.is_numeric():
        return type(dtype).__name__.lower()  # Int64 -> "int64", Float32 -> "float32"
    return "string"


def read_manifest(out_dir: str | Path) -> dict[str, Any]:
    """The manifest of a run's output directory."""
    if not Path(out_dir).is_dir():
        raise ConfigError(f"{out_dir}: no such directory.")
    path = Path(out_dir) / MANIFEST
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise ConfigError(
            f"{out_dir}: no {MANIFEST}; is this a labelprep output directory?"
        ) from exc
    return data


def output_entries(folder: Path, hasher: Hasher | None = None) -> list[dict[str, Any]]:
    """Every file of an output folder (but the manifest) with its size and sha256."""
    digest = hasher.sha256 if hasher is not None else sha256_file
    return [
        {"path": path.name, "bytes": path.stat().st_size, "sha256": digest(path)}
        for path in sorted(folder.iterdir())
        if path.name != MANIFEST
    ]


def write_reports(folder: Path, stats: pl.DataFrame, summary: dict[str, Any]) -> None:
    """``report.md`` and ``report.html`` of a run."""
    from labelprep.rendering import render_html, render_markdown

    (folder / "report.md").write_text(render_markdown(stats, summary), encoding="utf-8")
    (folder / "report.html").write_text(render_html(stats, summary), encoding="utf-8")
