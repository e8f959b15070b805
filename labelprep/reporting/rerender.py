"""``labelprep report`` / :func:`labelprep.report`: the reports of an output directory
rendered again from its ``class_stats.parquet`` and ``manifest.json``, with the first
rejected rows of each reason from ``rejects.parquet`` or, for a run on the Dask engine, from
the part files of ``rejects/`` read in name order (input order), as the run showed them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from labelprep.errors import ConfigError, OutputError
from labelprep.outdir import MANIFEST, MARKER_KEY, is_marked_manifest
from labelprep.output_names import REJECTS
from labelprep.outputs import CLASS_STATS, read_manifest, write_reports
from labelprep.rejects import REJECT_COLUMNS
from labelprep.reporting.run_files import EXAMPLES_PER_REASON
from labelprep.run_targets import output_files
from labelprep.summary import report_summary


def report(output_dir: str | Path) -> tuple[Path, Path]:
    """Re-render ``report.md`` and ``report.html`` from a run's output directory.

    Returns the paths of the two reports.
    """
    folder = Path(output_dir)
    manifest = read_manifest(folder)
    stats_path = folder / CLASS_STATS
    if not stats_path.is_file():
        raise ConfigError(f"{folder}: no {CLASS_STATS}; is this a labelprep output directory?")
    if not is_marked_manifest(folder / MANIFEST):  # its report.md is not ours to replace
        raise OutputError(
            f"{folder}: its {MANIFEST} was not written by labelprep (no {MARKER_KEY!r} key); "
            "the reports are re-rendered only in labelprep's own output directories."
        )
    summary = report_summary(manifest)
    write_reports(folder, pl.read_parquet(stats_path), {**summary, **_part_samples(folder)})
    return folder / "report.md", folder / "report.html"


def _part_samples(folder: Path) -> dict[str, Any]:
    """``reject_samples`` from the part files of ``rejects/`` (none when the run wrote
    ``rejects.parquet``, which the report reads itself)."""
    files = output_files(folder, REJECTS)
    if files == [folder / REJECTS]:
        return {}
    try:
        first = (
            pl.scan_parquet(files)
            .select(REJECT_COLUMNS)
            .group_by("reason", maintain_order=True)
            .head(EXAMPLES_PER_REASON)
            .collect()
        )
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise OutputError(f"{folder / 'rejects'}: cannot read it for the report: {exc}") from exc
    return {"reject_samples": first.to_dicts()}
