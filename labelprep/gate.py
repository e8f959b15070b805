"""The CI gate's result model and its output formats: text, JSON, GitHub, JUnit, Markdown.

JSON, GitHub and JUnit also render ``compare``'s :class:`labelprep.drift.CompareReport`
(any :class:`GatedReport`). Renderers return strings; the CLI prints them and exits.

In JSON a measured value that is not finite (say an imbalance ratio of ``inf`` when a class
has no examples) is written as ``null``; the gate's message still says ``inf``.
"""

from __future__ import annotations

import json
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from labelprep.errors import ConfigError

__all__ = [
    "FORMATS",
    "GateResult",
    "GatedReport",
    "RejectSample",
    "ValidationReport",
    "evaluate_threshold",
    "format_github",
    "format_json",
    "format_junit",
    "format_summary_markdown",
    "format_text",
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


def format_text(report: ValidationReport, *, max_examples: int = 5) -> str:
    """Human-readable verdict: headline, gates, rejects grouped by reason with examples.

    Examples
    --------
    >>> gate = evaluate_threshold("max_reject_rate", 0.5, 0.1)
    >>> report = ValidationReport(("a.csv",), 2, 1, 1, {"bad_sum": 1}, (), (gate,), ("x", "y"))
    >>> print(format_text(report))
    labelprep validate: FAIL
    2 rows from 1 input: 1 accepted, 1 rejected
    gates:
      FAIL max_reject_rate = 0.5 (threshold 0.1): reject rate 0.5 > 0.1
    rejects by reason:
      bad_sum: 1 row
    """
    lines = [_headline("validate", report.passed), _rows_line(report), *_gate_lines(report.gates)]
    groups = _group_rejects(report)
    lines += ["rejects by reason:"] if groups else []
    for reason, count, samples in groups:
        lines.append(f"  {reason}: {_plural(count, 'row')}")
        shown = samples[:max_examples]
        lines += [f"    {_sample_line(s)}" for s in shown]
        if shown and count > len(shown):
            lines.append(f"    ... {count - len(shown)} more not shown")
    return "\n".join(lines)


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


def format_json(report: GatedReport) -> str:
    """Either report as JSON (indent 2, stable key order): its ``to_dict()``.

    Examples
    --------
    >>> report = ValidationReport(("a.csv",), 2, 2, 0, {}, (), (), ("x", "y"))
    >>> json.loads(format_json(report))["passed"]
    True
    """
    return json.dumps(report.to_dict(), indent=2, allow_nan=False)


def _json_number(value: float | None) -> float | None:
    return value if value is None or math.isfinite(value) else None


def format_github(report: GatedReport) -> str:
    """GitHub Actions workflow commands: an ``::error`` per rejected sample row and failed gate.

    Each sample row becomes an annotation on its file and line; each failed gate a
    file-less ``::error``; a passing report ends with a ``::notice``. GitHub shows at most 10
    error annotations per step (50 per job); the log keeps every line.

    Examples
    --------
    >>> gate = evaluate_threshold("max_reject_rate", 0.5, 0.1)
    >>> report = ValidationReport(("a.csv",), 2, 1, 1, {"bad_sum": 1}, (), (gate,), ("x", "y"))
    >>> print(format_github(report))
    ::error title=labelprep gate max_reject_rate::reject rate 0.5 > 0.1
    """
    samples = report.samples if isinstance(report, ValidationReport) else ()
    lines = [
        _github_command(
            "error", s.message, file=s.source, line=str(s.row), title=f"labelprep {s.reason}"
        )
        for s in samples
    ]
    lines += [
        _github_command("error", g.message, title=f"labelprep gate {g.name}")
        for g in report.gates
        if not g.passed
    ]
    if report.passed:
        lines.append(_github_command("notice", report.summary()))
    return "\n".join(lines)


def _github_command(command: str, message: str, **properties: str) -> str:
    props = ",".join(f"{k}={_github_escape(v, is_property=True)}" for k, v in properties.items())
    return f"::{command}{' ' + props if props else ''}::{_github_escape(message)}"


def _github_escape(text: str, *, is_property: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if is_property else text


def format_junit(report: GatedReport) -> str:
    """JUnit XML: one test case per gate, plus (for validate) a ``rows`` case.

    The ``rows`` case fails whenever any row was rejected, listing the sample rows, even
    when the reject-rate gate tolerates them.

    Examples
    --------
    >>> gate = evaluate_threshold("max_reject_rate", 0.5, 0.1)
    >>> report = ValidationReport(("a.csv",), 2, 1, 1, {"bad_sum": 1}, (), (gate,), ("x", "y"))
    >>> ET.fromstring(format_junit(report)).get("failures")
    '2'
    """
    cases = [
        _junit_case("labelprep.gate", g.name, None if g.passed else g.message, "")
        for g in report.gates
    ]
    if isinstance(report, ValidationReport):
        cases.append(_junit_rows_case(report))
    failures = sum(case.find("failure") is not None for case in cases)
    counts = {"tests": str(len(cases)), "failures": str(failures)}
    suites = ET.Element("testsuites", {"name": "labelprep", **counts})
    suite = ET.SubElement(suites, "testsuite", {"name": "labelprep", **counts, "errors": "0"})
    suite.extend(cases)
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True)


def _junit_rows_case(report: ValidationReport) -> ET.Element:
    if not report.rows_rejected:
        return _junit_case("labelprep.rows", "rows", None, "")
    reasons = ", ".join(f"{r}: {n}" for r, n, _ in _group_rejects(report))
    message = f"{report.rows_rejected} of {report.rows_in} rows rejected ({reasons})"
    shown = "\n".join(_sample_line(s) for s in report.samples)
    return _junit_case("labelprep.rows", "rows", message, shown)


def _junit_case(classname: str, name: str, failure: str | None, details: str) -> ET.Element:
    case = ET.Element("testcase", classname=classname, name=_xml_safe(name))
    if failure is not None:
        element = ET.SubElement(case, "failure", message=_xml_safe(failure), type=name)
        element.text = _xml_safe(details or failure)
    return case


def _xml_safe(text: str) -> str:
    """Replace the characters XML 1.0 cannot carry at all (ElementTree escapes the rest)."""
    return re.sub("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]", "\ufffd", text)


def format_summary_markdown(report: ValidationReport, *, max_examples: int = 10) -> str:
    """Markdown for ``$GITHUB_STEP_SUMMARY`` or a PR comment: verdict, gates, rejects.

    Examples
    --------
    >>> report = ValidationReport(("a.csv",), 2, 2, 0, {}, (), (), ("x", "y"))
    >>> print(format_summary_markdown(report))
    ## labelprep validate: PASS
    <BLANKLINE>
    2 rows from 1 input: 2 accepted, 0 rejected
    """
    blocks = [f"## {_headline('validate', report.passed)}", _rows_line(report)]
    if report.gates:
        blocks.append(_gate_table(report.gates))
    groups = _group_rejects(report)
    if groups:
        counts = [(r, str(n)) for r, n, _ in groups]
        blocks.append("### Rejects by reason\n\n" + _md_table(("reason", "rows"), counts))
    if report.samples:
        head = ("file", "line", "id", "reason", "column", "value", "message")
        rows = [
            (s.source, str(s.row), s.id or "", s.reason, s.column or "", s.value or "", s.message)
            for s in report.samples[:max_examples]
        ]
        blocks.append("### First rejected rows\n\n" + _md_table(head, rows))
    return "\n\n".join(blocks)


def _gate_table(gates: Iterable[GateResult]) -> str:
    rows = [
        (g.name, "pass" if g.passed else "**FAIL**", _num(g.value), _num(g.threshold), g.message)
        for g in gates
    ]
    return "### Gates\n\n" + _md_table(("gate", "result", "value", "threshold", "detail"), rows)


def _md_table(head: tuple[str, ...], rows: Iterable[tuple[str, ...]]) -> str:
    lines = [head, tuple("---" for _ in head), *rows]
    return "\n".join("| " + " | ".join(_md_cell(c) for c in line) + " |" for line in lines)


def _md_cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


FORMATS: dict[str, Callable[[ValidationReport], str]] = {
    "text": format_text,
    "json": format_json,
    "github": format_github,
    "junit": format_junit,
}
"""Renderers of ``labelprep validate --format``."""
