"""The story of a run: scan -> vocabulary -> plan -> one streaming pass -> outputs.

1. :func:`prepare` scans every input lazily, aggregates vote files, fixes the class
   vocabulary and builds the target plan. Ids are assumed unique (checked by the main
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
   and ``manifest.json`` (inputs and targets are hashed on a background thread).
3. :func:`labelprep.api.run` wraps that in an atomic output directory.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import polars as pl

from labelprep import __version__
from labelprep.batches import RowTap, as_written, output_schema, tap_inputs
from labelprep.config import Columns, Options
from labelprep.duplicates import DuplicateIds, find_duplicate_ids
from labelprep.errors import ColumnNotFoundError, InputError
from labelprep.ingest import (
    FILE,
    ROW,
    InputFile,
    canonical_frame,
    check_keep_columns,
    collect_all,
    open_input,
    raw_class_column,
    resolve_paths,
    with_missing_columns,
)
from labelprep.outputs import (
    ANNOTATORS,
    CLASS_STATS,
    MANIFEST,
    REJECTS,
    TARGETS,
    Hasher,
    output_entries,
    parquet_metadata,
    sha256_file,
    write_json,
    write_reports,
)
from labelprep.rejects import REJECT_COLUMNS, reject_rows
from labelprep.schema import class_stats_schema, targets_schema
from labelprep.stats import RowCounts, class_counts, row_summary
from labelprep.targets import TargetPlan, accepted, build_targets, rejected, target
from labelprep.vocab import Vocabulary, resolve_vocabulary
from labelprep.votes import (
    AggregatedVotes,
    VoteSettings,
    aggregate_files,
    is_vote_file,
    long_votes,
    vocabulary_frame,
)
from labelprep.weights import add_weights, dataset_summary


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
    rows_read: tuple[int, ...] = ()
    """Rows of each input as read (votes for a vote file), counted apart from the passes."""
    vote_files: frozenset[int] = frozenset()
    ids_checked: bool = True
    """The plan's repeated ids come from a pass over the ids; when False, none are
    assumed and the main pass checks that assumption (:func:`stream`)."""

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


def prepare(
    inputs: Sequence[str | Path],
    options: Options,
    *,
    votes: VoteSettings | None = None,
    only_votes: bool = False,
) -> Prepared:
    """Scan the inputs, fix the vocabulary and the target plan.

    Files with an annotator column (or every file, with ``votes.layout="wide"``) are
    vote files: their votes are aggregated (``votes.method``, vote shares by default).
    With ``only_votes`` every input must be one.
    """
    votes = votes or VoteSettings()
    opened = _open_all(inputs, options)
    is_votes = [is_vote_file(source, options, votes) for source, _ in opened]
    plain = [(s, lf) for (s, lf), v in zip(opened, is_votes, strict=True) if not v]
    if only_votes:
        _require_votes([source for source, _ in plain], options)
    voted = [
        long_votes(s, lf, options, votes) for (s, lf), v in zip(opened, is_votes, strict=True) if v
    ]
    bare = [canonical_frame(s, lf, class_columns=[], options=options) for s, lf in plain]
    bare += [vocabulary_frame(frame) for frame in voted]
    vocabulary = resolve_vocabulary([s for s, _ in plain], bare, options)
    frames = [_canonical(source, lf, vocabulary, options) for source, lf in plain]
    aggregated = None
    if voted:
        aggregated = aggregate_files(voted, vocabulary.classes, vocabulary.index_of(), votes)
        frames.append(aggregated.canonical)
    frame = with_missing_columns(pl.concat(frames, how="diagonal_relaxed"), len(vocabulary.classes))
    kinds = _input_kinds([s for s, _ in plain], vocabulary, options, has_votes=bool(voted))
    # Ids are checked up front only where accepted rows are needed before the main pass
    # (the prior of partial=prior) or where votes decide which rows own their id.
    check_ids = "votes" in kinds or options.partial == "prior"
    prepared = Prepared(
        sources=tuple(source for source, _ in opened),
        vocabulary=vocabulary,
        frame=frame,
        plan=_plan(frame, vocabulary, options, kinds, check_ids=check_ids),
        has_split="split" in frame.collect_schema(),
        options=options,
        votes=aggregated,
        rows_read=tuple(
            int(f.item()) for f in collect_all([lf.select(pl.len()) for _, lf in opened])
        ),
        vote_files=frozenset(s.index for (s, _), v in zip(opened, is_votes, strict=True) if v),
        ids_checked=check_ids,
    )
    if options.partial == "prior":
        prior = labelled_prior(prepared)
        prepared = replace(prepared, plan=replace(prepared.plan, prior=prior))
    return prepared


def _open_all(
    inputs: Sequence[str | Path], options: Options
) -> list[tuple[InputFile, pl.LazyFrame]]:
    """Open every input (paths and globs) and check the columns named by the options."""
    opened = [open_input(p, options, index=i) for i, p in enumerate(resolve_paths(inputs))]
    for source, _ in opened:
        check_keep_columns(source, options.keep)
    _check_named_roles([source for source, _ in opened], options)
    return opened


def _plan(
    frame: pl.LazyFrame,
    vocabulary: Vocabulary,
    options: Options,
    kinds: frozenset[str],
    *,
    check_ids: bool,
) -> TargetPlan:
    schema = frame.collect_schema()
    duplicates = find_duplicate_ids(frame) if check_ids else DuplicateIds.none(schema["id"])
    return TargetPlan(
        classes=vocabulary.classes,
        index_of=vocabulary.index_of(),
        options=options,
        raw_is_string=tuple(
            schema.get(raw_class_column(i)) == pl.String for i in range(len(vocabulary.classes))
        ),
        kinds=kinds,
        duplicates=duplicates,
        id_is_text=not schema["id"].is_numeric(),
    )


def _require_votes(not_votes: Sequence[InputFile], options: Options) -> None:
    if not_votes:
        source = not_votes[0]
        error = ColumnNotFoundError.from_missing_and_available(
            options.columns.annotator, source.columns, source=source.path, role="annotator"
        )
        raise ColumnNotFoundError(
            f"{error} A vote file has one row per vote (id, annotator, label): pass "
            "--annotator-column NAME, or --layout wide for one column per annotator."
        )


def _check_named_roles(sources: Sequence[InputFile], options: Options) -> None:
    """A column role renamed on purpose (``--label-column lable``) must exist somewhere."""
    defaults = Columns()
    for role, name in vars(options.columns).items():
        if role == "id" or name == getattr(defaults, role):
            continue
        if not any(name in source.columns for source in sources):
            available = dict.fromkeys(c for source in sources for c in source.columns)
            raise ColumnNotFoundError.from_missing_and_available(
                name, available, source=", ".join(s.path for s in sources), role=role
            )


def _input_kinds(
    sources: Sequence[InputFile], vocabulary: Vocabulary, options: Options, *, has_votes: bool
) -> frozenset[str]:
    """The kinds of evidence the inputs can carry (the target plan skips the others)."""
    cols = options.columns
    roles = {
        "list": cols.probs,
        "label": cols.label,
        "excluded": cols.excluded,
        "candidates": cols.candidates,
    }
    kinds = {kind for kind, name in roles.items() for s in sources if name in s.columns}
    if any(any(vocabulary.class_columns[s.path]) for s in sources):
        kinds.add("wide")
    if has_votes:
        kinds |= {"votes", "list", "label"}
    return frozenset(kinds)


def _canonical(
    source: InputFile, lf: pl.LazyFrame, vocabulary: Vocabulary, options: Options
) -> pl.LazyFrame:
    columns = vocabulary.class_columns[source.path]
    _check_class_columns(source, vocabulary.classes, columns)
    return canonical_frame(source, lf, class_columns=columns, options=options)


def _check_class_columns(
    source: InputFile, classes: Sequence[str], columns: Sequence[str | None]
) -> None:
    """A file with some class columns must have all of them."""
    present = [c for c in columns if c is not None]
    if present and len(present) < len(columns):
        missing = next(c for c, col in zip(classes, columns, strict=True) if col is None)
        raise ColumnNotFoundError.from_missing_and_available(
            missing, source.columns, source=source.path, role="probability"
        )


def targets_frame(prepared: Prepared) -> pl.LazyFrame:
    """Every input row checked, with its targets, masks and evidence (wide, lazy)."""
    return build_targets(prepared.frame, prepared.plan)


def labelled_prior(prepared: Prepared) -> tuple[float, ...]:
    """Class prior from the accepted rows with probabilities or a known class."""
    full = accepted(targets_frame(prepared)).filter(pl.col("__has_p") | pl.col("__has_y"))
    sums = collect_all([full.select([target(i).sum() for i in range(len(prepared.classes))])])[0]
    values = [float(v or 0.0) for v in sums.row(0)]
    total = sum(values)
    return tuple(v / total for v in values) if total > 0 else tuple(values)


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
    tap = _main_pass(prepared, targets_path, sample_weights)
    if prepared.ids_checked or tap.ids.unique():
        return prepared, tap
    duplicates = find_duplicate_ids(prepared.frame)
    plan = replace(prepared.plan, duplicates=duplicates)
    prepared = replace(prepared, plan=plan, ids_checked=True)
    if duplicates.empty:
        return prepared, tap
    return prepared, _main_pass(prepared, targets_path, sample_weights)


def _main_pass(
    prepared: Prepared, targets_path: Path | None, sample_weights: Sequence[float] | None
) -> RowTap:
    opts = prepared.options
    schema = prepared.frame.collect_schema()
    columns = output_schema(
        schema["id"],
        prepared.classes,
        has_split=prepared.has_split,
        keep={name: schema[name] for name in opts.keep},
        sample_weight=sample_weights is not None,
    )
    tap = RowTap(prepared.classes, columns, sample_weights=sample_weights)
    inputs = tap_inputs(
        len(prepared.classes),
        has_split=prepared.has_split,
        keep=opts.keep,
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
            written = targets_schema(prepared.classes).validate(as_written(rows))  # no data pass
            metadata = parquet_metadata(
                prepared.classes, written.collect_schema(), list_columns=("soft_target", "mask")
            )
            sink(rows, targets_path, metadata=metadata, compression=opts.compression)
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
    kept = kept.sort(FILE, ROW)  # batches may reach the tap in any order
    return rejected(build_targets(kept.lazy(), prepared.plan), prepared.plan)


def write_rows(
    prepared: Prepared, folder: Path, *, sample_weights: Sequence[float] | None = None
) -> Counts:
    """Write ``targets.parquet`` (the main pass) and ``rejects.parquet`` (a second pass
    over the rejected rows only), and return the counts."""
    prepared, tap = stream(prepared, folder / TARGETS, sample_weights=sample_weights)
    rejects = reject_rows(rejected_rows(prepared, tap), prepared.plan)
    metadata = _plain_metadata(prepared.classes)
    sink(rejects, folder / REJECTS, metadata=metadata, compression=prepared.options.compression)
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
    frame: pl.LazyFrame, path: Path, *, metadata: dict[str, str], compression: str = "snappy"
) -> None:
    """Stream a frame to Parquet; a data problem met on the way is an :class:`InputError`."""
    codec: Any = compression
    collect_all([frame.sink_parquet(path, metadata=metadata, compression=codec, lazy=True)])


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


def summarize(prepared: Prepared, counts: Counts, stats: pl.DataFrame) -> dict[str, Any]:
    """Row counts by outcome, reason, evidence and file, plus the dataset summary."""
    rejects = counts.rejects
    by_reason = rejects.group_by("reason").agg(pl.col("rows").sum()).sort("reason")
    n_rejected = int(rejects["rows"].sum())
    n_accepted = counts.rows.total
    return {
        "version": __version__,
        "classes": list(prepared.classes),
        "count_by": prepared.options.count_by,
        "rows_in": n_accepted + n_rejected,
        "rows_accepted": n_accepted,
        "rows_rejected": n_rejected,
        "rejects_by_reason": dict(
            zip(by_reason["reason"], map(int, by_reason["rows"]), strict=True)
        ),
        **row_summary(counts.rows),
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
class RunResult:
    """What a run produced: where, how many rows went where, and the statistics."""

    output_dir: Path | None
    classes: tuple[str, ...]
    rows_in: int
    rows_accepted: int
    rows_rejected: int
    rejects_by_reason: dict[str, int]
    class_stats: pl.DataFrame
    summary: dict[str, Any]
    notices: tuple[str, ...]


def result_of(prepared: Prepared, counts: Counts, out: Path | None) -> RunResult:
    """Assemble the statistics and summary of a finished pass."""
    stats = class_statistics(prepared, counts)
    summary = summarize(prepared, counts, stats)
    summary["options"] = prepared.options.to_dict()
    if prepared.votes is not None:
        summary["votes"] = prepared.votes.summary()
    return RunResult(
        output_dir=out,
        classes=prepared.classes,
        rows_in=summary["rows_in"],
        rows_accepted=summary["rows_accepted"],
        rows_rejected=summary["rows_rejected"],
        rejects_by_reason=summary["rejects_by_reason"],
        class_stats=stats,
        summary=summary,
        notices=prepared.vocabulary.notices,
    )


def execute(prepared: Prepared, folder: Path) -> RunResult:
    """Write every output of a run into ``folder`` (an empty staging directory).

    The inputs and ``targets.parquet`` are hashed for the manifest on background
    threads once the main pass is done (during it, both cores are busy)."""
    with Hasher() as hasher:
        weights, scheme = None, prepared.options.sample_weight
        if scheme is not None:  # the weights come before the targets
            # A counting pass; the plan it returns knows the ids, so the id pass runs once.
            prepared, tap = stream(prepared)
            counted = Counts(tap.stats.sums(), RowCounts(), pl.DataFrame())
            weights = scheme_weights(class_statistics(prepared, counted), scheme)
        counts = write_rows(prepared, folder, sample_weights=weights)
        hasher.submit(folder / TARGETS)
        for source in prepared.sources:
            hasher.submit(source.path)
        result = result_of(prepared, counts, folder)
        result.class_stats.write_parquet(
            folder / CLASS_STATS, metadata=_plain_metadata(prepared.classes)
        )
        if prepared.votes is not None:
            prepared.votes.annotators.write_parquet(folder / ANNOTATORS)
        write_reports(folder, result.class_stats, result.summary)
        write_manifest(folder, prepared, result, hasher)
    return result


def write_manifest(
    folder: Path, prepared: Prepared, result: RunResult, hasher: Hasher | None = None
) -> None:
    """``manifest.json``: version, inputs with sha256, classes, options, counts, outputs."""
    summary = result.summary
    digest = hasher.sha256 if hasher is not None else sha256_file
    inputs = [{**entry, "sha256": digest(entry["path"])} for entry in summary["inputs"]]
    manifest = {
        "labelprep_version": __version__,
        "inputs": inputs,
        "classes": list(prepared.classes),
        "options": summary["options"],
        "rows": {
            "in": result.rows_in,
            "accepted": result.rows_accepted,
            "rejected": result.rows_rejected,
            "rejected_by_reason": result.rejects_by_reason,
            "by_evidence": summary["rows_by_evidence"],
        },
        "summary": {k: v for k, v in summary.items() if k not in ("options", "inputs")},
        "notices": list(result.notices),
        "outputs": output_entries(folder, hasher),
    }
    write_json(folder / MANIFEST, manifest)


def inspect(prepared: Prepared, *, samples_per_reason: int) -> tuple[Counts, pl.DataFrame]:
    """Count (class sums, rejects by file and reason) and keep the first rejected rows of
    each reason: the main pass writing nothing, then a pass over the rejected rows."""
    prepared, tap = stream(prepared)
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
