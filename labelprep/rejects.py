"""Rejected rows: provenance, reason code, the column and value at fault, a message.

The message expressions run only on rows already filtered to the rejects, so a
clean input pays nothing for them.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from labelprep.evidence import TargetPlan, any_of, excluded, p
from labelprep.inputs.ingest import (
    RAW_CANDIDATES,
    RAW_EXCLUDED,
    RAW_LABEL,
    RAW_PROBS,
    ROW,
    SOURCE,
    raw_class_column,
)
from labelprep.row_checks import row_sum

REJECT_COLUMNS: tuple[str, ...] = ("source", "row", "id", "reason", "column", "value", "message")


def _first(conditions: Sequence[pl.Expr], values: Sequence[pl.Expr]) -> pl.Expr:
    """The value paired with the first true condition (a per-row "which column")."""
    return pl.coalesce(
        [pl.when(c).then(v) for c, v in zip(conditions, values, strict=True)]
        + [pl.lit(None, dtype=pl.String)]
    )


def _joined(column: str) -> pl.Expr:
    return pl.col(column).cast(pl.List(pl.String)).list.join("|")


def _class_fault(plan: TargetPlan, bad: Sequence[pl.Expr]) -> tuple[pl.Expr, pl.Expr]:
    """(column, value) of the first class whose probability is at fault."""
    names = [pl.lit(n) for n in _wide_names(plan)]
    values = [_raw_text(i) for i in plan.ks]
    wide = pl.col("__has_wide")
    column = pl.when(wide).then(_first(bad, names)).otherwise(pl.lit(plan.options.columns.probs))
    value = pl.when(wide).then(_first(bad, values)).otherwise(_joined(RAW_PROBS))
    return column, value


def _probability_columns(plan: TargetPlan) -> pl.Expr:
    """Where a row's probabilities came from: ``c1..c4`` (wide) or the ``probs`` column."""
    names = _wide_names(plan)
    wide = f"{names[0]}..{names[-1]}" if len(names) > 1 else names[0]
    return (
        pl.when(pl.col("__has_wide"))
        .then(pl.lit(wide))
        .otherwise(pl.lit(plan.options.columns.probs))
    )


def _wide_names(plan: TargetPlan) -> list[str]:
    return list(plan.options.prob_columns or plan.classes)


def _raw_text(i: int) -> pl.Expr:
    return pl.col(raw_class_column(i)).cast(pl.String)


def _unknown_fault(plan: TargetPlan) -> tuple[pl.Expr, pl.Expr]:
    cols = plan.options.columns
    label_bad = pl.col(RAW_LABEL).is_not_null() & pl.col("__y").is_null()

    def unknown_items(raw: str, mapped: str) -> pl.Expr:
        return (
            pl.col(raw)
            .list.gather(pl.col(mapped).list.eval(pl.element().is_null().arg_true()))
            .list.join("|")
        )

    ex_bad = pl.col("__excluded").list.eval(pl.element().is_null()).list.any().fill_null(False)
    column = (
        pl.when(label_bad)
        .then(pl.lit(cols.label))
        .when(ex_bad)
        .then(pl.lit(cols.excluded))
        .otherwise(pl.lit(cols.candidates))
    )
    value = (
        pl.when(label_bad)
        .then(pl.col(RAW_LABEL))
        .when(ex_bad)
        .then(unknown_items(RAW_EXCLUDED, "__excluded"))
        .otherwise(unknown_items(RAW_CANDIDATES, "__candidates"))
    )
    return column, value


def _fault(plan: TargetPlan) -> tuple[pl.Expr, pl.Expr]:
    cols = plan.options.columns
    reason = pl.col("reason")
    nan = [
        pl.col(raw_class_column(i)).is_not_null() & (p(i).is_null() | p(i).is_nan())
        for i in plan.ks
    ]
    faults = {
        "not_a_number": _class_fault(plan, nan),
        "wrong_length": _class_fault(
            plan, [pl.col(raw_class_column(i)).is_null() for i in plan.ks]
        ),
        "negative_probability": _class_fault(plan, [p(i) < 0 for i in plan.ks]),
        "probability_above_one": _class_fault(plan, [p(i) > 1 for i in plan.ks]),
        "unknown_class": _unknown_fault(plan),
        "missing_id": (pl.lit(cols.id), pl.lit(None, dtype=pl.String)),
        "duplicate_id": (pl.lit(cols.id), pl.col("id").cast(pl.String)),
        "duplicate_vote": (pl.lit(cols.annotator), pl.col("id").cast(pl.String)),
        "bad_sum": (_probability_columns(plan), row_sum().round(6).cast(pl.String)),
        "conflict": _conflict_fault(plan),
        "all_excluded": (pl.lit(cols.excluded), _joined(RAW_EXCLUDED)),
    }
    column = pl.lit(None, dtype=pl.String)
    value = pl.lit(None, dtype=pl.String)
    for code, (c, v) in faults.items():
        column = pl.when(reason == code).then(c).otherwise(column)
        value = pl.when(reason == code).then(v.cast(pl.String)).otherwise(value)
    return column, value


def _conflict_fault(plan: TargetPlan) -> tuple[pl.Expr, pl.Expr]:
    """The column whose content contradicts the rest of the row, and that content."""
    cols = plan.options.columns
    probs, label = pl.col("__has_p"), pl.col("__has_y")
    label_excluded = any_of([(pl.col("__y") == i) & excluded(i) for i in plan.ks])
    mass_excluded = any_of([(p(i) > 0) & excluded(i) for i in plan.ks])
    column = (
        pl.when(probs & label & ~pl.col("__has_e") & ~pl.col("__has_c"))
        .then(pl.lit(cols.label))
        .when(label & ~probs & label_excluded)
        .then(pl.lit(cols.excluded))
        .when(probs & mass_excluded)
        .then(pl.lit(cols.excluded))
        .otherwise(pl.lit(cols.candidates))
    )
    value = (
        pl.when(column == cols.excluded)
        .then(_joined(RAW_EXCLUDED))
        .when(column == cols.candidates)
        .then(_joined(RAW_CANDIDATES))
        .otherwise(pl.col(RAW_LABEL))
    )
    return column, value


MESSAGES: dict[str, str] = {
    "missing_id": "the id is missing",
    "duplicate_vote": "item '{value}': this annotator already voted on it",
    "duplicate_id": "id '{value}' already appeared on an earlier row; only the first row with "
    "an id can become a target",
    "not_a_number": "column {column}: value '{value}' is not a number",
    "wrong_length": "column {column}: expected {k} probabilities, found {value}",
    "negative_probability": "column {column}: probability {value} is negative",
    "probability_above_one": "column {column}: probability {value} is above 1",
    "unknown_class": "column {column}: '{value}' is not a known class",
    "no_evidence": "the row has no probabilities, label, candidates or excluded classes",
    "bad_sum": "probabilities sum to {value}, not 1 (tolerance {tol}; pass --renormalize to "
    "rescale rows)",
    "conflict": "column {column}: '{value}' contradicts the row's other evidence",
    "all_excluded": "column {column}: '{value}' rules out every class",
}


CONFLICTS: dict[str, str] = {
    "label_has_no_mass": "label '{label}' has probability 0 in the row's probabilities",
    "label_excluded": "label '{label}' is in the excluded set '{value}'",
    "label_not_candidate": "label '{label}' is not among the candidates '{value}'",
    "mass_outside": "probability mass on a class that column {column} rules out ('{value}')",
    "sets_disjoint": "every candidate is excluded ('{value}')",
}


def _conflict_message(plan: TargetPlan) -> pl.Expr:
    """Which contradiction made the row a ``conflict`` (the checks of ``_conflict``)."""
    probs, label = pl.col("__has_p"), pl.col("__has_y")
    column = pl.col("column")
    kind = (
        pl.when(probs & label & ~pl.col("__has_e") & ~pl.col("__has_c"))
        .then(pl.lit("label_has_no_mass"))
        .when(probs)
        .then(pl.lit("mass_outside"))
        .when(label & (column == plan.options.columns.excluded))
        .then(pl.lit("label_excluded"))
        .when(label)
        .then(pl.lit("label_not_candidate"))
        .otherwise(pl.lit("sets_disjoint"))
    )
    message = pl.lit(None, dtype=pl.String)
    for name, template in CONFLICTS.items():
        message = pl.when(kind == name).then(_format(template)).otherwise(message)
    return message


def _message(plan: TargetPlan) -> pl.Expr:
    message = pl.lit(None, dtype=pl.String)
    for code, template in MESSAGES.items():
        text = template.replace("{k}", str(plan.k)).replace("{tol}", str(plan.options.tolerance))
        filled = _conflict_message(plan) if code == "conflict" else _format(text)
        message = pl.when(pl.col("reason") == code).then(filled).otherwise(message)
    return message


def _format(template: str) -> pl.Expr:
    """Fill ``{column}`` / ``{value}`` placeholders from the row, quoting the value."""
    parts: list[pl.Expr] = []
    rest = template
    while "{" in rest:
        head, _, tail = rest.partition("{")
        name, _, rest = tail.partition("}")
        parts.append(pl.lit(head))
        source = pl.col(RAW_LABEL) if name == "label" else pl.col(name)
        parts.append(source.fill_null("?"))
    parts.append(pl.lit(rest))
    return pl.concat_str(parts)


def _wrong_length_value(plan: TargetPlan) -> pl.Expr:
    filled = pl.sum_horizontal(
        [pl.col(raw_class_column(i)).is_not_null().cast(pl.Int64) for i in plan.ks]
    )
    return pl.when(pl.col("__has_wide")).then(filled).otherwise(pl.col(RAW_PROBS).list.len())


def reject_rows(
    rejected: pl.LazyFrame, plan: TargetPlan, *, keep: Sequence[str] = ()
) -> pl.LazyFrame:
    """Rows already filtered to the rejects -> the columns of ``rejects.parquet``
    (plus the internal ``keep`` columns)."""
    column, value = _fault(plan)
    value = (
        pl.when(pl.col("reason") == "wrong_length")
        .then(_wrong_length_value(plan).cast(pl.String))
        .otherwise(value)
    )
    return rejected.with_columns(column.alias("column"), value.alias("value")).select(
        pl.col(SOURCE).alias("source"),
        pl.col(ROW).alias("row"),
        pl.col("id").cast(pl.String),
        pl.col("reason"),
        pl.col("column"),
        pl.col("value"),
        _message(plan).alias("message"),
        *keep,
    )
