"""What the commands print: notices, row counts, tables, errors in a --format.

Every data-derived string goes through :func:`labelprep.console.safe` (or the format's
own escaping), so no printed line can start a CI workflow command."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import click

from labelprep.cli.display import detail, pause, quiet, verbosity
from labelprep.console import safe
from labelprep.errors import (
    EXIT_GATE_FAILED,
    EXIT_USAGE,
    LabelprepError,
    OutputError,
    os_error_message,
)
from labelprep.outdir import listing

if TYPE_CHECKING:
    import polars as pl

    import labelprep


def echo(message: str, *, err: bool = False, nl: bool = True) -> None:
    """Every line a command prints goes through here (the progress line is erased first)."""
    pause()
    click.echo(message, err=err, nl=nl)


def check_rows(result: labelprep.RunResult) -> None:
    """Warn when most rows were rejected; exit 1 (the data failed) when none was accepted.
    The outputs are written either way: ``rejects.parquet`` says why."""
    if result.rows_accepted == 0:
        echo(
            f"Error: no row was accepted ({result.rows_in} rows in); see rejects.parquet "
            "for the reasons.",
            err=True,
        )
        sys.exit(EXIT_GATE_FAILED)
    if result.rows_rejected * 2 > result.rows_in and verbosity() > -2:  # -qq: no warnings
        share = result.rows_rejected / result.rows_in
        echo(
            f"warning: most rows were rejected ({result.rows_rejected} of {result.rows_in}, "
            f"{share:.0%}); see rejects.parquet for the reasons.",
            err=True,
        )


def print_notices(notices: Sequence[str]) -> None:
    """Print notes on stderr (not with -q); their data-derived text is rendered safe (one
    line each)."""
    if quiet():
        return
    for notice in notices:
        echo(f"note: {safe(notice)}", err=True)


def say(text: str) -> None:
    """An informational line on stdout (not with -q)."""
    if not quiet():
        echo(text)


def print_options(label: str, options: Mapping[str, Any]) -> None:
    """With -v: the options, one ``name=value`` each (unset ones left out)."""
    given = ", ".join(f"{k}={v!r}" for k, v in options.items() if v not in (None, (), [], {}))
    detail(f"{label}: {safe(given) or '(none)'}")


def print_run_details(summary: Mapping[str, Any]) -> None:
    """With -v: the files a run read and the options in effect."""
    for source in summary.get("inputs", ()):
        shown = f" ({source['format']}, {source['rows']} rows)" if "rows" in source else ""
        detail(f"read {safe(str(source['path']))}{shown}")
    if "options" in summary:
        print_options("options in effect", summary["options"])


def print_error_line(message: str) -> None:
    echo(f"Error: {safe(message)}", err=True)


def print_wrote(output_dir: str) -> None:
    if quiet():
        return
    names = listing(output_dir)  # a folder, or an object store's prefix
    echo(f"wrote {safe(output_dir)}/: {safe(' '.join(names))}")


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


def render_table(table: pl.DataFrame) -> str:
    """A readable terminal table of a small frame."""
    import polars as pl

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
        return str(safe_strings(table).with_columns(pl.col("split").fill_null("(all)")))


def safe_strings(table: pl.DataFrame) -> pl.DataFrame:
    """Text cells rendered safe for CI logs (class and split names; a per-class table)."""
    import polars as pl

    text = [name for name, dtype in table.schema.items() if dtype == pl.String]
    return table.with_columns(
        pl.Series(name, [None if v is None else safe(v) for v in table[name]], dtype=pl.String)
        for name in text
    )


def render_report(
    formats: dict[str, Callable[[Any], str]], fmt: str, report: Any, seconds: float
) -> str:
    """The verdict in ``fmt``; with -q, the text format keeps only its headline and the
    gates that failed (machine-readable formats are printed whole)."""
    from labelprep.gate import format_junit

    if fmt == "junit":
        return format_junit(report, seconds=seconds)
    text = formats[fmt](report)
    if fmt == "text" and quiet():
        lines = text.splitlines()
        text = "\n".join(lines[:1] + [line for line in lines[1:] if line.startswith("  FAIL ")])
    return text


def append_summary(path: str, markdown: str) -> None:
    try:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(markdown + "\n")
    except OSError as exc:
        message = os_error_message(exc, writing=True, path=path)
        raise OutputError(f"--summary: {message}") from exc


def print_format_error(
    fmt: str, command: str, exc: BaseException, summary_file: str | None
) -> None:
    """A file-level error, also in the machine-readable --format (stderr says it too)."""
    from labelprep.gate import format_error, format_summary_error

    exit_code = exc.exit_code if isinstance(exc, LabelprepError) else EXIT_USAGE
    if isinstance(exc, OSError):  # as the stderr message says it
        exc = LabelprepError(os_error_message(exc, writing=None))
    text = format_error(fmt, command, exc, exit_code)
    if text is not None:
        echo(text)
    if summary_file:
        try:
            with open(summary_file, "a", encoding="utf-8") as handle:
                handle.write(format_summary_error(command, exc) + "\n")
        except OSError:
            pass  # the error being reported is the one to see


def print_fit_lines(info: dict[str, Any]) -> None:
    """Convergence of an iterative method and the accuracy on gold items, when there are."""
    if info.get("iterations"):
        state = "converged" if info["converged"] else "stopped at --max-iter"
        change = info.get("final_change")
        tail = "" if change is None else f" (last relative change {change:.2g})"
        say(f"{info['iterations']} iterations, {state}{tail}")
    gold = info.get("gold")
    if gold is not None:
        say(
            f"gold: {gold['items']} items, accuracy {fmt_number(gold['accuracy'])} "
            f"({gold['unmatched']} gold ids without votes)"
        )


def fmt_number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"
