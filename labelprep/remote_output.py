"""An output directory in an object store (``-o s3://bucket/out``).

A store has no rename, so a prefix cannot be swapped in one step as a local directory
is (:mod:`labelprep.outdir`). Instead:

1. **Before the run**, the prefix is listed. It must be empty, or hold only a previous
   labelprep output: the objects that rule of :mod:`labelprep.outdir` allows (output
   files by name; part and split files, and a ``README.md``, only when the marked
   ``manifest.json`` lists them with the same size, and the same sha256 for the
   ``README.md``), plus the objects of an unfinished upload (step 3). Anything else, or a
   prefix that holds one of the run's inputs, is refused with an
   :class:`~labelprep.errors.OutputError`, and nothing is written.
2. The whole output is built in a **local staging directory** exactly as for a local
   output (a private temporary directory: ``TMPDIR``; with ``--engine dask`` the workers
   write their part files there, so on several machines ``TMPDIR`` must be on a shared
   file system).
3. The prefix is checked again, then **uploaded**: first :data:`UPLOAD_RECORD`, listing
   every object about to be written; then every file, parts included, each put whole;
   then ``manifest.json`` **last**; then the objects of the previous output that the new
   manifest does not list are removed, and the record last of all. (The record lists the
   previous output's objects too, and it is labelprep's own: an upload stopped at any
   point leaves nothing the next run would take for a user's.)

What this guarantees: an object is never seen half-written, and once the new
``manifest.json`` is there, every object it lists is there with the size and sha256 it
records. It is not a swap: while the upload runs, a reader listing the prefix can see
new parts beside the old manifest, and the old manifest can list objects already
replaced. **Readers should go by the manifest** (and may check its hashes), not by a
listing. A run that fails during the upload removes the objects it added that the
previous manifest does not list; a killed one leaves them with the upload record, and
the next run into the prefix takes them as labelprep's and replaces them. Runs into
one prefix at the same time are not serialised (a store has no lock): the last manifest
wins.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labelprep.errors import ConfigError, OutputError
from labelprep.interrupts import deferred_signals
from labelprep.output_names import (
    MANIFEST,
    RECORDED_ONLY,
    is_marked,
    is_output_object,
    recorded_in,
)
from labelprep.stores import filesystem, is_url, join, polars_options, split_url, translated

if TYPE_CHECKING:
    import polars as pl

UPLOAD_RECORD = ".labelprep-upload.json"
"""The objects an upload in progress writes (removed when it completes)."""
_SHOWN = 5


class Prefix:
    """The objects under an output prefix, as listed now."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.fs, self.root = filesystem(url, writing=True)
        if "/" not in self.root:
            raise OutputError(
                f"{url}: give a prefix inside the bucket (such as {url.rstrip('/')}/out), "
                "not the bucket itself."
            )
        with translated(url, writing=True):
            if self.fs.isfile(self.root):
                raise _refuse(url, "is an object, not a prefix")
        self.objects = self.list()

    def list(self) -> dict[str, int]:
        """Every object under the prefix: its name relative to it, and its size."""
        with translated(self.url, writing=True):
            self.fs.invalidate_cache()
            found = self.fs.find(self.root, detail=True)
        start = len(self.root) + 1
        return {
            key[start:]: int(info.get("size") or 0)
            for key, info in found.items()
            if key.startswith(self.root + "/") and not key.endswith("/")
        }

    def read(self, relative: str) -> bytes:
        with translated(self.url, writing=True):
            data: bytes = self.fs.cat_file(f"{self.root}/{relative}")
        return data

    def json(self, relative: str) -> Any:
        if relative not in self.objects:
            return None
        try:
            return json.loads(self.read(relative))
        except ValueError:
            return None


def foreign_objects(prefix: Prefix) -> str:
    """What makes the prefix not labelprep's output (empty when it is, or is empty)."""
    objects = prefix.objects
    if not objects:
        return ""
    manifest = prefix.json(MANIFEST)
    recorded = recorded_in(manifest) if is_marked(manifest) else {}
    pending = _pending(prefix.json(UPLOAD_RECORD))
    foreign = [
        name
        for name, size in sorted(objects.items())
        if name != UPLOAD_RECORD
        and pending.get(name) != size
        and not _is_output(prefix, name, size, recorded)
    ]
    if foreign:
        more = f" and {len(foreign) - _SHOWN} more" if len(foreign) > _SHOWN else ""
        return ", ".join(foreign[:_SHOWN]) + more
    if MANIFEST in objects and not is_marked(manifest) and pending.get(MANIFEST) is None:
        return f"{MANIFEST} (not written by labelprep)"
    return ""


def _is_output(prefix: Prefix, name: str, size: int, recorded: dict[str, tuple[int, str]]) -> bool:
    if not recorded or not is_output_object(name):
        return False
    if "/" not in name and name not in RECORDED_ONLY:
        return True
    if recorded.get(name, (None,))[0] != size:
        return False
    return name not in RECORDED_ONLY or (
        hashlib.sha256(prefix.read(name)).hexdigest() == recorded[name][1]
    )


def _pending(record: Any) -> dict[str, int]:
    """The objects an unfinished upload listed (name: size)."""
    objects = record.get("objects") if isinstance(record, dict) else None
    if not isinstance(objects, dict):
        return {}
    return {k: v for k, v in objects.items() if isinstance(k, str) and isinstance(v, int)}


def _refuse(url: str, why: str) -> OutputError:
    return OutputError(
        f"{url}: the output prefix {why}; labelprep replaces only an empty prefix or its own "
        "output (nothing was changed). Choose another -o prefix, or move those objects away."
    )


def check_replaceable(prefix: Prefix) -> None:
    """Refuse a prefix that holds objects labelprep did not write (module docstring)."""
    problems = foreign_objects(prefix)
    if problems:
        raise _refuse(prefix.url, "holds objects labelprep did not write: " + problems)


def check_inputs_outside(url: str, inputs: Sequence[str | Path]) -> None:
    """Refuse an output prefix that holds (or is) one of the inputs."""
    _, root = split_url(url)
    for item in inputs:
        text = str(item)
        if is_url(text):
            _, key = split_url(text)
            if key == root or key.startswith(root + "/"):
                raise OutputError(
                    f"{url}: the output prefix holds the input {text}, which replacing it "
                    "would delete; choose another -o prefix."
                )


@contextmanager
def remote_directory(url: str, *, inputs: Sequence[str | Path] = ()) -> Iterator[Path]:
    """Yield an empty local staging directory whose files replace the output prefix
    ``url`` when the block succeeds (see the module docstring)."""
    prefix = Prefix(url)
    check_replaceable(prefix)
    check_inputs_outside(url, inputs)
    folder = Path(tempfile.mkdtemp(prefix="labelprep-upload-"))
    try:
        staging = folder / "out"
        staging.mkdir()
        yield staging
        prefix.objects = prefix.list()
        check_replaceable(prefix)  # another run may have written it meanwhile
        upload(prefix, staging)
    finally:
        with deferred_signals():
            shutil.rmtree(folder, ignore_errors=True)


def upload(prefix: Prefix, staging: Path) -> None:
    """Put the staging directory's files under the prefix, the manifest last, then remove
    the previous output's objects that the new one does not hold."""
    files = sorted(p.relative_to(staging).as_posix() for p in staging.rglob("*") if p.is_file())
    sizes = {name: (staging / name).stat().st_size for name in files}
    previous = dict(prefix.objects)
    added = [name for name in files if name not in previous]
    previous.pop(UPLOAD_RECORD, None)
    # the record covers the previous objects too: a run killed at any point leaves none
    # that the next run could not tell from a user's
    listed = {**previous, **sizes}
    record = json.dumps({"labelprep_upload": 1, "objects": listed}).encode("utf-8")
    fs, root = prefix.fs, prefix.root
    try:
        with translated(prefix.url, writing=True):
            fs.pipe_file(f"{root}/{UPLOAD_RECORD}", record)
            body = [name for name in files if name != MANIFEST]
            if body:
                fs.put([str(staging / n) for n in body], [f"{root}/{n}" for n in body])
            fs.put_file(str(staging / MANIFEST), f"{root}/{MANIFEST}")
    except BaseException:
        with deferred_signals():
            _remove(prefix, [*added, UPLOAD_RECORD], quietly=True)
        raise
    stale = [name for name in previous if name not in sizes]
    with deferred_signals():
        _remove(prefix, stale)
        _remove(prefix, [UPLOAD_RECORD])


def _remove(prefix: Prefix, names: Sequence[str], *, quietly: bool = False) -> None:
    if not names:
        return
    paths = [f"{prefix.root}/{name}" for name in names]
    try:
        with translated(prefix.url, writing=True):
            prefix.fs.rm(paths)
    except Exception:
        if not quietly:
            raise


def output_location(out_dir: str | Path) -> Path | str:
    """Where a run's outputs are, as its result names them: a path, or a store's URL
    (kept as text: a :class:`~pathlib.Path` would fold its ``//``)."""
    text = os.fspath(out_dir)
    return text if is_url(text) else Path(text)


def listing(out_dir: str | Path) -> list[str]:
    """The names in an output directory (or under an output prefix), sorted."""
    text = os.fspath(out_dir)
    if is_url(text):
        return sorted({name.split("/", 1)[0] for name in Prefix(text).objects})
    return sorted(path.name for path in Path(text).iterdir())


def read_output(url: str, name: str) -> pl.DataFrame | None:
    """An output of the prefix ``url`` (``targets.parquet``, or its part files), read
    whole; None when it holds neither."""
    import polars as pl  # here: the command line's start-up imports this module

    objects = Prefix(url).objects
    parts = sorted(n for n in objects if n.startswith(Path(name).stem + "/"))
    if name not in objects and not parts:
        return None
    with translated(url):
        if name in objects:
            return pl.read_parquet(join(url, name), storage_options=polars_options(url))
        return pl.concat(
            [pl.read_parquet(join(url, n), storage_options=polars_options(url)) for n in parts]
        )


def read_manifest(url: str) -> dict[str, Any]:
    """The manifest of an output prefix."""
    prefix = Prefix(url)
    data = prefix.json(MANIFEST)
    if not isinstance(data, dict):
        raise ConfigError(f"{url}: no {MANIFEST}; is this a labelprep output prefix?")
    return data
