"""The output files: hashing, Parquet metadata and layout, the manifest, the reports.

Where they are written (a staging directory replacing the output directory whole, and
only labelprep's own) is :mod:`labelprep.outdir`.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import hashlib
import io
import json
import os
import re
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import polars as pl

from labelprep import remote_output
from labelprep.errors import ConfigError, InputError, OutputError, display_path
from labelprep.outdir import (
    ANNOTATORS,
    CLASS_STATS,
    MANIFEST,
    MARKER_KEY,
    OUTPUT_FILES,
    OUTPUT_FORMAT,
    REJECTS,
    REPORT_HTML,
    REPORT_MD,
    STAGING_MARK,
    TARGETS,
    atomic_directory,
)
from labelprep.stores import is_url, open_binary

__all__ = [
    "ANNOTATORS",
    "CLASS_STATS",
    "MANIFEST",
    "OUTPUT_FILES",
    "REJECTS",
    "TARGETS",
    "Hasher",
    "atomic_directory",
    "row_group_rows",
    "sha256_file",
    "sink_parquet",
    "write_json",
    "write_parquet",
]

_CHUNK = 1 << 20
ROW_GROUP_BYTES = 64 << 20
"""Target size of a Parquet row group; the row count follows from the schema alone, so
that the same data gives the same file however many threads wrote it."""


def row_group_rows(schema: pl.Schema) -> int:
    """Rows per row group of a file with ``schema``: a fixed function of the schema (a
    multiple of 4096 between 4096 and 262144), never of the thread count or batching."""
    width = sum(_bytes_per_value(dtype) for dtype in schema.values())
    rows = ROW_GROUP_BYTES // max(width, 1)
    return int(min(max(rows // 4096 * 4096, 4096), 1 << 18))


def _bytes_per_value(dtype: Any) -> int:
    if isinstance(dtype, pl.Array):
        return dtype.size * _bytes_per_value(dtype.inner)
    if isinstance(dtype, pl.List):
        return 8 * _bytes_per_value(dtype.inner)
    if dtype == pl.Boolean:
        return 1
    if dtype.is_numeric() or dtype.is_temporal():
        return 8
    return 32  # strings and anything else: a guess, the same on every machine


def write_parquet(
    frame: pl.DataFrame,
    path: Path,
    *,
    metadata: dict[str, str] | None = None,
    compression: str = "zstd",
) -> None:
    """``frame.write_parquet`` with the fixed row-group layout of :func:`row_group_rows`."""
    codec: Any = compression
    try:
        frame.write_parquet(
            path,
            metadata=metadata,
            compression=codec,
            row_group_size=row_group_rows(frame.schema),
        )
    except (OSError, pl.exceptions.PolarsError) as exc:  # disk full, read-only...
        raise OutputError(_write_failure(path, exc)) from exc


_WRITE_ERRNOS = frozenset(
    {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO}
)
_OS_ERROR = re.compile(r"os error (\d+)")


def sink_parquet(
    frame: pl.LazyFrame,
    path: Path,
    *,
    metadata: dict[str, str],
    compression: str = "snappy",
    schema: pl.Schema | None = None,
) -> None:
    """Stream a frame to Parquet with the fixed row-group layout of :func:`row_group_rows`
    (from ``schema``, the frame's, when the caller knows it: resolving the schema of a
    plan of thousands of expressions takes seconds).

    A data problem met on the way is an :class:`~labelprep.errors.InputError` (reading);
    a failure to write ``path`` (disk full, read-only, permission) an
    :class:`~labelprep.errors.OutputError` naming it.
    """
    from labelprep.inputs.ingest import collect_all

    codec: Any = compression
    rows = row_group_rows(frame.collect_schema() if schema is None else schema)
    try:
        target = _HashingFile(path)
    except OSError as exc:
        raise OutputError(_write_failure(path, exc)) from exc
    into: Any = target  # a binary file object
    query = frame.sink_parquet(
        into, metadata=metadata, compression=codec, row_group_size=rows, lazy=True
    )
    try:
        collect_all([query])
    except OSError as exc:
        raise OutputError(_write_failure(path, exc)) from exc
    except InputError as exc:
        cause = target.error or exc.__cause__
        found = _OS_ERROR.search(str(cause)) if cause is not None else None
        if target.error is not None or (found is not None and int(found[1]) in _WRITE_ERRNOS):
            raise OutputError(_write_failure(path, cause)) from exc
        raise
    finally:
        target.close()
    _WRITTEN.record(path, target.digest.hexdigest())


class _HashingFile(io.RawIOBase):
    """The file a sink writes, hashed as Polars writes it (in blocks of about 100 kB):
    the manifest's sha256 of a large output costs no second read."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self._file = open(path, "wb")  # noqa: SIM115  (closed by close())
        self.digest = hashlib.sha256()
        self.error: OSError | None = None

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        try:
            written = self._file.write(data)
        except OSError as exc:  # kept: Polars reports it as its own error
            self.error = exc
            raise
        self.digest.update(data)
        return written

    def close(self) -> None:
        if not self.closed:
            self._file.close()
        super().close()


class _Written:
    """sha256 of the files :func:`sink_parquet` wrote in this process, by path; a digest
    is used only while the file keeps the size and modification time it had."""

    _LIMIT = 256

    def __init__(self) -> None:
        self._digests: dict[str, tuple[int, int, str]] = {}
        self._lock = threading.Lock()

    def record(self, path: Path, digest: str) -> None:
        info = os.stat(path)
        with self._lock:
            self._digests.pop(str(path), None)
            self._digests[str(path)] = (info.st_size, info.st_mtime_ns, digest)
            while len(self._digests) > self._LIMIT:
                del self._digests[next(iter(self._digests))]

    def get(self, path: str | Path) -> str | None:
        with self._lock:
            known = self._digests.get(str(path))
        if known is None:
            return None
        try:
            info = os.stat(path)
        except OSError:
            return None
        return known[2] if (info.st_size, info.st_mtime_ns) == known[:2] else None


_WRITTEN = _Written()


def _write_failure(path: Path, exc: BaseException | None) -> str:
    code = exc.errno if isinstance(exc, OSError) else None
    if code is None:
        found = _OS_ERROR.search(str(exc))
        code = int(found[1]) if found is not None else None
    reason = os.strerror(code) if code is not None else str(exc).strip().splitlines()[0]
    return f"cannot write {display_path(path)}: {reason}."


def sha256_file(path: str | Path, stop: threading.Event | None = None) -> str:
    """Hex sha256 of a file, read in chunks (given up, returning "", once ``stop`` is set)."""
    digest = hashlib.sha256()
    with open_binary(path) as handle:  # a file, or an input's object in a store
        while chunk := handle.read(_CHUNK):
            if stop is not None and stop.is_set():
                return ""
            digest.update(chunk)
    return digest.hexdigest()


def _background_priority() -> None:
    """Lower the calling thread's scheduling priority (Linux: per thread), so that hashing
    takes the CPU time the run leaves idle; elsewhere, or if refused, nothing changes."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)


class Hasher:
    """sha256 of files, computed on background threads at low priority while the run goes
    on (``hashlib`` releases the GIL on large reads). Use as a context manager."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(
            max_workers=2,
            thread_name_prefix="labelprep-sha256",
            initializer=_background_priority,
        )
        self._jobs: dict[str, Future[str]] = {}
        self._stop = threading.Event()

    def __enter__(self) -> Hasher:
        return self

    def __exit__(self, *exc: object) -> None:
        """Leave at once: hashes still running (a failed or interrupted run) stop."""
        self._stop.set()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def submit(self, path: str | Path) -> None:
        """Start hashing ``path`` (it must not change afterwards), unless hashed as written."""
        if str(path) not in self._jobs and _WRITTEN.get(path) is None:
            self._jobs[str(path)] = self._pool.submit(sha256_file, path, self._stop)

    def sha256(self, path: str | Path) -> str:
        """The hex digest of ``path``: as written, the background result, or computed now."""
        written = _WRITTEN.get(path)
        if written is not None:
            return written
        job = self._jobs.get(str(path))
        return job.result() if job is not None else sha256_file(path)


def write_json(path: Path, data: Any) -> None:
    """Deterministic, human-readable JSON. A ``manifest.json`` gets the marker that
    proves the directory is labelprep's output (``"labelprep_output": 1`` first)."""
    if path.name == MANIFEST and isinstance(data, dict):
        data = {MARKER_KEY: OUTPUT_FORMAT, **data}
    text = json.dumps(data, indent=2, sort_keys=False, allow_nan=False) + "\n"
    path.write_text(text, encoding="utf-8")


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
    """The manifest of a run's output directory (or output prefix in an object store)."""
    if is_url(os.fspath(out_dir)):
        return remote_output.read_manifest(os.fspath(out_dir))
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
    paths = []
    for path in sorted(folder.iterdir()):
        if path.is_dir():  # targets/ and rejects/ of part files (the Dask engine)
            paths.extend(sorted(path.iterdir()))
        elif path.name not in (MANIFEST, STAGING_MARK):
            paths.append(path)
    return [
        {
            "path": path.relative_to(folder).as_posix(),
            "bytes": path.stat().st_size,
            "sha256": digest(path),
        }
        for path in paths
    ]


def write_reports(folder: Path, stats: pl.DataFrame, summary: dict[str, Any]) -> None:
    """``report.md`` and ``report.html`` of a run."""
    from labelprep.reporting.render import render_html, render_markdown
    from labelprep.reporting.run_files import with_run_files

    summary = with_run_files(folder, summary)
    (folder / REPORT_MD).write_text(render_markdown(stats, summary), encoding="utf-8")
    (folder / REPORT_HTML).write_text(render_html(stats, summary), encoding="utf-8")
