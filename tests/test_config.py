"""Options from ``labelprep.toml`` or ``[tool.labelprep]`` in ``pyproject.toml``; flags win."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner, Result

import labelprep
from labelprep import ConfigError
from labelprep.cli import main
from labelprep.config import find_config_file, load_config
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
    assert result.stderr == "Error: unknown option 'id_colum'. Did you mean 'id_column'?\n"
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
    assert result.stderr.startswith(f"Error: {tmp_path / 'labelprep.toml'}: cannot read the ")
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
