"""What a run counted, in plain numbers: the summary, the fallbacks and ``manifest.json``.

Every row read is a target or a reject (``rows_in = rows_accepted + rows_rejected``, per
input too), and every place where a row's target is not simply its evidence is counted
under ``summary["fallbacks"]`` (name -> rows) with a notice naming it:

``renormalized``
    rows whose probabilities did not sum to 1 within the tolerance and were rescaled
    (``renormalize=True``);
``prior_to_uniform``
    partial rows of a ``partial="prior"`` run spread uniformly over their mask instead:
    the run's prior fell back to uniform, or gives every class of the row's mask 0;
``smoothed``
    rows whose target was smoothed (``smoothing > 0``): every accepted row.

Counting them is a pass over the accepted rows, run only when one of those options is on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from labelprep import __version__
from labelprep.errors import ConfigError
from labelprep.evidence import TargetPlan, mask
from labelprep.inputs.ingest import FILE, collect_all
from labelprep.output_names import SPLITS_DIR
from labelprep.outputs import (
    ANNOTATORS,
    MANIFEST,
    REJECTS,
    TARGETS,
    Hasher,
    output_entries,
    read_manifest,
    sha256_file,
    write_json,
)
from labelprep.remote_output import read_output as read_remote_output
from labelprep.row_checks import row_sum
from labelprep.stats import row_summary
from labelprep.targets import accepted, build_targets
from labelprep.weights import dataset_summary

if TYPE_CHECKING:
    from labelprep.pipeline import Counts, Prepared

FALLBACKS = ("renormalized", "prior_to_uniform", "smoothed")


def summarize(prepared: Prepared, counts: Counts, stats: pl.DataFrame) -> dict[str, Any]:
    """Row counts by outcome, reason, evidence and file, plus the dataset summary."""
    rejects = counts.rejects
    by_reason = rejects.group_by("reason").agg(pl.col("rows").sum()).sort("reason")
    n_rejected = int(rejects["rows"].sum())
    n_accepted = counts.rows.total
    return {
        "version": __version__,
        "classes": list(prepared.classes),
        "classes_source": prepared.vocabulary.source,
        "count_by": prepared.options.count_by,
        "rows_in": n_accepted + n_rejected,
        "rows_accepted": n_accepted,
        "rows_rejected": n_rejected,
        "rejects_by_reason": dict(
            zip(by_reason["reason"], map(int, by_reason["rows"]), strict=True)
        ),
        **row_summary(counts.rows),
        "fallbacks": run_fallbacks(prepared) if counts.fallbacks is None else counts.fallbacks,
        "dataset": dataset_summary(stats, count_by=prepared.options.count_by),
        "inputs": _rows_per_input(prepared, counts),
    }


def _rows_per_input(prepared: Prepared, counts: Counts) -> list[dict[str, Any]]:
    """Per input: rows read, and how many became targets or rejects. For every file but a
    vote file (many votes, one target) the two must match: a mismatch is a bug."""
    acc = counts.rows.by_file
    rej = dict(counts.rejects.group_by(FILE).agg(pl.col("rows").sum()).iter_rows())
    entries = []
    for source in prepared.sources:
        read = prepared.rows_read[source.index] if prepared.rows_read else None
        accepted_rows, rejected_rows = int(acc.get(source.index, 0)), int(rej.get(source.index, 0))
        checked = read is not None and source.index not in prepared.vote_files
        if checked and read != accepted_rows + rejected_rows:
            raise RuntimeError(
                f"{source.path}: {read} rows read but {accepted_rows} accepted + "
                f"{rejected_rows} rejected; rows were lost"
            )
        entries.append(
            {
                "path": source.path,
                "format": source.format,
                "rows": read,
                "accepted": accepted_rows,
                "rejected": rejected_rows,
                "votes": source.index in prepared.vote_files,
            }
        )
    return entries


@dataclass(frozen=True)
class RowTotals:
    """Where the rows of the inputs went: what ``class_stats(..., with_counts=True)``
    returns next to the class table, and ``labelprep stats`` prints."""

    rows_in: int
    rows_accepted: int
    rows_rejected: int
    rejects_by_reason: dict[str, int]
    fallbacks: dict[str, int]
    notices: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The ``rows`` block: the same keys as the manifest's, plus the fallbacks."""
        return {
            "in": self.rows_in,
            "accepted": self.rows_accepted,
            "rejected": self.rows_rejected,
            "rejected_by_reason": dict(self.rejects_by_reason),
            "fallbacks": dict(self.fallbacks),
        }


@dataclass(frozen=True)
class HeldOutputs:
    """The outputs of a run kept in memory (``output_dir=None``)."""

    targets: pl.DataFrame
    rejects: pl.DataFrame
    manifest: dict[str, Any]
    annotators: pl.DataFrame | None = None
    splits: dict[str, pl.DataFrame] = field(default_factory=dict)

    @classmethod
    def read(cls, folder: Path) -> HeldOutputs:
        """Read a finished output folder back eagerly (it may be removed afterwards)."""
        annotators = folder / ANNOTATORS
        manifest = read_manifest(folder)
        return cls(
            targets=pl.read_parquet(output_path(folder, TARGETS), memory_map=False),
            rejects=pl.read_parquet(output_path(folder, REJECTS), memory_map=False),
            manifest=manifest,
            annotators=(
                pl.read_parquet(annotators, memory_map=False) if annotators.is_file() else None
            ),
            splits=read_splits(folder, manifest),
        )


def read_splits(folder: Path, manifest: dict[str, Any]) -> dict[str, pl.DataFrame]:
    """``splits/NAME.parquet`` of a run with ``split_files`` (the files its ``manifest``
    lists), by split name in name order; none without split files."""
    listed = [str(entry.get("path", "")) for entry in manifest.get("outputs", [])]
    names = [Path(p).stem for p in listed if Path(p).parent.name == SPLITS_DIR]
    return {
        name: pl.read_parquet(folder / SPLITS_DIR / f"{name}.parquet", memory_map=False)
        for name in names
    }


def read_output(folder: Path | str, name: str) -> pl.DataFrame:
    """An output of a finished run: a local file (or its parts), or an object store's."""
    if isinstance(folder, str):
        found = read_remote_output(folder, name)
        if found is None:
            raise ConfigError(f"{folder}: no {name} (nor its parts).")
        return found
    return pl.read_parquet(output_path(folder, name))


def output_path(folder: Path, name: str) -> Path:
    """An output file, or the glob of its parts (``targets/*.parquet``: the Dask engine)."""
    path = folder / name
    return path if path.is_file() else folder / Path(name).stem / "*.parquet"


@dataclass(frozen=True)
class RunResult:
    """What a run produced: where, how many rows went where, and the statistics.

    ``targets``, ``rejects``, ``manifest`` and (for votes) ``annotators`` are the outputs:
    held in memory for a run with ``output_dir=None``, else read from ``output_dir`` each
    time they are asked for.
    """

    output_dir: Path | str | None
    """The output directory, or the URL of an output prefix in an object store."""
    classes: tuple[str, ...]
    rows_in: int
    rows_accepted: int
    rows_rejected: int
    rejects_by_reason: dict[str, int]
    class_stats: pl.DataFrame
    summary: dict[str, Any]
    notices: tuple[str, ...]
    held: HeldOutputs | None = field(default=None, repr=False, compare=False)
    """The outputs of a run with ``output_dir=None``."""

    def _folder(self) -> Path | str:
        if self.output_dir is None:
            raise ConfigError(
                "this result holds no outputs (only counts and statistics); run with "
                "output_dir=None to get them in memory, or with an output directory."
            )
        return self.output_dir

    @property
    def targets(self) -> pl.DataFrame:
        """``targets.parquet``: one row per accepted item."""
        return self.held.targets if self.held else read_output(self._folder(), TARGETS)

    @property
    def rejects(self) -> pl.DataFrame:
        """``rejects.parquet``: one row per rejected input row, with its reason."""
        return self.held.rejects if self.held else read_output(self._folder(), REJECTS)

    @property
    def manifest(self) -> dict[str, Any]:
        """``manifest.json``: inputs, options, counts and outputs of the run."""
        return self.held.manifest if self.held else read_manifest(self._folder())

    @property
    def annotators(self) -> pl.DataFrame | None:
        """``annotators.parquet`` of a vote run (None when the run read no votes)."""
        if self.held is not None:
            return self.held.annotators
        folder = self._folder()
        if isinstance(folder, str):
            return read_remote_output(folder, ANNOTATORS)
        path = folder / ANNOTATORS
        return pl.read_parquet(path) if path.is_file() else None

    @property
    def splits(self) -> dict[str, pl.DataFrame]:
        """With ``split_files``: the targets of each split (``splits/NAME.parquet``), by
        split name; empty otherwise."""
        if self.held is not None:
            return self.held.splits
        folder = self._folder()
        if isinstance(folder, str):
            raise ConfigError(f"{folder}: read the split files of an object store with Polars.")
        return read_splits(folder, read_manifest(folder))

    def totals(self) -> RowTotals:
        """Rows in, accepted and rejected by reason, and the fallbacks."""
        return RowTotals(
            self.rows_in,
            self.rows_accepted,
            self.rows_rejected,
            self.rejects_by_reason,
            self.summary.get("fallbacks", {}),
            self.notices,
        )


_TOP_LEVEL: dict[str, Any] = {"options": {}, "inputs": [], "notices": [], "config": None}
"""Summary keys the manifest keeps at its top level (not again under ``summary``), with
their value when a manifest lacks one."""


def manifest_summary(summary: dict[str, Any]) -> dict[str, Any]:
    """The manifest's ``summary``: the run's summary less what has a top-level key."""
    return {k: v for k, v in summary.items() if k not in _TOP_LEVEL}


def report_summary(manifest: dict[str, Any]) -> dict[str, Any]:
    """A run's summary as the report reads it, put back together from its manifest."""
    top = {k: manifest.get(k, default) for k, default in _TOP_LEVEL.items()}
    return {**manifest.get("summary", {}), **top}


def write_manifest(
    folder: Path, prepared: Prepared, result: RunResult, hasher: Hasher | None = None
) -> None:
    """``manifest.json``: version, inputs with sha256 (null for an in-memory frame, whose
    ``format`` is ``frame``), classes, options, counts, outputs."""
    summary = result.summary
    digest = hasher.sha256 if hasher is not None else sha256_file
    inputs = [
        {**entry, "sha256": None if entry["format"] == "frame" else digest(entry["path"])}
        for entry in summary["inputs"]
    ]  # an in-memory frame has no file to hash: its sha256 is null
    manifest = {
        "labelprep_version": __version__,
        "inputs": inputs,
        "classes": list(prepared.classes),
        "options": summary["options"],
        "config": prepared.options.config_file,
        "rows": {
            "in": result.rows_in,
            "accepted": result.rows_accepted,
            "rejected": result.rows_rejected,
            "rejected_by_reason": result.rejects_by_reason,
            "by_evidence": summary["rows_by_evidence"],
        },
        "summary": manifest_summary(summary),
        "notices": list(result.notices),
        "outputs": output_entries(folder, hasher),
    }
    write_json(folder / MANIFEST, manifest)


def fallback_exprs(plan: TargetPlan, *, prior_is_uniform: bool) -> dict[str, pl.Expr]:
    """Per fallback the options switch on: the condition, on an accepted row, that it
    applies to the row (see the module docstring)."""
    opts = plan.options
    exprs: dict[str, pl.Expr] = {}
    if opts.renormalize:
        exprs["renormalized"] = pl.col("__has_p") & ((row_sum() - 1.0).abs() > opts.tolerance)
    if opts.partial == "prior":
        partial = ~pl.col("__has_p") & ~pl.col("__has_y")
        if prior_is_uniform or plan.prior is None:
            exprs["prior_to_uniform"] = partial
        else:
            weighted = [mask(i).cast(pl.Float64) * w for i, w in enumerate(plan.prior)]
            exprs["prior_to_uniform"] = partial & (pl.sum_horizontal(weighted) <= 0)
    if opts.smoothing > 0:
        exprs["smoothed"] = pl.col("__ok")  # every accepted row
    return exprs


def run_fallbacks(prepared: Prepared) -> dict[str, int]:
    """The fallbacks of a run (a pass over its rows, only when an option calls for it)."""
    uniform = prepared.prior is not None and prepared.prior.source == "uniform"
    if not fallback_exprs(prepared.plan, prior_is_uniform=uniform):
        return {}  # no pass, and no K-wide plan built, for a run without fallbacks
    targets = build_targets(prepared.frame, prepared.plan)
    return count_fallbacks(targets, prepared.plan, prior_is_uniform=uniform)


def count_fallbacks(
    targets: pl.LazyFrame, plan: TargetPlan, *, prior_is_uniform: bool
) -> dict[str, int]:
    """Rows per fallback among the accepted rows of ``targets`` (built, wide)."""
    exprs = fallback_exprs(plan, prior_is_uniform=prior_is_uniform)
    if not exprs:
        return {}
    query = accepted(targets).select(e.sum().alias(n) for n, e in exprs.items())
    row = collect_all([query])[0].row(0, named=True)
    return {name: int(row[name] or 0) for name in exprs}


FALLBACK_NOTICES = {
    "renormalized": "{n} row(s) whose probabilities did not sum to 1 were renormalized",
    "prior_to_uniform": "{n} partial row(s) were spread uniformly over their candidates "
    "instead of by the class prior (the prior is uniform, or 0 on all their candidates)",
    "smoothed": "{n} row(s) were label-smoothed",
}


def fallback_notices(fallbacks: dict[str, int]) -> tuple[str, ...]:
    """One notice per fallback that applied to some row."""
    return tuple(
        f"{FALLBACK_NOTICES[name].format(n=n)} (summary fallbacks.{name})."
        for name, n in fallbacks.items()
        if n
    )
