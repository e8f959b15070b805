"""The public API: each function mirrors one command of the command line.

``run``, ``class_stats`` and ``aggregate`` (``validate``, ``compare``: :mod:`labelprep.checks`;
``report``: :mod:`labelprep.reporting.rerender`) resolve their inputs (paths, globs or frames,
:mod:`labelprep.inputs.frames`) and typed options (:mod:`labelprep.parameters`) for
:mod:`labelprep.pipeline`, or for :mod:`labelprep.engine` on a Dask cluster."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal, overload

import polars as pl

from labelprep.aggregation._em import DEFAULT_TOL
from labelprep.config import (
    Compression,
    CountBy,
    InputFormat,
    PartialMode,
)
from labelprep.engine import Engine, EngineName
from labelprep.engine.cluster_votes import on_cluster
from labelprep.outdir import atomic_directory, output_location
from labelprep.parameters import (
    AGGREGATE_OPTIONS,
    READ_OPTIONS,
    RUN_OPTIONS,
    VOTE_OPTIONS,
    SampleWeight,
    documented,
    given,
    resolve_run_inputs,
    vote_settings,
)
from labelprep.pipeline import Prepared, count, execute, prepare
from labelprep.results import class_statistics, result_of
from labelprep.summary import HeldOutputs, RowTotals, RunResult
from labelprep.votes import DuplicatePolicy, VoteLayout

if TYPE_CHECKING:
    from labelprep.parameters import Inputs


@documented(RUN_OPTIONS, VOTE_OPTIONS)
def run(
    inputs: Inputs | None = None,
    *,
    output_dir: str | Path | None = "labelprep-out",
    config: str | Path | bool = True,
    classes: Sequence[str] | str | None = None,
    id_column: str | None = None,
    label_column: str | None = None,
    probs_column: str | None = None,
    excluded_column: str | None = None,
    candidates_column: str | None = None,
    split_column: str | None = None,
    annotator_column: str | None = None,
    prob_columns: Sequence[str] | str | None = None,
    list_delimiter: str | None = None,
    input_format: InputFormat | None = None,
    tolerance: float | None = None,
    renormalize: bool | None = None,
    partial: PartialMode | None = None,
    smoothing: float | None = None,
    count_by: CountBy | None = None,
    beta: float | None = None,
    tau: float | None = None,
    separator: str | None = None,
    no_header: bool | None = None,
    column_names: Sequence[str] | str | None = None,
    quote_char: str | None = None,
    id_from_row: bool | None = None,
    keep: Sequence[str] | str | None = None,
    sample_weight: SampleWeight | None = None,
    compression: Compression | None = None,
    split_files: bool | None = None,
    layout: VoteLayout = "long",
    missing: str | Sequence[str] = ("-1",),
    duplicates: DuplicatePolicy = "keep",
    engine: EngineName = "local",
    scheduler: str | None = None,
    workers: int | None = None,
) -> RunResult:
    """Run the whole pipeline: targets, rejects, class statistics, manifest and reports.

    Parameters
    ----------
    inputs
        Files or globs (CSV, TSV, Parquet, JSONL), in-memory frames (a Polars DataFrame
        or LazyFrame, a pandas DataFrame, a PyArrow Table), or a list mixing them. A
        frame's rows are named ``<frame N>`` (N its position among the inputs) and their
        1-based row number in ``rejects``. ``None`` runs on the bundled sample.
    output_dir
        Where ``targets.parquet``, ``rejects.parquet``, ``class_stats.parquet``,
        ``manifest.json`` and the reports go (replaced atomically). ``None`` writes
        nothing the caller sees: the run goes to a temporary directory that is read back
        into memory (``result.targets``, ``result.rejects``, ``result.manifest``) and
        removed.
    config
        ``True`` reads the nearest ``labelprep.toml`` / ``[tool.labelprep]``; a path
        reads that file; ``False`` reads none. Keyword arguments win over the file.
    engine
        ``"local"`` (this process) or ``"dask"``: the passes over the rows run on a Dask
        cluster (``pip install 'labelprep[dask]'``) with the same results, and ``targets``
        and ``rejects`` are directories of part files (README, "Scaling out").
    scheduler
        With ``engine="dask"``: the address of a running scheduler (``tcp://host:8786``).
    workers
        With ``engine="dask"`` and no ``scheduler``: the worker processes of a local
        cluster started for the call (default: one per core).

    Files with an annotator column are vote files, aggregated by vote shares; ``layout``,
    ``missing`` and ``duplicates`` read them as :func:`aggregate` does (``layout="wide"``
    makes every input a wide vote file).

    Examples
    --------
    >>> import labelprep, polars as pl
    >>> frame = pl.DataFrame({"id": [1, 2, 3], "label": ["cat", "dog", "cow"]})
    >>> result = labelprep.run(frame, output_dir=None, classes=["cat", "dog"], config=False)
    >>> result.targets["soft_target"].to_list()
    [[1.0, 0.0], [0.0, 1.0]]
    >>> result.rejects.select("source", "row", "reason").row(0)
    ('<frame 0>', 3, 'unknown_class')
    """
    votes = vote_settings(layout, missing, duplicates)
    paths, options = resolve_run_inputs(inputs, config=config, settings=given(locals()))
    on = Engine(engine, scheduler, workers)
    votes = on_cluster(votes, options, on)
    return run_prepared(prepare(paths, options, votes=votes, passes=on.local), output_dir, on)


def run_prepared(
    prepared: Prepared, output_dir: str | Path | None, engine: Engine | None = None
) -> RunResult:
    """Write the outputs of prepared inputs atomically into ``output_dir``; with None,
    into a temporary directory read back into memory and removed. With a Dask ``engine``
    (inputs prepared with ``passes=False``) the passes run on its cluster."""
    if engine is not None and not engine.local:
        from labelprep.engine import dask_run

        return dask_run.run(prepared, output_dir, engine)
    if output_dir is None:
        with tempfile.TemporaryDirectory(prefix="labelprep-") as folder:
            result = execute(prepared, Path(folder))
            return replace(result, output_dir=None, held=HeldOutputs.read(Path(folder)))
    inputs = [source.path for source in prepared.sources if source.format != "frame"]
    with atomic_directory(output_dir, inputs=inputs) as staging:
        result = execute(prepared, staging)
    return replace(result, output_dir=output_location(output_dir))


@overload
def class_stats(
    inputs: Inputs | None = ...,
    *,
    with_counts: Literal[False] = ...,
    config: str | Path | bool = ...,
    classes: Sequence[str] | str | None = None,
    id_column: str | None = None,
    label_column: str | None = None,
    probs_column: str | None = None,
    excluded_column: str | None = None,
    candidates_column: str | None = None,
    split_column: str | None = None,
    annotator_column: str | None = None,
    prob_columns: Sequence[str] | str | None = None,
    list_delimiter: str | None = None,
    input_format: InputFormat | None = None,
    tolerance: float | None = None,
    renormalize: bool | None = None,
    partial: PartialMode | None = None,
    smoothing: float | None = None,
    count_by: CountBy | None = None,
    beta: float | None = None,
    tau: float | None = None,
    separator: str | None = None,
    no_header: bool | None = None,
    column_names: Sequence[str] | str | None = None,
    quote_char: str | None = None,
    id_from_row: bool | None = None,
    layout: VoteLayout = "long",
    missing: str | Sequence[str] = ("-1",),
    duplicates: DuplicatePolicy = "keep",
    engine: EngineName = "local",
    scheduler: str | None = None,
    workers: int | None = None,
) -> pl.DataFrame: ...


@overload
def class_stats(
    inputs: Inputs | None = ...,
    *,
    with_counts: Literal[True],
    config: str | Path | bool = ...,
    classes: Sequence[str] | str | None = None,
    id_column: str | None = None,
    label_column: str | None = None,
    probs_column: str | None = None,
    excluded_column: str | None = None,
    candidates_column: str | None = None,
    split_column: str | None = None,
    annotator_column: str | None = None,
    prob_columns: Sequence[str] | str | None = None,
    list_delimiter: str | None = None,
    input_format: InputFormat | None = None,
    tolerance: float | None = None,
    renormalize: bool | None = None,
    partial: PartialMode | None = None,
    smoothing: float | None = None,
    count_by: CountBy | None = None,
    beta: float | None = None,
    tau: float | None = None,
    separator: str | None = None,
    no_header: bool | None = None,
    column_names: Sequence[str] | str | None = None,
    quote_char: str | None = None,
    id_from_row: bool | None = None,
    layout: VoteLayout = "long",
    missing: str | Sequence[str] = ("-1",),
    duplicates: DuplicatePolicy = "keep",
    engine: EngineName = "local",
    scheduler: str | None = None,
    workers: int | None = None,
) -> tuple[pl.DataFrame, RowTotals]: ...


@documented(READ_OPTIONS, VOTE_OPTIONS)
def class_stats(
    inputs: Inputs | None = None,
    *,
    with_counts: bool = False,
    config: str | Path | bool = True,
    classes: Sequence[str] | str | None = None,
    id_column: str | None = None,
    label_column: str | None = None,
    probs_column: str | None = None,
    excluded_column: str | None = None,
    candidates_column: str | None = None,
    split_column: str | None = None,
    annotator_column: str | None = None,
    prob_columns: Sequence[str] | str | None = None,
    list_delimiter: str | None = None,
    input_format: InputFormat | None = None,
    tolerance: float | None = None,
    renormalize: bool | None = None,
    partial: PartialMode | None = None,
    smoothing: float | None = None,
    count_by: CountBy | None = None,
    beta: float | None = None,
    tau: float | None = None,
    separator: str | None = None,
    no_header: bool | None = None,
    column_names: Sequence[str] | str | None = None,
    quote_char: str | None = None,
    id_from_row: bool | None = None,
    layout: VoteLayout = "long",
    missing: str | Sequence[str] = ("-1",),
    duplicates: DuplicatePolicy = "keep",
    engine: EngineName = "local",
    scheduler: str | None = None,
    workers: int | None = None,
) -> pl.DataFrame | tuple[pl.DataFrame, RowTotals]:
    """Per-class statistics and weights of the inputs, without writing anything.

    Takes the inputs of :func:`run` (paths, globs or frames) and its reading options, and
    returns the table written to ``class_stats.parquet``: statistics of the accepted rows.
    With ``with_counts=True`` it returns ``(table, totals)``, where ``totals``
    (:class:`labelprep.summary.RowTotals`) says how many rows were read, accepted and
    rejected (by reason), the fallbacks, and the notices of the run.

    Examples
    --------
    >>> import labelprep, polars as pl
    >>> stats = labelprep.class_stats(config=False)
    >>> stats.filter(pl.col("split").is_null())["class"].to_list()
    ['c1', 'c2', 'c3', 'c4']
    >>> stats, totals = labelprep.class_stats(config=False, with_counts=True)
    >>> totals.rows_in == totals.rows_accepted + totals.rows_rejected
    True
    """
    votes = vote_settings(layout, missing, duplicates)
    paths, options = resolve_run_inputs(inputs, config=config, settings=given(locals()))
    on = Engine(engine, scheduler, workers)
    prepared = prepare(paths, options, votes=votes, passes=on.local)
    if on.local:
        counts = count(prepared)
    else:
        from labelprep.engine import dask_run

        prepared, counts = dask_run.count(prepared, on)
    if not with_counts:
        return class_statistics(prepared, counts)
    result = result_of(prepared, counts, None)
    return result.class_stats, result.totals()


@documented(AGGREGATE_OPTIONS, VOTE_OPTIONS)
def aggregate(
    votes: Inputs,
    *,
    output_dir: str | Path | None = "labelprep-out",
    method: str = "shares",
    alpha: float = 0.0,
    max_iter: int = 100,
    tol: float = DEFAULT_TOL,
    gold: str | Path | None = None,
    config: str | Path | bool = True,
    classes: Sequence[str] | str | None = None,
    id_column: str | None = None,
    label_column: str | None = None,
    split_column: str | None = None,
    annotator_column: str | None = None,
    input_format: InputFormat | None = None,
    smoothing: float | None = None,
    count_by: CountBy | None = None,
    beta: float | None = None,
    tau: float | None = None,
    separator: str | None = None,
    no_header: bool | None = None,
    column_names: Sequence[str] | str | None = None,
    quote_char: str | None = None,
    id_from_row: bool | None = None,
    sample_weight: SampleWeight | None = None,
    compression: Compression | None = None,
    split_files: bool | None = None,
    layout: VoteLayout = "long",
    missing: str | Sequence[str] = ("-1",),
    duplicates: DuplicatePolicy = "keep",
    engine: EngineName = "local",
    scheduler: str | None = None,
    workers: int | None = None,
) -> RunResult:
    """Annotators' votes -> one soft target per item, with agreement statistics.

    Writes what :func:`run` writes plus ``annotators.parquet`` (votes, agreement with
    the consensus and, where the method fits them, each annotator's estimated accuracy,
    ``skill`` and K x K ``confusion`` matrix); with ``output_dir=None`` they are returned
    in memory (``result.annotators`` too).

    Parameters
    ----------
    votes
        Vote files or frames: long (``id``, ``annotator``, ``label``) or, with
        ``layout="wide"``, one column per annotator where a ``missing`` value (one, or
        several such as ``("-1", "-1000")``; an empty cell too) means no vote.
    output_dir
        As for :func:`run` (``None``: the outputs in memory).
    method
        ``shares`` (vote fractions, smoothed by ``alpha``), ``majority`` (one-hot of
        the plurality, ties to the first class), the EM models ``dawid-skene``,
        ``one-coin-dawid-skene``, ``glad`` and ``mace`` (``max_iter``; ``tol`` is the
        relative change of the objective that stops them), ``wawa`` or
        ``zero-based-skill`` (``max_iter``, ``tol``).
    alpha
        Additive smoothing of vote shares.
    max_iter
        Iterative methods: most iterations.
    tol
        EM methods: stop when the log-likelihood (MACE: its bound) moves less than this.
    gold
        A file of ``id``, ``label`` pairs with known answers: those items are fixed to
        their class while the model is fitted, and the accuracy of the model's own
        posterior on them is reported in ``summary["votes"]["gold"]``.
    config
        As for :func:`run`.
    engine, scheduler, workers
        Where the passes run, as for :func:`run`.

    A repeated vote (``duplicates``) is counted in ``summary["votes"]["duplicate_votes"]``
    under every policy, and ``duplicate_votes_rejected`` counts those rejected.

    Examples
    --------
    >>> import labelprep, tempfile
    >>> result = labelprep.aggregate(labelprep.sample_paths("votes"),
    ...                              output_dir=tempfile.mkdtemp() + "/out", config=False)
    >>> result.summary["votes"]["method"]
    'shares'
    """
    settings_ = vote_settings(
        layout,
        missing,
        duplicates,
        method=method,
        alpha=alpha,
        max_iter=max_iter,
        tol=tol,
        gold=None if gold is None else str(gold),
    )
    paths, options = resolve_run_inputs(votes, config=config, settings=given(locals()))
    on = Engine(engine, scheduler, workers)
    settings_ = on_cluster(settings_, options, on)
    prepared = prepare(paths, options, votes=settings_, only_votes=True, passes=on.local)
    return run_prepared(prepared, output_dir, on)
