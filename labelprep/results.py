"""What a finished pass means: the class statistics (checked against their Pandera
contract), the weights of a scheme, and the summary of the run."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from labelprep import progress
from labelprep.schema import class_stats_schema
from labelprep.stats import class_counts
from labelprep.summary import RunResult, fallback_notices, summarize
from labelprep.weights import add_weights

if TYPE_CHECKING:
    from labelprep.pipeline import Counts, Prepared


def class_statistics(prepared: Prepared, counts: Counts) -> pl.DataFrame:
    """``class_stats.parquet``: counts and every weight scheme, all rows and per split."""
    opts = prepared.options
    table = class_counts(counts.sums, prepared.classes)
    stats = add_weights(table, count_by=opts.count_by, beta=opts.beta, tau=opts.tau)
    return class_stats_schema(prepared.classes).validate(stats, lazy=True)


def scheme_weights(stats: pl.DataFrame, scheme: str) -> list[float]:
    """The all-rows weights of one scheme, in class order."""
    overall = stats.filter(pl.col("split").is_null()).sort("index")
    return [float(w) for w in overall[scheme]]


def result_of(prepared: Prepared, counts: Counts, out: Path | None) -> RunResult:
    """Assemble the statistics and summary of a finished pass."""
    progress.stage("statistics and reports")
    stats = class_statistics(prepared, counts)
    summary = summarize(prepared, counts, stats)
    summary["options"] = prepared.options.to_dict()
    if prepared.votes is not None:
        summary["votes"] = prepared.votes.summary()
    if prepared.prior is not None:
        summary["prior_source"] = prepared.prior.source
        summary["partial_prior"] = prepared.prior.summary()
    notices = (
        prepared.vocabulary.notices
        + (prepared.votes.notices if prepared.votes is not None else ())
        + ((prepared.prior.notice,) if prepared.prior is not None else ())
        + fallback_notices(summary["fallbacks"])
    )
    summary["notices"] = list(notices)  # the report shows them
    summary["config"] = prepared.options.config_file
    return RunResult(
        output_dir=out,
        classes=prepared.classes,
        rows_in=summary["rows_in"],
        rows_accepted=summary["rows_accepted"],
        rows_rejected=summary["rows_rejected"],
        rejects_by_reason=summary["rejects_by_reason"],
        class_stats=stats,
        summary=summary,
        notices=notices,
    )
