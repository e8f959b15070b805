"""Evidence -> soft target + candidate mask, as Polars expressions (no row loops).

:func:`build_targets` parses the evidence (:mod:`labelprep.evidence`), adds ``__ok`` (no
reject reason applies, :mod:`labelprep.row_checks`), the soft target ``__t{i}`` (Float64),
the candidate mask ``__m{i}`` (Boolean) and the evidence bit code ``__evidence``
(:data:`EVIDENCE_NAMES`). Semantics are those of the SPEC's table; the docstring of each
unit says which part it implements.
"""

from __future__ import annotations

import polars as pl

from labelprep.evidence import TargetPlan, candidate, excluded, mask, p, parse_evidence
from labelprep.inputs.ingest import FILE, ROW, SOURCE, VOTES
from labelprep.row_checks import ok_expr, reason_expr, row_sum


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


SET_SIZE = "__set_size"
"""The number of classes in a row's mask (UInt32): a column of :func:`build_targets`, read
by the uniform share and by the statistics."""

Columns = dict[str, pl.Expr]
"""Per-row quantities every class uses (a mask's size, a row's total), named: each is
computed once as a column and referred to by name, so a plan holds O(K) expressions. Put
inline in each class's expression, they made O(K**2): at K = 1000 Polars took over four
seconds to plan the pass, and again for the rejects."""


def _base_target(plan: TargetPlan) -> tuple[Columns, list[pl.Expr]]:
    """(shared columns, targets): probabilities scaled to sum 1; otherwise the mask (a
    one-hot for a known class) weighted uniformly or by the prior (``partial=prior``) and
    scaled to sum 1. When the prior gives the whole mask zero mass the row falls back to
    uniform over the mask."""
    if not plan.kinds & {"label", "excluded", "candidates"}:
        return {}, [p(i) / row_sum() for i in plan.ks]
    if plan.options.partial != "prior":  # uniform over the mask: 1 / (its size) or 0
        shared = {"__share": 1.0 / pl.col(SET_SIZE)}
        return shared, [
            pl.when(pl.col("__has_p"))
            .then(p(i) / row_sum())
            .otherwise(pl.when(mask(i)).then(pl.col("__share")).otherwise(0.0))
            for i in plan.ks
        ]
    weights = _weights(plan)
    mass = [pl.coalesce(p(i), mask(i).cast(pl.Float64) * w) for i, w in enumerate(weights)]
    shared = {
        "__total": pl.sum_horizontal(mass),
        "__count": pl.sum_horizontal([mask(i).cast(pl.Float64) for i in plan.ks]),
    }
    total, count = pl.col("__total"), pl.col("__count")
    fallback = [mask(i).cast(pl.Float64) / count for i in plan.ks]
    return shared, [
        pl.when(total > 0).then(m / total).otherwise(f) for m, f in zip(mass, fallback, strict=True)
    ]


def _smooth(plan: TargetPlan, base: list[pl.Expr]) -> tuple[Columns, list[pl.Expr], list[pl.Expr]]:
    """Label smoothing: (1 - eps) * target + eps spread over the classes the row does
    not explicitly exclude; the mask becomes those classes. Returns (shared columns,
    targets, masks)."""
    eps = plan.options.smoothing
    allowed = [~excluded(i) for i in plan.ks]
    shared = {"__allowed": pl.sum_horizontal([a.cast(pl.Float64) for a in allowed])}
    smoothed = [
        (1.0 - eps) * t + eps * a.cast(pl.Float64) / pl.col("__allowed")
        for t, a in zip(base, allowed, strict=True)
    ]
    return shared, smoothed, allowed


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
    """Canonical frame -> frame with ``__ok``, targets, masks, the mask's size
    (:data:`SET_SIZE`) and the evidence code."""
    lf = parse_evidence(lf, plan)
    lf = lf.with_columns(
        ok_expr(plan).alias("__ok"),
        *[m.alias(f"__m{i}") for i, m in enumerate(_evidence_mask(plan))],
    )
    lf = lf.with_columns(pl.sum_horizontal([mask(i) for i in plan.ks]).alias(SET_SIZE))
    shared, base = _base_target(plan)
    allowed = None
    if plan.options.smoothing > 0:
        smoothing, base, allowed = _smooth(plan, base)
        shared = {**shared, **smoothing}
    if shared:
        lf = lf.with_columns(**shared)
    lf = lf.with_columns(*[t.alias(f"__t{i}") for i, t in enumerate(base)])
    if allowed is not None:  # smoothing: the mask becomes the classes not excluded
        size = pl.col("__allowed").cast(pl.UInt32).alias(SET_SIZE)
        lf = lf.with_columns(*[a.alias(f"__m{i}") for i, a in enumerate(allowed)], size)
    return lf.with_columns(evidence_code(plan).alias("__evidence"))


def accepted(lf: pl.LazyFrame) -> pl.LazyFrame:
    """Rows that became targets."""
    return lf.filter(pl.col("__ok"))


def rejected(lf: pl.LazyFrame, plan: TargetPlan) -> pl.LazyFrame:
    """Rows that were rejected, with their ``reason``."""
    return lf.filter(~pl.col("__ok")).with_columns(reason_expr(plan).alias("reason"))


def rechecked(kept: pl.DataFrame, plan: TargetPlan, paths: dict[int, str]) -> pl.LazyFrame:
    """The rejected rows the main pass kept as read (canonical columns but the file's
    name), checked again with the same expressions (so the same verdict) and given their
    ``reason``, in input order. The file's name, the same on every row of a file, is not
    carried through the pass (a string per row): it comes back from the file's index
    (``paths``)."""
    source = pl.col(FILE).replace_strict(paths, return_dtype=pl.String).alias(SOURCE)
    return rejected(build_targets(kept.sort(FILE, ROW).lazy().with_columns(source), plan), plan)
