"""What the commands print: notices, row counts, tables, errors in a --format.

Every data-derived string goes through :func:`labelprep.console.safe` (or the format's
own escaping), so no printed line can start a CI workflow command."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click
import polars as pl

import labelprep
from labelprep.console import safe
from labelprep.errors import (
    EXIT_GATE_FAILED,
    EXIT_USAGE,
    LabelprepError,
    OutputError,
    os_error_message,
)
from labelprep.gate import (
    format_error,
    format_junit,
    format_summary_error,
)


def check_rows(result: labelprep.RunResult) -> None:
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


def print_notices(notices: Sequence[str]) -> None:
    """Print notes on stderr; their data-derived text is rendered safe (one line each)."""
    for notice in notices:
        click.echo(f"note: {safe(notice)}", err=True)


def print_error_line(message: str) -> None:
    click.echo(f"Error: {safe(message)}", err=True)


def print_wrote(output_dir: str) -> None:
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
        return str(safe_strings(table).with_columns(pl.col("split").fill_null("(all)")))


def safe_strings(table: pl.DataFrame) -> pl.DataFrame:
    """Text cells rendered safe for CI logs (class and split names; a per-class table)."""
    text = [name for name, dtype in table.schema.items() if dtype == pl.String]
    return table.with_columns(
        pl.Series(name, [None if v is None else safe(v) for v in table[name]], dtype=pl.String)
        for name in text
    )


def render_report(
    formats: dict[str, Callable[[Any], str]], fmt: str, report: Any, seconds: float
) -> str:
    return format_junit(report, seconds=seconds) if fmt == "junit" else formats[fmt](report)


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


def print_fit_lines(info: dict[str, Any]) -> None:
    """Convergence of an iterative method and the accuracy on gold items, when there are."""
    if info.get("iterations"):
        state = "converged" if info["converged"] else "stopped at --max-iter"
        change = info.get("final_change")
        tail = "" if change is None else f" (last relative change {change:.2g})"
        click.echo(f"{info['iterations']} iterations, {state}{tail}")
    gold = info.get("gold")
    if gold is not None:
        click.echo(
            f"gold: {gold['items']} items, accuracy {fmt_number(gold['accuracy'])} "
            f"({gold['unmatched']} gold ids without votes)"
        )


def fmt_number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"
