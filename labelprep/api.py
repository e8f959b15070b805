"""The public API: each function mirrors one command of the command line.

``run`` / ``labelprep run``, ``class_stats`` / ``labelprep stats``, ``report`` /
``labelprep report``, ``aggregate`` / ``labelprep aggregate`` (``validate`` and
``compare`` live in :mod:`labelprep.checks`). Each resolves its inputs and options
(config file, then keyword arguments) and hands them to :mod:`labelprep.pipeline`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal, overload

import polars as pl

from labelprep.aggregation._em import DEFAULT_TOL
from labelprep.config import Options, build_options, config_settings
from labelprep.errors import ConfigError, OutputError
from labelprep.outdir import MANIFEST, MARKER_KEY, is_marked_manifest
from labelprep.outputs import CLASS_STATS, atomic_directory, read_manifest, write_reports
from labelprep.pipeline import (
    Prepared,
    class_statistics,
    count,
    execute,
    prepare,
    result_of,
)
from labelprep.sample import sample_paths
from labelprep.summary import RowTotals, RunResult, report_summary
from labelprep.votes import DuplicatePolicy, VoteLayout, VoteSettings


def run(
    inputs: Sequence[str | Path] | str | Path | None = None,
    *,
    output_dir: str | Path = "labelprep-out",
    config: str | Path | bool = True,
    **settings: Any,
) -> RunResult:
    """Run the whole pipeline and write the output directory.

    Parameters
    ----------
    inputs
        Files or globs (CSV, TSV, Parquet, JSONL). ``None`` runs on the bundled sample.
    output_dir
        Where ``targets.parquet``, ``rejects.parquet``, ``class_stats.parquet``,
        ``manifest.json`` and the reports go. Replaced atomically.
    config
        ``True`` reads the nearest ``labelprep.toml`` / ``[tool.labelprep]``; a path
        reads that file; ``False`` reads none. Keyword settings win over the file.
    **settings
        Any field of :class:`labelprep.config.Options` (``classes``, ``tolerance``,
        ``renormalize``, ``partial``, ``smoothing``, ``count_by``, ``beta``, ``tau``,
        ``sample_weight``, ``keep``, ``list_delimiter``, ``input_format``,
        ``prob_columns``) or a column name (``id_column``, ``label_column``, ...).
        Files with an annotator column are vote files, aggregated by vote shares;
        ``layout``, ``missing`` and ``duplicates`` read them as :func:`aggregate` does
        (``layout="wide"`` makes every input a wide vote file).

    Examples
    --------
    >>> import labelprep, tempfile
    >>> result = labelprep.run(output_dir=tempfile.mkdtemp() + "/out")
    >>> result.rows_in == result.rows_accepted + result.rows_rejected
    True
    """
    votes = vote_settings(settings)
    paths, options = resolve_run_inputs(inputs, config=config, settings=settings)
    return run_prepared(prepare(paths, options, votes=votes), output_dir)


def run_prepared(prepared: Prepared, output_dir: str | Path) -> RunResult:
    """Write the outputs of prepared inputs atomically into ``output_dir``."""
    inputs = [source.path for source in prepared.sources]
    with atomic_directory(output_dir, inputs=inputs) as staging:
        result = execute(prepared, staging)
    return replace(result, output_dir=Path(output_dir))


def resolve_run_inputs(
    inputs: Sequence[str | Path] | str | Path | None,
    *,
    config: str | Path | bool,
    settings: dict[str, Any],
) -> tuple[list[str | Path], Options]:
    """Inputs (the bundled sample when none) and the merged options of a call."""
    merged = {**config_settings(config), **{k: v for k, v in settings.items() if v is not None}}
    if inputs is None or (not isinstance(inputs, (str, Path)) and len(inputs) == 0):
        paths: list[str | Path] = list(sample_paths())
    elif isinstance(inputs, (str, Path)):
        paths = [inputs]
    else:
        paths = list(inputs)
    return paths, build_options(merged)


@overload
def class_stats(
    inputs: Sequence[str | Path] | str | Path | None = ...,
    *,
    with_counts: Literal[False] = ...,
    config: str | Path | bool = ...,
    **settings: Any,
) -> pl.DataFrame: ...


@overload
def class_stats(
    inputs: Sequence[str | Path] | str | Path | None = ...,
    *,
    with_counts: Literal[True],
    config: str | Path | bool = ...,
    **settings: Any,
) -> tuple[pl.DataFrame, RowTotals]: ...


def class_stats(
    inputs: Sequence[str | Path] | str | Path | None = None,
    *,
    with_counts: bool = False,
    config: str | Path | bool = True,
    **settings: Any,
) -> pl.DataFrame | tuple[pl.DataFrame, RowTotals]:
    """Per-class statistics and weights of the inputs, without writing anything.

    Takes the same arguments as :func:`run` (but no ``output_dir``) and returns
    the table written to ``class_stats.parquet``: statistics of the accepted rows.
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
    votes = vote_settings(settings)
    paths, options = resolve_run_inputs(inputs, config=config, settings=settings)
    prepared = prepare(paths, options, votes=votes)
    if not with_counts:
        return class_statistics(prepared, count(prepared))
    result = result_of(prepared, count(prepared), None)
    return result.class_stats, result.totals()


VOTE_KEYWORDS = ("layout", "missing", "duplicates")
"""Keywords of :func:`run`, :func:`class_stats` and :func:`labelprep.validate` that say
how vote files are read (see :func:`aggregate`)."""


def vote_settings(settings: dict[str, Any]) -> VoteSettings | None:
    """Take the vote keywords out of ``settings`` (None when none is given)."""
    taken = {k: settings.pop(k) for k in VOTE_KEYWORDS if k in settings}
    given = {k: v for k, v in taken.items() if v is not None and v != ()}
    return VoteSettings(**given) if given else None


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


def aggregate(
    votes: Sequence[str | Path] | str | Path,
    *,
    output_dir: str | Path = "labelprep-out",
    method: str = "shares",
    alpha: float = 0.0,
    max_iter: int = 100,
    tol: float = DEFAULT_TOL,
    layout: VoteLayout = "long",
    missing: str | Sequence[str] = ("-1",),
    duplicates: DuplicatePolicy = "keep",
    gold: str | Path | None = None,
    config: str | Path | bool = True,
    **settings: Any,
) -> RunResult:
    """Annotators' votes -> one soft target per item, with agreement statistics.

    Writes what :func:`run` writes plus ``annotators.parquet`` (votes, agreement with
    the consensus and, where the method fits them, each annotator's estimated accuracy,
    ``skill`` and K x K ``confusion`` matrix).

    Parameters
    ----------
    votes
        Vote files: long (``id``, ``annotator``, ``label``) or, with ``layout="wide"``,
        one column per annotator where a ``missing`` value (one, or several such as
        ``("-1", "-1000")``; an empty cell too) means no vote.
    method
        ``shares`` (vote fractions, smoothed by ``alpha``), ``majority`` (one-hot of
        the plurality, ties to the first class), the EM models ``dawid-skene``,
        ``one-coin-dawid-skene``, ``glad`` and ``mace`` (``max_iter``; ``tol`` is the
        relative change of the log-likelihood that stops them), ``wawa`` or
        ``zero-based-skill`` (``max_iter``, ``tol``).
    gold
        A file of ``id``, ``label`` pairs with known answers: those items are fixed to
        their class while the model is fitted, and the accuracy of the model's own
        posterior on them is reported in ``summary["votes"]["gold"]``.
    duplicates
        A second vote of one annotator on one item: ``keep`` it, keep the ``first``
        and reject the others (``duplicate_vote``), or ``reject`` them all. Under every
        policy ``summary["votes"]["duplicate_votes"]`` counts the repeats (the votes
        after the first) and ``duplicate_votes_rejected`` those rejected.

    Examples
    --------
    >>> import labelprep, tempfile
    >>> result = labelprep.aggregate(labelprep.sample_paths("votes"),
    ...                              output_dir=tempfile.mkdtemp() + "/out", config=False)
    >>> result.summary["votes"]["method"]
    'shares'
    """
    settings_ = VoteSettings(
        method=method,
        alpha=alpha,
        max_iter=max_iter,
        tol=tol,
        layout=layout,
        missing=(missing,) if isinstance(missing, str) else tuple(missing),
        duplicates=duplicates,
        gold=None if gold is None else str(gold),
    )
    paths, options = resolve_run_inputs(votes, config=config, settings=settings)
    return run_prepared(prepare(paths, options, votes=settings_, only_votes=True), output_dir)
