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
from typing import Any

import polars as pl

from labelprep.config import Options, build_options, config_settings
from labelprep.errors import ConfigError
from labelprep.outputs import CLASS_STATS, atomic_directory, read_manifest, write_reports
from labelprep.pipeline import Prepared, RunResult, class_statistics, count, execute, prepare
from labelprep.sample import sample_paths
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

    Examples
    --------
    >>> import labelprep, tempfile
    >>> result = labelprep.run(output_dir=tempfile.mkdtemp() + "/out")
    >>> result.rows_in == result.rows_accepted + result.rows_rejected
    True
    """
    paths, options = resolve_run_inputs(inputs, config=config, settings=settings)
    return run_prepared(prepare(paths, options), output_dir)


def run_prepared(prepared: Prepared, output_dir: str | Path) -> RunResult:
    """Write the outputs of prepared inputs atomically into ``output_dir``."""
    with atomic_directory(output_dir) as staging:
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


def class_stats(
    inputs: Sequence[str | Path] | str | Path | None = None,
    *,
    config: str | Path | bool = True,
    **settings: Any,
) -> pl.DataFrame:
    """Per-class statistics and weights of the inputs, without writing anything.

    Takes the same arguments as :func:`run` (but no ``output_dir``) and returns
    the table written to ``class_stats.parquet``.

    Examples
    --------
    >>> import labelprep, polars as pl
    >>> stats = labelprep.class_stats(config=False)
    >>> stats.filter(pl.col("split").is_null())["class"].to_list()
    ['c1', 'c2', 'c3', 'c4']
    """
    paths, options = resolve_run_inputs(inputs, config=config, settings=settings)
    prepared = prepare(paths, options)
    return class_statistics(prepared, count(prepared))


def report(output_dir: str | Path) -> tuple[Path, Path]:
    """Re-render ``report.md`` and ``report.html`` from a run's output directory.

    Returns the paths of the two reports.
    """
    folder = Path(output_dir)
    manifest = read_manifest(folder)
    stats_path = folder / CLASS_STATS
    if not stats_path.is_file():
        raise ConfigError(f"{folder}: no {CLASS_STATS}; is this a labelprep output directory?")
    summary = {
        **manifest.get("summary", {}),
        "options": manifest.get("options", {}),
        "inputs": manifest.get("inputs", []),
    }
    write_reports(folder, pl.read_parquet(stats_path), summary)
    return folder / "report.md", folder / "report.html"


def aggregate(
    votes: Sequence[str | Path] | str | Path,
    *,
    output_dir: str | Path = "labelprep-out",
    method: str = "shares",
    alpha: float = 0.0,
    max_iter: int = 100,
    tol: float = 1e-5,
    layout: VoteLayout = "long",
    missing: str = "-1",
    duplicates: DuplicatePolicy = "keep",
    config: str | Path | bool = True,
    **settings: Any,
) -> RunResult:
    """Annotators' votes -> one soft target per item, with agreement statistics.

    Writes what :func:`run` writes plus ``annotators.parquet`` (votes, agreement with
    the consensus and, for Dawid-Skene, the estimated accuracy of each annotator).

    Parameters
    ----------
    votes
        Vote files: long (``id``, ``annotator``, ``label``) or, with ``layout="wide"``,
        one column per annotator where ``missing`` (or an empty cell) means no vote.
    method
        ``shares`` (vote fractions, smoothed by ``alpha``), ``majority`` (one-hot of
        the plurality, ties to the first class) or ``dawid-skene`` (EM, ``max_iter``,
        ``tol``).
    duplicates
        A second vote of one annotator on one item: ``keep`` it, keep the ``first``
        and reject the others (``duplicate_vote``), or ``reject`` them all.

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
        missing=missing,
        duplicates=duplicates,
    )
    paths, options = resolve_run_inputs(votes, config=config, settings=settings)
    return run_prepared(prepare(paths, options, votes=settings_, only_votes=True), output_dir)
