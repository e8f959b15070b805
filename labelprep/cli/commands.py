"""The commands: each parses, calls one public function of the same name, renders."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import click

import labelprep
from labelprep.cli.display import verbosity_options
from labelprep.cli.options import (
    COMPARE_FORMAT_NAMES,
    DEFAULT_TOL,
    GATE_FORMAT_NAMES,
    METHOD_NAMES,
    engine_options,
    given_votes,
    input_options,
    input_options_except,
    output_dir_option,
    settings_of,
    target_file_options,
    vote_options,
)
from labelprep.cli.process import GateCommand, Group
from labelprep.cli.render import (
    STATS_COLUMNS,
    append_summary,
    check_rows,
    echo,
    fmt_number,
    print_fit_lines,
    print_format_error,
    print_notices,
    print_run_details,
    print_wrote,
    render_report,
    render_table,
    safe_strings,
    say,
)
from labelprep.console import json_safe, safe
from labelprep.errors import (
    EXIT_GATE_FAILED,
    LabelprepError,
)
from labelprep.option_names import NOT_FOR_VOTES


@click.group(
    cls=Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100}
)
@click.version_option(labelprep.__version__, prog_name="labelprep")
@verbosity_options
def main() -> None:
    """Turn messy classification labels into validated soft targets, candidate masks and
    imbalance statistics."""


@main.command()
@click.argument("inputs", nargs=-1)
@output_dir_option
@target_file_options
@vote_options
@engine_options
@input_options
def run(inputs: tuple[str, ...], output_dir: str, **kwargs: Any) -> None:
    """Run the whole pipeline on INPUTS (files or globs; the bundled sample when none).

    Exits 1 when no row is accepted (the outputs are still written)."""
    settings = given_votes(settings_of(kwargs))
    result = labelprep.run(list(inputs) or None, output_dir=output_dir, **settings)
    print_notices(result.notices)
    print_run_details(result.summary)
    reasons = ", ".join(f"{r} {n}" for r, n in result.rejects_by_reason.items())
    say(
        f"{result.rows_in} rows in: {result.rows_accepted} accepted, "
        f"{result.rows_rejected} rejected" + (f" ({reasons})" if reasons else "")
    )
    say(f"classes: {safe(', '.join(result.classes))}")
    print_wrote(output_dir)
    check_rows(result)


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
@engine_options
@input_options_except("keep")  # nothing is written
def stats(inputs: tuple[str, ...], fmt: str, **kwargs: Any) -> None:
    """Per-class statistics and weights of INPUTS (nothing is written).

    The statistics are of the accepted rows; rows in, accepted and rejected by reason
    go to stderr (and to the "rows" block of --format json)."""
    settings = given_votes(settings_of(kwargs))
    table, totals = labelprep.class_stats(list(inputs), with_counts=True, **settings)
    reasons = ", ".join(f"{r} {n}" for r, n in totals.rejects_by_reason.items())
    print_notices(
        [
            *totals.notices,
            f"{totals.rows_in} rows in: {totals.rows_accepted} accepted, "
            f"{totals.rows_rejected} rejected" + (f" ({reasons})" if reasons else ""),
        ]
    )
    if fmt == "json":
        rows = json.dumps(totals.to_dict())
        config = str(settings["config"]) if settings.get("config") else None
        stats_json = json.dumps(json.loads(table.write_json()))  # escapes every line break
        payload = f'{{"rows": {rows}, "class_stats": {stats_json}, "config": {json.dumps(config)}}}'
        echo(json_safe(payload))
    elif fmt == "csv":
        echo(safe_strings(table).write_csv(), nl=False)
    else:
        echo(render_table(table.select(STATS_COLUMNS)))


@main.command(cls=GateCommand)
@click.argument("inputs", nargs=-1, required=True)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(GATE_FORMAT_NAMES),
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
@target_file_options
@vote_options
@engine_options
@input_options
def validate(inputs: tuple[str, ...], fmt: str, summary_file: str | None, **kwargs: Any) -> None:
    """The CI gate: check INPUTS; exit 0 when every gate passes, 1 when one fails.

    A file-level error exits 2; with --format json, junit or github it is also printed
    in that format (and appended to the --summary file)."""
    from labelprep.gate import FORMATS, format_summary_markdown

    started = time.perf_counter()
    try:
        result = labelprep.validate(list(inputs), **settings_of(kwargs))
        if summary_file:
            append_summary(summary_file, format_summary_markdown(result))
    except (LabelprepError, OSError) as exc:
        print_format_error(fmt, "validate", exc, summary_file)
        raise
    print_notices(result.notices)
    print_run_details({"inputs": [{"path": path} for path in result.inputs]})
    echo(render_report(FORMATS, fmt, result, time.perf_counter() - started))
    if not result.passed:
        sys.exit(EXIT_GATE_FAILED)


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
    type=click.Choice(COMPARE_FORMAT_NAMES),
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
@input_options_except("keep", "beta", "tau")  # no targets written, no weights compared
def compare(a: str, b: str | None, fmt: str, **kwargs: Any) -> None:
    """Class-prior drift from A to B (datasets, output directories or class stats)."""
    from labelprep.drift import COMPARE_FORMATS

    started = time.perf_counter()
    try:
        result = labelprep.compare(a, b, **settings_of(kwargs))
    except (LabelprepError, OSError) as exc:
        print_format_error(fmt, "compare", exc, None)
        raise
    echo(render_report(COMPARE_FORMATS, fmt, result, time.perf_counter() - started))
    if not result.passed:
        sys.exit(EXIT_GATE_FAILED)


@main.command()
@click.argument("votes", nargs=-1, required=True)
@output_dir_option
@click.option(
    "--method",
    type=click.Choice(METHOD_NAMES),
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
@target_file_options
@vote_options
@engine_options
@input_options_except(*NOT_FOR_VOTES)
def aggregate(votes: tuple[str, ...], output_dir: str, **kwargs: Any) -> None:
    """Turn annotators' VOTES into soft targets, with agreement statistics.

    Exits 1 when no item is accepted (the outputs are still written)."""
    settings = given_votes(settings_of(kwargs))
    result = labelprep.aggregate(list(votes), output_dir=output_dir, **settings)
    print_notices(result.notices)
    print_run_details(result.summary)
    info = result.summary["votes"]
    agreement = info["agreement"]
    say(
        f"{info['votes_in']} votes ({info['votes_rejected']} rejected) -> "
        f"{result.rows_accepted} items by {info['method']}; "
        f"{info['ties']} tied pluralities; {info['duplicate_votes']} repeated votes "
        f"({info['duplicate_votes_rejected']} rejected)"
    )
    say(
        f"Krippendorff's alpha {fmt_number(agreement.get('krippendorff_alpha'))}, "
        f"Fleiss' kappa {fmt_number(agreement.get('fleiss_kappa'))}"
    )
    print_fit_lines(info)
    print_wrote(output_dir)
    check_rows(result)


@main.command()
@click.argument("output_dir", type=click.Path(file_okay=False))
def report(output_dir: str) -> None:
    """Re-render report.md and report.html from a run's OUTPUT_DIR."""
    for path in labelprep.report(output_dir):
        say(f"wrote {safe(str(path))}")


@main.command()
@click.argument(
    "contract", type=click.Choice(["input", "targets", "rejects", "class_stats"]), required=False
)
def schema(contract: str | None) -> None:
    """Print the data contracts (JSON), or one of them: the files of schemas/, which
    labelprep.schema.load_schema turns back into Pandera schemas."""
    echo(labelprep.schema_json(contract))


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
    say(
        f"{result.rows_in} rows: {result.refined} refined, {result.single_class} single-class "
        f"unchanged, {result.no_prediction} without a prediction unchanged, "
        f"{result.rows_rejected} rejected (no_overlap)"
    )
    say(
        f"{preds['rows']} predictions: {preds['used']} used, {preds['rejected']} rejected"
        + "".join(f", {r} {n}" for r, n in preds["rejected_by_reason"].items())
    )
    say(f"argmax changed on {result.argmax_changed} rows")
    print_wrote(output_dir)
