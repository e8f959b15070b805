"""The evidence of a row, as Polars columns: the plan of a run and the parsing.

:class:`TargetPlan` holds what the expressions need to know (classes, options, the kinds of
evidence the inputs carry); :func:`parse_evidence` adds to the canonical frame (``i`` is the
class index, K classes):

``__p{i}``  probability of class i (Float64, from the wide column or ``probs``)
``__y``     index of the known class (``label``), or null
``__e{i}``  class i is explicitly excluded      ``__c{i}``  class i is a candidate

:data:`REASONS` lists the reject reasons in the order they are checked
(:mod:`labelprep.row_checks`); :mod:`labelprep.targets` builds the targets and masks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from labelprep.config import Options
from labelprep.duplicates import DuplicateIds
from labelprep.inputs.ingest import (
    RAW_CANDIDATES,
    RAW_EXCLUDED,
    RAW_LABEL,
    RAW_PROBS,
    raw_class_column,
)

REASONS: tuple[str, ...] = (
    "missing_id",
    "duplicate_vote",
    "duplicate_id",
    "not_a_number",
    "wrong_length",
    "negative_probability",
    "probability_above_one",
    "unknown_class",
    "no_evidence",
    "bad_sum",
    "conflict",
    "all_excluded",
)
REASON_DESCRIPTIONS: dict[str, str] = {
    "missing_id": "the id is null or empty",
    "duplicate_vote": "an annotator voted again on the same item (--duplicates first|reject)",
    "duplicate_id": "the id already appeared on an earlier row (the first row is kept)",
    "not_a_number": "a probability is not a number (text, NaN)",
    "wrong_length": "a probs list does not have K values, or some class columns are empty",
    "negative_probability": "a probability is below 0",
    "probability_above_one": "a probability is above 1",
    "unknown_class": "a label, excluded or candidate class is not in the vocabulary",
    "no_evidence": "no probabilities, label, candidates or excluded classes",
    "bad_sum": "probabilities do not sum to 1 within the tolerance (or sum to 0)",
    "conflict": "the evidence contradicts itself (mass or label on an excluded or "
    "non-candidate class, a label with probability 0, disjoint sets)",
    "all_excluded": "the excluded set (or an empty candidate set) rules out every class",
}
STEP_REASONS: dict[str, str] = {
    "no_overlap": "refine: the model gives no probability to any class the row's mask allows",
    "unknown_id": "refine: a prediction's id is not among the run's targets",
}
"""Reasons given by ``labelprep refine`` (:mod:`labelprep.refine`), not by a row check."""
ALL_INPUT_KINDS = frozenset({"wide", "list", "label", "excluded", "candidates", "votes"})
EVIDENCE_KINDS: tuple[str, ...] = ("probs", "label", "candidates", "excluded")


def p(i: int) -> pl.Expr:
    """Probability of class ``i`` (Float64, null when the row has no probabilities)."""
    return pl.col(f"__p{i}")


def excluded(i: int) -> pl.Expr:
    """Class ``i`` is in the row's excluded set."""
    return pl.col(f"__e{i}")


def candidate(i: int) -> pl.Expr:
    """Class ``i`` is in the row's candidate set."""
    return pl.col(f"__c{i}")


def target(i: int) -> pl.Expr:
    """Soft target of class ``i`` (Float64)."""
    return pl.col(f"__t{i}")


def mask(i: int) -> pl.Expr:
    """Candidate mask of class ``i`` (Boolean)."""
    return pl.col(f"__m{i}")


def any_of(exprs: Sequence[pl.Expr]) -> pl.Expr:
    return pl.any_horizontal(exprs) if exprs else pl.lit(False)


@dataclass(frozen=True)
class TargetPlan:
    """Everything the expressions need to know about the run."""

    classes: tuple[str, ...]
    index_of: dict[str, int]
    options: Options
    raw_is_string: tuple[bool, ...]
    prior: tuple[float, ...] | None = None
    kinds: frozenset[str] = ALL_INPUT_KINDS
    """The kinds of evidence some input can carry; the others compile to constants."""
    duplicates: DuplicateIds | None = None
    """Repeated ids found by a first pass; ``None`` checks in memory (small frames)."""
    id_is_text: bool = True
    """The id column holds text, so an empty string counts as a missing id."""

    @property
    def k(self) -> int:
        return len(self.classes)

    @property
    def ks(self) -> range:
        return range(self.k)


# -- parsing -----------------------------------------------------------------------------


def _as_float(expr: pl.Expr, is_string: bool) -> pl.Expr:
    if is_string:
        return expr.str.strip_chars().cast(pl.Float64, strict=False)
    return expr.cast(pl.Float64)


def list_probs() -> pl.Expr:
    return pl.col(RAW_PROBS).cast(pl.List(pl.Float64), strict=False)


def _to_indices(column: str, plan: TargetPlan) -> pl.Expr:
    return pl.col(column).list.eval(
        pl.element().replace_strict(plan.index_of, default=None, return_dtype=pl.Int64)
    )


def _probabilities(plan: TargetPlan) -> tuple[pl.Expr, pl.Expr, list[pl.Expr]]:
    """(has wide values, has a probs list, probability of each class)."""
    none = pl.lit(None, dtype=pl.Float64)
    raws = [pl.col(raw_class_column(i)) for i in plan.ks]
    has_wide = any_of([r.is_not_null() for r in raws]) if "wide" in plan.kinds else pl.lit(False)
    has_list = pl.col(RAW_PROBS).is_not_null() if "list" in plan.kinds else pl.lit(False)
    wide = [_as_float(r, s) for r, s in zip(raws, plan.raw_is_string, strict=True)]
    if "list" not in plan.kinds:
        return has_wide, has_list, wide if "wide" in plan.kinds else [none for _ in plan.ks]
    listed = [list_probs().list.get(i, null_on_oob=True) for i in plan.ks]
    if "wide" not in plan.kinds:
        return has_wide, has_list, listed
    merged = [
        pl.when("__has_wide").then(w).otherwise(li) for w, li in zip(wide, listed, strict=True)
    ]
    return has_wide, has_list, merged


_WORD = 64  # classes per bit word


def _set_bits(kind: str, plan: TargetPlan) -> list[pl.Expr]:
    """The set as bit words (class ``i`` is bit ``i % 64`` of word ``i // 64``): testing a
    bit is much cheaper than searching the list once per class."""
    words = []
    for w in range((plan.k + _WORD - 1) // _WORD):
        element = pl.element()
        bit = pl.lit(2, dtype=pl.UInt64).pow(element % _WORD)
        in_word = pl.when(element // _WORD == w).then(bit)
        word = pl.col(f"__{kind}").list.eval(in_word).list.agg(element.bitwise_or())
        words.append(word.fill_null(0).alias(f"__{kind}_bits{w}"))
    return words


def _class_set(column: str, kind: str, plan: TargetPlan) -> tuple[pl.Expr, list[pl.Expr]]:
    """(the set as class indices, membership of each class) of a list column; the
    membership reads the bit words of :func:`_set_bits`."""
    if kind not in plan.kinds:
        return pl.lit(None, dtype=pl.List(pl.Int64)), [pl.lit(False) for _ in plan.ks]
    members = [
        (pl.col(f"__{kind}_bits{i // _WORD}") & pl.lit(1 << (i % _WORD), dtype=pl.UInt64)) != 0
        for i in plan.ks
    ]
    return _to_indices(column, plan), members


def parse_evidence(lf: pl.LazyFrame, plan: TargetPlan) -> pl.LazyFrame:
    """Add ``__p{i}``, ``__y``, ``__e{i}``, ``__c{i}`` and the presence flags.

    Evidence no input carries (``plan.kinds``) compiles to constants, so a file of
    wide probabilities pays nothing for list parsing.
    """
    has_wide, has_list, probs = _probabilities(plan)
    excluded_set, excluded_in = _class_set(RAW_EXCLUDED, "excluded", plan)
    candidate_set, candidate_in = _class_set(RAW_CANDIDATES, "candidates", plan)
    label = pl.col(RAW_LABEL).replace_strict(plan.index_of, default=None, return_dtype=pl.Int64)
    lf = lf.with_columns(
        has_wide.alias("__has_wide"),
        has_list.alias("__has_list"),
        (label if "label" in plan.kinds else pl.lit(None, dtype=pl.Int64)).alias("__y"),
        excluded_set.alias("__excluded"),
        candidate_set.alias("__candidates"),
    )
    bits = [
        w
        for kind in ("excluded", "candidates")
        if kind in plan.kinds
        for w in _set_bits(kind, plan)
    ]
    if bits:
        lf = lf.with_columns(bits)
    return lf.with_columns(
        *[prob.alias(f"__p{i}") for i, prob in enumerate(probs)],
        *[member.alias(f"__e{i}") for i, member in enumerate(excluded_in)],
        *[member.alias(f"__c{i}") for i, member in enumerate(candidate_in)],
        (pl.col("__has_wide") | pl.col("__has_list")).alias("__has_p"),
        pl.col("__y").is_not_null().alias("__has_y"),
        pl.col("__excluded").list.len().fill_null(0).gt(0).alias("__has_e"),
        pl.col("__candidates").is_not_null().alias("__has_c"),
    ).with_columns(pl.sum_horizontal([p(i) for i in plan.ks]).alias("__sum"))
