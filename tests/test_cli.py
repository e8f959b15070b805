"""The command line: exit codes, exact messages and every output format.

Exit codes: 0 success, 1 the data failed a gate, 2 usage or input error, 3 internal error.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import click
import polars as pl
import pytest
from click.testing import CliRunner, Result

import labelprep
from labelprep.cli import main
from tests.conftest import BAD_SUM_MESSAGE, ONE_BAD_ROW, OUTPUT_FILES, SPEC_TABLE

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"

GITHUB_ERROR = re.compile(r"^::error file=.+,line=\d+")


@pytest.fixture(autouse=True)
def _in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Work in the test's folder: relative paths in messages, and no config file found."""
    monkeypatch.chdir(tmp_path)


def write_csv(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def label_csv(labels: str) -> str:
    rows = [f"{i},{c}" for i, c in enumerate(labels, start=1)]
    return "id,label\n" + "\n".join(rows) + "\n"


def markdown_rows(table: str) -> list[list[str]]:
    """The cells of a Markdown table's body rows."""
    lines = [line for line in table.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[2:]]


# -- every command is documented (sqlite-utils' docs test) ------------------------------------


@pytest.mark.parametrize("name", sorted(main.commands))
def test_command_has_help_text(name: str) -> None:
    command = main.commands[name]
    assert command.help
    assert command.help.strip()


@pytest.mark.parametrize("name", sorted(main.commands))
def test_command_is_in_the_readme(name: str) -> None:
    assert f"labelprep {name}" in README.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(main.commands))
def test_command_help_exits_zero(name: str) -> None:
    result = invoke(name, "--help")
    assert result.exit_code == 0
    assert result.stdout.startswith(f"Usage: main {name} ")


# -- run --------------------------------------------------------------------------------------


def test_run_writes_the_six_outputs(tmp_path: Path) -> None:
    write_csv(tmp_path, "spec.csv", SPEC_TABLE)
    result = invoke("run", "spec.csv", "-o", "out")
    assert result.exit_code == 0
    assert result.stdout == (
        "4 rows in: 4 accepted, 0 rejected\n"
        "classes: c1, c2, c3\n"
        "wrote out/: class_stats.parquet manifest.json rejects.parquet report.html report.md "
        "targets.parquet\n"
    )
    assert {p.name for p in (tmp_path / "out").iterdir()} == OUTPUT_FILES
    targets = pl.read_parquet(tmp_path / "out" / "targets.parquet")
    assert targets["hard_label"].to_list() == ["c1", "c2", "c3", "c1"]


def test_run_reports_rejects_by_reason(tmp_path: Path) -> None:
    write_csv(tmp_path, "bad.csv", ONE_BAD_ROW)
    result = invoke("run", "bad.csv", "-o", "out")
    assert result.exit_code == 0  # run writes what it can; validate is the gate
    assert result.stdout.startswith("4 rows in: 3 accepted, 1 rejected (bad_sum 1)\n")


# -- stats ------------------------------------------------------------------------------------


def test_stats_table_shows_soft_mass_and_support(tmp_path: Path) -> None:
    write_csv(tmp_path, "spec.csv", SPEC_TABLE)
    result = invoke("stats", "spec.csv")
    assert result.exit_code == 0
    rows = markdown_rows(result.stdout)
    assert [row[:5] for row in rows] == [
        ["(all)", "c1", "2.1000", "4", "2"],
        ["(all)", "c2", "1.1500", "3", "1"],
        ["(all)", "c3", "0.7500", "3", "1"],
    ]


def test_stats_json(tmp_path: Path) -> None:
    write_csv(tmp_path, "spec.csv", SPEC_TABLE)
    result = invoke("stats", "spec.csv", "--format", "json")
    assert result.exit_code == 0
    printed = json.loads(result.stdout)
    assert printed["rows"] == {
        "in": 4,
        "accepted": 4,
        "rejected": 0,
        "rejected_by_reason": {},
        "fallbacks": {},
    }
    rows = printed["class_stats"]
    assert [r["class"] for r in rows] == ["c1", "c2", "c3"]
    assert [r["soft_mass"] for r in rows] == pytest.approx([2.1, 1.15, 0.75])
    assert [r["support"] for r in rows] == [4, 3, 3]
    assert [r["prior"] for r in rows] == pytest.approx([0.525, 0.2875, 0.1875])


def test_stats_csv(tmp_path: Path) -> None:
    write_csv(tmp_path, "spec.csv", SPEC_TABLE)
    result = invoke("stats", "spec.csv", "--format", "csv")
    assert result.exit_code == 0
    table = pl.read_csv(io.StringIO(result.stdout))
    assert table["class"].to_list() == ["c1", "c2", "c3"]
    assert table["soft_mass"].to_list() == pytest.approx([2.1, 1.15, 0.75])
    assert table["support"].to_list() == [4, 3, 3]


# -- validate ---------------------------------------------------------------------------------


def test_validate_clean_input_exits_zero(tmp_path: Path) -> None:
    write_csv(tmp_path, "spec.csv", SPEC_TABLE)
    result = invoke("validate", "spec.csv")
    assert result.exit_code == 0
    assert result.stdout == (
        "labelprep validate: PASS\n"
        "4 rows from 1 input: 4 accepted, 0 rejected\n"
        "gates:\n"
        "  PASS max_reject_rate = 0 (threshold 0): reject rate 0 <= 0 (0 of 4 rows rejected)\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spec.csv"]


def test_validate_rejected_row_exits_one_naming_file_line_and_reason(tmp_path: Path) -> None:
    write_csv(tmp_path, "bad.csv", ONE_BAD_ROW)
    result = invoke("validate", "bad.csv")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == "labelprep validate: FAIL"
    assert "  bad_sum: 1 row\n" in result.stdout
    assert f"    bad.csv:4 id=3 column=c1..c3 value='1.5': {BAD_SUM_MESSAGE}\n" in result.stdout


@pytest.mark.parametrize("labels", ["a", "ab", "abc"])
def test_validate_tiny_label_only_input(tmp_path: Path, labels: str) -> None:
    """Label-only files of one to three rows have no wide columns at all (a past crash)."""
    write_csv(tmp_path, "tiny.csv", label_csv(labels))
    result = invoke("validate", "tiny.csv", "--require-classes")
    assert result.exit_code == 0
    assert f"{len(labels)} accepted, 0 rejected" in result.stdout


def test_validate_threshold_flag_lets_the_rejected_row_pass(tmp_path: Path) -> None:
    write_csv(tmp_path, "bad.csv", ONE_BAD_ROW)
    result = invoke("validate", "bad.csv", "--max-reject-rate", "0.5")
    assert result.exit_code == 0
    assert result.stdout.startswith("labelprep validate: PASS\n")


@pytest.mark.parametrize(
    ("flags", "exit_code"),
    [
        (["--min-class-count", "0.8"], 1),
        (["--min-class-count", "0.75"], 0),
        (["--max-imbalance-ratio", "2.5"], 1),
        (["--max-imbalance-ratio", "3"], 0),
        (["--min-class-count", "3.5", "--count-by", "support"], 1),
        (["--min-class-count", "3", "--count-by", "support"], 0),
    ],
)
def test_validate_class_count_gates(tmp_path: Path, flags: list[str], exit_code: int) -> None:
    write_csv(tmp_path, "spec.csv", SPEC_TABLE)
    assert invoke("validate", "spec.csv", *flags).exit_code == exit_code


def test_validate_github_format(tmp_path: Path) -> None:
    write_csv(tmp_path, "bad.csv", ONE_BAD_ROW)
    result = invoke("validate", "bad.csv", "--format", "github")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines == [
        f"::error file=bad.csv,line=4,title=labelprep bad_sum::{BAD_SUM_MESSAGE}",
        "::error title=labelprep gate max_reject_rate::reject rate 0.25 > 0 (1 of 4 rows rejected)",
    ]
    assert GITHUB_ERROR.match(lines[0])


def test_validate_github_format_on_a_pass_is_a_notice(tmp_path: Path) -> None:
    write_csv(tmp_path, "spec.csv", SPEC_TABLE)
    result = invoke("validate", "spec.csv", "--format", "github")
    assert result.exit_code == 0
    assert result.stdout.startswith("::notice::labelprep validate: PASS")
    assert not GITHUB_ERROR.search(result.stdout)


def test_validate_junit_format(tmp_path: Path) -> None:
    write_csv(tmp_path, "bad.csv", ONE_BAD_ROW)
    # Accepted rows 1, 2 and 4 leave c3 a soft mass of 0.05 + 0 + 0.3 = 0.35.
    result = invoke("validate", "bad.csv", "--format", "junit", "--min-class-count", "0.3")
    assert result.exit_code == 1
    root = ET.fromstring(result.stdout)
    cases = {case.get("name"): case for case in root.iter("testcase")}
    assert set(cases) == {"max_reject_rate", "min_class_count", "rows"}
    assert cases["max_reject_rate"].find("failure") is not None
    assert cases["min_class_count"].find("failure") is None
    rows_failure = cases["rows"].find("failure")
    assert rows_failure is not None
    assert rows_failure.get("message") == "1 of 4 rows rejected (bad_sum: 1)"
    assert (root.get("tests"), root.get("failures")) == ("3", "2")


def test_validate_json_format_lists_each_gate(tmp_path: Path) -> None:
    write_csv(tmp_path, "spec.csv", SPEC_TABLE)
    flags = ["--min-class-count", "0.8", "--max-imbalance-ratio", "3", "--require-classes"]
    result = invoke("validate", "spec.csv", "--format", "json", *flags)
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["passed"] is False
    assert (report["rows_in"], report["rows_rejected"]) == (4, 0)
    gates = {g["name"]: g for g in report["gates"]}
    assert list(gates) == [
        "max_reject_rate",
        "min_class_count",
        "max_imbalance_ratio",
        "require_classes",
    ]
    assert {name: g["passed"] for name, g in gates.items()} == {
        "max_reject_rate": True,
        "min_class_count": False,
        "max_imbalance_ratio": True,
        "require_classes": True,
    }
    assert gates["min_class_count"]["value"] == pytest.approx(0.75)
    assert gates["max_imbalance_ratio"]["value"] == pytest.approx(2.8)


def test_validate_summary_appends_markdown(tmp_path: Path) -> None:
    write_csv(tmp_path, "bad.csv", ONE_BAD_ROW)
    summary = write_csv(tmp_path, "summary.md", "# before\n")
    result = invoke("validate", "bad.csv", "--summary", "summary.md")
    assert result.exit_code == 1
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("# before\n## labelprep validate: FAIL\n\n")
    assert "| max_reject_rate | **FAIL** | 0.25 | 0 |" in text
    assert "| bad.csv | 4 | 3 | bad_sum | c1..c3 | 1.5 |" in text
    assert invoke("validate", "bad.csv", "--summary", "summary.md").exit_code == 1
    assert summary.read_text(encoding="utf-8").count("## labelprep validate: FAIL") == 2


def test_validate_output_dir_writes_the_outputs(tmp_path: Path) -> None:
    write_csv(tmp_path, "spec.csv", SPEC_TABLE)
    result = invoke("validate", "spec.csv", "-o", "out")
    assert result.exit_code == 0
    assert {p.name for p in (tmp_path / "out").iterdir()} == OUTPUT_FILES


# -- input errors: exit 2, one line, nothing left behind --------------------------------------

LATIN_1 = b"id,label\n1,caf\xe9\n" + b"".join(b"%d,a\n" % i for i in range(2, 20_000))

INPUT_ERRORS = {
    "missing file": (
        None,
        "missing.csv",
        "Error: missing.csv: no such file.",
    ),
    "unknown extension": (
        SPEC_TABLE.encode(),
        "labels.txt",
        "Error: labels.txt: unknown format '.txt'; use one of .csv, .jsonl, .ndjson, "
        ".parquet, .pq, .tab, .tsv, or pass --input-format csv|tsv|parquet|jsonl.",
    ),
    "missing id column": (
        SPEC_TABLE.replace("id,", "idx,", 1).encode(),
        "noid.csv",
        "Error: noid.csv: the id column 'id' is missing; the file has 'idx', 'c1', 'c2', "
        "'c3'. Did you mean 'idx'? (or pass --id-column NAME)",
    ),
    "empty file": (
        b"",
        "empty.csv",
        "Error: empty.csv: the file is empty.",
    ),
    "not UTF-8": (
        LATIN_1,
        "latin.csv",
        "Error: latin.csv, line 2: the file is not valid UTF-8 (byte b'\\xe9'); "
        "re-save it as UTF-8.",
    ),
}


def write_bad_input(tmp_path: Path, content: bytes | None, name: str) -> None:
    if content is not None:
        (tmp_path / name).write_bytes(content)


@pytest.mark.parametrize("command", ["run", "validate", "stats"])
@pytest.mark.parametrize("case", sorted(INPUT_ERRORS))
def test_input_error_exits_two_with_one_line(tmp_path: Path, command: str, case: str) -> None:
    content, name, message = INPUT_ERRORS[case]
    write_bad_input(tmp_path, content, name)
    result = invoke(command, name)
    assert result.exit_code == 2
    assert result.stderr == message + "\n"
    assert result.stdout == ""
    assert "Traceback" not in result.output


@pytest.mark.parametrize("case", sorted(INPUT_ERRORS))
def test_input_error_leaves_no_output_directory(tmp_path: Path, case: str) -> None:
    content, name, _ = INPUT_ERRORS[case]
    write_bad_input(tmp_path, content, name)
    before = {p.name for p in tmp_path.iterdir()}
    assert invoke("run", name, "-o", "out").exit_code == 2
    assert {p.name for p in tmp_path.iterdir()} == before
    assert invoke("validate", name, "-o", "out").exit_code == 2
    assert {p.name for p in tmp_path.iterdir()} == before


def test_encoding_error_while_writing_leaves_no_output_directory(tmp_path: Path) -> None:
    """A bad byte past the first 64 KiB is found, with its line; no output is left."""
    body = b"".join(b"%d,a\n" % i for i in range(1, 20_000))
    (tmp_path / "late.csv").write_bytes(b"id,label\n" + body + b"20000,caf\xe9\n")
    result = invoke("run", "late.csv", "-o", "out", "--classes", "a,b")
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: late.csv, line 20001: the file is not valid UTF-8 (byte b'\\xe9'); "
        "re-save it as UTF-8.\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["late.csv"]


def test_run_refuses_to_replace_a_folder_that_is_not_an_output(tmp_path: Path) -> None:
    write_csv(tmp_path, "spec.csv", SPEC_TABLE)
    (tmp_path / "out").mkdir()
    write_csv(tmp_path, "out/notes.txt", "keep me")
    result = invoke("run", "spec.csv", "-o", "out")
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: out: the output path holds files labelprep did not write: notes.txt; "
        "labelprep replaces only an empty directory or its own output (nothing was "
        "changed). Choose another -o directory, or move those files away.\n"
    )
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["notes.txt"]


def test_unknown_option_is_a_usage_error(tmp_path: Path) -> None:
    write_csv(tmp_path, "spec.csv", SPEC_TABLE)
    result = invoke("validate", "spec.csv", "--max-reject-rat", "0.5")
    assert result.exit_code == 2
    assert result.stderr.endswith(
        "Error: No such option '--max-reject-rat'. Did you mean '--max-reject-rate'?\n"
    )


# -- compare ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("max_linf", "exit_code"), [("0.05", 1), ("0.2", 0)])
def test_compare_exit_code(tmp_path: Path, max_linf: str, exit_code: int) -> None:
    """Priors [0.5, 0.3, 0.2] and [0.4, 0.4, 0.2]: L-infinity 0.1."""
    write_csv(tmp_path, "a.csv", label_csv("aaaaabbbcc"))
    write_csv(tmp_path, "b.csv", label_csv("aaaabbbbcc"))
    result = invoke("compare", "a.csv", "b.csv", "--max-linf", max_linf)
    assert result.exit_code == exit_code
    verdict = "PASS" if exit_code == 0 else "FAIL"
    assert result.stdout.splitlines()[0] == f"labelprep compare: {verdict} (a = a.csv, b = b.csv)"
    assert "a      0.5000  0.4000 -0.1000 *\n" in result.stdout


def test_compare_json(tmp_path: Path) -> None:
    write_csv(tmp_path, "a.csv", label_csv("aaaaabbbcc"))
    write_csv(tmp_path, "b.csv", label_csv("aaaabbbbcc"))
    result = invoke("compare", "a.csv", "b.csv", "--format", "json", "--max-jsd", "0.01")
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["drift"]["linf"] == pytest.approx(0.1)
    assert [g["name"] for g in report["gates"]] == ["max_linf", "max_jsd"]


# -- report -----------------------------------------------------------------------------------


def test_report_rerenders_a_run(tmp_path: Path) -> None:
    write_csv(tmp_path, "spec.csv", SPEC_TABLE)
    assert invoke("run", "spec.csv", "-o", "out").exit_code == 0
    markdown = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    (tmp_path / "out" / "report.md").unlink()
    (tmp_path / "out" / "report.html").unlink()
    result = invoke("report", "out")
    assert result.exit_code == 0
    assert result.stdout == "wrote out/report.md\nwrote out/report.html\n"
    assert (tmp_path / "out" / "report.md").read_text(encoding="utf-8") == markdown
    assert (tmp_path / "out" / "report.html").read_text(encoding="utf-8") == html


def test_report_on_a_folder_that_is_not_an_output(tmp_path: Path) -> None:
    (tmp_path / "notout").mkdir()
    result = invoke("report", "notout")
    assert result.exit_code == 2
    assert (
        result.stderr == "Error: notout: no manifest.json; is this a labelprep output directory?\n"
    )


# -- schema -----------------------------------------------------------------------------------


def test_schema_prints_the_four_contracts() -> None:
    result = invoke("schema")
    assert result.exit_code == 0
    contracts = json.loads(result.stdout)
    assert set(contracts) == {"input", "targets", "rejects", "class_stats"}
    assert {name: c["name"] for name, c in contracts.items()} == {
        "input": "input",
        "targets": "targets",
        "rejects": "rejects",
        "class_stats": "class_stats",
    }


def test_schema_prints_one_contract() -> None:
    result = invoke("schema", "targets")
    assert result.exit_code == 0
    contract = json.loads(result.stdout)
    assert contract["name"] == "targets"
    assert {"id", "soft_target", "mask", "hard_label"} <= set(contract["columns"])


def test_schema_of_an_unknown_contract_is_a_usage_error() -> None:
    result = invoke("schema", "target")
    assert result.exit_code == 2
    assert result.stderr.endswith(
        "'target' is not one of 'input', 'targets', 'rejects', 'class_stats'.\n"
    )


# -- version ----------------------------------------------------------------------------------


def test_python_m_labelprep_version() -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-m", "labelprep", "--version"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == f"labelprep, version {labelprep.__version__}\n"


def test_main_is_a_click_group() -> None:
    assert isinstance(main, click.Group)
    assert {"run", "validate", "stats", "report", "compare", "schema"} <= set(main.commands)


# -- nothing dropped without a word -----------------------------------------------------------


def test_stats_notes_rows_in_accepted_and_rejected_on_stderr(tmp_path: Path) -> None:
    write_csv(tmp_path, "bad.csv", ONE_BAD_ROW)
    result = invoke("stats", "bad.csv", "--no-config")
    assert result.exit_code == 0
    assert "note: 4 rows in: 3 accepted, 1 rejected (bad_sum 1)\n" in result.stderr
    assert "rows in" not in result.stdout


def test_stats_json_rows_block_counts_the_rejects(tmp_path: Path) -> None:
    write_csv(tmp_path, "bad.csv", ONE_BAD_ROW)
    result = invoke("stats", "bad.csv", "--format", "json", "--no-config")
    assert result.exit_code == 0
    printed = json.loads(result.stdout)
    assert printed["rows"] == {
        "in": 4,
        "accepted": 3,
        "rejected": 1,
        "rejected_by_reason": {"bad_sum": 1},
        "fallbacks": {},
    }
    overall = [r for r in printed["class_stats"] if r["split"] is None]
    assert [r["support"] for r in overall] == [3, 2, 2]  # rows 1, 2 and 4 only


def test_run_with_no_accepted_row_exits_one(tmp_path: Path) -> None:
    write_csv(tmp_path, "bad.csv", "id,a,b\n1,0.5,0.6\n2,0.1,0.1\n")
    result = invoke("run", "bad.csv", "-o", "out", "--no-config")
    assert result.exit_code == 1
    assert "2 rows in: 0 accepted, 2 rejected (bad_sum 2)" in result.stdout
    assert result.stderr.endswith(
        "Error: no row was accepted (2 rows in); see rejects.parquet for the reasons.\n"
    )
    assert (tmp_path / "out" / "rejects.parquet").is_file()  # the outputs say why


def test_run_warns_when_most_rows_are_rejected(tmp_path: Path) -> None:
    write_csv(tmp_path, "m.csv", "id,a,b\n1,0.5,0.5\n2,0.5,0.6\n3,0.1,0.1\n")
    result = invoke("run", "m.csv", "-o", "out", "--no-config")
    assert result.exit_code == 0
    assert "warning: most rows were rejected (2 of 3, 67%)" in result.stderr


def test_run_with_half_rejected_does_not_warn(tmp_path: Path) -> None:
    write_csv(tmp_path, "h.csv", "id,a,b\n1,0.5,0.5\n2,0.5,0.6\n")
    result = invoke("run", "h.csv", "-o", "out", "--no-config")
    assert result.exit_code == 0
    assert "warning" not in result.stderr


def test_compare_one_input_without_splits_is_a_usage_error(tmp_path: Path) -> None:
    write_csv(tmp_path, "spec.csv", SPEC_TABLE)
    result = invoke("compare", "spec.csv", "--no-config")
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: compare needs two sides: give B, or two different splits of spec.csv "
        "(--split-a and --split-b).\n"
    )


def test_compare_different_vocabularies_names_the_classes(tmp_path: Path) -> None:
    write_csv(tmp_path, "a.csv", label_csv("xxy"))
    write_csv(tmp_path, "b.csv", label_csv("yzz"))
    result = invoke("compare", "a.csv", "b.csv", "--no-config")
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "Error: a.csv and b.csv have different classes: only in a.csv: x; only in b.csv: z. "
    )
    aligned = invoke("compare", "a.csv", "b.csv", "--align", "union", "--no-config")
    assert aligned.exit_code == 0


def test_aggregate_counts_kept_repeated_votes(tmp_path: Path) -> None:
    votes = "id,annotator,label\ni1,w1,a\ni1,w1,a\ni1,w1,b\ni2,w1,a\ni2,w2,b\ni2,w2,b\n"
    write_csv(tmp_path, "v.csv", votes)
    result = invoke("aggregate", "v.csv", "-o", "out", "--no-config")
    assert result.exit_code == 0
    assert "3 repeated votes (0 rejected)" in result.stdout


# -- votes everywhere -------------------------------------------------------------------------

WIDE_SENTINELS = "id,w1,w2,w3\ni1,a,-1000,b\ni2,-1,b,b\ni3,-1,-1000,-1\n"


def test_validate_gates_a_wide_vote_file_with_two_sentinels(tmp_path: Path) -> None:
    write_csv(tmp_path, "w.csv", WIDE_SENTINELS)
    args = ["validate", "w.csv", "--layout", "wide", "--missing", "-1", "--missing", "-1000"]
    result = invoke(*args, "--classes", "a,b", "--no-config", "--format", "json")
    assert result.exit_code == 1  # i3 has no vote at all: rejected, so the default gate fails
    report = json.loads(result.stdout)
    assert report["rows_accepted"] == 2
    assert report["rejects_by_reason"] == {"no_evidence": 1}


def test_validate_takes_the_duplicate_policy(tmp_path: Path) -> None:
    write_csv(tmp_path, "v.csv", "id,annotator,label\ni1,w1,a\ni1,w1,b\n")
    result = invoke("validate", "v.csv", "--duplicates", "first", "--no-config", "--format", "json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["rejects_by_reason"] == {"duplicate_vote": 1}
    kept = invoke("validate", "v.csv", "--no-config", "--format", "json")
    assert kept.exit_code == 0


def test_one_sentinel_only_makes_the_other_a_class(tmp_path: Path) -> None:
    write_csv(tmp_path, "w.csv", WIDE_SENTINELS)
    result = invoke("aggregate", "w.csv", "--layout", "wide", "-o", "out", "--no-config")
    assert result.exit_code == 0
    assert "classes inferred from the distinct labels in the data: -1000, a, b" in result.stderr


# -- machine-readable failures: the format holds even when the run cannot -----------------------

FILE_ERRORS = [
    (["validate", "missing.csv"], "InputError", "missing.csv: no such file."),
    (["validate", "junk.parquet"], "InputError", "junk.parquet"),
    (["validate", "noid.csv"], "ColumnNotFoundError", "noid.csv: the id column 'id' is missing"),
    (["validate", "spec.csv", "--keep", "id"], "ConfigError", "option keep='id'"),
    (["validate", "spec.csv", "--min-rows", "x"], "UsageError", "'x' is not a valid float."),
    (["compare", "spec.csv", "--split-a", "nope"], "ConfigError", "spec.csv: no split 'nope'"),
    (["compare", "missing.csv", "spec.csv"], "InputError", "missing.csv: no such file."),
]


@pytest.fixture
def error_inputs(tmp_path: Path) -> None:
    write_csv(tmp_path, "spec.csv", SPEC_TABLE)
    write_csv(tmp_path, "noid.csv", SPEC_TABLE.replace("id,", "item,", 1))
    (tmp_path / "junk.parquet").write_bytes(b"PAR1 not really parquet")


@pytest.mark.usefixtures("error_inputs")
@pytest.mark.parametrize(("args", "kind", "message"), FILE_ERRORS)
def test_file_level_error_as_json(args: list[str], kind: str, message: str) -> None:
    result = invoke(*args, "--format", "json")
    assert result.exit_code == 2
    body = json.loads(result.stdout)
    assert (body["passed"], body["exit_code"], body["error"]["type"]) == (False, 2, kind)
    assert message in body["error"]["message"]
    assert "Traceback" not in result.output


@pytest.mark.usefixtures("error_inputs")
@pytest.mark.parametrize(("args", "kind", "message"), FILE_ERRORS)
def test_file_level_error_as_junit(args: list[str], kind: str, message: str) -> None:
    result = invoke(*args, "--format", "junit")
    assert result.exit_code == 2
    root = ET.fromstring(result.stdout)
    (suite,) = root.findall("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("1", "1", "0")
    assert suite.get("hostname")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", suite.get("timestamp", ""))
    assert suite.get("time") == "0.000"
    (case,) = suite.findall("testcase")
    assert case.get("name") == kind
    failure = case.find("failure")
    assert failure is not None
    assert message in failure.get("message", "")


@pytest.mark.usefixtures("error_inputs")
@pytest.mark.parametrize(("args", "kind", "message"), FILE_ERRORS)
def test_file_level_error_as_github(args: list[str], kind: str, message: str) -> None:
    result = invoke(*args, "--format", "github")
    assert result.exit_code == 2
    (line,) = result.stdout.splitlines()
    assert line.startswith(f"::error title=labelprep {args[0]}::")
    assert message in line
    assert result.stderr.count("Error: ") == 1


@pytest.mark.usefixtures("error_inputs")
def test_file_level_error_in_text_prints_nothing_on_stdout(tmp_path: Path) -> None:
    result = invoke("validate", "missing.csv", "--summary", "summary.md")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.endswith("Error: missing.csv: no such file.\n")
    summary = (tmp_path / "summary.md").read_text(encoding="utf-8")
    assert summary == "## labelprep validate: ERROR\n\nmissing.csv: no such file.\n"


def test_junit_times_the_run_and_keeps_tolerated_rejects_informational(tmp_path: Path) -> None:
    write_csv(tmp_path, "bad.csv", ONE_BAD_ROW)
    result = invoke("validate", "bad.csv", "--format", "junit", "--max-reject-rate", "0.5")
    assert result.exit_code == 0
    root = ET.fromstring(result.stdout)
    assert (root.get("tests"), root.get("failures")) == ("2", "0")
    assert float(root.get("time", "-1")) > 0
    rows = root.find("testsuite/testcase[@name='rows']")
    assert rows is not None
    assert rows.find("failure") is None
    out = rows.findtext("system-out")
    assert out is not None
    assert out.startswith("1 of 4 rows rejected (bad_sum: 1)\nbad.csv:4 id=3 ")
    strict = ET.fromstring(invoke("validate", "bad.csv", "--format", "junit").stdout)
    assert strict.get("failures") == "2"  # the gate and the rows it counts
