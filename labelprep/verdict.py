"""The CI gate's result model: each gate's verdict and the reports of ``validate``.

:class:`ValidationReport` (``validate``) and :class:`labelprep.drift.CompareReport`
(``compare``) are each a :class:`GatedReport`; :mod:`labelprep.gate` and
:mod:`labelprep.ci_formats` render them. Nothing here prints.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from labelprep.errors import ConfigError

__all__ = [
    "GateResult",
    "GatedReport",
    "RejectSample",
    "ValidationReport",
    "evaluate_threshold",
]


@dataclass(frozen=True)
class GateResult:
    """One gate's verdict: its name, the measured value, the threshold and a sentence."""

    name: str
    passed: bool
    value: float | None
    threshold: float | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; non-finite numbers become ``None``."""
        finite = {"value": _json_number(self.value), "threshold": _json_number(self.threshold)}
        return {**asdict(self), **finite}


@dataclass(frozen=True)
class RejectSample:
    """One rejected row: where it is (``row`` is 1-based; in CSV the header is line 1)."""

    source: str
    row: int
    id: str | None
    reason: str
    column: str | None
    value: str | None
    message: str


@dataclass(frozen=True)
class ValidationReport:
    """Everything ``labelprep validate`` found: row counts, rejects, gates."""

    inputs: tuple[str, ...]
    rows_in: int
    rows_accepted: int
    rows_rejected: int
    rejects_by_reason: Mapping[str, int]
    samples: tuple[RejectSample, ...]
    gates: tuple[GateResult, ...]
    classes: tuple[str, ...]
    notices: tuple[str, ...] = ()
    config: str | None = None
    """The configuration file the options were read from, if any."""

    @property
    def passed(self) -> bool:
        """True when every gate passed (rejected rows alone do not fail the report)."""
        return all(g.passed for g in self.gates)

    def summary(self) -> str:
        """One line: verdict and row counts."""
        passed = f"{sum(g.passed for g in self.gates)} of {len(self.gates)} gates passed"
        return f"{_headline('validate', self.passed)}: {_rows_line(self)}; {passed}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict in a stable key order; reasons sorted by code."""
        return {
            "passed": self.passed,
            "inputs": list(self.inputs),
            "classes": list(self.classes),
            "rows_in": self.rows_in,
            "rows_accepted": self.rows_accepted,
            "rows_rejected": self.rows_rejected,
            "rejects_by_reason": dict(sorted(self.rejects_by_reason.items())),
            "gates": [g.to_dict() for g in self.gates],
            "samples": [asdict(s) for s in self.samples],
            "config": self.config,
        }


class GatedReport(Protocol):
    """What the shared renderers need of a report: ``ValidationReport``, ``CompareReport``."""

    @property
    def gates(self) -> tuple[GateResult, ...]: ...

    @property
    def passed(self) -> bool: ...

    def summary(self) -> str: ...

    def to_dict(self) -> dict[str, Any]: ...


def evaluate_threshold(
    name: str,
    value: float,
    threshold: float | None,
    *,
    higher_is_worse: bool = True,
    describe: str | None = None,
    detail: str | None = None,
) -> GateResult:
    """Check a measured value against a maximum (or, with ``higher_is_worse=False``, a minimum).

    The gate fails only when the value is strictly above the maximum (strictly below the
    minimum): a value equal to its threshold passes. A NaN value fails. With no threshold the
    gate passes and just records the value.

    Parameters
    ----------
    name, value, threshold
        The gate (e.g. ``"max_reject_rate"``), the measured value, the limit (``None``: none).
    higher_is_worse
        True when the threshold is a maximum, False when it is a minimum.
    describe, detail
        The message's name for the value (default: ``name`` without ``max_``/``min_``) and
        optional context appended in parentheses.

    Examples
    --------
    >>> evaluate_threshold("max_reject_rate", 0.25, 0, detail="3 of 12 rows rejected").message
    'reject rate 0.25 > 0 (3 of 12 rows rejected)'
    >>> evaluate_threshold("min_class_count", 5, 5, higher_is_worse=False).passed
    True
    """
    if threshold is not None and math.isnan(threshold):
        raise ConfigError(f"the threshold of gate {name!r} is NaN; give a number.")
    what = describe or re.sub(r"^(max|min)_", "", name).replace("_", " ")
    suffix = f" ({detail})" if detail else ""
    if threshold is None:
        return GateResult(name, True, value, None, f"{what} {_num(value)}, no threshold{suffix}")
    if math.isnan(value):
        text = f"{what} is not a number, so it cannot be checked against {_num(threshold)}"
        return GateResult(name, False, value, threshold, text + suffix)
    passed = value <= threshold if higher_is_worse else value >= threshold
    op = {(True, True): "<=", (True, False): ">", (False, True): ">=", (False, False): "<"}
    text = f"{what} {_num(value)} {op[higher_is_worse, passed]} {_num(threshold)}{suffix}"
    return GateResult(name, passed, value, threshold, text)


def _headline(command: str, passed: bool) -> str:
    return f"labelprep {command}: {'PASS' if passed else 'FAIL'}"


def _rows_line(report: ValidationReport) -> str:
    return (
        f"{_plural(report.rows_in, 'row')} from {_plural(len(report.inputs), 'input')}: "
        f"{report.rows_accepted} accepted, {report.rows_rejected} rejected"
    )


def _gate_lines(gates: Iterable[GateResult]) -> list[str]:
    lines = [
        f"  {'PASS' if g.passed else 'FAIL'} {g.name} = {_num(g.value)} "
        f"(threshold {_num(g.threshold)}): {g.message}"
        for g in gates
    ]
    return ["gates:", *lines] if lines else ["gates: none set"]


def _group_rejects(report: ValidationReport) -> list[tuple[str, int, list[RejectSample]]]:
    """(reason, total count, samples) per reason, most frequent first, then by code."""
    by_reason: dict[str, list[RejectSample]] = {}
    for s in report.samples:
        by_reason.setdefault(s.reason, []).append(s)
    reasons = set(report.rejects_by_reason) | set(by_reason)
    counts = {
        r: max(report.rejects_by_reason.get(r, 0), len(by_reason.get(r, []))) for r in reasons
    }
    order = sorted(reasons, key=lambda r: (-counts[r], r))
    return [(r, counts[r], by_reason.get(r, [])) for r in order]


def _sample_line(s: RejectSample) -> str:
    parts = [f"{s.source}:{s.row}"]
    parts += [f"id={s.id}"] if s.id is not None else []
    parts += [f"column={s.column}"] if s.column is not None else []
    parts += [f"value={s.value!r}"] if s.value is not None else []
    return f"{' '.join(parts)}: {s.message}"


def _json_number(value: float | None) -> float | None:
    return value if value is None or math.isfinite(value) else None


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
