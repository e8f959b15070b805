"""Which inputs a run reads: paths and globs expanded into files, and in-memory frames,
each read once, in the order given (:func:`resolve_inputs`).

An object-store URL (``s3://bucket/votes/*.parquet``, :mod:`labelprep.stores`) is
expanded by its store (fsspec's glob) and checked there; it is never taken for a local
path.
"""

from __future__ import annotations

import glob as globlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from labelprep.errors import InputError
from labelprep.inputs.frames import frame_label, is_frame
from labelprep.stores import filesystem, is_url, split_url, translated


@dataclass(frozen=True)
class FrameInput:
    """An in-memory frame among the inputs (:mod:`labelprep.inputs.frames`)."""

    label: str
    frame: object = field(compare=False, repr=False)


def resolve_inputs(inputs: Sequence[object]) -> tuple[list[str | FrameInput], tuple[str, ...]]:
    """Files and in-memory frames, in the order given. Globs are expanded; every plain
    path must exist. A file named again under another spelling (relative/absolute,
    ``..``, a symlink, an overlapping glob) is read once, under its first spelling, with
    a notice; so is a frame given twice (the same object)."""
    entries: list[str | FrameInput] = []
    for position, item in enumerate(inputs):
        if is_frame(item):
            entries.append(FrameInput(frame_label(position), item))
        elif isinstance(item, (str, Path)):
            entries.extend(_expand(str(item)))
        else:
            raise InputError(
                f"input {position}: an object of type {type(item).__name__} is neither a path "
                "nor a frame (a Polars DataFrame or LazyFrame, a pandas DataFrame, a PyArrow "
                "Table)."
            )
    if not entries:
        raise InputError("no input files were given.")
    return _read_once(entries)


def _read_once(
    entries: Sequence[str | FrameInput],
) -> tuple[list[str | FrameInput], tuple[str, ...]]:
    """Each file (by its real path) and each frame (by identity) once, first spelling kept."""
    kept: list[str | FrameInput] = []
    first: dict[object, str] = {}
    notices: list[str] = []
    for entry in entries:
        key: object
        if isinstance(entry, FrameInput):
            key, name, kind = id(entry.frame), entry.label, "frame"
        elif is_url(entry):
            key, name, kind = split_url(entry), entry, "object"
        else:
            key, name, kind = Path(entry).resolve(), entry, "file"
        if key not in first:
            first[key] = name
            kept.append(entry)
        elif first[key] != name:
            notices.append(f"{name} is the same {kind} as {first[key]}; it is read once.")
    return kept, tuple(dict.fromkeys(notices))


def _expand(text: str) -> list[str]:
    """The files one input names: itself, or the files its glob matches."""
    _check_name(text)
    if is_url(text):
        return _expand_url(text)
    if globlib.has_magic(text) and not Path(text).is_file():
        matches = sorted(globlib.glob(text, recursive=True))
        if not matches:
            raise InputError(f"{text}: the pattern matches no file.")
        return [m for m in matches if not Path(m).is_dir()]
    if not Path(text).exists():
        raise InputError(f"{text}: no such file.")
    if Path(text).is_dir():
        raise InputError(f"{text}: is a directory; give files or a glob such as '{text}/*'.")
    return [text]


def _expand_url(url: str) -> list[str]:
    """The objects one URL names: itself, or the objects its glob matches (in name order,
    under the URL's own scheme)."""
    fs, path = filesystem(url)
    scheme = url.split("://", 1)[0]
    with translated(url):
        if globlib.has_magic(path):
            found = fs.glob(path, detail=True)
            matches = sorted(k for k, info in found.items() if info.get("type") != "directory")
            if not matches:
                bucket = path.split("/", 1)[0]
                why = "no such bucket" if not fs.exists(bucket) else "the pattern matches no object"
                raise InputError(f"{url}: {why}.")
            return [f"{scheme}://{m}" for m in matches]
        kind = fs.info(path).get("type")
    if kind == "directory":
        raise InputError(
            f"{url}: is a folder (a prefix), not an object; give objects or a glob such as "
            f"'{url.rstrip('/')}/*.parquet'."
        )
    return [url]


def _check_name(text: str) -> None:
    """A file name must be text: one with bytes that are not UTF-8 cannot be carried as
    the provenance of its rows (Arrow strings are UTF-8)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        shown = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        raise InputError(
            f"{shown}: the file name is not valid UTF-8; rename the file (labelprep keeps "
            "each file's name with its rows)."
        ) from exc
