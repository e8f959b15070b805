"""Annotators' votes -> one soft target per item, inside the normal pipeline.

A vote file is long (``id``, ``annotator``, ``label``: one row per vote) or wide
(``id`` plus one column per annotator; a configurable marker such as ``-1`` or an
empty cell means "no vote"). Its votes are checked, aggregated with one method of
:mod:`labelprep.aggregation`, and handed to the pipeline as canonical rows:

- one row per item, its ``probs`` the aggregated distribution and its evidence
  ``votes`` (so the mask is "classes with probability > 0": the classes that got
  a vote, or all of them when smoothed);
- one row per rejected vote, with its reason already decided (``missing_id``,
  ``no_evidence`` for an empty label, ``unknown_class``, ``duplicate_vote``).

So ``rows_in`` of a vote file counts items plus rejected votes; the manifest also
states votes in / used / rejected.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import polars as pl

from labelprep.aggregation import (
    AggregationResult,
    AgreementStats,
    EncodedVotes,
    get_method,
)
from labelprep.aggregation._em import DEFAULT_TOL
from labelprep.aggregation._encoded import tied_rows, vote_counts
from labelprep.config import Options
from labelprep.errors import ColumnNotFoundError, ConfigError
from labelprep.gold import read_gold
from labelprep.inputs.ingest import (
    FILE,
    PRE_REASON,
    RAW_CANDIDATES,
    RAW_EXCLUDED,
    RAW_LABEL,
    RAW_PROBS,
    ROW,
    SOURCE,
    VOTES,
    InputFile,
    collect_all,
)
from labelprep.vote_codes import (
    CODE,
    HELPERS,
    PAIR,
    as_text,
    empty,
    encode,
    label_codes,
    native,
    repeated,
    with_ranks,
)
from labelprep.vote_fit import annotator_columns, fit_summary, method_params, sparsity_notice

DuplicatePolicy = Literal["keep", "first", "reject"]
VoteLayout = Literal["long", "wide"]
VoteFit = Callable[
    [pl.DataFrame, EncodedVotes, pl.DataFrame, list[str], Sequence[str]],
    "AggregationResult | None",
]
"""``fit(votes, encoded, items, annotators, classes)``: the checked votes, their codes,
items and annotators as :func:`aggregate_files` has them -> the method's result, or None."""


@dataclass(frozen=True)
class VoteSettings:
    """How to read and aggregate votes."""

    method: str = "shares"
    alpha: float = 0.0
    max_iter: int = 100
    tol: float = DEFAULT_TOL
    """EM methods: relative change of the log-likelihood below which EM stops."""
    layout: VoteLayout = "long"
    missing: tuple[str, ...] = ("-1",)
    """Wide layout: the values that mean "no vote" (an empty cell too)."""
    duplicates: DuplicatePolicy = "keep"
    gold: str | None = None
    """A file of (id, label) pairs whose answers are known (see :mod:`labelprep.gold`)."""
    fit: VoteFit | None = field(default=None, compare=False, repr=False)
    """Where the model is fitted instead of here (the Dask engine's cluster); it returns
    None to leave the fit here. Used without gold only."""

    def __post_init__(self) -> None:
        if self.duplicates not in ("keep", "first", "reject"):
            raise ConfigError(f"duplicates={self.duplicates!r}: use keep, first or reject.")
        if self.layout not in ("long", "wide"):
            raise ConfigError(f"vote layout {self.layout!r}: use long or wide.")
        given: object = self.missing
        markers = (given,) if isinstance(given, str) else tuple(self.missing)
        object.__setattr__(self, "missing", tuple(str(m).strip() for m in markers))


@dataclass(frozen=True)
class AggregatedVotes:
    """The aggregation of every vote file of a run."""

    canonical: pl.LazyFrame
    result: AggregationResult
    agreement: AgreementStats
    annotators: pl.DataFrame
    votes_in: int
    votes_used: int
    duplicates: int
    """Repeated votes: rows after the first of one annotator on one item, under every
    duplicate policy (kept ones too)."""
    method: str
    duplicates_rejected: int = 0
    """Votes rejected as ``duplicate_vote`` (policies ``first`` and ``reject``)."""
    fit: dict[str, Any] = field(default_factory=dict)
    """Convergence, class prior, log-likelihood history and gold figures."""
    notices: tuple[str, ...] = ()

    def summary(self) -> dict[str, Any]:
        """Plain numbers for the manifest and the report."""
        return {
            "method": self.method,
            "votes_in": self.votes_in,
            "votes_used": self.votes_used,
            "votes_rejected": self.votes_in - self.votes_used,
            "duplicate_votes": self.duplicates,
            "duplicate_votes_rejected": self.duplicates_rejected,
            "ties": self.result.ties,
            "iterations": self.result.n_iter,
            "converged": self.result.converged,
            **self.fit,
            "notices": list(self.notices),
            "agreement": {
                k: v for k, v in self.agreement.to_dict().items() if k != "annotator_agreement"
            },
        }


def is_vote_file(source: InputFile, options: Options, settings: VoteSettings) -> bool:
    """Long vote files have an annotator column; wide ones are named by the caller."""
    return settings.layout == "wide" or options.columns.annotator in source.columns


def long_votes(
    source: InputFile, lf: pl.LazyFrame, options: Options, settings: VoteSettings
) -> pl.LazyFrame:
    """One row per vote: ``__source``, ``__file``, ``__row``, ``id``, ``annotator``, ``label``
    (each ``Int64`` when read as integers, else text; see :mod:`labelprep.vote_codes`)."""
    cols = options.columns
    if settings.layout == "wide":
        long = _unpivot_wide(source, lf, options, settings.missing)
    else:
        for role in (cols.annotator, cols.label):
            if role not in source.columns:
                raise ColumnNotFoundError.from_missing_and_available(
                    role, source.columns, source=source.path, role="vote"
                )
        long = lf
    split = (
        [pl.col(cols.split).cast(pl.String).alias("split")] if cols.split in source.columns else []
    )
    schema = long.collect_schema()
    annotator = cols.annotator if settings.layout == "long" else "annotator"
    label = cols.label if settings.layout == "long" else "label"
    return long.select(
        pl.lit(source.path, dtype=pl.String).alias(SOURCE),
        pl.lit(source.index, dtype=pl.Int64).alias(FILE),
        pl.col(ROW).cast(pl.Int64),
        native(pl.col(cols.id), schema[cols.id]).alias("id"),
        native(pl.col(annotator), schema[annotator]).alias("annotator"),
        native(pl.col(label), schema[label], strip=True).alias("label"),
        *split,
    )


def _unpivot_wide(
    source: InputFile, lf: pl.LazyFrame, options: Options, missing: Sequence[str]
) -> pl.LazyFrame:
    """One column per annotator -> one row per vote. An item with no vote at all keeps one
    row with an empty label, so it is rejected as ``no_evidence`` rather than lost."""
    cols = options.columns
    voters = [c for c in source.columns if c not in (cols.id, cols.split, *options.keep)]
    index = [c for c in (cols.id, ROW, cols.split) if c in source.columns or c == ROW]

    def voted(expr: pl.Expr) -> pl.Expr:
        text = expr.cast(pl.String).str.strip_chars()
        return text.is_not_null() & ~text.is_in([*missing, ""])

    long = lf.unpivot(voters, index=index, variable_name="annotator", value_name="label")
    long = long.with_columns(pl.col("label").cast(pl.String).str.strip_chars())
    votes = long.filter(voted(pl.col("label")))
    unvoted = lf.filter(~pl.any_horizontal([voted(pl.col(v)) for v in voters])).select(
        *index,
        pl.lit(None, dtype=pl.String).alias("annotator"),
        pl.lit(None, dtype=pl.String).alias("label"),
    )
    return pl.concat([votes, unvoted], how="diagonal_relaxed").sort(ROW, maintain_order=True)


def vocabulary_frame(votes: pl.LazyFrame) -> pl.LazyFrame:
    """The labels of a vote file, shaped for class-vocabulary inference."""
    no_list = pl.lit(None, dtype=pl.List(pl.String))
    return votes.select(
        as_text(pl.col("label")).alias(RAW_LABEL),
        no_list.alias(RAW_EXCLUDED),
        no_list.alias(RAW_CANDIDATES),
        no_list.alias(RAW_PROBS),
    )


def _vote_reasons(
    votes: pl.DataFrame, index_of: dict[str, int], policy: DuplicatePolicy
) -> pl.DataFrame:
    """Each vote's reject reason (null for a vote that counts) and class code. Repeats of
    an annotator on an item are looked for among the votes that pass the other checks."""
    votes = with_ranks(votes)
    code = label_codes(votes.get_column("label"), index_of)
    invalid = (
        pl.when(empty("id", votes.schema["id"]))
        .then(pl.lit("missing_id"))
        .when(empty("label", votes.schema["label"]))
        .then(pl.lit("no_evidence"))
        .when(code.is_null())
        .then(pl.lit("unknown_class"))
    )
    pair = pl.when(invalid.is_null()).then(pl.col(PAIR))
    duplicate = {
        "keep": pl.lit(False),
        "first": pair.is_not_null() & ~pair.is_first_distinct(),
        "reject": pair.is_not_null() & pair.is_duplicated(),
    }[policy]
    reason = pl.when(duplicate).then(pl.lit("duplicate_vote")).otherwise(invalid)
    return votes.with_columns(code.alias(CODE), reason.alias(PRE_REASON))


def aggregate_files(
    frames: Sequence[pl.LazyFrame],
    classes: Sequence[str],
    index_of: dict[str, int],
    settings: VoteSettings,
) -> AggregatedVotes:
    """Check, encode and aggregate the votes of every vote file of a run."""
    collected = collect_all([pl.concat(frames, how="diagonal_relaxed")])[0]
    votes = _vote_reasons(collected, index_of, settings.duplicates)
    valid = votes.filter(pl.col(PRE_REASON).is_null())
    encoded, items, annotators = encode(valid, len(classes))
    params = method_params(
        settings.method, alpha=settings.alpha, max_iter=settings.max_iter, tol=settings.tol
    )
    gold = None
    if settings.gold is not None:
        gold = read_gold(settings.gold, items.get_column("id"), index_of)
    result = None
    if settings.fit is not None and gold is None:
        result = settings.fit(votes, encoded, items, annotators, classes)
    if result is None:
        result = get_method(settings.method, **params).fit_predict_proba(
            encoded, None if gold is None else gold.codes
        )
    agreement = AgreementStats.compute(encoded, result.proba)
    return AggregatedVotes(
        canonical=_canonical(items, result, votes, encoded),
        result=result,
        agreement=agreement,
        annotators=_annotator_table(annotators, encoded, agreement, result),
        votes_in=votes.height,
        votes_used=valid.height,
        duplicates=repeated(votes),
        duplicates_rejected=int((votes[PRE_REASON] == "duplicate_vote").sum()),
        method=result.method,
        fit=fit_summary(result, classes, gold),
        notices=tuple(n for n in (sparsity_notice(settings.method, encoded),) if n),
    )


POSTERIOR_FLOOR = 1e-12
"""Aggregated probabilities below this are set to 0 (and the row rescaled): Dawid-Skene's
smoothing leaves posteriors like 1e-30 that would otherwise open every class in the mask."""


def _floored(proba: np.ndarray) -> np.ndarray:
    kept = np.where(proba < POSTERIOR_FLOOR, 0.0, proba)
    return np.asarray(kept / kept.sum(axis=1, keepdims=True), dtype=np.float64)


VOTE_COLUMNS = ("votes", "tied")
"""Columns of targets from votes: the item's vote count and whether its plurality was tied."""


def _canonical(
    items: pl.DataFrame, result: AggregationResult, votes: pl.DataFrame, encoded: EncodedVotes
) -> pl.LazyFrame:
    aggregated = items.with_columns(
        pl.Series(RAW_PROBS, _floored(result.proba)).cast(pl.List(pl.Float64)),
        pl.Series("votes", result.n_votes, dtype=pl.Int64),
        pl.Series("tied", tied_rows(vote_counts(encoded)), dtype=pl.Boolean),
        pl.lit(True).alias(VOTES),
        pl.lit(None, dtype=pl.String).alias(PRE_REASON),
    )
    rejected = votes.filter(pl.col(PRE_REASON).is_not_null()).select(
        pl.exclude("id", "label", "annotator", *HELPERS),
        as_text(pl.col("id")).alias("id"),
        as_text(pl.col("label")).alias(RAW_LABEL),
        pl.lit(True).alias(VOTES),
    )
    return pl.concat([aggregated, rejected], how="diagonal_relaxed").lazy()


def _annotator_table(
    names: list[str], votes: EncodedVotes, agreement: AgreementStats, result: AggregationResult
) -> pl.DataFrame:
    counts = np.bincount(votes.annotator, minlength=votes.n_annotators)
    table = pl.DataFrame(
        {
            "annotator": names,
            "votes": counts.astype(np.int64),
            "agreement_with_consensus": np.asarray(agreement.annotator_agreement, dtype=np.float64),
        }
    )
    return table.with_columns(annotator_columns(result, votes.n_classes))
