"""Property tests of reading: random CSV/TSV/JSONL files with random evidence and random
corruption, run through the real command line.

- The exit code is 0, 1 or 2, never 3 (a traceback).
- When the run exits 0 or 1, every non-blank record is in targets or rejects exactly once
  (counted, and the rejects' rows are the records' physical lines), and the manifest's
  ``rows.in`` is accepted + rejected.
- A row's verdict does not change when other rows (with other ids) are added.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import polars as pl
from click.testing import CliRunner
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from labelprep.cli import main

CLASSES = ("a", "b", "c")
ENDINGS = ("\n", "\r\n", "\r")
FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

numbers = st.one_of(
    st.sampled_from(["0", "0.5", "1", "0.25", "-0.1", "1.5", "nan", "inf", "", " ", "x"]),
    st.sampled_from(["1e400", "99999999999999999999999", "0.3333333333"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)
labels = st.sampled_from(["a", "b", "c", "zz", "", "0", "2", "7"])
ids = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.sampled_from(["", " ", "NaN", "k1", "007"]),
)


@st.composite
def records(draw: Any, n_max: int = 6) -> list[dict[str, str]]:
    n = draw(st.integers(min_value=0, max_value=n_max))
    rows = []
    for i in range(n):
        row = {"id": draw(ids), "n": str(i)}
        kind = draw(st.sampled_from(["probs", "label", "both", "none"]))
        if kind in ("label", "both"):
            row["label"] = draw(labels)
        if kind in ("probs", "both"):
            row.update({c: draw(numbers) for c in CLASSES})
        rows.append(row)
    return rows


def text_lines(rows: list[dict[str, str]], sep: str) -> list[str]:
    header = ["id", "n", "label", *CLASSES]
    body = [sep.join(row.get(col, "") for col in header) for row in rows]
    return [sep.join(header), *body]


def json_lines(rows: list[dict[str, str]], draw: Any) -> list[str]:
    out = []
    for row in rows:
        obj: dict[str, Any] = {}
        for key, value in row.items():
            form = draw(st.sampled_from(["text", "number", "other"]))
            if form == "number" and _is_json_number(value):
                obj[key] = json.loads(value)
            elif form == "other" and key in CLASSES:
                obj[key] = draw(st.sampled_from([True, None, [0.5], {"x": 1}, [value]]))
            else:
                obj[key] = value
        out.append(json.dumps(obj))
    return out


def _is_json_number(text: str) -> bool:
    try:
        value = json.loads(text)
    except ValueError:
        return False
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    return number and math.isfinite(value)  # json.dumps would write Infinity, not JSON


CORRUPTIONS = ("quote", "separator", "nul", "bad_utf8", "truncate", "bom")


@st.composite
def files(draw: Any) -> tuple[str, bytes, list[int], bool]:
    """(format, bytes, physical line of each record, whether the bytes were corrupted)."""
    fmt = draw(st.sampled_from(["csv", "tsv", "jsonl"]))
    rows = draw(records())
    lines = (
        json_lines(rows, draw)
        if fmt == "jsonl"
        else text_lines(rows, "\t" if fmt == "tsv" else ",")
    )
    header = 0 if fmt == "jsonl" else 1
    out: list[str] = []
    record_lines: list[int] = []
    for i, line in enumerate(lines):
        for _ in range(draw(st.integers(min_value=0, max_value=1))):
            out.append(draw(st.sampled_from(["", "  ", "\t"])))  # a blank line
        out.append(line)
        if i >= header:
            record_lines.append(len(out))
    endings = [draw(st.sampled_from(ENDINGS)) for _ in out]
    for i in range(1, len(out)):  # CR then an empty line's LF would be one CRLF break
        if endings[i - 1] == "\r" and out[i] == "":
            endings[i] = "\r"
    text = "".join(line + end for line, end in zip(out, endings, strict=True))
    if not draw(st.booleans()):
        text = text.rstrip("\r\n") if text.strip() else text
    data = text.encode()
    corruption = draw(st.sampled_from((None, None, *CORRUPTIONS)))
    if corruption == "bom":
        return fmt, b"\xef\xbb\xbf" + data, record_lines, False
    if corruption is not None and data:
        at = draw(st.integers(min_value=0, max_value=len(data)))
        insert = {
            "quote": b'"',
            "separator": b"\t" if fmt == "tsv" else b",",
            "nul": b"\x00",
            "bad_utf8": b"\xff",
            "truncate": b"",
        }[corruption]
        data = data[:at] + insert if corruption == "truncate" else data[:at] + insert + data[at:]
        return fmt, data, record_lines, True
    return fmt, data, record_lines, False


def run_cli(tmp: Path, fmt: str, data: bytes, *args: str) -> tuple[int, str]:
    path = tmp / f"in.{fmt}"
    path.write_bytes(data)
    out = tmp / "out"
    runner = CliRunner()
    argv = ["run", str(path), "-o", str(out), "--no-config", "--classes", ",".join(CLASSES)]
    result = runner.invoke(main, [*argv, "--keep", "n", *args])
    return result.exit_code, result.output


@FUZZ
@given(case=files())
def test_random_files_never_crash_and_lose_no_row(tmp_path_factory: Any, case: Any) -> None:
    fmt, data, record_lines, corrupted = case
    tmp = tmp_path_factory.mktemp("fuzz")
    code, output = run_cli(tmp, fmt, data)
    assert code in (0, 1, 2), output
    event(f"exit {code}, {'corrupted' if corrupted else 'clean'} {fmt}")
    if code == 2:
        return
    targets = pl.read_parquet(tmp / "out" / "targets.parquet")
    rejects = pl.read_parquet(tmp / "out" / "rejects.parquet")
    manifest = json.loads((tmp / "out" / "manifest.json").read_text())
    assert targets.height + rejects.height == manifest["rows"]["in"]
    if corrupted:
        return  # a corrupted file that still parses: its records are not known here
    assert targets.height + rejects.height == len(record_lines)
    assert manifest["rows"]["in"] == manifest["rows"]["accepted"] + manifest["rows"]["rejected"]
    assert manifest["rows"]["in"] == len(record_lines)
    rejected_lines = rejects["row"].to_list()
    accepted_lines = [record_lines[int(n)] for n in targets["n"].to_list()]
    assert sorted(rejected_lines + accepted_lines) == record_lines


@FUZZ
@given(
    fmt=st.sampled_from(["csv", "tsv", "jsonl"]),
    row=records(n_max=1).filter(bool),
    others=records(n_max=5),
    position=st.integers(min_value=0, max_value=5),
    data=st.data(),
)
def test_a_rows_verdict_does_not_depend_on_other_rows(
    tmp_path_factory: Any, fmt: str, row: Any, others: Any, position: int, data: Any
) -> None:
    target = {**row[0], "id": "target", "n": "0"}
    rest = [{**r, "id": f"other{i}", "n": str(i + 1)} for i, r in enumerate(others)]
    encoded = encode(fmt, [target, *rest], data.draw)  # each row encoded once
    header, mine, theirs = encoded[:1], encoded[1], encoded[2:]
    alone = verdict(tmp_path_factory, fmt, [*header, mine])
    among = verdict(tmp_path_factory, fmt, [*header, *theirs[:position], mine, *theirs[position:]])
    assert alone == among


def encode(fmt: str, rows: list[dict[str, str]], draw: Any) -> list[str]:
    """The lines of a file (a header first, empty for JSONL, so row i is line i + 1)."""
    if fmt == "jsonl":
        return ["", *json_lines(rows, draw)]
    return text_lines(rows, "\t" if fmt == "tsv" else ",")


def verdict(tmp_path_factory: Any, fmt: str, lines: list[str]) -> Any:
    """The target row's outcome: its soft target, or its reject reason."""
    tmp = tmp_path_factory.mktemp("verdict")
    code, output = run_cli(tmp, fmt, ("\n".join(lines) + "\n").encode())
    assert code in (0, 1), output
    targets = pl.read_parquet(tmp / "out" / "targets.parquet").filter(pl.col("n") == "0")
    if targets.height:
        return ("accepted", [round(v, 6) for v in targets["soft_target"][0]])
    rejects = pl.read_parquet(tmp / "out" / "rejects.parquet").filter(pl.col("id") == "target")
    return ("rejected", rejects["reason"].to_list())
