"""Each command offers the options that do something for it, and only those."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner, Result

from labelprep.aggregation import METHODS
from labelprep.aggregation._em import DEFAULT_TOL
from labelprep.cli import main, options
from labelprep.config import _CHOICES
from labelprep.drift import COMPARE_FORMATS
from labelprep.gate import FORMATS

READ = {
    "classes",
    "id_column",
    "label_column",
    "split_column",
    "annotator_column",
    "input_format",
    "separator",
    "no_header",
    "column_names",
    "id_from_row",
    "quote_char",
    "config",
    "no_config",
}
"""How files are read: every command that reads annotations."""
EVIDENCE = {
    "probs_column",
    "excluded_column",
    "candidates_column",
    "prob_columns",
    "list_delimiter",
    "tolerance",
    "renormalize",
    "partial",
}
"""Probabilities and class lists: not in vote files."""
VOTES = {"layout", "missing", "duplicates"}
TARGETS = {"smoothing", "count_by"}
WEIGHTS = {"beta", "tau"}
WRITE = {"output_dir", "keep", "sample_weight", "compression", "split_files"}
SAY = {"quiet", "verbose"}
ENGINE = {"engine", "scheduler", "workers"}
"""Where the passes run (--engine dask): the commands that read every row."""
GATES = {"fmt", "max_linf", "max_jsd", "align"}

OFFERED = {
    "run": READ | EVIDENCE | VOTES | TARGETS | WEIGHTS | WRITE | SAY | ENGINE,
    "aggregate": READ
    | VOTES
    | TARGETS
    | WEIGHTS
    | (WRITE - {"keep"})
    | SAY
    | ENGINE
    | {"method", "alpha", "max_iter", "tol", "gold"},
    "stats": READ | EVIDENCE | VOTES | TARGETS | WEIGHTS | SAY | ENGINE | {"fmt"},
    "validate": READ
    | EVIDENCE
    | VOTES
    | TARGETS
    | WEIGHTS
    | SAY
    | ENGINE
    | GATES
    | WRITE  # validate -o writes the run's outputs
    | {"min_rows", "max_reject_rate", "min_class_count", "max_imbalance_ratio"}
    | {"require_classes", "baseline", "summary_file"},
    "compare": READ | EVIDENCE | TARGETS | SAY | GATES | {"split_a", "split_b"},
    "refine": SAY
    | {"predictions", "output_dir", "mix", "temperature", "id_column", "probs_column"}
    | {"tolerance", "renormalize", "input_format"},
    "report": SAY,
    "schema": SAY,
}
"""The audit: what each command offers. ``stats`` and ``compare`` write nothing (no
``--keep``); ``compare`` compares class priors, which no weight option changes (no
``--beta``, ``--tau``); vote files hold no probabilities or class lists (``aggregate``
has none of those options), and an item's votes are several rows (no ``--keep``);
``validate`` writes outputs only with ``-o`` (``--keep``
and the weights then apply)."""


def offered(command: str) -> set[str]:
    return {p.name for p in main.commands[command].params if p.param_type_name == "option"}


@pytest.mark.parametrize("command", sorted(OFFERED))
def test_each_command_offers_exactly_its_options(command):
    assert offered(command) == OFFERED[command]


def test_every_command_is_audited():
    assert set(main.commands) == set(OFFERED)


@pytest.mark.parametrize(
    "args",
    [
        ["stats", "x.csv", "--keep", "note"],
        ["compare", "x.csv", "x.csv", "--keep", "note"],
        ["compare", "x.csv", "x.csv", "--beta", "0.5"],
        ["compare", "x.csv", "x.csv", "--tau", "2"],
        ["aggregate", "x.csv", "--probs-column", "p"],
        ["aggregate", "x.csv", "--tolerance", "0.1"],
        ["aggregate", "x.csv", "--partial", "prior"],
        ["aggregate", "x.csv", "--keep", "note"],
    ],
)
def test_an_option_a_command_does_not_offer_is_a_usage_error(args):
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert f"No such option {args[-2]!r}" in result.stderr


def test_the_choices_named_on_the_command_line_are_the_librarys():
    """The command line names them itself, so that --help need not import the library."""
    assert tuple(METHODS) == options.METHOD_NAMES
    assert options.DEFAULT_TOL == DEFAULT_TOL
    assert tuple(sorted(COMPARE_FORMATS)) == options.COMPARE_FORMAT_NAMES
    assert tuple(sorted(FORMATS)) == options.GATE_FORMAT_NAMES
    assert _CHOICES["compression"] == options.COMPRESSIONS
    assert _CHOICES["sample_weight"] == options.SAMPLE_WEIGHTS


# aggregate --sample-weight and --compression ----------------------------------------------

# i1: votes a, a, b -> shares (2/3, 1/3); i2: b, b -> (0, 1); i3: a -> (1, 0).
# Soft masses: a = 2/3 + 1 = 5/3, b = 1/3 + 1 = 4/3; N = 3 items, K = 2 classes.
# balanced w_k = N / (K n_k): w_a = 3 / (10/3) = 0.9, w_b = 3 / (8/3) = 1.125.
# sample_weight = sum_k target_k w_k: i1 = 0.6 + 0.375 = 0.975, i2 = 1.125, i3 = 0.9.
VOTES_CSV = "id,annotator,label\ni1,u,a\ni1,v,a\ni1,w,b\ni2,u,b\ni2,v,b\ni3,u,a\n,u,a\n"


def invoke(tmp_path: Path, *args: str) -> Result:
    (tmp_path / "votes.csv").write_text(VOTES_CSV)
    return CliRunner().invoke(main, [*args, "--no-config"])


def codecs(path: Path) -> set[str]:
    meta = pq.ParquetFile(path).metadata
    return {
        meta.row_group(g).column(c).compression
        for g in range(meta.num_row_groups)
        for c in range(meta.num_columns)
    }


def test_aggregate_writes_sample_weights(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke(tmp_path, "aggregate", "votes.csv", "-o", "out", "--sample-weight", "balanced")
    assert result.exit_code == 0, result.output
    targets = pl.read_parquet("out/targets.parquet").sort("id")
    assert targets["id"].to_list() == ["i1", "i2", "i3"]
    assert targets["sample_weight"].to_list() == pytest.approx([0.975, 1.125, 0.9], abs=1e-6)
    assert targets["sample_weight"].dtype == pl.Float32
    manifest = json.loads(Path("out/manifest.json").read_text())
    assert manifest["options"]["sample_weight"] == "balanced"


def test_aggregate_without_sample_weight_writes_no_weight_column(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert invoke(tmp_path, "aggregate", "votes.csv", "-o", "out").exit_code == 0
    assert "sample_weight" not in pl.read_parquet("out/targets.parquet").columns


@pytest.mark.parametrize(("flag", "codec"), [([], "SNAPPY"), (["--compression", "zstd"], "ZSTD")])
def test_aggregate_compresses_targets_and_rejects(tmp_path, monkeypatch, flag, codec):
    monkeypatch.chdir(tmp_path)
    result = invoke(tmp_path, "aggregate", "votes.csv", "-o", "out", *flag)
    assert result.exit_code == 0, result.output
    assert pl.read_parquet("out/rejects.parquet")["reason"].to_list() == ["missing_id"]
    assert codecs(Path("out/targets.parquet")) == {codec}
    assert codecs(Path("out/rejects.parquet")) == {codec}


# The options kept where their effect is not obvious do something --------------------------

SOFT = "id,c1,c2,c3\n1,0.9,0.05,0.05\n2,0.2,0.8,0\n3,0.3,0.3,0.4\n"
PARTIAL = "id,label,candidates\n1,c1,\n2,,c1|c2\n3,c3,\n4,c1,\n"


def outcome(tmp_path: Path, args: list[str]) -> str:
    """What a command produced: its stdout and every Parquet file it wrote."""
    (tmp_path / "votes.csv").write_text(VOTES_CSV)
    (tmp_path / "soft.csv").write_text(SOFT)
    (tmp_path / "partial.csv").write_text(PARTIAL)
    result = CliRunner().invoke(main, [*args, "--no-config"])
    assert result.exit_code in (0, 1), result.output
    files = sorted(Path("out").glob("*.parquet")) if Path("out").exists() else []
    frames = [str(pl.read_parquet(f).to_dicts()) for f in files]
    return "\n".join([result.stdout.replace("out/", ""), *frames])


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["aggregate", "votes.csv", "-o", "out"], ["--smoothing", "0.2"]),
        (["aggregate", "votes.csv", "-o", "out"], ["--count-by", "hard"]),
        (["aggregate", "votes.csv", "-o", "out"], ["--beta", "0.5"]),
        (["aggregate", "votes.csv", "-o", "out"], ["--tau", "2"]),
        (["stats", "soft.csv", "--format", "json"], ["--beta", "0.5"]),
        (["stats", "soft.csv", "--format", "json"], ["--smoothing", "0.2"]),
        (["stats", "partial.csv", "--format", "json"], ["--partial", "prior"]),
        (["compare", "soft.csv", "partial.csv", "--format", "json"], ["--count-by", "hard"]),
        (["compare", "soft.csv", "partial.csv", "--format", "json"], ["--smoothing", "0.3"]),
        (["validate", "soft.csv", "-o", "out"], ["--tau", "2"]),
    ],
)
def test_an_offered_option_changes_the_outcome(tmp_path, monkeypatch, args, option):
    monkeypatch.chdir(tmp_path)
    without = outcome(tmp_path, args)
    with_option = outcome(tmp_path, [*args, *option])
    assert with_option != without
