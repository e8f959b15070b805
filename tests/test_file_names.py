"""Input files named with characters Polars would expand as a glob, or bytes that are
not UTF-8, and command names or option values that try to start a CI command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from labelprep.cli import main

ROWS = "id,label\n1,a\n2,b\n3,zz\n"


def run_cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, [*args, "--no-config"])
    return result.exit_code, result.output


@pytest.mark.parametrize("name", ["e[1].csv", "f*.csv", "g?.csv", "h{a,b}.csv", "[x].jsonl"])
def test_a_file_named_like_a_glob_is_read_as_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.chdir(tmp_path)
    if name.endswith(".jsonl"):
        Path(name).write_text('{"id": 1, "label": "a"}\n{"id": 2, "label": "b"}\n')
    else:
        Path(name).write_text(ROWS)
    Path("decoy1.csv").write_text("id,label\n9,q\n")  # what the pattern would also match
    code, _ = run_cli("run", name, "-o", "out", "--classes", "a,b")
    targets = pl.read_parquet("out/targets.parquet")
    rejects = pl.read_parquet("out/rejects.parquet")
    assert code == 0
    assert targets["id"].to_list() == [1, 2]
    assert rejects["source"].to_list() == ([] if name.endswith(".jsonl") else [name])


def test_a_parquet_file_named_like_a_glob(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    pl.DataFrame({"id": [1, 2], "label": ["a", "b"]}).write_parquet("q[1].parquet")
    code, _ = run_cli("run", "q[1].parquet", "-o", "out")
    assert code == 0
    assert pl.read_parquet("out/targets.parquet")["hard_label"].to_list() == ["a", "b"]


def test_a_pattern_still_expands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("a1.csv").write_text("id,label\n1,a\n")
    Path("a2.csv").write_text("id,label\n2,b\n")
    code, _ = run_cli("run", "a*.csv", "-o", "out")
    assert code == 0
    assert sorted(pl.read_parquet("out/targets.parquet")["id"].to_list()) == [1, 2]


@pytest.mark.skipif(sys.platform == "darwin", reason="macOS file systems refuse non-UTF-8 names")
def test_a_file_name_that_is_not_utf8_is_refused_clearly(tmp_path: Path) -> None:
    name = os.fsdecode(b"bad\xff.csv")
    (tmp_path / name).write_text(ROWS)
    done = subprocess.run(
        [sys.executable, "-m", "labelprep", "run", name, "-o", "out", "--no-config"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        errors="backslashreplace",
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "Error: bad\\xff.csv: the file name is not valid UTF-8; rename the file "
        "(labelprep keeps each file's name with its rows)."
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # nothing created


@pytest.mark.parametrize(
    "args",
    [
        ["x\n::error::pwn"],
        ["stats", "a.csv", "--format", "x\n::error::pwn"],
        ["run", "a.csv", "--tolerance", "x\r::add-mask::pwn"],
        ["aggregate", "a.csv", "--method", "\u2028::error::pwn"],
    ],
)
def test_usage_errors_quote_what_was_typed_safely(args: list[str]) -> None:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    lines = result.output.replace("\r", "\n").replace("\u2028", "\n").splitlines()
    assert lines, "a usage error says what was wrong"
    assert not [line for line in lines if line.lstrip().startswith("::")]
