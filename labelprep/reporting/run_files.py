"""What the report shows from a run's output folder besides the class stats and summary:
a few rejected rows per reason (``rejects.parquet``) and the annotator table
(``annotators.parquet``). Both are read lazily, only the rows and columns the report needs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from labelprep.errors import OutputError

REJECTS, ANNOTATORS = "rejects.parquet", "annotators.parquet"
EXAMPLES_PER_REASON = 3
_REJECT_COLUMNS = ("source", "row", "id", "reason", "column", "value", "message")
_ANNOTATOR_COLUMNS = ("annotator", "votes", "agreement_with_consensus", "estimated_accuracy")


def with_run_files(folder: Path, summary: dict[str, Any]) -> dict[str, Any]:
    """``summary`` plus ``reject_samples`` and ``votes["annotators"]`` from ``folder``.

    Keys already present are kept; a file that is absent adds nothing.

    Raises
    ------
    OutputError
        When a file is there but cannot be read as Parquet.
    """
    out = dict(summary)
    rejects = folder / REJECTS
    if "reject_samples" not in out and rejects.is_file():
        frame = _read(rejects, _REJECT_COLUMNS)
        if "reason" in frame.collect_schema().names():
            examples = frame.group_by("reason", maintain_order=True).head(EXAMPLES_PER_REASON)
            out["reject_samples"] = _collect(rejects, examples).to_dicts()
    annotators = folder / ANNOTATORS
    votes = out.get("votes")
    if isinstance(votes, dict) and "annotators" not in votes and annotators.is_file():
        table = _collect(annotators, _read(annotators, _ANNOTATOR_COLUMNS))
        out["votes"] = {**votes, "annotators": table.to_dict(as_series=False)}
    return out


def _read(path: Path, columns: tuple[str, ...]) -> pl.LazyFrame:
    try:
        frame = pl.scan_parquet(path)
        names = frame.collect_schema().names()
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise OutputError(f"{path}: cannot read it for the report: {exc}") from exc
    return frame.select([c for c in columns if c in names])


def _collect(path: Path, frame: pl.LazyFrame) -> pl.DataFrame:
    try:
        return frame.collect()
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise OutputError(f"{path}: cannot read it for the report: {exc}") from exc
