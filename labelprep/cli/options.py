"""The options of the commands: shared input and vote options, and how click's keyword
arguments become the keyword arguments of the library functions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from labelprep.cli.render import print_notices, print_options
from labelprep.engine import ENGINES

F = TypeVar("F", bound=Callable[..., Any])

INPUT_OPTIONS: list[Callable[[Any], Any]] = [
    click.option("--classes", help="Class vocabulary in order, comma separated: a,b,c."),
    click.option("--id-column", help="Item id column.  [default: id]"),
    click.option("--label-column", help="Known-class column.  [default: label]"),
    click.option("--probs-column", help="List-of-probabilities column.  [default: probs]"),
    click.option("--excluded-column", help="Excluded-classes column.  [default: excluded]"),
    click.option("--candidates-column", help="Candidate-classes column.  [default: candidates]"),
    click.option("--split-column", help="Split column (train/val/...).  [default: split]"),
    click.option(
        "--annotator-column", help="Annotator column of vote files.  [default: annotator]"
    ),
    click.option("--prob-columns", help="Wide probability columns, in class order (a,b,c)."),
    click.option("--keep", multiple=True, help="Carry this column into targets (repeatable)."),
    click.option("--list-delimiter", help="Separator of class lists in CSV/TSV.  [default: |]"),
    click.option(
        "--input-format",
        type=click.Choice(["csv", "tsv", "parquet", "jsonl"]),
        help="Read every input with this format instead of by extension (any extension, "
        "e.g. a .txt file with --input-format tsv).",
    ),
    click.option(
        "--separator",
        help="Field separator of CSV/TSV inputs: one character, '\\t', or 'whitespace' "
        "(runs of spaces/tabs).  [default: ',' for csv, tab for tsv]",
    ),
    click.option(
        "--no-header",
        "no_header",
        flag_value=True,
        default=None,
        help="Text inputs have no header line (see --column-names).",
    ),
    click.option(
        "--column-names",
        help="Column names of headerless inputs, in order: id,annotator,label.  "
        "[default: column_1, column_2, ...]",
    ),
    click.option(
        "--id-from-row",
        "id_from_row",
        flag_value=True,
        default=None,
        help="The inputs have no id column: use each record's line (row) number as its id.",
    ),
    click.option(
        "--quote-char", help="Quote character of CSV/TSV inputs; '' for none.  [default: \"]"
    ),
    click.option("--tolerance", type=float, help="Allowed |sum(p) - 1|.  [default: 0.001]"),
    click.option(
        "--renormalize/--no-renormalize",
        default=None,
        help="Rescale rows whose probabilities do not sum to 1 instead of rejecting.",
    ),
    click.option(
        "--partial",
        type=click.Choice(["uniform", "prior"]),
        help="Spread of partial labels.  [default: uniform]",
    ),
    click.option("--smoothing", type=float, help="Label smoothing epsilon.  [default: 0]"),
    click.option(
        "--count-by",
        type=click.Choice(["soft", "support", "hard"]),
        help="Class count n_k behind the weights.  [default: soft]",
    ),
    click.option("--beta", type=float, help="beta of effective_number.  [default: 0.999]"),
    click.option("--tau", type=float, help="tau of logit_adjustment.  [default: 1.0]"),
    click.option(
        "--config",
        "config",
        type=click.Path(dir_okay=False),
        help="Read options from this TOML file (default: nearest labelprep.toml "
        "or [tool.labelprep] in pyproject.toml).",
    ),
    click.option("--no-config", is_flag=True, help="Ignore configuration files."),
]


output_dir_option = click.option(
    "-o",
    "--output-dir",
    default="labelprep-out",
    show_default=True,
    help="Output directory: created, or replaced when it holds only a previous "
    "labelprep output (anything else is refused, never deleted).",
)


def input_options(func: F) -> F:
    """Attach the options shared by every command that reads annotations."""
    for option in reversed(INPUT_OPTIONS):
        func = option(func)
    return func


def input_options_except(*names: str) -> Callable[[F], F]:
    """The input options but ``names`` (parameter names: options that do nothing for a
    command are not offered by it)."""

    def attach(func: F) -> F:
        for option in reversed(INPUT_OPTIONS):
            if _name(option) not in names:
                func = option(func)
        return func

    return attach


def _name(option: Callable[[Any], Any]) -> str | None:
    """The parameter name of an option decorator."""
    return click.command()(option(lambda: None)).params[0].name


SAMPLE_WEIGHTS = ("balanced", "inverse_sqrt", "effective_number", "median_frequency")
COMPRESSIONS = ("zstd", "snappy", "lz4", "gzip", "uncompressed")


def target_file_options(func: F) -> F:
    """``--sample-weight``, ``--compression`` and ``--split-files``: how targets.parquet
    is written."""
    func = click.option(
        "--split-files/--no-split-files",
        default=None,
        help="Also write each split's targets to splits/NAME.parquet, with a README.md "
        "dataset card: datasets.load_dataset(DIR) gives one split each.  [default: off]",
    )(func)
    func = click.option(
        "--compression",
        type=click.Choice(COMPRESSIONS),
        help="Parquet codec of targets.parquet and rejects.parquet (zstd: smaller files, "
        "slower runs).  [default: snappy]",
    )(func)
    return click.option(
        "--sample-weight",
        type=click.Choice(SAMPLE_WEIGHTS),
        help="Add a sample_weight column to targets from this weight scheme.",
    )(func)


METHOD_NAMES = (
    "shares",
    "majority",
    "dawid-skene",
    "one-coin-dawid-skene",
    "glad",
    "mace",
    "wawa",
    "zero-based-skill",
)
"""``labelprep.aggregation.METHODS``, named here so ``--help`` need not import NumPy (a
test ties the two)."""
DEFAULT_TOL = 1e-6
"""``labelprep.aggregation._em.DEFAULT_TOL`` (a test ties the two)."""
COMPARE_FORMAT_NAMES = ("github", "json", "junit", "text")
"""``labelprep.drift.COMPARE_FORMATS`` (a test ties the two)."""
GATE_FORMAT_NAMES = ("github", "json", "junit", "text")
"""``labelprep.gate.FORMATS`` (a test ties the two)."""


VOTE_OPTIONS: list[Callable[[Any], Any]] = [
    click.option(
        "--layout",
        type=click.Choice(["long", "wide"]),
        help="Vote files: long (id, annotator, label rows; any file with an annotator "
        "column) or wide (every input: one column per annotator).  [default: long]",
    ),
    click.option(
        "--missing",
        multiple=True,
        help="Wide layout: a value meaning 'no vote' (repeatable: --missing -1 "
        "--missing -1000); empty cells too.  [default: -1]",
    ),
    click.option(
        "--duplicates",
        type=click.Choice(["keep", "first", "reject"]),
        help="A second vote of one annotator on one item: keep it, keep the first, or "
        "reject them all (repeats are counted under every policy).  [default: keep]",
    ),
]


def engine_options(func: F) -> F:
    """``--engine``, ``--scheduler`` and ``--workers``: where the passes over the rows run."""
    func = click.option(
        "--workers",
        type=click.IntRange(min=1),
        help="With --engine dask: worker processes of a local cluster.  [default: one per core]",
    )(func)
    func = click.option(
        "--scheduler",
        metavar="ADDRESS",
        help="With --engine dask: a running Dask scheduler (tcp://HOST:8786).",
    )(func)
    return click.option(
        "--engine",
        type=click.Choice(ENGINES),
        help="Run here, or on a Dask cluster (pip install 'labelprep[dask]').  [default: local]",
    )(func)


def vote_options(func: F) -> F:
    """Attach the options that say how vote files are read."""
    for option in reversed(VOTE_OPTIONS):
        func = option(func)
    return func


def given_votes(settings: dict[str, Any]) -> dict[str, Any]:
    """Drop the vote options left unset, so the library's defaults apply."""
    unset = [k for k in ("layout", "missing", "duplicates") if settings.get(k) in (None, ())]
    return {k: v for k, v in settings.items() if k not in unset}


def settings_of(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Click kwargs -> keyword arguments of the library functions.

    The configuration file is found here, once, and named on stderr.
    """
    from labelprep.config import resolve_config_file

    settings = dict(kwargs)
    no_config = settings.pop("no_config", False)
    config_path = settings.pop("config", None)
    config_file = resolve_config_file(False if no_config else (config_path or True))
    if config_file is not None:
        print_notices([f"config: {config_file}"])
    settings["config"] = config_file if config_file is not None else False
    if not settings.get("keep"):
        settings.pop("keep", None)
    print_options("options given", {k: v for k, v in settings.items() if k != "config"})
    return settings
