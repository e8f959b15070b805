"""Inputs in an object store (``s3://bucket/labels.parquet``, :mod:`labelprep.stores`).

* **Parquet** objects are read by Polars' own cloud reader, lazily, with the storage
  options of :func:`labelprep.stores.polars_options`: the plan carries them, so a Dask
  worker that runs a slice of the file reads the object from the store itself, row
  groups and all, and nothing passes through the machine running ``labelprep``.
* **Text** objects (CSV, TSV, JSONL) are checked byte by byte before Polars reads them
  (:mod:`labelprep.inputs.textscan`: line endings, quotes, UTF-8, the line of each
  record), so each is first copied whole into a private temporary file of this process
  (in :func:`~labelprep.inputs.textscan.scratch_dir`, mode 0600, removed when the
  process exits) and read from there; errors still name the URL. With ``--engine dask``
  on several machines, give Parquet objects: the workers read a text object's copy on
  the machine running ``labelprep``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import polars as pl

from labelprep.config import InputFormat, Options
from labelprep.errors import InputError
from labelprep.inputs.readers import ROW, Read, read_text
from labelprep.inputs.textscan import scratch_dir
from labelprep.stores import fetch, is_url, polars_options, split_url, store_error


def scan_parquet(
    path: str, *, row_index_name: str | None = None, row_index_offset: int = 0
) -> pl.LazyFrame:
    """:func:`polars.scan_parquet` of a local file or of one object (no glob expansion in
    a URL: an object's own name may hold ``*``)."""
    remote = is_url(path)
    return pl.scan_parquet(
        path,
        row_index_name=row_index_name,
        row_index_offset=row_index_offset,
        storage_options=polars_options(path) if remote else None,
        glob=not remote,
    )


def read_remote(url: str, fmt: InputFormat, options: Options) -> Read:
    """One object of a store, as :func:`labelprep.inputs.ingest.open_input` reads a file."""
    if fmt == "parquet":
        lf = scan_parquet(url, row_index_name=ROW, row_index_offset=1)
        try:
            schema = lf.collect_schema()
        except (pl.exceptions.PolarsError, OSError) as exc:
            raise store_error(url, exc) from exc
        schema = pl.Schema({k: v for k, v in schema.items() if k != ROW})
        return Read(lf, schema, read_path=url)
    local = _local_copy(url)
    if os.path.getsize(local) == 0:
        raise InputError(f"{url}: the object is empty.")
    try:
        return read_text(local, fmt, options)
    except InputError as exc:  # name the object, not its copy
        raise InputError(str(exc).replace(local, url)) from exc


def _local_copy(url: str) -> str:
    """A private temporary copy of the object ``url`` (see the module docstring)."""
    _, key = split_url(url)
    handle, local = tempfile.mkstemp(dir=scratch_dir(), suffix=Path(key).suffix)
    os.close(handle)
    fetch(url, local)
    return local
