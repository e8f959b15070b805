"""The CI gate's output formats: text, JSON, GitHub, JUnit, Markdown.

JSON, GitHub and JUnit also render ``compare``'s :class:`labelprep.drift.CompareReport`
(any :class:`GatedReport`). Renderers return strings; the CLI prints them and exits. The
result model lives in :mod:`labelprep.verdict`, JUnit and Markdown in
:mod:`labelprep.ci_formats`; both are re-exported here.

No data can start a CI workflow command in any format: text lines go through
:func:`labelprep.console.safe`, GitHub commands use GitHub's escaping, JSON escapes every
control and non-ASCII character, JUnit and Markdown escape as their readers need.
In JSON a measured value that is not finite (say an imbalance ratio of ``inf`` when a class
has no examples) is written as ``null``; the gate's message still says ``inf``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING

from labelprep.ci_formats import (
    format_error,
    format_junit,
    format_summary_error,
    format_summary_markdown,
)
from labelprep.console import github_command, json_safe, safe
from labelprep.verdict import (
    GatedReport,
    GateResult,
    RejectSample,
    ValidationReport,
    _gate_lines,
    _group_rejects,
    _headline,
    _plural,
    _rows_line,
    _sample_line,
    evaluate_threshold,
)

if TYPE_CHECKING:
    from labelprep.class_counts import ClassCounts

__all__ = [
    "FORMATS",
    "GateResult",
    "GatedReport",
    "RejectSample",
    "ValidationReport",
    "evaluate_threshold",
    "format_error",
    "format_github",
    "format_json",
    "format_junit",
    "format_summary_error",
    "format_summary_markdown",
    "format_text",
]


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
    return "\n".join(safe(line) for line in lines)


def format_json(report: GatedReport) -> str:
    """Either report as JSON (indent 2, stable key order): its ``to_dict()``.

    Examples
    --------
    >>> report = ValidationReport(("a.csv",), 2, 2, 0, {}, (), (), ("x", "y"))
    >>> json.loads(format_json(report))["passed"]
    True
    """
    return json_safe(json.dumps(report.to_dict(), indent=2, allow_nan=False))


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
        github_command(
            "error", s.message, file=s.source, line=str(s.row), title=f"labelprep {s.reason}"
        )
        for s in samples
    ]
    lines += [
        github_command("error", g.message, title=f"labelprep gate {g.name}")
        for g in report.gates
        if not g.passed
    ]
    if report.passed:
        lines.append(github_command("notice", report.summary()))
    return "\n".join(lines)


FORMATS: dict[str, Callable[[ValidationReport], str]] = {
    "text": format_text,
    "json": format_json,
    "github": format_github,
    "junit": format_junit,
}
"""Renderers of ``labelprep validate --format``."""


def min_class_gate(counts: ClassCounts, threshold: float, count_by: str) -> GateResult:
    """The smallest class count (by ``count_by``) must reach ``threshold``."""
    smallest = min(range(len(counts.counts)), key=lambda i: (counts.counts[i], i))
    return evaluate_threshold(
        "min_class_count",
        counts.counts[smallest],
        threshold,
        higher_is_worse=False,
        describe=f"smallest class count ({count_by})",
        detail=f"class {counts.classes[smallest]!r}",
    )


def require_classes_gate(counts: ClassCounts) -> GateResult:
    """Every class of the vocabulary must have at least one example."""
    missing = [c for c, n in zip(counts.classes, counts.counts, strict=True) if n <= 0]
    detail = "missing: " + ", ".join(missing) if missing else "all classes present"
    return evaluate_threshold(
        "require_classes",
        float(len(missing)),
        0.0,
        describe="classes with no examples",
        detail=detail,
    )
