"""Options from ``labelprep.toml`` or ``[tool.labelprep]`` in ``pyproject.toml``; flags win."""

from __future__ import annotations

import json
import math
from dataclasses import fields
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import labelprep
from labelprep import ConfigError
from labelprep.cli import main
from labelprep.config import GATE_SETTINGS, Options, find_config_file, load_config
from tests.conftest import ONE_BAD_ROW, SPEC_TABLE


@pytest.fixture(autouse=True)
def _in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The config file each test writes is the one found from the working directory."""
    monkeypatch.chdir(tmp_path)


def write_csv(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def write_pyproject(tmp_path: Path, body: str) -> Path:
    return write_csv(tmp_path, "pyproject.toml", '[project]\nname = "x"\n\n' + body)


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


# -- gates from the file (Python API) ---------------------------------------------------------


def test_pyproject_threshold_applies_without_arguments(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "bad.csv", ONE_BAD_ROW)
    write_pyproject(tmp_path, "[tool.labelprep]\nmax_reject_rate = 0.5\n")
    report = labelprep.validate(path)
    assert report.passed
    (rate,) = report.gates
    assert (rate.value, rate.threshold) == (0.25, 0.5)


def test_labelprep_toml_threshold_applies_without_arguments(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "bad.csv", ONE_BAD_ROW)
    write_csv(tmp_path, "labelprep.toml", "max-reject-rate = 0.5\n")
    (rate,) = labelprep.validate(path).gates
    assert (rate.passed, rate.threshold) == (True, 0.5)


def test_keyword_argument_wins_over_the_file(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "bad.csv", ONE_BAD_ROW)
    write_pyproject(tmp_path, "[tool.labelprep]\nmax_reject_rate = 0.5\n")
    report = labelprep.validate(path, max_reject_rate=0.1)
    assert not report.passed
    assert report.gates[0].threshold == 0.1


def test_config_false_ignores_the_file(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "bad.csv", ONE_BAD_ROW)
    write_pyproject(tmp_path, "[tool.labelprep]\nmax_reject_rate = 0.5\n")
    report = labelprep.validate(path, config=False)
    assert not report.passed
    assert report.gates[0].threshold == 0.0


def test_nested_table_of_gates_is_read(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "spec.csv", SPEC_TABLE)
    write_csv(tmp_path, "labelprep.toml", "[validate]\nmin_class_count = 0.8\n")
    report = labelprep.validate(path)
    assert [(g.name, g.passed) for g in report.gates] == [
        ("max_reject_rate", True),
        ("min_class_count", False),
    ]


# -- options from the file (command line) -----------------------------------------------------


def test_cli_reads_options_from_pyproject(tmp_path: Path) -> None:
    """``renormalize`` rescales the row summing to 1.5 instead of rejecting it."""
    write_csv(tmp_path, "bad.csv", ONE_BAD_ROW)
    write_pyproject(tmp_path, "[tool.labelprep]\nrenormalize = true\n")
    result = invoke("validate", "bad.csv")
    assert result.exit_code == 0
    assert "4 rows from 1 input: 4 accepted, 0 rejected\n" in result.stdout


def test_cli_reads_options_from_labelprep_toml(tmp_path: Path) -> None:
    write_csv(tmp_path, "bad.csv", ONE_BAD_ROW)
    write_csv(tmp_path, "labelprep.toml", "renormalize = true\n")
    assert invoke("validate", "bad.csv").exit_code == 0


def test_cli_flag_wins_over_the_file(tmp_path: Path) -> None:
    write_csv(tmp_path, "bad.csv", ONE_BAD_ROW)
    write_pyproject(tmp_path, "[tool.labelprep]\nrenormalize = true\n")
    result = invoke("validate", "bad.csv", "--no-renormalize")
    assert result.exit_code == 1
    assert "4 rows from 1 input: 3 accepted, 1 rejected\n" in result.stdout


def test_cli_threshold_flag_wins_over_the_file(tmp_path: Path) -> None:
    write_csv(tmp_path, "bad.csv", ONE_BAD_ROW)
    write_pyproject(tmp_path, "[tool.labelprep]\nmax_reject_rate = 0.5\n")
    result = invoke("validate", "bad.csv", "--max-reject-rate", "0.1")
    assert result.exit_code == 1
    assert "FAIL max_reject_rate = 0.25 (threshold 0.1)" in result.stdout


def test_no_config_ignores_the_file(tmp_path: Path) -> None:
    write_csv(tmp_path, "bad.csv", ONE_BAD_ROW)
    write_pyproject(tmp_path, "[tool.labelprep]\nrenormalize = true\n")
    result = invoke("validate", "bad.csv", "--no-config")
    assert result.exit_code == 1
    assert "3 accepted, 1 rejected" in result.stdout


def test_explicit_config_path(tmp_path: Path) -> None:
    write_csv(tmp_path, "bad.csv", ONE_BAD_ROW)
    write_csv(tmp_path, "ci/strict.toml", "renormalize = true\n")
    assert invoke("validate", "bad.csv", "--config", "ci/strict.toml").exit_code == 0
    assert invoke("validate", "bad.csv").exit_code == 1  # not found on its own


def test_missing_explicit_config_path(tmp_path: Path) -> None:
    write_csv(tmp_path, "spec.csv", SPEC_TABLE)
    result = invoke("validate", "spec.csv", "--config", "nope.toml")
    assert result.exit_code == 2
    assert result.stderr == "Error: nope.toml: no such configuration file.\n"


def test_config_file_is_found_in_a_parent_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".git").mkdir()  # the project root
    write_csv(tmp_path, "labelprep.toml", "renormalize = true\n")
    write_csv(tmp_path, "data/bad.csv", ONE_BAD_ROW)
    write_pyproject(tmp_path / "data", "[tool.ruff]\nline-length = 100\n")  # no [tool.labelprep]
    monkeypatch.chdir(tmp_path / "data")
    assert find_config_file() == tmp_path / "labelprep.toml"
    assert invoke("validate", "bad.csv").exit_code == 0


def test_pyproject_without_a_labelprep_table_is_not_a_config(tmp_path: Path) -> None:
    write_pyproject(tmp_path, "[tool.ruff]\nline-length = 100\n")
    assert find_config_file(tmp_path) is None
    assert load_config(tmp_path / "pyproject.toml") == {}


# -- column names from the file ---------------------------------------------------------------


def test_id_column_from_the_file(tmp_path: Path) -> None:
    write_csv(tmp_path, "items.csv", SPEC_TABLE.replace("id,", "item,", 1))
    write_csv(tmp_path, "labelprep.toml", 'id_column = "item"\n')
    result = invoke("validate", "items.csv")
    assert result.exit_code == 0
    assert "4 rows from 1 input: 4 accepted, 0 rejected\n" in result.stdout
    missing = invoke("validate", "items.csv", "--no-config")
    assert missing.exit_code == 2
    assert missing.stderr.startswith("Error: items.csv: the id column 'id' is missing; ")


def test_columns_table_from_pyproject(tmp_path: Path) -> None:
    text = "item,gold\n1,cat\n2,dog\n3,cat\n4,cat\n"
    path = write_csv(tmp_path, "items.csv", text)
    write_pyproject(tmp_path, '[tool.labelprep.columns]\nid = "item"\nlabel = "gold"\n')
    stats = labelprep.class_stats(path).filter(pl.col("split").is_null())
    assert stats["class"].to_list() == ["cat", "dog"]
    assert stats["hard_count"].to_list() == [3, 1]


# -- mistakes in the file ---------------------------------------------------------------------


def test_unknown_key_gives_a_did_you_mean_hint(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "spec.csv", SPEC_TABLE)
    write_csv(tmp_path, "labelprep.toml", "max_reject_rat = 0.5\n")
    message = r"^unknown option 'max_reject_rat'\. Did you mean 'max_reject_rate'\?$"
    with pytest.raises(ConfigError, match=message):
        labelprep.validate(path)
    with pytest.raises(ConfigError, match=message):
        labelprep.run(path, output_dir=tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_unknown_key_on_the_command_line(tmp_path: Path) -> None:
    write_csv(tmp_path, "spec.csv", SPEC_TABLE)
    write_pyproject(tmp_path, "[tool.labelprep]\nid_colum = 'item'\n")
    result = invoke("validate", "spec.csv")
    assert result.exit_code == 2
    assert result.stderr == (
        f"note: config: {tmp_path / 'pyproject.toml'}\n"
        "Error: unknown option 'id_colum'. Did you mean 'id_column'?\n"
    )
    assert invoke("validate", "spec.csv", "--no-config").exit_code == 0


def test_bad_choice_in_the_file(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "spec.csv", SPEC_TABLE)
    write_csv(tmp_path, "labelprep.toml", 'count_by = "suport"\n')
    with pytest.raises(ConfigError, match=r"count_by='suport'.*Did you mean 'support'\?$"):
        labelprep.class_stats(path)


def test_unreadable_toml(tmp_path: Path) -> None:
    write_csv(tmp_path, "spec.csv", SPEC_TABLE)
    write_csv(tmp_path, "labelprep.toml", "max_reject_rate = \n")
    result = invoke("validate", "spec.csv")
    assert result.exit_code == 2
    assert result.stderr.startswith(
        f"note: config: {tmp_path / 'labelprep.toml'}\n"
        f"Error: {tmp_path / 'labelprep.toml'}: cannot read the "
    )
    assert "Traceback" not in result.output


def test_cli_validate_reads_gate_thresholds_from_pyproject(tmp_path, monkeypatch):
    """Flags left unset on the command line must not hide the file's thresholds."""
    from click.testing import CliRunner

    from labelprep.cli import main

    monkeypatch.chdir(tmp_path)
    rows = "id,c1,c2,c3\n1,0.9,0.05,0.05\n2,0.2,0.8,0\n3,0.3,0.3,0.9\n4,0.7,0,0.3\n"
    (tmp_path / "bad.csv").write_text(rows)
    runner = CliRunner()
    assert runner.invoke(main, ["validate", "bad.csv"]).exit_code == 1
    (tmp_path / "pyproject.toml").write_text("[tool.labelprep]\nmax_reject_rate = 0.5\n")
    assert runner.invoke(main, ["validate", "bad.csv"]).exit_code == 0
    assert runner.invoke(main, ["validate", "bad.csv", "--max-reject-rate", "0.1"]).exit_code == 1


# -- discovery stops at the project root -------------------------------------------------------


def make_project(tmp_path: Path) -> Path:
    """tmp_path/outer/ holds a lenient labelprep.toml; tmp_path/outer/repo/ is a git checkout."""
    outer = tmp_path / "outer"
    write_csv(outer, "labelprep.toml", "max_reject_rate = 1\n")
    repo = outer / "repo"
    (repo / ".git").mkdir(parents=True)
    write_csv(repo, "data/bad.csv", ONE_BAD_ROW)
    return repo


def test_config_above_the_git_root_is_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_project(tmp_path)
    monkeypatch.chdir(repo / "data")
    assert find_config_file() is None
    result = invoke("validate", "bad.csv")
    assert result.exit_code == 1  # the outer max_reject_rate = 1 would pass it
    assert "config:" not in result.stderr


def test_pyproject_settings_in_the_git_root_are_found_from_a_subfolder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_project(tmp_path)
    write_pyproject(repo, "[tool.labelprep]\nmax_reject_rate = 0.5\n")
    monkeypatch.chdir(repo / "data")
    result = invoke("validate", "bad.csv")
    assert result.exit_code == 0
    assert f"note: config: {repo / 'pyproject.toml'}\n" in result.stderr


def test_a_git_file_marks_the_root_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A worktree or a submodule has a .git file, not a folder."""
    repo = make_project(tmp_path)
    (repo / ".git").rmdir()
    (repo / ".git").write_text("gitdir: ../elsewhere\n", encoding="utf-8")
    monkeypatch.chdir(repo / "data")
    assert find_config_file() is None


def test_without_git_the_nearest_pyproject_is_the_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_csv(tmp_path, "labelprep.toml", "max_reject_rate = 1\n")
    write_pyproject(tmp_path / "proj", "[tool.ruff]\nline-length = 100\n")
    write_csv(tmp_path / "proj", "data/labelprep.toml", "renormalize = true\n")
    (tmp_path / "proj" / "data" / "deeper").mkdir()
    monkeypatch.chdir(tmp_path / "proj" / "data" / "deeper")
    assert find_config_file() == tmp_path / "proj" / "data" / "labelprep.toml"
    monkeypatch.chdir(tmp_path / "proj")
    assert find_config_file() is None  # tmp_path/labelprep.toml is above the root


def test_without_git_or_pyproject_only_the_working_directory_counts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_csv(tmp_path, "labelprep.toml", "max_reject_rate = 1\n")
    write_csv(tmp_path, "job/bad.csv", ONE_BAD_ROW)
    monkeypatch.chdir(tmp_path / "job")
    assert find_config_file() is None
    assert invoke("validate", "bad.csv").exit_code == 1
    write_csv(tmp_path, "job/labelprep.toml", "max_reject_rate = 0.5\n")
    assert find_config_file() == tmp_path / "job" / "labelprep.toml"


def test_the_config_used_is_named_and_recorded(tmp_path: Path) -> None:
    write_csv(tmp_path, "bad.csv", ONE_BAD_ROW)
    config = write_csv(tmp_path, "labelprep.toml", "max_reject_rate = 0.5\n")
    note = f"note: config: {config}\n"
    result = invoke("validate", "bad.csv", "--format", "json")
    assert result.exit_code == 0
    assert result.stderr.startswith(note)
    assert json.loads(result.stdout)["config"] == str(config)
    stats = invoke("stats", "bad.csv", "--format", "json")
    assert stats.stderr.startswith(note)
    assert json.loads(stats.stdout)["config"] == str(config)
    run = invoke("run", "bad.csv", "-o", "out")
    assert run.exit_code == 0
    assert run.stderr.startswith(note)
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["config"] == str(config)
    assert "config_file" not in manifest["options"]
    plain = invoke("validate", "bad.csv", "--format", "json", "--no-config")
    assert "config:" not in plain.stderr
    assert json.loads(plain.stdout)["config"] is None


def test_explicit_config_is_named(tmp_path: Path) -> None:
    write_csv(tmp_path, "spec.csv", SPEC_TABLE)
    write_csv(tmp_path, "ci/strict.toml", "renormalize = true\n")
    result = invoke("validate", "spec.csv", "--config", "ci/strict.toml")
    assert result.stderr.startswith("note: config: ci/strict.toml\n")


def test_api_records_the_config_file(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "bad.csv", ONE_BAD_ROW)
    config = write_csv(tmp_path, "labelprep.toml", "max_reject_rate = 0.5\n")
    assert labelprep.validate(path).config == str(config)
    assert labelprep.validate(path, config=False).config is None


# -- every bad value exits 2 naming its option ------------------------------------------------

BAD_VALUES = [
    ("tolerance = inf", "option tolerance=inf must be a finite number."),
    ("tolerance = nan", "option tolerance=nan must be a finite number."),
    ("tolerance = -1", "option tolerance=-1.0 must be >= 0."),
    ("tolerance = [0.1]", "option tolerance=[0.1] must be a number."),
    ('tolerance = "x"', "option tolerance='x' must be a number."),
    ("smoothing = 1", "option smoothing=1.0 must be in [0, 1)."),
    ('renormalize = "yes"', "option renormalize='yes' must be true or false."),
    ("max_reject_rate = nan", "option max_reject_rate=nan must be a finite number."),
    ("max_reject_rate = 5", "option max_reject_rate=5 must be between 0 and 1."),
    ("max_reject_rate = true", "option max_reject_rate=True must be a number."),
    ("max_imbalance_ratio = 0.5", "option max_imbalance_ratio=0.5 must be between 1 and inf."),
    ("require_classes = 1", "option require_classes=1 must be true or false."),
    ("baseline = 3", "option baseline=3 must be a string."),
    ("classes = 5", "option classes=5 must be a list of strings or a comma-separated string."),
    ("classes = [1, 2]", "option classes=[1, 2] must be a list of strings or a comma-"),
    ('classes = ["a", "  "]', "class name '  ' is blank; give a visible name."),
    ("keep = [[1]]", "option keep=[[1]] must be a list of strings or a comma-separated string."),
    ('keep = ["id"]', "option keep='id': the id column is always in targets"),
    ('keep = ["mask"]', "option keep='mask': targets already has a column 'mask'"),
    ('list_delimiter = ""', "option list_delimiter is empty"),
    ("list_delimiter = 1", "option list_delimiter=1 must be a string."),
    ('count_by = ["soft"]', "option count_by=['soft'] must be one of soft, support, hard."),
    ("[columns]\nid = 5", "option id_column=5 must be a string."),
    ('[columns]\nid = " "', "option id_column=' ' must be a non-blank column name."),
    ("columns = 5", "option columns=5 must be a table of column names by role"),
    ('id_column = ["a"]', "option id_column=['a'] must be a string."),
    ("prob_columns = 'a,,b'", "option prob_columns='' must be a non-blank column name."),
    ("x = " + "[" * 5000 + "]" * 5000, "arrays or tables nested too deeply."),
    ("[validat]\nmin_rows = 1", "unknown table [validat]"),
    ("[validate.deeper]\nmin_rows = 1", "unknown table [validate.deeper]"),
    ("config_file = 'x'", "unknown option 'config_file'."),
]


@pytest.mark.parametrize(("body", "message"), BAD_VALUES)
def test_bad_config_value_exits_2_naming_it(tmp_path: Path, body: str, message: str) -> None:
    write_csv(tmp_path, "spec.csv", SPEC_TABLE)
    write_csv(tmp_path, "labelprep.toml", body + "\n")
    for command in (["validate", "spec.csv"], ["run", "spec.csv", "-o", "out"]):
        result = invoke(*command)
        assert result.exit_code == 2, result.output
        assert message in result.stderr
        assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--keep", "id"], "option keep='id': the id column is always in targets"),
        (["--keep", "split"], "option keep='split': the split column is always in targets"),
        (["--keep", "note", "--keep", "note"], "option keep='note' is given twice."),
        (["--tolerance", "inf"], "option tolerance=inf must be a finite number."),
        (["--tolerance", "nan"], "option tolerance=nan must be a finite number."),
        (["--classes", " , "], "a class name is empty"),
        (["--classes", "   "], "a class name is empty"),
        (["--max-reject-rate", "nan"], "option max_reject_rate=nan must be a finite number."),
        (["--max-imbalance-ratio", "inf"], "option max_imbalance_ratio=inf must be a finite"),
        (["--id-column", " "], "option id_column=' ' must be a non-blank column name."),
    ],
)
def test_bad_flag_exits_2_naming_it(tmp_path: Path, flags: list[str], message: str) -> None:
    write_csv(tmp_path, "spec.csv", SPEC_TABLE)
    result = invoke("validate", "spec.csv", *flags)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output


# -- fuzzed configuration files ----------------------------------------------------------------

KNOWN_KEYS = sorted(
    {
        *(f.name for f in fields(Options) if f.name != "config_file"),
        *GATE_SETTINGS,
        *(f"{role}_column" for role in ("id", "label", "probs", "split", "excluded")),
        "columns",
        "validate",
        "run",
        "max-reject-rate",
    }
)
SCALARS = (
    st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats()
    | st.text(st.characters(exclude_categories=("Cs",)), max_size=8)
    | st.sampled_from(["id", "c1", "c1,c2", "soft", "uniform", "0.5", "|"])
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KNOWN_KEYS), inner),
    max_leaves=8,
)
PLAUSIBLE = (
    st.floats(0, 1)
    | st.booleans()
    | st.sampled_from(["c1,c2,c3", "id", "split", "soft", "prior", "zstd", "csv"])
    | st.lists(st.sampled_from(["c1", "c2", "c3", "note", " "]), max_size=4)
)
CONFIGS = st.dictionaries(
    st.sampled_from(KNOWN_KEYS) | st.text(max_size=6),
    PLAUSIBLE | SCALARS | st.lists(SCALARS, max_size=3) | VALUES,
    max_size=4,
)


def toml_text(value: object) -> str:
    """A TOML value (tomllib has no writer): inline tables, arrays, basic strings."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return "inf" if value > 0 else "-inf"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        escaped = "".join(
            f"\\u{ord(c):04x}" if ord(c) < 0x20 or ord(c) == 0x7F or c in '"\\' else c
            for c in value
        )
        return f'"{escaped}"'
    if isinstance(value, list):
        return "[" + ", ".join(map(toml_text, value)) + "]"
    assert isinstance(value, dict)
    return "{" + ", ".join(f"{toml_text(k)} = {toml_text(v)}" for k, v in value.items()) + "}"


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(config=CONFIGS)
def test_fuzzed_config_exits_0_1_or_2_never_a_traceback(
    tmp_path: Path, config: dict[str, object]
) -> None:
    write_csv(tmp_path, "spec.csv", SPEC_TABLE)
    body = "".join(f"{toml_text(k)} = {toml_text(v)}\n" for k, v in config.items())
    write_csv(tmp_path, "labelprep.toml", body)
    result = invoke("validate", "spec.csv")
    assert result.exit_code in (0, 1, 2), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    if result.exit_code == 2:
        assert "\nError: " in "\n" + result.stderr
