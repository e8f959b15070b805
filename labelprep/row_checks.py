"""The row checks: one expression per reject reason, over the parsed evidence columns
(:mod:`labelprep.evidence`).

Reasons are checked in the order of :data:`~labelprep.evidence.REASONS`; the first that
applies is the row's reason. The streaming pass only asks whether any applies
(:func:`ok_expr`, the ``__ok`` column); :func:`reason_expr` names the reason, on the rejected
rows only.
"""

from __future__ import annotations

import polars as pl

from labelprep.evidence import TargetPlan, any_of, candidate, excluded, list_probs, p
from labelprep.inputs.ingest import (
    PRE_REASON,
    RAW_LABEL,
    RAW_PROBS,
    raw_class_column,
)


def _wide_nan(plan: TargetPlan, i: int) -> pl.Expr:
    if plan.raw_is_string[i]:  # text that did not parse
        return pl.col(raw_class_column(i)).is_not_null() & (p(i).is_null() | p(i).is_nan())
    return p(i).is_nan()


def _not_a_number(plan: TargetPlan) -> pl.Expr:
    wide = pl.col("__has_wide") & any_of([_wide_nan(plan, i) for i in plan.ks])
    if "list" not in plan.kinds:
        return wide
    listed = list_probs().list.eval(pl.element().is_null() | pl.element().is_nan()).list.any()
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
        listed = list_probs().list.eval(pl.element().is_null()).list.any()
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
