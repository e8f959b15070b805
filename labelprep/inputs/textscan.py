"""One pass over the bytes of a text input before Polars reads it.

Polars' CSV reader splits records on ``\\n`` only (a file with bare ``\\r`` line endings
is one long header line), turns a blank line into a row of nulls, does not collapse
runs of spaces, and reports bad bytes, stray quotes and long rows without the line.
Its NDJSON reader rejects a byte-order mark and ``\\r`` line endings. So every text
input is streamed once here, block by block (whole lines, ``\\r\\n`` and ``\\r`` made
``\\n``), with numpy over each block (no loop over rows):

- the whole file must be UTF-8 without NUL bytes (the error names the line);
- quotes are followed (RFC 4180: a quote opens a field only at its start; ``""`` is a
  quote inside a quoted field), so a record spanning lines, an unterminated quote and
  a row with more fields than the header are found, with their line;
- blank and whitespace-only lines outside quotes are dropped;
- the physical line where each record starts is recorded, so provenance points at the
  real line whatever the line endings, blank lines or multi-line fields.

When the bytes Polars would see differ from the file (``\\r``, a byte-order mark,
blank lines, a whitespace separator), a normalised copy is written to a temporary
folder labelprep creates and removes (:func:`scratch_dir`); otherwise Polars reads
the file itself.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from labelprep.errors import InputError

BLOCK_BYTES = 1 << 24
_BOM = b"\xef\xbb\xbf"
_NL, _TAB, _SPACE, _CR = 10, 9, 32, 13


@dataclass(frozen=True)
class Dialect:
    """How a text file is laid out."""

    separator: str = ","
    whitespace: bool = False
    """Fields are separated by runs of spaces and tabs (read as tab-separated)."""
    quote: str | None = '"'
    has_header: bool = True
    json: bool = False
    """One JSON object per line: no quoting, no field count."""


@dataclass
class Layout:
    """What the pass found: where Polars should read, and the line of each record."""

    read_path: str
    header_line: int | None
    record_lines: np.ndarray
    """Physical (1-based) line where each data record starts."""
    max_fields: int = 0
    copied: bool = False

    @property
    def consecutive(self) -> bool:
        """Record ``i`` is line ``first + i``: the row index is enough."""
        lines = self.record_lines
        return lines.size == 0 or int(lines[-1] - lines[0]) == lines.size - 1

    @property
    def first_line(self) -> int:
        return int(self.record_lines[0]) if self.record_lines.size else 1


_SCRATCH: list[Path] = []


def scratch_dir() -> Path:
    """A folder of this process for normalised copies, removed when the process exits."""
    if not _SCRATCH:
        folder = Path(tempfile.mkdtemp(prefix="labelprep-read-"))
        _SCRATCH.append(folder)
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return _SCRATCH[0]


_GLOB_CHARACTERS = frozenset("*?[]{}")


def readable_path(path: str) -> str:
    """A path Polars reads as this one file: Polars' scanners expand ``*``, ``?``, ``[``
    and braces in a path even when the file's own name holds them, so such a file is read
    through a link with a plain name in :func:`scratch_dir`."""
    if not _GLOB_CHARACTERS.intersection(path):
        return path
    link = scratch_dir() / f"input-{len(list(scratch_dir().iterdir()))}{Path(path).suffix}"
    link.symlink_to(Path(path).resolve())
    return str(link)


def _raw_blocks(path: str) -> Iterator[tuple[bytes, bool]]:
    """(whole lines with ``\\n`` endings, whether the raw bytes differed) per block."""
    pending, first = b"", True
    with open(path, "rb") as handle:
        while True:
            chunk = handle.read(BLOCK_BYTES)
            changed = False
            if first:
                first = False
                if chunk.startswith((b"\xff\xfe", b"\xfe\xff")):
                    raise InputError(f"{path}: the file is UTF-16, not UTF-8; re-save it as UTF-8.")
                if chunk.startswith(_BOM):
                    chunk, changed = chunk[len(_BOM) :], True
            if not chunk:
                break
            data = pending + chunk
            pending = b""
            if data.endswith(b"\r"):  # maybe the first half of \r\n: wait for the next byte
                data, pending = data[:-1], b"\r"
            if b"\r" in data:
                data, changed = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n"), True
            cut = data.rfind(b"\n") + 1
            pending = data[cut:] + pending
            if cut:
                yield data[:cut], changed
        if pending:
            tail = pending.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            yield (tail if tail.endswith(b"\n") else tail + b"\n"), b"\r" in pending


@dataclass
class _State:
    line: int = 0
    """Lines before the block."""
    in_quote: bool = False
    open_seps: int = 0
    """Separators of the record still open at the end of the last block."""
    open_line: int = 0
    records: list[np.ndarray] = field(default_factory=list)
    changed: bool = False
    max_seps: int = -1
    expected: str = "the first line has"


def _check_text(path: str, block: bytes, line: int) -> None:
    nul = block.find(b"\x00")
    if nul >= 0:
        at = line + block.count(b"\n", 0, nul) + 1
        raise InputError(
            f"{path}, line {at}: a NUL byte; the file is binary or UTF-16, not UTF-8 text."
        )
    try:
        block.decode("utf-8")
    except UnicodeDecodeError as exc:
        at = line + block.count(b"\n", 0, exc.start) + 1
        raise InputError(
            f"{path}, line {at}: the file is not valid UTF-8 "
            f"(byte {block[exc.start : exc.start + 1]!r}); re-save it as UTF-8."
        ) from None


def _collapse_whitespace(arr: np.ndarray) -> np.ndarray:
    """Runs of spaces/tabs -> one tab; leading and trailing runs dropped."""
    ws = (arr == _SPACE) | (arr == _TAB)
    prev = np.concatenate(([_NL], arr[:-1]))
    prev_ws = np.concatenate(([True], ws[:-1])) | (prev == _NL)
    # index of the next byte that is not a space/tab, for every position
    idx = np.where(~ws, np.arange(arr.size), arr.size)
    nxt = np.minimum.accumulate(idx[::-1])[::-1]
    next_byte = arr[np.minimum(nxt, arr.size - 1)]
    keep = ~ws | (~prev_ws & (next_byte != _NL))
    out: np.ndarray = arr[keep].copy()
    out[ws[keep]] = _TAB
    return out


@dataclass(frozen=True)
class _Quotes:
    """Quote positions of a block and, for each, whether a quoted field is open before it."""

    pos: np.ndarray
    open_before: np.ndarray

    @classmethod
    def find(cls, arr: np.ndarray, quote: int, in_quote: bool) -> _Quotes:
        pos = np.flatnonzero(arr == quote)
        return cls(pos, ((np.arange(pos.size) + int(in_quote)) & 1).astype(bool))

    def inside(self, at: np.ndarray, in_quote: bool) -> np.ndarray:
        """At each position in ``at``: inside a quoted field (quotes before it are odd)."""
        before = np.searchsorted(self.pos, at, side="left")
        inside: np.ndarray = ((before + int(in_quote)) & 1).astype(bool)
        return inside


def _check_quotes(path: str, arr: np.ndarray, quotes: _Quotes, d: Dialect, line: int) -> None:
    """A quote opens only at a field's start and closes only at its end (``""`` allowed)."""
    assert d.quote is not None
    quote, sep = ord(d.quote), ord(d.separator)
    pos = quotes.pos
    if pos.size == 0:
        return
    prev = np.where(pos > 0, arr[np.maximum(pos - 1, 0)], _NL)
    nxt = arr[np.minimum(pos + 1, arr.size - 1)]
    opening = ~quotes.open_before
    bad_open = opening & ~np.isin(prev, (sep, _NL, quote))
    bad_close = ~opening & ~np.isin(nxt, (sep, _NL, quote))
    bad = np.flatnonzero(bad_open | bad_close)
    if bad.size:
        at = pos[bad[0]]
        where = line + int(np.count_nonzero(arr[:at] == _NL)) + 1
        raise InputError(
            f"{path}, line {where}: a quote ({d.quote}) inside an unquoted field or text "
            "after a closing quote; quote the whole field (a quote inside is written "
            f"\"\"), or pass --quote-char '' to read quotes as plain text."
        )


def _blank_lines(arr: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Lines of only spaces and tabs. Only lines that begin with one (or are empty) are
    candidates, so most blocks look at a handful of bytes."""
    blank = np.zeros(starts.size, dtype=bool)
    candidates = np.flatnonzero(np.isin(arr[starts], (_SPACE, _TAB, _NL)))
    if candidates.size == 0:
        return blank
    solid = ~np.isin(arr, (_SPACE, _TAB, _NL))
    bounds = np.stack([starts[candidates], ends[candidates]], axis=1).ravel()
    counts = np.add.reduceat(solid.astype(np.uint32), bounds)[::2]
    empty = starts[candidates] == ends[candidates]  # reduceat gives the byte itself then
    blank[candidates] = empty | (counts == 0)
    return blank


def _analyse(path: str, block: bytes, d: Dialect, st: _State) -> np.ndarray:
    """The block's bytes as Polars should read them (blank lines dropped); records noted."""
    arr = np.frombuffer(block, dtype=np.uint8)
    if d.whitespace:
        arr = _collapse_whitespace(arr)
    ends = np.flatnonzero(arr == _NL)
    starts = np.concatenate(([0], ends[:-1] + 1))
    quotes = None
    line_in_quote = np.zeros(starts.size, dtype=bool)
    if d.quote is not None and not d.json:
        quotes = _Quotes.find(arr, ord(d.quote), st.in_quote)
        _check_quotes(path, arr, quotes, d, st.line)
        line_in_quote = quotes.inside(starts, st.in_quote)
    blank = _blank_lines(arr, starts, ends) & ~line_in_quote
    is_start = ~line_in_quote & ~blank
    numbers = st.line + 1 + np.arange(starts.size)
    st.records.append(numbers[is_start])
    if not d.json:
        sep = _TAB if d.whitespace else ord(d.separator)
        seps = np.flatnonzero(arr == sep)
        if quotes is not None and quotes.pos.size:
            seps = seps[~quotes.inside(seps, st.in_quote)]
        per_line = np.searchsorted(seps, ends) - np.searchsorted(seps, starts)
        _count_fields(path, st, np.where(blank, 0, per_line), is_start, numbers)
    if quotes is not None:
        st.in_quote = bool((quotes.pos.size + int(st.in_quote)) & 1)
    st.line += int(starts.size)
    if blank.any():
        st.changed = True
        return arr[np.repeat(~blank, ends - starts + 1)]
    st.changed |= d.whitespace
    return arr


def _count_fields(
    path: str, st: _State, per_line: np.ndarray, is_start: np.ndarray, numbers: np.ndarray
) -> None:
    """Separators per record (outside quotes); a record with more than the first fails."""
    record = np.cumsum(is_start)  # 0 = continuation of the record open before the block
    n = int(record[-1])
    sums = np.bincount(record, weights=per_line, minlength=n + 1).astype(np.int64)
    sums[0] += st.open_seps
    if n == 0:
        st.open_seps = int(sums[0])
        return
    lines = np.concatenate(([st.open_line], numbers[is_start]))
    first = 0 if st.open_line else 1  # index 0 is a record only if one was open
    _note_fields(path, st, sums[first:n], lines[first:n])
    st.open_seps, st.open_line = int(sums[n]), int(lines[n])


def _note_fields(path: str, st: _State, seps: np.ndarray, lines: np.ndarray) -> None:
    if seps.size == 0:
        return
    if st.max_seps < 0:  # the first record sets the expected count
        st.max_seps = int(seps[0])
    over = np.flatnonzero(seps > st.max_seps)
    if over.size:
        fields = int(seps[over[0]]) + 1
        raise FieldCountError(path, int(lines[over[0]]), fields, f"{st.expected} {st.max_seps + 1}")


class FieldCountError(InputError):
    """A record has more fields than the first one (the header)."""

    def __init__(self, path: str, line: int, fields: int, expected: str) -> None:
        super().__init__(
            f"{path}, line {line}: {fields} fields, but {expected}; "
            "quote fields that contain the separator, or check --separator."
        )


def scan_text(path: str, d: Dialect, *, expected_fields: int | None = None) -> Layout:
    """Check and index a text file; write a normalised copy when Polars needs one."""
    st = _State()
    if expected_fields is not None:
        st.max_seps, st.expected = expected_fields - 1, "--column-names gives"
    for block, changed in _raw_blocks(path):
        _check_text(path, block, st.line)
        st.changed |= changed
        _analyse(path, block, d, st)
    if st.in_quote:
        raise InputError(
            f"{path}, line {st.open_line}: a quoted field is never closed (a missing {d.quote})."
        )
    if not d.json and st.open_line:
        _note_fields(path, st, np.array([st.open_seps]), np.array([st.open_line]))
    lines = np.concatenate(st.records) if st.records else np.zeros(0, dtype=np.int64)
    header = None
    if d.has_header and not d.json:
        if lines.size == 0:
            raise InputError(f"{path}: the file has no header line (only blank lines).")
        header, lines = int(lines[0]), lines[1:]
    layout = Layout(readable_path(path), header, lines.astype(np.int64), max_fields=st.max_seps + 1)
    if st.changed:
        layout.read_path, layout.copied = _write_copy(path, d), True
    return layout


def _write_copy(path: str, d: Dialect) -> str:
    """The file as Polars can read it: ``\\n`` endings, no BOM, no blank lines."""
    target = Path(tempfile.mkstemp(dir=scratch_dir(), suffix=Path(path).suffix)[1])
    st = _State()
    with target.open("wb") as out:
        for block, _ in _raw_blocks(path):
            out.write(_analyse(path, block, d, st).tobytes())
    return str(target)
