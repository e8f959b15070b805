"""Evidence -> soft target + candidate mask, as Polars expressions (no row loops).

Columns added to the canonical frame (``i`` is the class index, K classes):

``__p{i}``  probability of class i (Float64, from the wide column or ``probs``)
``__y``     index of the known class (``label``), or null
``__e{i}``  class i is explicitly excluded      ``__c{i}``  class i is a candidate
``__ok``    no reject reason applies to the row
``__t{i}``  the soft target (Float64)            ``__m{i}``  the candidate mask (Boolean)
``__evidence`` the kinds of evidence on the row as a bit code (:data:`EVIDENCE_NAMES`)

Semantics are those of the SPEC's table; the docstring of each unit says which
part it implements. Reasons are checked in the order of :data:`REASONS`; the
first that applies is the row's reason. The streaming pass only asks whether any
applies (``__ok``); :func:`rejected` names the reason, on the rejected rows only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from labelprep.config import Options
from labelprep.duplicates import DuplicateIds
from labelprep.inputs.ingest import (
    PRE_REASON,
    RAW_CANDIDATES,
    RAW_EXCLUDED,
    RAW_LABEL,
    RAW_PROBS,
    VOTES,
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


def _list_probs() -> pl.Expr:
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
    listed = [_list_probs().list.get(i, null_on_oob=True) for i in plan.ks]
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


# -- reasons -----------------------------------------------------------------------------


def _wide_nan(plan: TargetPlan, i: int) -> pl.Expr:
    if plan.raw_is_string[i]:  # text that did not parse
        return pl.col(raw_class_column(i)).is_not_null() & (p(i).is_null() | p(i).is_nan())
    return p(i).is_nan()


def _not_a_number(plan: TargetPlan) -> pl.Expr:
    wide = pl.col("__has_wide") & any_of([_wide_nan(plan, i) for i in plan.ks])
    if "list" not in plan.kinds:
        return wide
    listed = _list_probs().list.eval(pl.element().is_null() | pl.element().is_nan()).list.any()
    return wide | (~pl.col("__has_wide") & listed.fill_null(False))


def _wrong_length(plan: TargetPlan) -> pl.Expr:
    wide_gap = any_of([pl.col(raw_class_column(i)).is_null() for i in plan.ks])
    wide = pl.col("__has_wide") & wide_gap
    if "list" not in plan.kinds:
        return wide
    list_len = pl.col(RAW_PROBS).list.len() != plan.k
    return wide | (~pl.col("__has_wide") & list_len.fill_null(False))


def _unknown_class(plan: TargetPlan) -> pl.Expr:
    terms = []
    if "label" in plan.kinds:
        terms.append(pl.col(RAW_LABEL).is_not_null() & pl.col("__y").is_null())
    for kind in ("excluded", "candidates"):
        if kind in plan.kinds:
            unknown = pl.col(f"__{kind}").list.eval(pl.element().is_null()).list.any()
            terms.append(unknown.fill_null(False))
    return any_of(terms)


def _missing_id(plan: TargetPlan) -> pl.Expr:
    """A null id (a float NaN id is null, :mod:`labelprep.inputs.idtypes`), or, when ids are text,
    one that is empty, only whitespace, or the text ``NaN`` (any case)."""
    if plan.id_is_text:
        text = pl.col("id").cast(pl.String).str.strip_chars().str.to_lowercase()
        return pl.col("id").is_null() | text.is_in(["", "nan"])
    return pl.col("id").is_null()


def _duplicate_id(plan: TargetPlan) -> pl.Expr:
    """A later row with an id seen before; rejected votes (decided at ingest) do not count."""
    if plan.duplicates is not None:
        return plan.duplicates.later_rows()
    if "votes" not in plan.kinds:
        return pl.col("id").is_not_null() & ~pl.col("id").is_first_distinct()
    key = pl.when(pl.col(PRE_REASON).is_null()).then(pl.col("id"))
    return key.is_not_null() & ~key.is_first_distinct()


def _duplicate_vote(plan: TargetPlan) -> pl.Expr:
    if "votes" not in plan.kinds:
        return pl.lit(False)
    return pl.col(PRE_REASON).fill_null("") == "duplicate_vote"


def row_sum() -> pl.Expr:
    """Sum of the row's probabilities (Float64)."""
    return pl.col("__sum")


def _outside(plan: TargetPlan) -> list[pl.Expr] | None:
    """Per class: the row's sets rule it out (excluded, or not among the candidates).
    None when no input carries a set."""
    has_e, has_c = "excluded" in plan.kinds, "candidates" in plan.kinds
    if not (has_e or has_c):
        return None
    outside = []
    for i in plan.ks:
        terms = [excluded(i)] if has_e else []
        if has_c:
            terms.append(pl.col("__has_c") & ~candidate(i))
        outside.append(terms[0] if len(terms) == 1 else terms[0] | terms[1])
    return outside


def _conflict(plan: TargetPlan) -> pl.Expr:
    """Evidence that contradicts itself: mass on an excluded or non-candidate class,
    a known class that is excluded, not a candidate or has probability 0, or
    candidates that are all excluded. Terms for evidence no input carries are left out."""
    has_label = "label" in plan.kinds
    outside = _outside(plan)
    if outside is None and not has_label:
        return pl.lit(False)
    probs, label = pl.col("__has_p"), pl.col("__has_y")
    y_is = [pl.col("__y") == i for i in plan.ks]
    with_probs, without_probs = [], []
    if outside is not None:
        with_probs.append(any_of([(p(i) > 0) & out for i, out in enumerate(outside)]))
    if has_label:
        with_probs.append(label & any_of([y & (p(i) <= 0) for i, y in enumerate(y_is)]))
        if outside is not None:
            y_out = any_of([y & out for y, out in zip(y_is, outside, strict=True)])
            without_probs.append(label & y_out)
    if {"excluded", "candidates"} <= plan.kinds:
        both = pl.col("__has_c") & pl.col("__has_e")
        disjoint = both & ~any_of([candidate(i) & ~excluded(i) for i in plan.ks])
        without_probs.append(~label & disjoint if has_label else disjoint)
    conflict = probs & any_of(with_probs)
    return conflict | (~probs & any_of(without_probs)) if without_probs else conflict


def _all_excluded(plan: TargetPlan) -> pl.Expr:
    """A set-only row leaving no possible class (all excluded, or an empty candidate set)."""
    outside = _outside(plan)
    if outside is None:
        return pl.lit(False)
    set_only = (
        ~pl.col("__has_p") & ~pl.col("__has_y") if "label" in plan.kinds else ~pl.col("__has_p")
    )
    return set_only & ~any_of([~out for out in outside])


def reason_checks(plan: TargetPlan) -> list[tuple[str, pl.Expr]]:
    """Each reject reason with the condition that triggers it, in :data:`REASONS` order.

    The single source of the row checks: :func:`reason_expr` compiles them for the
    streaming pipeline, :mod:`labelprep.schema` turns them into Pandera checks.
    """
    tol = plan.options.tolerance
    probs = pl.col("__has_p")
    return [
        ("missing_id", _missing_id(plan)),
        ("duplicate_vote", _duplicate_vote(plan)),
        ("duplicate_id", _duplicate_id(plan)),
        ("not_a_number", probs & _not_a_number(plan)),
        ("wrong_length", probs & _wrong_length(plan)),
        ("negative_probability", probs & any_of([p(i) < 0 for i in plan.ks])),
        ("probability_above_one", probs & any_of([p(i) > 1 for i in plan.ks])),
        ("unknown_class", _unknown_class(plan)),
        ("no_evidence", ~(probs | pl.col("__has_y") | pl.col("__has_e") | pl.col("__has_c"))),
        ("bad_sum", probs & _bad_sum(tol, renormalize=plan.options.renormalize)),
        ("conflict", _conflict(plan)),
        ("all_excluded", _all_excluded(plan)),
    ]


_VALUE_REASONS = frozenset({"not_a_number", "negative_probability", "probability_above_one"})


def ok_expr(plan: TargetPlan) -> pl.Expr:
    """No reject reason applies to the row: what the streaming pass asks of every row.

    Equivalent to no condition of :func:`reason_checks` holding, with the three checks
    of the probability values folded into one range test per class (a NaN is never in
    [0, 1]); :func:`reason_expr` still names the exact reason of a rejected row.
    """
    others = [cond for code, cond in reason_checks(plan) if code not in _VALUE_REASONS]
    return ~pl.any_horizontal([*others, pl.col("__has_p") & _bad_value(plan)])


def _bad_value(plan: TargetPlan) -> pl.Expr:
    """Some probability is NaN, unparsable text, below 0 or above 1."""
    in_range = pl.all_horizontal([p(i).is_between(0.0, 1.0) for i in plan.ks])
    terms = [~in_range.fill_null(True)]  # nulls are wrong_length's business
    text = [i for i in plan.ks if plan.raw_is_string[i]]
    if text:  # text that did not parse is null, not NaN
        unparsed = [pl.col(raw_class_column(i)).is_not_null() & p(i).is_null() for i in text]
        terms.append(pl.col("__has_wide") & any_of(unparsed))
    if "list" in plan.kinds:  # a null inside a probs list
        listed = _list_probs().list.eval(pl.element().is_null()).list.any()
        terms.append(~pl.col("__has_wide") & listed.fill_null(False))
    return any_of(terms)


def reason_expr(plan: TargetPlan) -> pl.Expr:
    """The first reason (in :data:`REASONS` order) that rejects the row, else null."""
    reason = pl.lit(None, dtype=pl.String)
    for code, condition in reversed(reason_checks(plan)):
        reason = pl.when(condition).then(pl.lit(code)).otherwise(reason)
    return reason


def _bad_sum(tolerance: float, *, renormalize: bool) -> pl.Expr:
    if renormalize:
        return row_sum() <= 0
    return (row_sum() - 1.0).abs() > tolerance


# -- targets -----------------------------------------------------------------------------


def _weights(plan: TargetPlan) -> list[pl.Expr]:
    if plan.options.partial == "prior" and plan.prior is not None:
        return [pl.lit(w, dtype=pl.Float64) for w in plan.prior]
    return [pl.lit(1.0, dtype=pl.Float64) for _ in plan.ks]


def _evidence_mask(plan: TargetPlan) -> list[pl.Expr]:
    """1 = positive or still possible: what the positive evidence allows (probabilities > 0,
    else the known class, else the candidates, else everything), minus the excluded set.
    Contradictions between the two are rejected as ``conflict`` before this matters."""
    masks = []
    for i in plan.ks:
        positive = [p(i) > 0]
        if "label" in plan.kinds:
            positive.append(pl.col("__y") == i)
        if "candidates" in plan.kinds:
            positive.append(~pl.col("__has_c") | candidate(i))
        allowed = pl.coalesce([*positive, pl.lit(True)])
        masks.append(allowed & ~excluded(i) if "excluded" in plan.kinds else allowed)
    return masks


def _base_target(plan: TargetPlan) -> list[pl.Expr]:
    """Probabilities scaled to sum 1; otherwise the mask (a one-hot for a known class)
    weighted uniformly or by the prior (``partial=prior``) and scaled to sum 1. When the
    prior gives the whole mask zero mass the row falls back to uniform over the mask."""
    if not plan.kinds & {"label", "excluded", "candidates"}:
        return [p(i) / row_sum() for i in plan.ks]
    if plan.options.partial != "prior":  # uniform over the mask: 1 / (its size) or 0
        share = 1.0 / pl.sum_horizontal([mask(i) for i in plan.ks])
        return [
            pl.when(pl.col("__has_p"))
            .then(p(i) / row_sum())
            .otherwise(pl.when(mask(i)).then(share).otherwise(0.0))
            for i in plan.ks
        ]
    weights = _weights(plan)
    mass = [pl.coalesce(p(i), mask(i).cast(pl.Float64) * w) for i, w in enumerate(weights)]
    total = pl.sum_horizontal(mass)
    count = pl.sum_horizontal([mask(i).cast(pl.Float64) for i in plan.ks])
    fallback = [mask(i).cast(pl.Float64) / count for i in plan.ks]
    return [
        pl.when(total > 0).then(m / total).otherwise(f) for m, f in zip(mass, fallback, strict=True)
    ]


def _smooth(plan: TargetPlan, base: list[pl.Expr]) -> tuple[list[pl.Expr], list[pl.Expr]]:
    """Label smoothing: (1 - eps) * target + eps spread over the classes the row does
    not explicitly exclude; the mask becomes those classes."""
    eps = plan.options.smoothing
    allowed = [~excluded(i) for i in plan.ks]
    n_allowed = pl.sum_horizontal([a.cast(pl.Float64) for a in allowed])
    smoothed = [
        (1.0 - eps) * t + eps * a.cast(pl.Float64) / n_allowed
        for t, a in zip(base, allowed, strict=True)
    ]
    return smoothed, allowed


def _evidence_name(code: int) -> str:
    kinds = [
        "votes" if code & 16 else "probs" if code & 1 else "",
        "label",
        "candidates",
        "excluded",
    ]
    bits = (code & 17, code & 2, code & 4, code & 8)
    return "+".join(kind for kind, bit in zip(kinds, bits, strict=True) if bit)


EVIDENCE_NAMES: tuple[str, ...] = tuple(_evidence_name(code) for code in range(32))
"""Evidence code (bits: probs 1, label 2, candidates 4, excluded 8, votes 16) -> name."""


def evidence_code(plan: TargetPlan) -> pl.Expr:
    """The row's evidence kinds as a small bit code (cheap to group by)."""
    flags = ("__has_p", "__has_y", "__has_c", "__has_e")
    code = pl.sum_horizontal(
        [pl.col(f).cast(pl.UInt8) * (1 << bit) for bit, f in enumerate(flags)]
    ).cast(pl.UInt8)
    if "votes" in plan.kinds:
        code = code + pl.col(VOTES).fill_null(False).cast(pl.UInt8) * 16
    return code


def evidence_name(code: pl.Expr, dtype: pl.DataType | None = None) -> pl.Expr:
    """Evidence code -> name such as ``probs`` or ``label+excluded`` (String, or ``dtype``)."""
    return pl.lit(pl.Series(EVIDENCE_NAMES, dtype=dtype or pl.String())).gather(code)


def build_targets(lf: pl.LazyFrame, plan: TargetPlan) -> pl.LazyFrame:
    """Canonical frame -> frame with ``__ok``, targets, masks and the evidence code."""
    lf = parse_evidence(lf, plan)
    lf = lf.with_columns(
        ok_expr(plan).alias("__ok"),
        *[m.alias(f"__m{i}") for i, m in enumerate(_evidence_mask(plan))],
    )
    base = _base_target(plan)
    if plan.options.smoothing > 0:
        base, allowed = _smooth(plan, base)
        lf = lf.with_columns(*[t.alias(f"__t{i}") for i, t in enumerate(base)])
        lf = lf.with_columns(*[a.alias(f"__m{i}") for i, a in enumerate(allowed)])
    else:
        lf = lf.with_columns(*[t.alias(f"__t{i}") for i, t in enumerate(base)])
    return lf.with_columns(evidence_code(plan).alias("__evidence"))


def accepted(lf: pl.LazyFrame) -> pl.LazyFrame:
    """Rows that became targets."""
    return lf.filter(pl.col("__ok"))


def rejected(lf: pl.LazyFrame, plan: TargetPlan) -> pl.LazyFrame:
    """Rows that were rejected, with their ``reason``."""
    return lf.filter(~pl.col("__ok")).with_columns(reason_expr(plan).alias("reason"))
