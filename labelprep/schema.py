"""The data contracts as Pandera schemas: the parsed input rows and every output.

Row checks
    :func:`input_schema` holds one Pandera check per reject reason, built from
    :func:`labelprep.row_checks.reason_checks`, the same conditions the pipeline
    compiles into a single streaming expression (Pandera's own lazy validation
    would collect the whole input in memory, so the run does not call it per
    row; the tests prove the two agree on every reason).
Outputs
    :func:`targets_schema`, :func:`rejects_schema` and :func:`class_stats_schema`
    check dtypes and values. Pandera's built-in checks do not look inside list
    or array columns, so the per-element checks of ``soft_target`` and ``mask``
    are custom frame checks using Polars' ``arr`` namespace.

``schemas/*.json`` are generated from these by :func:`schema_json`; a test fails
when they drift.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import polars as pl

from labelprep.config import Options
from labelprep.evidence import (
    EVIDENCE_KINDS,
    REASON_DESCRIPTIONS,
    REASONS,
    STEP_REASONS,
    TargetPlan,
)
from labelprep.row_checks import reason_checks

if TYPE_CHECKING:
    import pandera.polars as pa
else:

    class _Pandera:
        """``pandera.polars``, imported when a contract is first built: importing it takes
        about a second (it loads pandas), which ``--help`` and the commands that build no
        contract need not pay."""

        def __getattr__(self, name: str) -> Any:
            import pandera.polars

            return getattr(pandera.polars, name)

    pa = _Pandera()

SUM_TOLERANCE = 1e-5  # float32 targets: rows sum to 1 within this
CONTRACTS = ("input", "targets", "rejects", "class_stats")
_K = 3  # class count used to render the contracts; K is symbolic in the JSON


def _row_check(name: str, condition: pl.Expr, error: str) -> pa.Check:
    def check(data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select((~condition).fill_null(True).alias(name))

    return pa.Check(check, name=name, error=f"{name}: {error}")


def input_schema(plan: TargetPlan) -> pa.DataFrameSchema:
    """Parsed input rows (after :func:`labelprep.evidence.parse_evidence`)."""
    columns: dict[str, pa.Column] = {
        "id": pa.Column(nullable=True, coerce=False),
        **{f"__p{i}": pa.Column(pl.Float64, nullable=True) for i in plan.ks},
        **{f"__e{i}": pa.Column(pl.Boolean) for i in plan.ks},
        **{f"__c{i}": pa.Column(pl.Boolean) for i in plan.ks},
    }
    checks = [
        _row_check(code, cond, REASON_DESCRIPTIONS[code]) for code, cond in reason_checks(plan)
    ]
    return pa.DataFrameSchema(columns, checks=checks, name="input", strict=False)


def _array_check(name: str, build: Callable[[], pl.Expr], error: str) -> pa.Check:
    def check(data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(build().alias(name))

    return pa.Check(check, name=name, error=f"{name}: {error}")


def _target_checks(k: int) -> list[pa.Check]:
    as_f64 = pl.Array(pl.Float64, k)
    st, m = pl.col("soft_target").cast(as_f64), pl.col("mask").cast(as_f64)
    return [
        _array_check(
            "soft_target_non_negative", lambda: st.arr.min() >= 0, "every soft_target value is >= 0"
        ),
        _array_check(
            "soft_target_sums_to_one",
            lambda: (st.arr.sum() - 1).abs() <= SUM_TOLERANCE,
            f"soft_target rows sum to 1 (within {SUM_TOLERANCE})",
        ),
        _array_check("mask_allows_a_class", pl.col("mask").arr.any, "every mask allows a class"),
        _array_check(
            "mass_only_where_mask",
            lambda: (st * (1 - m)).arr.max() == 0,
            "soft_target is 0 where mask is 0",
        ),
    ]


def targets_schema(classes: Sequence[str]) -> pa.DataFrameSchema:
    """``targets.parquet``."""
    k = len(classes)
    return pa.DataFrameSchema(
        {
            "id": pa.Column(nullable=False),
            "soft_target": pa.Column(pl.Array(pl.Float32, k)),
            "mask": pa.Column(pl.Array(pl.Boolean, k)),
            "evidence": pa.Column(pl.String, pa.Check.str_matches(_evidence_pattern())),
            "hard_label": pa.Column(pl.String, pa.Check.isin(list(classes))),
            "hard_index": pa.Column(pl.Int64, pa.Check.in_range(0, k - 1)),
            "sample_weight": pa.Column(pl.Float32, pa.Check.ge(0), required=False),
            "split": pa.Column(pl.String, nullable=True, required=False),
            "votes": pa.Column(pl.Int64, pa.Check.ge(0), nullable=True, required=False),
            "tied": pa.Column(pl.Boolean, nullable=True, required=False),
        },
        checks=_target_checks(k),
        name="targets",
        strict=False,
    )


def _evidence_pattern() -> str:
    kinds = "|".join(EVIDENCE_KINDS)
    return rf"^({kinds}|votes)(\+({kinds}))*$"


def rejects_schema() -> pa.DataFrameSchema:
    """``rejects.parquet``."""
    return pa.DataFrameSchema(
        {
            "source": pa.Column(pl.String),
            "row": pa.Column(pl.Int64, pa.Check.ge(1)),
            "id": pa.Column(pl.String, nullable=True),
            "reason": pa.Column(pl.String, pa.Check.isin([*REASONS, *STEP_REASONS])),
            "column": pa.Column(pl.String, nullable=True),
            "value": pa.Column(pl.String, nullable=True),
            "message": pa.Column(pl.String),
        },
        name="rejects",
        strict=True,
    )


WEIGHT_COLUMNS = ("balanced", "inverse_sqrt", "effective_number", "median_frequency")


def class_stats_schema(classes: Sequence[str]) -> pa.DataFrameSchema:
    """``class_stats.parquet``."""
    count = [pa.Check.ge(0)]
    finite = pa.Check(
        lambda d: d.lazyframe.select(pl.col(d.key).is_finite()), name="finite", error="finite"
    )
    columns: dict[str, pa.Column] = {
        "split": pa.Column(pl.String, nullable=True),
        "class": pa.Column(pl.String, pa.Check.isin(list(classes))),
        "index": pa.Column(pl.UInt32, pa.Check.in_range(0, len(classes) - 1)),
        "soft_mass": pa.Column(pl.Float64, count),
        **{
            c: pa.Column(pl.Int64, count)
            for c in (
                "support",
                "hard_count",
                "labelled_count",
                "candidate_count",
                "excluded_count",
            )
        },
        "prior": pa.Column(pl.Float64, pa.Check.in_range(0, 1)),
        **{c: pa.Column(pl.Float64, [pa.Check.ge(0), finite]) for c in WEIGHT_COLUMNS},
        "logit_adjustment": pa.Column(pl.Float64, [pa.Check.le(0), finite]),
    }
    return pa.DataFrameSchema(columns, name="class_stats", strict=True)


INPUT_COLUMNS: dict[str, str] = {
    "id": "item id (required); unique across the inputs",
    "<class name>": "one numeric column per class: its probability (wide layout)",
    "probs": "a list of K probabilities (Parquet/JSON list, or 'a|b|c' text in CSV)",
    "label": "the known class: a class name, or a 0-based index",
    "excluded": "classes the item is not (list, or 'a|b' text in CSV)",
    "candidates": "classes the item may be (list, or 'a|b' text in CSV)",
    "split": "optional split name (train/val/test...); per-split statistics",
}


def _example_classes() -> tuple[str, ...]:
    return tuple(f"<class {i}>" for i in range(_K))


def _describe_check(check: pa.Check) -> dict[str, Any]:
    text = str(check.error or check.name).removeprefix(f"{check.name}: ")
    for i, name in enumerate(_example_classes()):
        text = text.replace(repr(name), f"'<class {i}>'")
    return {"name": check.name, "description": text}


def _describe_dtype(dtype: Any) -> str:
    return str(dtype).replace(f"shape=({_K},)", "shape=(K,)")


def _describe(schema: pa.DataFrameSchema) -> dict[str, Any]:
    columns = {
        name: {
            "dtype": _describe_dtype(column.dtype),
            "nullable": column.nullable,
            "required": column.required,
            "checks": [_describe_check(c) for c in column.checks],
        }
        for name, column in schema.columns.items()
    }
    return {
        "name": schema.name,
        "strict": schema.strict,
        "columns": columns,
        "checks": [_describe_check(c) for c in schema.checks],
    }


def _input_contract() -> dict[str, Any]:
    classes = _example_classes()
    plan = TargetPlan(classes, {c: i for i, c in enumerate(classes)}, Options(), (False,) * _K)
    checks = [_describe_check(c) for c in input_schema(plan).checks]
    return {
        "name": "input",
        "columns": INPUT_COLUMNS,
        "checks": checks,
        "note": "a row failing a check is written to rejects.parquet with the check's "
        "name as its reason; the first failing check (in this order) wins",
    }


def contract(name: str) -> dict[str, Any]:
    """One data contract as a plain dict (K classes shown symbolically)."""
    if name == "input":
        return _input_contract()
    if name == "targets":
        return _describe(targets_schema(_example_classes()))
    if name == "class_stats":
        return _describe(class_stats_schema(_example_classes()))
    return _describe(rejects_schema())


def schema_json(name: str | None = None) -> str:
    """The data contracts (or one of them) as JSON, as kept in ``schemas/``.

    Examples
    --------
    >>> import json, labelprep
    >>> sorted(json.loads(labelprep.schema_json("rejects"))["columns"])[:3]
    ['column', 'id', 'message']
    """
    data = contract(name) if name else {n: contract(n) for n in CONTRACTS}
    return json.dumps(data, indent=2)
