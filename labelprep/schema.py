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

Public (stable) API
    ``targets_schema(classes)``, ``rejects_schema()``, ``class_stats_schema(classes)``:
    ``pandera.polars.DataFrameSchema`` objects to validate a run's outputs (or your own
    frames) with ``.validate(frame, lazy=True)``; ``classes`` are the class names in
    order (``manifest.json`` lists them). ``load_schema(path, classes)`` rebuilds the
    same schema from a contract file, and ``schema_json(name)`` writes one.
    :func:`input_schema` takes an internal target plan and is not public.

``schemas/*.json`` are generated from these by :func:`schema_json`
(:mod:`labelprep.schema_files` describes the form); a test fails when they drift, and
one loads each back and compares it with these.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from labelprep.evidence import (
    EVIDENCE_KINDS,
    REASON_DESCRIPTIONS,
    REASONS,
    STEP_REASONS,
    TargetPlan,
)
from labelprep.row_checks import reason_checks

__all__ = [
    "class_stats_schema",
    "load_schema",
    "rejects_schema",
    "schema_json",
    "targets_schema",
]

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

_PRELOAD: list[threading.Thread] = []


def preload() -> None:
    """Start importing Pandera on a background thread (once): a run validates its outputs
    against the contracts at the end, and its passes, which run in Polars' own threads,
    leave the interpreter free for the import meanwhile."""
    if not _PRELOAD and "pandera.polars" not in sys.modules:
        thread = threading.Thread(target=_import_pandera, name="labelprep-pandera", daemon=True)
        _PRELOAD.append(thread)
        thread.start()


def _import_pandera() -> None:
    import pandera.polars  # noqa: F401


SUM_TOLERANCE = 1e-5  # float32 targets: rows sum to 1 within this
CONTRACTS = ("input", "targets", "rejects", "class_stats")


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


def _f64(name: str, k: int) -> pl.Expr:
    return pl.col(name).cast(pl.Array(pl.Float64, k))


TARGET_CHECKS: dict[str, tuple[Callable[[int], pl.Expr], str]] = {
    "soft_target_non_negative": (
        lambda k: _f64("soft_target", k).arr.min() >= 0,
        "every soft_target value is >= 0",
    ),
    "soft_target_sums_to_one": (
        lambda k: (_f64("soft_target", k).arr.sum() - 1).abs() <= SUM_TOLERANCE,
        f"soft_target rows sum to 1 (within {SUM_TOLERANCE})",
    ),
    "mask_allows_a_class": (lambda k: pl.col("mask").arr.any(), "every mask allows a class"),
    "mass_only_where_mask": (
        lambda k: (_f64("soft_target", k) * (1 - _f64("mask", k))).arr.max() == 0,
        "soft_target is 0 where mask is 0",
    ),
}
"""The frame checks of ``targets.parquet`` by name: the row condition for K classes
(Pandera's built-in checks do not look inside array columns), and its description."""


def target_check(name: str, k: int) -> pa.Check:
    """One of :data:`TARGET_CHECKS` for K classes."""
    build, error = TARGET_CHECKS[name]
    return _array_check(name, lambda: build(k), error)


def _target_checks(k: int) -> list[pa.Check]:
    return [target_check(name, k) for name in TARGET_CHECKS]


def finite_check() -> pa.Check:
    """Column check: every value is finite (no inf, no NaN)."""
    return pa.Check(
        lambda d: d.lazyframe.select(pl.col(d.key).is_finite()), name="finite", error="finite"
    )


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
    finite = finite_check()
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


def schema_json(name: str | None = None) -> str:
    """The data contracts (or one of them) as JSON, as kept in ``schemas/``
    (:mod:`labelprep.schema_files` describes the form).

    Examples
    --------
    >>> import json, labelprep
    >>> sorted(json.loads(labelprep.schema_json("rejects"))["columns"])[:3]
    ['column', 'id', 'message']
    """
    from labelprep.schema_files import contracts_json

    return contracts_json(name)


def load_schema(source: str | Path, classes: Sequence[str] | None = None) -> pa.DataFrameSchema:
    """An output contract file (``schemas/targets.json``, ``rejects.json`` or
    ``class_stats.json``, or what ``labelprep schema NAME`` prints) as a Pandera polars
    schema for these ``classes`` (in order; not needed for ``rejects``).

    Examples
    --------
    >>> import pathlib, tempfile, labelprep
    >>> from labelprep.schema import load_schema
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "targets.json"
    >>> _ = path.write_text(labelprep.schema_json("targets"))  # as kept in schemas/
    >>> schema = load_schema(path, classes=["cat", "dog"])
    >>> schema.columns["soft_target"].dtype
    DataType(Array(Float32, shape=(2,)))

    ``schema.validate(pl.read_parquet("out/targets.parquet"))`` then checks a run's
    targets (its classes are in ``manifest.json``).
    """
    from labelprep.schema_files import load_contract

    return load_contract(Path(source), classes)
