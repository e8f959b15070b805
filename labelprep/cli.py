"""The command line: each command parses, calls one public function, renders.

This is the only module that prints or exits. Exit codes: 0 success, 1 the data
failed a gate, 2 usage or input error, 3 internal error (with the traceback).
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click
import polars as pl

import labelprep
from labelprep import interrupts
from labelprep.aggregation import METHODS
from labelprep.aggregation._em import DEFAULT_TOL
from labelprep.config import resolve_config_file
from labelprep.console import json_safe, safe
from labelprep.drift import COMPARE_FORMATS
from labelprep.errors import (
    EXIT_GATE_FAILED,
    EXIT_INTERNAL,
    EXIT_SIGINT,
    EXIT_USAGE,
    LabelprepError,
    OutputError,
    os_error_message,
)
from labelprep.gate import (
    FORMATS,
    format_error,
    format_junit,
    format_summary_error,
    format_summary_markdown,
)

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
    help="Output directory (replaced atomically).",
)


def input_options(func: F) -> F:
    """Attach the options shared by every command that reads annotations."""
    for option in reversed(_INPUT_OPTIONS):
        func = option(func)
    return func


_VOTE_OPTIONS: list[Callable[[Any], Any]] = [
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


def vote_options(func: F) -> F:
    """Attach the options that say how vote files are read."""
    for option in reversed(_VOTE_OPTIONS):
        func = option(func)
    return func


def _given_votes(settings: dict[str, Any]) -> dict[str, Any]:
    """Drop the vote options left unset, so the library's defaults apply."""
    unset = [k for k in ("layout", "missing", "duplicates") if settings.get(k) in (None, ())]
    return {k: v for k, v in settings.items() if k not in unset}


def _check_rows(result: labelprep.RunResult) -> None:
    """Warn when most rows were rejected; exit 1 (the data failed) when none was accepted.
    The outputs are written either way: ``rejects.parquet`` says why."""
    if result.rows_accepted == 0:
        click.echo(
            f"Error: no row was accepted ({result.rows_in} rows in); see rejects.parquet "
            "for the reasons.",
            err=True,
        )
        sys.exit(EXIT_GATE_FAILED)
    if result.rows_rejected * 2 > result.rows_in:
        share = result.rows_rejected / result.rows_in
        click.echo(
            f"warning: most rows were rejected ({result.rows_rejected} of {result.rows_in}, "
            f"{share:.0%}); see rejects.parquet for the reasons.",
            err=True,
        )


def _settings(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Click kwargs -> keyword arguments of the library functions.

    The configuration file is found here, once, and named on stderr.
    """
    settings = dict(kwargs)
    no_config = settings.pop("no_config", False)
    config_path = settings.pop("config", None)
    config_file = resolve_config_file(False if no_config else (config_path or True))
    if config_file is not None:
        _notices([f"config: {config_file}"])
    settings["config"] = config_file if config_file is not None else False
    if not settings.get("keep"):
        settings.pop("keep", None)
    return settings


def _notices(notices: Sequence[str]) -> None:
    """Print notes on stderr; their data-derived text is rendered safe (one line each)."""
    for notice in notices:
        click.echo(f"note: {safe(notice)}", err=True)


class Group(click.Group):
    """Turns library errors into one clear message and a documented exit code: 2 for a
    usage, input or operating-system error, 130 / 143 when SIGINT / SIGTERM stopped the
    run (its partial outputs removed), 3 with the traceback for a bug only."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        handlers = interrupts.install()
        try:
            return super().main(*args, **kwargs)
        finally:
            interrupts.restore(handlers)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except LabelprepError as exc:
            _error(str(exc))
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt as exc:  # Interrupted (SIGINT, SIGTERM) or a bare Ctrl-C
            name = signal.Signals(getattr(exc, "signum", signal.SIGINT)).name
            click.echo(f"labelprep: stopped by {name}; nothing was written.", err=True)
            _exit_now(getattr(exc, "exit_code", EXIT_SIGINT))
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except OSError as exc:  # one the library did not name: still not a bug
            _error(os_error_message(exc, writing=None))
            ctx.exit(EXIT_USAGE)
        except Exception:
            click.echo(traceback.format_exc(), err=True)
            click.echo(
                "Internal error: this is a bug in labelprep; please report it "
                "with the traceback above.",
                err=True,
            )
            ctx.exit(EXIT_INTERNAL)


def _exit_now(code: int) -> None:
    """Exit without waiting for a Polars query the interruption abandoned (the staging
    directory is already removed): a native thread still running while the interpreter
    shuts down can abort the process. The exit handlers still run."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)  # a second signal does not cut the exit short
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _error(message: str) -> None:
    click.echo(f"Error: {safe(message)}", err=True)


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
@vote_options
@input_options
def run(inputs: tuple[str, ...], output_dir: str, **kwargs: Any) -> None:
    """Run the whole pipeline on INPUTS (files or globs; the bundled sample when none).

    Exits 1 when no row is accepted (the outputs are still written)."""
    settings = _given_votes(_settings(kwargs))
    result = labelprep.run(list(inputs) or None, output_dir=output_dir, **settings)
    _notices(result.notices)
    reasons = ", ".join(f"{r} {n}" for r, n in result.rejects_by_reason.items())
    click.echo(
        f"{result.rows_in} rows in: {result.rows_accepted} accepted, "
        f"{result.rows_rejected} rejected" + (f" ({reasons})" if reasons else "")
    )
    click.echo(f"classes: {safe(', '.join(result.classes))}")
    _wrote(output_dir)
    _check_rows(result)


def _wrote(output_dir: str) -> None:
    names = sorted(path.name for path in Path(output_dir).iterdir())
    click.echo(f"wrote {safe(output_dir)}/: {safe(' '.join(names))}")


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
@vote_options
@input_options
def stats(inputs: tuple[str, ...], fmt: str, **kwargs: Any) -> None:
    """Per-class statistics and weights of INPUTS (nothing is written).

    The statistics are of the accepted rows; rows in, accepted and rejected by reason
    go to stderr (and to the "rows" block of --format json)."""
    settings = _given_votes(_settings(kwargs))
    table, totals = labelprep.class_stats(list(inputs), with_counts=True, **settings)
    _notices(totals.notices)
    reasons = ", ".join(f"{r} {n}" for r, n in totals.rejects_by_reason.items())
    click.echo(
        f"note: {totals.rows_in} rows in: {totals.rows_accepted} accepted, "
        f"{totals.rows_rejected} rejected" + (f" ({safe(reasons)})" if reasons else ""),
        err=True,
    )
    if fmt == "json":
        rows = json.dumps(totals.to_dict())
        config = str(settings["config"]) if settings.get("config") else None
        stats_json = json.dumps(json.loads(table.write_json()))  # escapes every line break
        payload = f'{{"rows": {rows}, "class_stats": {stats_json}, "config": {json.dumps(config)}}}'
        click.echo(json_safe(payload))
    elif fmt == "csv":
        click.echo(_safe_strings(table).write_csv(), nl=False)
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
        return str(_safe_strings(table).with_columns(pl.col("split").fill_null("(all)")))


def _safe_strings(table: pl.DataFrame) -> pl.DataFrame:
    """Text cells rendered safe for CI logs (class and split names; a per-class table)."""
    text = [name for name, dtype in table.schema.items() if dtype == pl.String]
    return table.with_columns(
        pl.Series(name, [None if v is None else safe(v) for v in table[name]], dtype=pl.String)
        for name in text
    )


class GateCommand(click.Command):
    """A gate command: usage errors (bad option values) also come out in its --format."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        raw = list(args)  # the parser consumes args
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            error = click.UsageError(safe(exc.format_message()), ctx=exc.ctx)
            text = format_error(_format_in(raw), self.name or "labelprep", error, exc.exit_code)
            if text is not None:
                click.echo(text)
            raise error from exc


def _format_in(args: Sequence[str]) -> str:
    """The value of the last --format in raw arguments ("text" when absent)."""
    fmt = "text"
    for i, arg in enumerate(args):
        if arg == "--format" and i + 1 < len(args):
            fmt = args[i + 1]
        elif arg.startswith("--format="):
            fmt = arg.partition("=")[2]
    return fmt


@main.command(cls=GateCommand)
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
@click.option(
    "--align",
    type=click.Choice(["exact", "union"]),
    help="Baseline with other classes: an error (exact), or compare over the union of "
    "the classes (union).  [default: exact]",
)
@vote_options
@input_options
def validate(inputs: tuple[str, ...], fmt: str, summary_file: str | None, **kwargs: Any) -> None:
    """The CI gate: check INPUTS; exit 0 when every gate passes, 1 when one fails.

    A file-level error exits 2; with --format json, junit or github it is also printed
    in that format (and appended to the --summary file)."""
    started = time.perf_counter()
    try:
        result = labelprep.validate(list(inputs), **_settings(kwargs))
        if summary_file:
            _append_summary(summary_file, format_summary_markdown(result))
    except (LabelprepError, OSError) as exc:
        _print_error(fmt, "validate", exc, summary_file)
        raise
    _notices(result.notices)
    click.echo(_render(FORMATS, fmt, result, time.perf_counter() - started))
    if not result.passed:
        sys.exit(EXIT_GATE_FAILED)


def _render(formats: dict[str, Callable[[Any], str]], fmt: str, report: Any, seconds: float) -> str:
    return format_junit(report, seconds=seconds) if fmt == "junit" else formats[fmt](report)


def _append_summary(path: str, markdown: str) -> None:
    try:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(markdown + "\n")
    except OSError as exc:
        message = os_error_message(exc, writing=True, path=path)
        raise OutputError(f"--summary: {message}") from exc


def _print_error(fmt: str, command: str, exc: BaseException, summary_file: str | None) -> None:
    """A file-level error, also in the machine-readable --format (stderr says it too)."""
    exit_code = exc.exit_code if isinstance(exc, LabelprepError) else EXIT_USAGE
    if isinstance(exc, OSError):  # as the stderr message says it
        exc = LabelprepError(os_error_message(exc, writing=None))
    text = format_error(fmt, command, exc, exit_code)
    if text is not None:
        click.echo(text)
    if summary_file:
        try:
            with open(summary_file, "a", encoding="utf-8") as handle:
                handle.write(format_summary_error(command, exc) + "\n")
        except OSError:
            pass  # the error being reported is the one to see


@main.command(cls=GateCommand)
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
@click.option(
    "--align",
    type=click.Choice(["exact", "union"]),
    default="exact",
    show_default=True,
    help="Sides with different classes: an error naming them (exact), or compare over "
    "the union of the classes, a class absent on one side counting 0 there (union).",
)
@input_options
def compare(a: str, b: str | None, fmt: str, **kwargs: Any) -> None:
    """Class-prior drift from A to B (datasets, output directories or class stats)."""
    started = time.perf_counter()
    try:
        result = labelprep.compare(a, b, **_settings(kwargs))
    except (LabelprepError, OSError) as exc:
        _print_error(fmt, "compare", exc, None)
        raise
    click.echo(_render(COMPARE_FORMATS, fmt, result, time.perf_counter() - started))
    if not result.passed:
        sys.exit(EXIT_GATE_FAILED)


@main.command()
@click.argument("votes", nargs=-1, required=True)
@output_dir_option
@click.option(
    "--method",
    type=click.Choice(list(METHODS)),
    default="shares",
    show_default=True,
    help="How votes become a soft target (see the README's method table).",
)
@click.option(
    "--alpha", type=float, default=0.0, show_default=True, help="Additive smoothing of vote shares."
)
@click.option(
    "--max-iter",
    type=int,
    default=100,
    show_default=True,
    help="Iterative methods: most iterations.",
)
@click.option(
    "--tol",
    type=float,
    default=DEFAULT_TOL,
    show_default=True,
    help="EM methods: stop when the log-likelihood changes by less than this fraction "
    "(zero-based-skill: when no skill moves more than this).",
)
@click.option(
    "--gold",
    type=click.Path(dir_okay=False),
    default=None,
    help="File of id,label pairs with known answers: fixed during fitting, accuracy reported.",
)
@vote_options
@input_options
def aggregate(votes: tuple[str, ...], output_dir: str, **kwargs: Any) -> None:
    """Turn annotators' VOTES into soft targets, with agreement statistics.

    Exits 1 when no item is accepted (the outputs are still written)."""
    settings = _given_votes(_settings(kwargs))
    result = labelprep.aggregate(list(votes), output_dir=output_dir, **settings)
    _notices(result.notices)
    info = result.summary["votes"]
    agreement = info["agreement"]
    click.echo(
        f"{info['votes_in']} votes ({info['votes_rejected']} rejected) -> "
        f"{result.rows_accepted} items by {info['method']}; "
        f"{info['ties']} tied pluralities; {info['duplicate_votes']} repeated votes "
        f"({info['duplicate_votes_rejected']} rejected)"
    )
    click.echo(
        f"Krippendorff's alpha {_fmt(agreement.get('krippendorff_alpha'))}, "
        f"Fleiss' kappa {_fmt(agreement.get('fleiss_kappa'))}"
    )
    _fit_lines(info)
    _wrote(output_dir)
    _check_rows(result)


def _fit_lines(info: dict[str, Any]) -> None:
    """Convergence of an iterative method and the accuracy on gold items, when there are."""
    if info.get("iterations"):
        state = "converged" if info["converged"] else "stopped at --max-iter"
        change = info.get("final_change")
        tail = "" if change is None else f" (last relative change {change:.2g})"
        click.echo(f"{info['iterations']} iterations, {state}{tail}")
    gold = info.get("gold")
    if gold is not None:
        click.echo(
            f"gold: {gold['items']} items, accuracy {_fmt(gold['accuracy'])} "
            f"({gold['unmatched']} gold ids without votes)"
        )


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


@main.command()
@click.argument("output_dir", type=click.Path(file_okay=False))
def report(output_dir: str) -> None:
    """Re-render report.md and report.html from a run's OUTPUT_DIR."""
    for path in labelprep.report(output_dir):
        click.echo(f"wrote {safe(str(path))}")


@main.command()
@click.argument(
    "contract", type=click.Choice(["input", "targets", "rejects", "class_stats"]), required=False
)
def schema(contract: str | None) -> None:
    """Print the data contracts (JSON), or one of them."""
    click.echo(labelprep.schema_json(contract))


@main.command()
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option(
    "--predictions",
    required=True,
    help="A model's class probabilities per id: one column per class, or a list column.",
)
@click.option(
    "-o", "--output-dir", required=True, help="New output directory (never RUN_DIR itself)."
)
@click.option(
    "--mix",
    type=float,
    default=0.0,
    show_default=True,
    help="Weight kept on the previous target: mix * previous + (1 - mix) * new.",
)
@click.option(
    "--temperature",
    type=float,
    default=1.0,
    show_default=True,
    help="Probabilities are raised to 1/T before masking (T > 1 flattens them).",
)
@click.option("--id-column", help="Id column of the predictions.  [default: id]")
@click.option("--probs-column", help="List column of the predictions.  [default: probs]")
@click.option("--tolerance", type=float, help="Allowed |sum(q) - 1|.  [default: 0.001]")
@click.option(
    "--renormalize/--no-renormalize",
    default=None,
    help="Rescale predictions that do not sum to 1 instead of rejecting them.",
)
@click.option(
    "--input-format",
    type=click.Choice(["csv", "tsv", "parquet", "jsonl"]),
    help="Read the predictions with this format instead of by extension.",
)
def refine(run_dir: str, predictions: str, output_dir: str, **kwargs: Any) -> None:
    """Refine RUN_DIR's targets with a model's probabilities: target proportional to
    mask * q (one step of progressive partial-label training)."""
    result = labelprep.refine(run_dir, predictions, output_dir=output_dir, **kwargs)
    preds = result.summary["refine"]["predictions"]
    click.echo(
        f"{result.rows_in} rows: {result.refined} refined, {result.single_class} single-class "
        f"unchanged, {result.no_prediction} without a prediction unchanged, "
        f"{result.rows_rejected} rejected (no_overlap)"
    )
    click.echo(
        f"{preds['rows']} predictions: {preds['used']} used, {preds['rejected']} rejected"
        + "".join(f", {r} {n}" for r, n in preds["rejected_by_reason"].items())
    )
    click.echo(f"argmax changed on {result.argmax_changed} rows")
    _wrote(output_dir)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
