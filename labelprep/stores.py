"""Object-store URLs (``s3://``, ``gs://``, ``az://``): what they are, how to reach them.

An input or output directory given as a URL is read and written through two readers:

* Polars reads Parquet objects itself (its native cloud reader), with the options of
  :func:`polars_options`: for ``s3://``, the usual AWS variables of this process's
  environment (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``,
  ``AWS_REGION``, ``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL``) are passed explicitly, so
  that the plan a Dask worker runs carries them (the worker's own environment need not
  have them); with none set, Polars uses its own credential chain. ``gs://`` and ``az://``
  use each process's environment as Polars reads it.
* Everything else (listing, globs, fetching text inputs, hashing, writing the output) goes
  through `fsspec <https://filesystem-spec.readthedocs.io>`_ and the backend of the
  scheme, an optional extra imported only when a URL is met (:data:`BACKENDS`). Its
  credentials come from the same environment, as the backend reads it.

A store that cannot be read (no such object or bucket, refused credentials, a backend
that is not installed) is one :class:`~labelprep.errors.InputError` (or
:class:`~labelprep.errors.OutputError` for the output) naming the URL.
"""

from __future__ import annotations

import importlib.util
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

from labelprep.errors import InputError, LabelprepError, OutputError

BACKENDS: dict[str, tuple[str, str]] = {
    "s3": ("s3fs", "s3"),
    "s3a": ("s3fs", "s3"),
    "gs": ("gcsfs", "gcs"),
    "gcs": ("gcsfs", "gcs"),
    "az": ("adlfs", "azure"),
    "abfs": ("adlfs", "azure"),
    "abfss": ("adlfs", "azure"),
}
"""URL scheme: (fsspec backend module, labelprep extra that installs it)."""
_URL = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<rest>.*)", re.DOTALL)
_S3_ENV = {
    "aws_access_key_id": ("AWS_ACCESS_KEY_ID",),
    "aws_secret_access_key": ("AWS_SECRET_ACCESS_KEY",),
    "aws_session_token": ("AWS_SESSION_TOKEN",),
    "aws_region": ("AWS_REGION", "AWS_DEFAULT_REGION"),
    "aws_endpoint_url": ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"),
}


def is_url(text: object) -> bool:
    """True for a string naming an object in a store (``s3://bucket/key``...).

    >>> is_url("s3://bucket/in/a.parquet"), is_url("data/a.parquet"), is_url("C:/a.csv")
    (True, False, False)
    """
    if not isinstance(text, str):
        return False
    match = _URL.match(text)
    return match is not None and match["scheme"].lower() in BACKENDS


def split_url(url: str) -> tuple[str, str]:
    """``(scheme, bucket/key)`` of a URL, the key without a trailing ``/``.

    >>> split_url("s3://bucket/out/")
    ('s3', 'bucket/out')
    """
    match = _URL.match(url)
    if match is None or match["scheme"].lower() not in BACKENDS:
        raise InputError(f"{url}: not an object-store URL ({', '.join(sorted(BACKENDS))}).")
    return match["scheme"].lower(), match["rest"].rstrip("/")


def join(url: str, *names: str) -> str:
    """``url/name/...`` (a URL is not a :class:`~pathlib.Path`: ``//`` must stay).

    >>> join("s3://b/out/", "targets", "part-00000.parquet")
    's3://b/out/targets/part-00000.parquet'
    """
    return "/".join([url.rstrip("/"), *names])


def polars_options(url: str) -> dict[str, str] | None:
    """The ``storage_options`` Polars reads ``url`` with (see the module docstring)."""
    scheme, _ = split_url(url)
    if BACKENDS[scheme][1] != "s3":
        return None
    options = {}
    for key, names in _S3_ENV.items():
        value = next((os.environ[n] for n in names if os.environ.get(n)), None)
        if value is not None:
            options[key] = value
    return options or None


def filesystem(url: str, *, writing: bool = False) -> tuple[Any, str]:
    """The fsspec file system of ``url`` (with no cached listing) and the URL's path in
    it (``bucket/key``)."""
    scheme, path = split_url(url)
    module, extra = BACKENDS[scheme]
    error = OutputError if writing else InputError
    if not installed(module):
        raise error(
            f"{url}: reading and writing {scheme}:// URLs needs {module}, which is not "
            f"installed; install it with: pip install 'labelprep[{extra}]'"
        )
    with translated(url, writing=writing):
        return _filesystem(scheme), path


_CACHE: dict[tuple[str, tuple[str | None, ...]], Any] = {}
_ENV_KEYS = tuple(n for names in _S3_ENV.values() for n in names)


def _filesystem(scheme: str) -> Any:
    """One fsspec file system per scheme and AWS settings, made in the thread that first
    needs it and reused (its listings forgotten): making one reads the whole environment,
    which another thread may be changing (Polars' ``Config`` sets variables)."""
    import fsspec  # type: ignore[import-untyped]

    key = (scheme, tuple(os.environ.get(n) for n in _ENV_KEYS))
    if key not in _CACHE:
        _CACHE[key] = fsspec.filesystem(scheme, skip_instance_cache=True)
    fs = _CACHE[key]
    fs.invalidate_cache()
    return fs


def installed(module: str) -> bool:
    """True when the fsspec backend ``module`` can be imported."""
    return importlib.util.find_spec(module) is not None


@contextmanager
def translated(url: str, *, writing: bool = False) -> Iterator[None]:
    """Turn a store's failure inside the block into one clear error naming ``url``."""
    try:
        yield
    except LabelprepError:
        raise
    except Exception as exc:
        raise store_error(url, exc, writing=writing) from exc


def store_error(url: str, exc: BaseException, *, writing: bool = False) -> LabelprepError:
    """One line naming ``url`` for a store's failure ``exc``."""
    error = OutputError if writing else InputError
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, FileNotFoundError):
        bucket = "bucket" in text.lower()
        what = "no such bucket" if bucket else "no such object"
        detail = "" if text in url else f" ({text})"
        return error(f"{url}: {what}{detail}.")
    if isinstance(exc, PermissionError) or "credential" in text.lower():
        return error(
            f"{url}: access refused ({text}); check the store's credentials "
            "(for s3://: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL...)."
        )
    action = "write to" if writing else "read"
    return error(f"{url}: cannot {action} the object store ({type(exc).__name__}: {text}).")


def open_binary(path: str | os.PathLike[str]) -> IO[bytes]:
    """A local file or a store's object, opened for reading bytes."""
    if is_url(path):
        text = str(path)
        fs, key = filesystem(text)
        with translated(text):
            handle: IO[bytes] = fs.open(key, "rb")
        return handle
    return open(path, "rb")


def fetch(url: str, target: str) -> None:
    """Copy the object ``url`` to the local file ``target``."""
    fs, key = filesystem(url)
    with translated(url):
        fs.get_file(key, target)


def parquet_schema(url: str) -> Any:
    """The Arrow schema (with its key-value metadata) of a Parquet file or object."""
    return _parquet_file(url, lambda footer: footer.schema_arrow)


def parquet_metadata(url: str) -> Any:
    """The footer (:class:`pyarrow.parquet.FileMetaData`) of a Parquet file or object."""
    return _parquet_file(url, lambda footer: footer.metadata)


def _parquet_file(url: str, take: Any) -> Any:
    """``take`` applied to the :class:`pyarrow.parquet.ParquetFile` of a file or object."""
    import pyarrow.parquet as pq

    if not is_url(url):
        return take(pq.ParquetFile(url))
    with open_binary(url) as handle, translated(url):
        return take(pq.ParquetFile(handle))
