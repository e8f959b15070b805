"""The typed API: one set of names and defaults for the API parameters, the config keys,
the command-line flags and the docs, and a user's code that mypy checks."""

from __future__ import annotations

import dataclasses
import inspect
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import polars as pl
import pytest

import labelprep
from labelprep.cli import main
from labelprep.config import GATE_SETTINGS, Columns, Options, build_options
from labelprep.parameters import (
    AGGREGATE_OPTIONS,
    COLUMN_OPTIONS,
    COMPARE_OPTIONS,
    OPTION_DOCS,
    READ_OPTIONS,
    RUN_OPTIONS,
    VOTE_OPTIONS,
    WRITE_OPTIONS,
    option_default,
    shown_default,
)

ROOT = Path(__file__).resolve().parents[1]

FUNCTIONS: dict[str, Callable[..., Any]] = {
    "run": labelprep.run,
    "stats": labelprep.class_stats,
    "validate": labelprep.validate,
    "compare": labelprep.compare,
    "aggregate": labelprep.aggregate,
}
"""Command -> the public function it calls."""
OPTION_GROUPS: dict[str, tuple[str, ...]] = {
    "run": (*RUN_OPTIONS, *VOTE_OPTIONS),
    "stats": (*READ_OPTIONS, *VOTE_OPTIONS),
    "validate": (*RUN_OPTIONS, *VOTE_OPTIONS, *GATE_SETTINGS),
    "compare": (*COMPARE_OPTIONS, "max_linf", "max_jsd"),
    "aggregate": (*AGGREGATE_OPTIONS, *VOTE_OPTIONS),
}
"""The option parameters each function has."""
CLI_ONLY = {"no_config", "fmt", "summary_file", "quiet", "verbose"}
"""Flags about the command line itself (output format, config lookup, chattiness)."""


def parameters(func: Callable[..., Any]) -> dict[str, inspect.Parameter]:
    return dict(inspect.signature(func).parameters)


def test_every_option_and_column_role_is_in_exactly_one_group() -> None:
    names = [
        f.name for f in dataclasses.fields(Options) if f.name not in ("columns", "config_file")
    ]
    roles = [f"{f.name}_column" for f in dataclasses.fields(Columns)]
    grouped = [*READ_OPTIONS, *WRITE_OPTIONS]
    assert sorted(grouped) == sorted([*names, *roles])
    assert set(COLUMN_OPTIONS) == set(roles)


@pytest.mark.parametrize("command", sorted(FUNCTIONS))
def test_each_function_takes_its_options_keyword_only_with_the_documented_default(
    command: str,
) -> None:
    func, params = FUNCTIONS[command], parameters(FUNCTIONS[command])
    doc = inspect.getdoc(func) or ""
    for name in OPTION_GROUPS[command]:
        param = params[name]
        assert param.kind is inspect.Parameter.KEYWORD_ONLY, name
        assert param.annotation != "Any", name
        default = option_default(name) if name not in GATE_SETTINGS else None
        entry = re.search(rf"^{name} : .*\n    (.*)$", doc, re.MULTILINE)
        assert entry is not None, f"{command}: {name} is not documented"
        if name in VOTE_OPTIONS:
            assert param.default == default, name
        else:  # None: the config file's value, else the default of Options
            assert param.default is None, name
        if default is not None and default != ():
            assert f"Default: {shown_default(default)}." in entry.group(1), name
    assert not [p for p in params.values() if p.kind is inspect.Parameter.VAR_KEYWORD]


@pytest.mark.parametrize("command", sorted(FUNCTIONS))
def test_every_flag_of_a_command_is_a_parameter_of_its_function(command: str) -> None:
    flags = {p.name for p in main.commands[command].params if isinstance(p, click.Option)}
    assert flags - CLI_ONLY <= set(parameters(FUNCTIONS[command]))


@pytest.mark.parametrize("command", sorted(FUNCTIONS))
def test_a_function_takes_exactly_the_options_its_command_offers(command: str) -> None:
    flags = {p.name for p in main.commands[command].params if isinstance(p, click.Option)}
    options = set(parameters(FUNCTIONS[command])) & set(OPTION_DOCS)
    assert options == set(OPTION_GROUPS[command])
    assert options - flags == set(), "an option of the function that its command lacks"


def test_aggregate_does_not_take_what_vote_files_do_not_hold() -> None:
    votes = pl.DataFrame({"id": [1, 1], "annotator": ["a", "b"], "label": ["x", "y"]})
    aggregate: Any = labelprep.aggregate
    with pytest.raises(TypeError, match="keep"):
        aggregate(votes, output_dir=None, config=False, keep=["note"])


def test_the_defaults_the_flags_show_are_those_of_options() -> None:
    shown = 0
    for command in FUNCTIONS:
        for param in main.commands[command].params:
            match = re.search(r"\[default: (.*?)\]", getattr(param, "help", None) or "")
            if match is None or param.name not in OPTION_DOCS:
                continue
            default, text = option_default(str(param.name)), match.group(1)
            if isinstance(default, float):
                assert float(text) == default, param.name
            elif isinstance(default, str) and default:
                assert text.strip('\\"') == default.strip('"'), param.name
            shown += 1
    assert shown >= 14


def test_every_config_key_is_a_parameter_of_validate() -> None:
    keys = {f.name for f in dataclasses.fields(Options)} - {"columns", "config_file"}
    keys |= set(COLUMN_OPTIONS) | set(GATE_SETTINGS)
    params = set(parameters(labelprep.validate))
    assert keys <= params
    options = build_options({key: option_default(key) for key in READ_OPTIONS})
    assert options == Options()


def test_documented_parameters_match_the_docs_table() -> None:
    assert set(OPTION_DOCS) == {*READ_OPTIONS, *WRITE_OPTIONS, *VOTE_OPTIONS, *GATE_SETTINGS}


BAD_ROW = pl.DataFrame({"id": [1, 2], "a": [0.5, 1.0], "b": [0.5, 0.5]})


def test_config_values_win_over_defaults_and_keywords_over_the_config(tmp_path: Path) -> None:
    config = tmp_path / "labelprep.toml"
    config.write_text("renormalize = true\ntolerance = 0.2\nmax_reject_rate = 0.6\n")
    by_config = labelprep.class_stats(BAD_ROW, config=config, with_counts=True)[1]
    assert by_config.rejects_by_reason == {}  # renormalized by the file's option
    explicit = labelprep.class_stats(BAD_ROW, config=config, renormalize=False, with_counts=True)
    assert explicit[1].rejects_by_reason == {"bad_sum": 1}
    assert labelprep.validate(BAD_ROW, config=config, renormalize=False).passed  # file's gate
    failed = labelprep.validate(BAD_ROW, config=config, renormalize=False, max_reject_rate=0.1)
    assert not failed.passed
    without = labelprep.class_stats(BAD_ROW, config=False, with_counts=True)[1]
    assert without.rejects_by_reason == {"bad_sum": 1}


@pytest.mark.parametrize(
    ("call", "wrong", "meant"),
    [
        (labelprep.run, "tolerence", "tolerance"),
        (labelprep.class_stats, "count_bi", "count_by"),
        (labelprep.validate, "min_row", "min_rows"),
        (labelprep.compare, "splt_a", "split_a"),
        (labelprep.aggregate, "methd", "method"),
        (labelprep.class_weights, "split_", "split"),
    ],
)
def test_a_misspelt_keyword_is_refused_with_the_closest_name(
    call: Callable[..., Any], wrong: str, meant: str
) -> None:
    with pytest.raises(labelprep.ConfigError) as info:
        call(BAD_ROW, config=False, **{wrong: 1})
    assert str(info.value) == (
        f"{call.__name__}() got an unexpected keyword argument {wrong!r}. Did you mean {meant!r}?"
    )
    assert isinstance(info.value, TypeError)  # as Python's own unexpected-keyword error


def test_a_wrong_value_is_still_a_config_error_naming_the_option() -> None:
    with pytest.raises(labelprep.ConfigError, match=r"option tolerance='x' must be a number"):
        labelprep.class_stats(BAD_ROW, tolerance="x", config=False)  # type: ignore[arg-type]


def test_mypy_accepts_a_users_calls_and_refuses_wrong_ones() -> None:
    pytest.importorskip("mypy", reason="mypy comes with the dev extra")
    files = ["tests/typecheck/usage.py", "tests/typecheck/wrong_calls.py"]
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", *files],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    errors = [line for line in done.stdout.splitlines() if ": error: " in line]
    assert not [e for e in errors if "usage.py" in e], done.stdout
    wrong = (ROOT / files[1]).read_text().splitlines()
    expected = {i + 1 for i, line in enumerate(wrong) if line.endswith("# wrong")}
    found = {int(e.split(":")[1]) for e in errors if "wrong_calls.py" in e}
    assert found == expected, done.stdout
    assert 'Unexpected keyword argument "tolerence" for "run"' in done.stdout
