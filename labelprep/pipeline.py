"""The story of a run: scan -> vocabulary -> plan -> one streaming pass -> outputs.

1. :func:`prepare` scans every input lazily, lets :mod:`labelprep.inputs.roles` say what it
   means (column roles, vote files, the class vocabulary), aggregates the votes and
   builds the target plan. Ids are assumed unique (checked by the main
   pass); with votes or ``partial="prior"`` a pass over the id column finds repeats
   first, and for ``partial="prior"`` a pass estimates the prior from the fully
   labelled rows.
2. :func:`execute` writes into a staging folder. :func:`stream` is the main pass: it
   checks every row, sinks the accepted ones to ``targets.parquet`` and, through the
   per-batch tap of :mod:`labelprep.batches`, counts the class statistics and keeps
   the rejected rows as read. Those are checked again in memory to name their reason
   and written to ``rejects.parquet``. If the pass cannot prove the ids unique, a
   pass over the ids looks for repeats and, if there are any, the main pass runs
   again knowing them. With ``sample_weight`` a counting pass comes first, since the
   weights are needed to write the targets. Then ``class_stats.parquet``, the reports
   and ``manifest.json`` (:mod:`labelprep.summary`; inputs and targets are hashed on
   a background thread).
3. :func:`labelprep.api.run` wraps that in an atomic output directory.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import polars as pl

from labelprep import progress
from labelprep.batches import RowTap, output_schema, tap_inputs, wide_pass, written_schema
from labelprep.config import Options
from labelprep.duplicates import DuplicateIds, find_duplicate_ids
from labelprep.errors import InputError
from labelprep.evidence import TargetPlan
from labelprep.inputs.ingest import (
    FILE,
    InputFile,
    check_keep_columns,
    collect_all,
    open_inputs,
    with_missing_columns,
)
from labelprep.inputs.roles import Meaning, interpret, target_plan
from labelprep.inputs.vocab import Vocabulary
from labelprep.outputs import (
    ANNOTATORS,
    CLASS_STATS,
    REJECTS,
    TARGETS,
    Hasher,
    parquet_metadata,
    sink_parquet,
    write_parquet,
    write_reports,
)
from labelprep.prior import PriorEstimate, estimate_prior, prior_sums
from labelprep.rejects import REJECT_COLUMNS, reject_rows
from labelprep.results import class_statistics, result_of, scheme_weights
from labelprep.schema import preload, targets_schema
from labelprep.split_files import check_split_column, write_split_files
from labelprep.stats import RowCounts
from labelprep.summary import RunResult, write_manifest
from labelprep.targets import accepted, build_targets, rechecked, rejected
from labelprep.votes import VOTE_COLUMNS, AggregatedVotes, VoteSettings, aggregate_files


@dataclass(frozen=True)
class Prepared:
    """Inputs scanned and the plan fixed; nothing has been computed yet."""

    sources: tuple[InputFile, ...]
    vocabulary: Vocabulary
    frame: pl.LazyFrame
    plan: TargetPlan
    has_split: bool
    options: Options
    votes: AggregatedVotes | None = None
    prior: PriorEstimate | None = None
    """The prior of ``partial="prior"`` and where it came from."""
    rows_read: tuple[int, ...] = ()
    """Rows of each input as read (votes for a vote file), counted apart from the passes."""
    vote_files: frozenset[int] = frozenset()
    ids_checked: bool = True
    """The plan's repeated ids come from a pass over the ids; when False, none are
    assumed and the main pass checks that assumption (:func:`stream`)."""
    parts: tuple[pl.LazyFrame, ...] = ()
    """The canonical frame of each plain file, then the aggregated votes: ``frame`` is
    their concatenation (an engine that splits the work takes them one by one)."""

    @property
    def classes(self) -> tuple[str, ...]:
        return self.vocabulary.classes


@dataclass(frozen=True)
class Counts:
    """What a run counted: per-class sums by split, accepted rows by summary key
    (:data:`labelprep.stats.ROW_KEYS`), and rejects by file and reason."""

    sums: pl.DataFrame
    rows: RowCounts
    rejects: pl.DataFrame  # __file, reason, rows
    fallbacks: dict[str, int] | None = None
    """Rows per fallback when already counted (else :func:`labelprep.summary.summarize`
    counts them)."""


def prepare(
    inputs: Sequence[object],
    options: Options,
    *,
    votes: VoteSettings | None = None,
    only_votes: bool = False,
    passes: bool = True,
) -> Prepared:
    """Scan the inputs, fix the vocabulary and the target plan.

    Files with an annotator column (or every file, with ``votes.layout="wide"``) are
    vote files: their votes are aggregated (``votes.method``, vote shares by default).
    With ``only_votes`` every input must be one. With ``passes=False`` no pass over the
    rows runs here: the repeated ids and the prior of ``partial="prior"`` are left to
    the caller (:mod:`labelprep.engine` computes them on its cluster).
    """
    progress.stage("reading")
    preload()  # the contracts are checked at the end of every command that reads inputs
    votes = votes or VoteSettings()
    opened, read_notices = _open_all(inputs, options)
    meaning = interpret(opened, options, votes, only_votes=only_votes)
    vocabulary = replace(meaning.vocabulary, notices=(*read_notices, *meaning.vocabulary.notices))
    frame, aggregated = _one_frame(meaning, votes)
    # Ids are checked up front only where accepted rows are needed before the main pass
    # (the prior of partial=prior) or where votes decide which rows own their id.
    check_ids = passes and ("votes" in meaning.kinds or options.partial == "prior")
    prepared = Prepared(
        sources=tuple(source for source, _ in opened),
        vocabulary=vocabulary,
        frame=frame,
        plan=target_plan(frame, meaning, options, duplicates=_ids(frame, check=check_ids)),
        has_split="split" in frame.collect_schema(),
        options=options,
        votes=aggregated,
        rows_read=tuple(
            int(f.item()) for f in collect_all([lf.select(pl.len()) for _, lf in opened])
        ),
        vote_files=meaning.vote_files,
        ids_checked=check_ids,
        parts=(*meaning.frames, *(() if aggregated is None else (aggregated.canonical,))),
    )
    if passes and options.partial == "prior":
        prior = labelled_prior(prepared)
        plan = replace(prepared.plan, prior=prior.weights)
        prepared = replace(prepared, plan=plan, prior=prior)
    return prepared


def _one_frame(
    meaning: Meaning, votes: VoteSettings
) -> tuple[pl.LazyFrame, AggregatedVotes | None]:
    """Every input as one canonical frame, the votes of the vote files aggregated."""
    classes, frames, aggregated = meaning.vocabulary.classes, list(meaning.frames), None
    if meaning.votes:
        index_of = meaning.vocabulary.index_of()
        aggregated = aggregate_files(meaning.votes, classes, index_of, votes)
        frames.append(aggregated.canonical)
    return with_missing_columns(pl.concat(frames, how="diagonal_relaxed"), len(classes)), aggregated


def _ids(frame: pl.LazyFrame, *, check: bool) -> DuplicateIds:
    """The repeated ids (a pass over the ids), or none assumed."""
    return find_duplicate_ids(frame) if check else DuplicateIds.none(frame.collect_schema()["id"])


def _open_all(
    inputs: Sequence[object], options: Options
) -> tuple[list[tuple[InputFile, pl.LazyFrame]], tuple[str, ...]]:
    """Open every input (paths and globs, each file once) and check the columns named by
    the options. Returns the notices of reading (a file named twice, the id type)."""
    opened, notices = open_inputs(inputs, options)
    for source, _ in opened:
        check_keep_columns(source, options.keep)
    return opened, notices


def targets_frame(prepared: Prepared) -> pl.LazyFrame:
    """Every input row checked, with its targets, masks and evidence (wide, lazy)."""
    return build_targets(prepared.frame, prepared.plan)


def labelled_prior(prepared: Prepared) -> PriorEstimate:
    """Class prior of ``partial="prior"`` (a first pass): from the rows with probabilities
    or a known class when there are enough, else estimated from the rows whose evidence
    leaves a single class, else uniform (:mod:`labelprep.prior`)."""
    k = len(prepared.classes)
    sums = collect_all([prior_sums(accepted(targets_frame(prepared)), k)])[0]
    return estimate_prior(sums, k)


def _plain_metadata(classes: Sequence[str]) -> dict[str, str]:
    return {"labelprep.classes": json.dumps(list(classes))}


def stream(
    prepared: Prepared,
    targets_path: Path | None = None,
    *,
    sample_weights: Sequence[float] | None = None,
) -> tuple[Prepared, RowTap]:
    """The main pass: check every row, write the accepted ones to ``targets_path`` (if
    given) and count them. Returns the tap, which holds the counts and the rejects,
    with the plan it ran under: when the pass cannot prove the ids unique, a pass over
    the ids looks for repeats, and if there are any the main pass runs again."""
    with wide_pass(len(prepared.classes)):
        tap = _main_pass(prepared, targets_path, sample_weights)
    if prepared.ids_checked or tap.ids.unique():
        return prepared, tap
    progress.stage("id check")
    duplicates = find_duplicate_ids(prepared.frame)
    plan = replace(prepared.plan, duplicates=duplicates)
    prepared = replace(prepared, plan=plan, ids_checked=True)
    if duplicates.empty:
        return prepared, tap
    with wide_pass(len(prepared.classes)):
        return prepared, _main_pass(prepared, targets_path, sample_weights)


def _main_pass(
    prepared: Prepared, targets_path: Path | None, sample_weights: Sequence[float] | None
) -> RowTap:
    progress.stage("main pass")
    opts = prepared.options
    schema = prepared.frame.collect_schema()
    keep = (*opts.keep, *(VOTE_COLUMNS if prepared.votes is not None else ()))
    columns = output_schema(
        schema["id"],
        prepared.classes,
        has_split=prepared.has_split,
        keep={name: schema[name] for name in keep},
        sample_weight=sample_weights is not None,
    )
    tap = RowTap(prepared.classes, columns, sample_weights=sample_weights)
    inputs = tap_inputs(
        len(prepared.classes),
        has_split=prepared.has_split,
        keep=keep,
        canonical=schema.names(),
    )
    rows = (
        targets_frame(prepared)
        .select(inputs)
        .map_batches(tap, streamable=True, schema={**columns, "__ok": pl.Boolean()})
        .filter(pl.col("__ok"))
        .drop("__ok")
    )
    try:
        if targets_path is None:
            collect_all([rows.select(pl.len())])
        else:
            metadata = parquet_metadata(
                prepared.classes, written_schema(columns), list_columns=("soft_target", "mask")
            )
            sink(
                rows, targets_path, metadata=metadata, compression=opts.compression, schema=columns
            )
            # The contract's columns and types, on the file as written (its footer only).
            targets_schema(prepared.classes).validate(pl.scan_parquet(targets_path))
    except InputError:
        if tap.error is not None:
            raise tap.error from None
        raise
    return tap


def rejected_rows(prepared: Prepared, tap: RowTap) -> pl.LazyFrame:
    """The rejected rows with their reason: the rows the tap kept, checked again (the
    same expressions, so the same verdict), or the whole input re-read and re-checked
    when there were too many to keep."""
    kept = tap.rejected_rows()
    if kept is None:
        return rejected(targets_frame(prepared), prepared.plan)
    if kept.height == 0:
        return rejected(targets_frame(prepared), prepared.plan).limit(0)
    paths = {source.index: source.path for source in prepared.sources}
    return rechecked(kept, prepared.plan, paths)


REJECTS_TYPES: dict[str, pl.DataType] = {
    name: pl.Int64() if name == "row" else pl.String() for name in REJECT_COLUMNS
}
"""The columns of ``rejects.parquet``, known without resolving the plan of the rejects."""


def write_rows(
    prepared: Prepared, folder: Path, *, sample_weights: Sequence[float] | None = None
) -> Counts:
    """Write ``targets.parquet`` (the main pass) and ``rejects.parquet`` (a second pass
    over the rejected rows only), and return the counts."""
    prepared, tap = stream(prepared, folder / TARGETS, sample_weights=sample_weights)
    progress.stage("rejects")
    rejects = reject_rows(rejected_rows(prepared, tap), prepared.plan)
    metadata = _plain_metadata(prepared.classes)
    codec = prepared.options.compression
    with wide_pass(len(prepared.classes)):  # past REJECT_LIMIT, the input is read again
        sink(rejects, folder / REJECTS, metadata=metadata, compression=codec, schema=REJECTS_TYPES)
    files = {source.path: source.index for source in prepared.sources}
    reject_counts = (
        pl.scan_parquet(folder / REJECTS)
        .group_by("source", "reason")
        .agg(pl.len().alias("rows"))
        .select(
            pl.col("source").replace_strict(files, return_dtype=pl.Int64).alias(FILE),
            "reason",
            "rows",
        )
    )
    return Counts(tap.stats.sums(), tap.stats.rows(), reject_counts.collect())


def count(prepared: Prepared) -> Counts:
    """Count without writing: the main pass, then the rejected rows."""
    counts, _ = inspect(prepared, samples_per_reason=0)
    return counts


def sink(
    frame: pl.LazyFrame,
    path: Path,
    *,
    metadata: dict[str, str],
    compression: str = "snappy",
    schema: dict[str, pl.DataType] | None = None,
) -> None:
    """Stream a frame to Parquet (fixed row groups: the same bytes on any thread count);
    a data problem met on the way is an :class:`InputError`, a failure to write the file
    an :class:`~labelprep.errors.OutputError`. ``schema``: the frame's, when known."""
    known = None if schema is None else pl.Schema(schema)
    sink_parquet(frame, path, metadata=metadata, compression=compression, schema=known)


def execute(prepared: Prepared, folder: Path) -> RunResult:
    """Write every output of a run into ``folder`` (an empty staging directory).

    The inputs and ``targets.parquet`` are hashed for the manifest on background
    threads at low priority: the inputs from the start (the pass leaves a core idle part
    of the time), the outputs once written."""
    with Hasher() as hasher:
        for source in prepared.sources:
            if source.format != "frame":  # an in-memory frame has no file to hash
                hasher.submit(source.path)
        check_split_column(prepared)  # split_files without a split column: before any pass
        weights, scheme = None, prepared.options.sample_weight
        if scheme is not None:  # the weights come before the targets
            # A counting pass; the plan it returns knows the ids, so the id pass runs once.
            prepared, tap = stream(prepared)
            counted = Counts(tap.stats.sums(), RowCounts(), pl.DataFrame())
            weights = scheme_weights(class_statistics(prepared, counted), scheme)
        counts = write_rows(prepared, folder, sample_weights=weights)
        hasher.submit(folder / TARGETS)
        if prepared.options.split_files:  # splits/NAME.parquet and the dataset card
            for path in write_split_files(prepared, folder):
                hasher.submit(path)
        result = result_of(prepared, counts, folder)
        metadata = _plain_metadata(prepared.classes)
        write_parquet(result.class_stats, folder / CLASS_STATS, metadata=metadata)
        if prepared.votes is not None:
            write_parquet(prepared.votes.annotators, folder / ANNOTATORS)
        write_reports(folder, result.class_stats, result.summary)
        write_manifest(folder, prepared, result, hasher)
    return result


def inspect(prepared: Prepared, *, samples_per_reason: int) -> tuple[Counts, pl.DataFrame]:
    """Count (class sums, rejects by file and reason) and keep the first rejected rows of
    each reason: the main pass writing nothing, then a pass over the rejected rows."""
    prepared, tap = stream(prepared)
    progress.stage("rejects")
    by_file = (
        reject_rows(rejected_rows(prepared, tap), prepared.plan, keep=(FILE,))
        .group_by(FILE, "reason", maintain_order=True)
        .agg(
            pl.len().alias("rows"),
            pl.struct(REJECT_COLUMNS).head(samples_per_reason).alias("sample"),
        )
    )
    rejects = collect_all([by_file])[0]
    samples = (
        rejects.select("sample")
        .explode("sample")
        .drop_nulls()
        .unnest("sample")
        .group_by("reason", maintain_order=True)
        .head(samples_per_reason)
        .select(REJECT_COLUMNS)
    )
    counts = Counts(tap.stats.sums(), tap.stats.rows(), rejects.select(FILE, "reason", "rows"))
    return counts, samples
