"""No data-derived text can start a CI workflow command, in any format or stream."""

from __future__ import annotations

import glob
import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from labelprep.cli import main
from labelprep.console import github_data, github_property, safe

# Every character some CI runner treats as the end of a line.
LINE_BREAKS = re.compile("\r\n|[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
HOSTILE = (
    "x\n::error::pwn",
    "\r::add-mask::x",
    "::set-output name=a::b",
    "%0A::error::x",
    "a\u2028::error::x",
    "\u2029::warning::x",
    "\x85::notice::x",
    "\x0b::x\x0c::y",
    "\r\n##[error]x",
    "##vso[task.setvariable variable=a]b",
    "  ::group::x",
    "\t::x",
    "\xa0::x",
    "\u200b::x",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
)
# Characters that make up the commands, so that generated text often builds one.
COMMAND_PARTS = st.sampled_from(
    [":", "::", "#", "##[", "##vso[", "##VSO[", " ", "\t", "\n", "\r", "\u2028", "\x85", "%0A", "x"]
)
TEXTS = st.text() | st.lists(COMMAND_PARTS | st.text(max_size=3)).map("".join)


def starts_a_command(line: str) -> bool:
    stripped = line.lstrip()
    return stripped.startswith(("::", "##[")) or "##vso[" in line.lower()


def injected_lines(text: str) -> list[str]:
    """The lines of text (split on every line break) that a runner would execute."""
    return [line for line in LINE_BREAKS.split(text) if starts_a_command(line)]


def test_the_hostile_examples_do_inject_when_printed_raw() -> None:
    inert = [text for text in HOSTILE if not injected_lines(text)]
    assert inert == ["%0A::error::x", "\u200b::x", HOSTILE[-2], HOSTILE[-1]]


def test_safe_renders_line_breaks_and_commands_visibly() -> None:
    assert safe("x\n::error::pwn") == "x\\n::error::pwn"
    assert safe("\r::add-mask::x") == "\\r::add-mask::x"
    assert safe("::set-output") == "\\x3a:set-output"
    assert safe("  ::x") == "  \\x3a:x"
    assert safe("a\u2028b\u2029c\x85d\x0be\x0cf") == "a\\u2028b\\u2029c\\x85d\\x0be\\x0cf"
    assert safe("##[error]x ##vso[a] ##VSO[b]") == "\\x23#[error]x \\x23#vso[a] \\x23#VSO[b]"
    assert safe("bad\udcffname.csv") == "bad\\udcffname.csv"
    assert safe(r"C:\data\x.csv") == r"C:\data\x.csv"
    assert safe("cat: 0.5, dog") == "cat: 0.5, dog"


@given(TEXTS)
@example("x\n::error::pwn")
def test_no_line_of_safe_text_starts_a_command(text: str) -> None:
    rendered = safe(text)
    assert not LINE_BREAKS.search(rendered)
    assert not injected_lines(rendered)
    assert rendered.isprintable()
    assert safe(rendered) == rendered or rendered.lstrip().startswith("\\x")


@given(TEXTS, TEXTS)
def test_safe_fragment_after_own_text_never_starts_a_command(before: str, text: str) -> None:
    assert not injected_lines(f"note: {safe(before)} {safe(text)}")


@given(TEXTS)
def test_github_escaping_keeps_a_command_on_one_line(text: str) -> None:
    line = (
        f"::error file={github_property(text)},title={github_property(text)}::{github_data(text)}"
    )
    assert not LINE_BREAKS.search(line)
    properties = line[len("::error ") : line.index("::", 2)]
    assert properties.count(",") == 1
    assert properties.count("=") >= 2
    assert ":" not in properties


def test_github_escaping_follows_the_runner_rules() -> None:
    assert github_data("50%\r\nx") == "50%25%0D%0Ax"
    assert github_property("a:b,c%") == "a%3Ab%2Cc%25"
    assert github_data("a\u2028::x") == "a\\u2028::x"
    assert github_data("::x ##vso[y]") == "::x \\x23#vso[y]"


# -- the real command line, with hostile data in every printed place ---------------------------

HOSTILE_DATA = (
    "x\n::error::pwn",
    "\r::add-mask::x",
    "::set-output name=a::b",
    "%0A::error::y",
    "a\u2028::error::z",
    "q\x85::warning::w",
    "##vso[task.setvariable variable=a]b",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
)
# Lines labelprep itself prints in --format github: each names labelprep.
OWN_COMMAND = re.compile(r"::(?:error|notice) (?:[^:]*,)?title=labelprep[ %]|::notice::labelprep ")


def assert_no_injection(text: str, *, github: bool = False) -> None:
    """No line of ``text`` starts a command, but labelprep's own in ``--format github``."""
    for line in injected_lines(text):
        assert github, f"injectable line: {line!r}"
        assert OWN_COMMAND.match(line.lstrip()), f"injectable line: {line!r}"


def assert_clean(result: Result, *, github: bool = False) -> None:
    assert result.exit_code in (0, 1, 2), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert_no_injection(result.stdout, github=github)
    assert_no_injection(result.stderr)


def write_rows(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


@pytest.fixture
def hostile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Labels, ids, splits and an extra column named by hostile strings (a JSONL file)."""
    monkeypatch.chdir(tmp_path)
    rows: list[dict[str, object]] = [
        {"id": text, "label": text, "split": HOSTILE_DATA[-1 - i], text[:3] + "col": 1}
        for i, text in enumerate(HOSTILE_DATA)
    ]
    rows += [{"id": f"ok{i}", "label": "cat", "split": "train"} for i in range(3)]
    rows.append({"id": "ok9", "label": "dog", "split": HOSTILE_DATA[0]})
    return write_rows(tmp_path / "hostile.jsonl", rows)


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, [*args, "--no-config"])


@pytest.mark.parametrize("fmt", ["text", "json", "github", "junit"])
@pytest.mark.parametrize("classes", [None, "cat,dog", "cat,dog," + HOSTILE_DATA[0]])
def test_validate_in_every_format(
    hostile: Path, tmp_path: Path, fmt: str, classes: str | None
) -> None:
    """Inferred class names, or unknown labels rejected with their value and id."""
    flags = ["--classes", classes] if classes else []
    summary = tmp_path / "summary.md"
    result = invoke("validate", str(hostile), "--format", fmt, "--summary", str(summary), *flags)
    assert_clean(result, github=fmt == "github")
    assert result.exit_code in (0, 1)
    markdown = summary.read_text(encoding="utf-8")
    assert "<script" not in markdown
    assert "<img" not in markdown
    if fmt == "json":
        json.loads(result.stdout)
    if fmt == "junit":
        ET.fromstring(result.stdout)


@pytest.mark.parametrize("fmt", ["table", "json", "csv"])
def test_stats_in_every_format(hostile: Path, fmt: str) -> None:
    result = invoke("stats", str(hostile), "--format", fmt)
    assert result.exit_code == 0, result.output
    assert_clean(result)
    assert "note: classes inferred" in result.stderr


def test_run_prints_nothing_injectable(hostile: Path, tmp_path: Path) -> None:
    result = invoke("run", str(hostile), "-o", str(tmp_path / "out"))
    assert_clean(result)
    assert "classes: " in result.stdout


@pytest.mark.parametrize("fmt", ["text", "json", "github", "junit"])
def test_compare_splits_with_hostile_names(hostile: Path, fmt: str) -> None:
    for split_a in (HOSTILE_DATA[0], "train", "no\n::error::such split"):
        result = invoke(
            "compare", str(hostile), "--split-a", split_a, "--split-b", HOSTILE_DATA[-1],
            "--format", fmt, "--max-linf", "0.1",
        )  # fmt: skip
        assert_clean(result, github=fmt == "github")


def test_wide_columns_named_by_hostile_strings(tmp_path: Path) -> None:
    names = [text for text in HOSTILE_DATA if "/" not in text]
    rows = [{"id": 1, **{name: 1 / len(names) for name in names}}, {"id": 2, names[0]: 2.0}]
    path = write_rows(tmp_path / "wide.jsonl", rows)
    for fmt in ("text", "json", "github", "junit"):
        result = invoke("validate", str(path), "--format", fmt)
        assert_clean(result, github=fmt == "github")
    assert_clean(invoke("stats", str(path)))


@pytest.mark.parametrize("name", [t for t in HOSTILE_DATA if "/" not in t])
def test_file_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.chdir(tmp_path)
    path = write_rows(tmp_path / f"{name}.jsonl", [{"id": 1, "label": "cat"}, {"id": 1}])
    for fmt in ("text", "json", "github", "junit"):
        found = invoke("validate", glob.escape(path.name), "--format", fmt)
        assert_clean(found, github=fmt == "github")
        # A literal name with glob brackets is not read back yet (a pattern): exit 2 then.
        assert found.exit_code in ((1, 2) if "[" in name else (1,))
        missing = invoke("validate", f"missing {name}.csv", "--format", fmt)
        assert_clean(missing, github=fmt == "github")
        assert missing.exit_code == 2


@pytest.mark.parametrize("text", HOSTILE_DATA)
def test_config_values(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.chdir(tmp_path)
    write_rows(tmp_path / "a.jsonl", [{"id": 1, "label": "cat"}])
    value = json.dumps(text)  # a TOML basic string
    for body in (f"id_column = {value}", f"classes = [{value}]", f"{value} = 1", f"keep = {value}"):
        (tmp_path / "labelprep.toml").write_text(body + "\n", encoding="utf-8")
        for fmt in ("text", "github", "json", "junit"):
            result = CliRunner().invoke(main, ["validate", "a.jsonl", "--format", fmt])
            assert_clean(result, github=fmt == "github")
            assert result.exit_code in (1, 2)


@pytest.mark.parametrize("fmt", ["text", "json", "github", "junit"])
def test_option_values(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str) -> None:
    monkeypatch.chdir(tmp_path)
    write_rows(tmp_path / "a.jsonl", [{"id": 1, "label": "cat"}])
    for flags in (
        ["--max-reject-rate", HOSTILE_DATA[0]],
        ["--id-column", HOSTILE_DATA[1]],
        ["--config", HOSTILE_DATA[2]],
        ["--baseline", HOSTILE_DATA[0], "--max-linf", "0.1"],
    ):
        args = ["validate", "a.jsonl", "--format", fmt, *flags]
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 2, result.output
        assert_clean(result, github=fmt == "github")
        if fmt == "json":
            assert json.loads(result.stdout)["exit_code"] == 2


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=TEXTS, fmt=st.sampled_from(["text", "json", "github", "junit"]))
def test_any_label_id_or_split_in_any_format(tmp_path: Path, text: str, fmt: str) -> None:
    rows = [
        {"id": text, "label": text, "split": text},
        {"id": "b", "label": "cat", "split": text + "2"},
        {"id": "c", "label": "dog"},
    ]
    path = write_rows(tmp_path / "data.jsonl", rows)
    summary = tmp_path / "summary.md"
    summary.unlink(missing_ok=True)
    flags = ["--format", fmt, "--classes", "cat,dog", "--summary", str(summary)]
    assert_clean(invoke("validate", str(path), *flags), github=fmt == "github")
    markdown = summary.read_text(encoding="utf-8")
    assert "<" not in markdown  # no HTML tag of the data survives
    assert_no_injection(markdown)
    assert_clean(invoke("stats", str(path)))


def test_a_real_process_prints_nothing_injectable(hostile: Path, tmp_path: Path) -> None:
    for args in (
        ["validate", str(hostile)],  # the default format, as a CI step would run it
        ["validate", str(hostile), "x\n::error::missing.csv", "--format", "github"],
    ):
        done = subprocess.run(
            [sys.executable, "-m", "labelprep", *args, "--no-config"],
            capture_output=True,
            check=False,
            cwd=tmp_path,
        )
        assert done.returncode in (0, 1, 2), done.stderr
        stdout = done.stdout.decode("utf-8")
        assert_no_injection(stdout, github="github" in args)
        assert_no_injection(done.stderr.decode("utf-8"))
        assert "Traceback" not in done.stderr.decode("utf-8")
