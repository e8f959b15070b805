"""The command line: each command parses, calls one public function, renders.

This is the only module that prints or exits. Exit codes: 0 success, 1 the data
failed a gate, 2 usage or input error, 3 internal error (with the traceback).
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click
import polars as pl

import labelprep
from labelprep.drift import COMPARE_FORMATS
from labelprep.errors import EXIT_GATE_FAILED, EXIT_INTERNAL, LabelprepError
from labelprep.gate import FORMATS, format_summary_markdown

F = TypeVar("F", bound=Callable[..., Any])

_INPUT_OPTIONS: list[Callable[[Any], Any]] = [
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
        help="Read every input with this format instead of by extension.",
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
    help="Output directory (replaced atomically).",
)


def input_options(func: F) -> F:
    """Attach the options shared by every command that reads annotations."""
    for option in reversed(_INPUT_OPTIONS):
        func = option(func)
    return func


def _settings(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Click kwargs -> keyword arguments of the library functions."""
    settings = dict(kwargs)
    no_config = settings.pop("no_config", False)
    config_path = settings.pop("config", None)
    settings["config"] = False if no_config else (config_path or True)
    if not settings.get("keep"):
        settings.pop("keep", None)
    return settings


def _notices(notices: Sequence[str]) -> None:
    for notice in notices:
        click.echo(f"note: {notice}", err=True)


class Group(click.Group):
    """Turns library errors into one clear message and a documented exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except LabelprepError as exc:
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception:
            click.echo(traceback.format_exc(), err=True)
            click.echo(
                "Internal error: this is a bug in labelprep; please report it "
                "with the traceback above.",
                err=True,
            )
            ctx.exit(EXIT_INTERNAL)


@click.group(
    cls=Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100}
)
@click.version_option(labelprep.__version__, prog_name="labelprep")
def main() -> None:
    """Turn messy classification labels into validated soft targets, candidate masks and
    imbalance statistics."""


@main.command()
@click.argument("inputs", nargs=-1)
@output_dir_option
@click.option(
    "--sample-weight",
    type=click.Choice(["balanced", "inverse_sqrt", "effective_number", "median_frequency"]),
    help="Add a sample_weight column to targets from this weight scheme.",
)
@click.option(
    "--compression",
    type=click.Choice(["zstd", "snappy", "lz4", "gzip", "uncompressed"]),
    help="Parquet codec of targets.parquet and rejects.parquet (zstd: smaller files, "
    "slower runs).  [default: snappy]",
)
@input_options
def run(inputs: tuple[str, ...], output_dir: str, **kwargs: Any) -> None:
    """Run the whole pipeline on INPUTS (files or globs; the bundled sample when none)."""
    result = labelprep.run(list(inputs) or None, output_dir=output_dir, **_settings(kwargs))
    _notices(result.notices)
    reasons = ", ".join(f"{r} {n}" for r, n in result.rejects_by_reason.items())
    click.echo(
        f"{result.rows_in} rows in: {result.rows_accepted} accepted, "
        f"{result.rows_rejected} rejected" + (f" ({reasons})" if reasons else "")
    )
    click.echo(f"classes: {', '.join(result.classes)}")
    _wrote(output_dir)


def _wrote(output_dir: str) -> None:
    names = sorted(path.name for path in Path(output_dir).iterdir())
    click.echo(f"wrote {output_dir}/: {' '.join(names)}")


STATS_COLUMNS = (
    "split",
    "class",
    "soft_mass",
    "support",
    "hard_count",
    "candidate_count",
    "prior",
    "balanced",
    "logit_adjustment",
)


@main.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv"]),
    default="table",
    show_default=True,
    help="Output format.",
)
@input_options
def stats(inputs: tuple[str, ...], fmt: str, **kwargs: Any) -> None:
    """Per-class statistics and weights of INPUTS (nothing is written)."""
    table = labelprep.class_stats(list(inputs), **_settings(kwargs))
    if fmt == "json":
        click.echo(table.write_json())
    elif fmt == "csv":
        click.echo(table.write_csv(), nl=False)
    else:
        click.echo(render_table(table.select(STATS_COLUMNS)))


def render_table(table: pl.DataFrame) -> str:
    """A readable terminal table of a small frame."""
    with pl.Config(
        tbl_hide_dataframe_shape=True,
        tbl_hide_column_data_types=True,
        tbl_rows=-1,
        tbl_cols=-1,
        float_precision=4,
        tbl_width_chars=200,
        tbl_formatting="ASCII_MARKDOWN",
        fmt_str_lengths=60,
    ):
        return str(table.with_columns(pl.col("split").fill_null("(all)")))


@main.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(sorted(FORMATS)),
    default="text",
    show_default=True,
    help="How to print the verdict.",
)
@click.option("--min-rows", type=float, help="Fail when fewer rows than this.  [default: 1]")
@click.option(
    "--max-reject-rate",
    type=float,
    help="Fail when the share of rejected rows is above this.  [default: 0]",
)
@click.option(
    "--min-class-count", type=float, help="Fail when a class's count (by --count-by) is below this."
)
@click.option(
    "--max-imbalance-ratio",
    type=float,
    help="Fail when largest / smallest non-zero class count is above this.",
)
@click.option(
    "--require-classes/--no-require-classes",
    default=None,
    help="Fail when a class of the vocabulary has no examples.",
)
@click.option(
    "--baseline",
    help="Dataset, output directory, class_stats.parquet or "
    "manifest.json to compare class priors against.",
)
@click.option("--max-linf", type=float, help="Fail when prior L-infinity vs baseline is above.")
@click.option("--max-jsd", type=float, help="Fail when prior JSD (base 2) vs baseline is above.")
@click.option("-o", "--output-dir", help="Also write the run's outputs here.")
@click.option(
    "--summary",
    "summary_file",
    type=click.Path(dir_okay=False),
    help="Append a Markdown summary to this file (e.g. $GITHUB_STEP_SUMMARY).",
)
@input_options
def validate(inputs: tuple[str, ...], fmt: str, summary_file: str | None, **kwargs: Any) -> None:
    """The CI gate: check INPUTS; exit 0 when every gate passes, 1 when one fails."""
    result = labelprep.validate(list(inputs), **_settings(kwargs))
    _notices(result.notices)
    click.echo(FORMATS[fmt](result))
    if summary_file:
        with open(summary_file, "a", encoding="utf-8") as handle:
            handle.write(format_summary_markdown(result) + "\n")
    if not result.passed:
        sys.exit(EXIT_GATE_FAILED)


@main.command()
@click.argument("a")
@click.argument("b", required=False)
@click.option("--split-a", help="Use this split of A.")
@click.option("--split-b", help="Use this split of B (or of A when B is omitted).")
@click.option("--max-linf", type=float, help="Fail when the L-infinity distance is above this.")
@click.option("--max-jsd", type=float, help="Fail when the JSD (base 2) is above this.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(sorted(COMPARE_FORMATS)),
    default="text",
    show_default=True,
    help="How to print the verdict.",
)
@input_options
def compare(a: str, b: str | None, fmt: str, **kwargs: Any) -> None:
    """Class-prior drift from A to B (datasets, output directories or class stats)."""
    result = labelprep.compare(a, b, **_settings(kwargs))
    click.echo(COMPARE_FORMATS[fmt](result))
    if not result.passed:
        sys.exit(EXIT_GATE_FAILED)


@main.command()
@click.argument("votes", nargs=-1, required=True)
@output_dir_option
@click.option(
    "--method",
    type=click.Choice(["shares", "majority", "dawid-skene"]),
    default="shares",
    show_default=True,
    help="How votes become a soft target.",
)
@click.option(
    "--alpha", type=float, default=0.0, show_default=True, help="Additive smoothing of vote shares."
)
@click.option(
    "--max-iter", type=int, default=100, show_default=True, help="Dawid-Skene: most EM iterations."
)
@click.option(
    "--tol",
    type=float,
    default=1e-5,
    show_default=True,
    help="Dawid-Skene: stop when no posterior moves more than this.",
)
@click.option(
    "--layout",
    type=click.Choice(["long", "wide"]),
    default="long",
    show_default=True,
    help="long: id, annotator, label rows; wide: one column per annotator.",
)
@click.option(
    "--missing",
    default="-1",
    show_default=True,
    help="Wide layout: the value meaning 'no vote' (empty cells too).",
)
@click.option(
    "--duplicates",
    type=click.Choice(["keep", "first", "reject"]),
    default="keep",
    show_default=True,
    help="A second vote of one annotator on one item.",
)
@input_options
def aggregate(votes: tuple[str, ...], output_dir: str, **kwargs: Any) -> None:
    """Turn annotators' VOTES into soft targets, with agreement statistics."""
    result = labelprep.aggregate(list(votes), output_dir=output_dir, **_settings(kwargs))
    _notices(result.notices)
    info = result.summary["votes"]
    agreement = info["agreement"]
    click.echo(
        f"{info['votes_in']} votes ({info['votes_rejected']} rejected) -> "
        f"{result.rows_accepted} items by {info['method']}; "
        f"{info['ties']} tied pluralities"
    )
    click.echo(
        f"Krippendorff's alpha {_fmt(agreement.get('krippendorff_alpha'))}, "
        f"Fleiss' kappa {_fmt(agreement.get('fleiss_kappa'))}"
    )
    _wrote(output_dir)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


@main.command()
@click.argument("output_dir", type=click.Path(file_okay=False))
def report(output_dir: str) -> None:
    """Re-render report.md and report.html from a run's OUTPUT_DIR."""
    for path in labelprep.report(output_dir):
        click.echo(f"wrote {path}")


@main.command()
@click.argument(
    "contract", type=click.Choice(["input", "targets", "rejects", "class_stats"]), required=False
)
def schema(contract: str | None) -> None:
    """Print the data contracts (JSON), or one of them."""
    click.echo(labelprep.schema_json(contract))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
