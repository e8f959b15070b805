"""``labelprep report`` / :func:`labelprep.report`: the reports of an output directory
rendered again from its ``class_stats.parquet`` and ``manifest.json``."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from labelprep.errors import ConfigError, OutputError
from labelprep.outdir import MANIFEST, MARKER_KEY, is_marked_manifest
from labelprep.outputs import CLASS_STATS, read_manifest, write_reports
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
    write_reports(folder, pl.read_parquet(stats_path), report_summary(manifest))
    return folder / "report.md", folder / "report.html"
