"""Renderers for CI systems: JUnit XML, the Markdown job summary, and file-level errors.

JUnit follows the conventions strict schema validators check (Ant's ``JUnit.xsd`` and
Jenkins' ``junit-10.xsd``): ``testsuites`` and ``testsuite`` carry ``name``, ``tests``,
``failures``, ``errors`` and ``time``, the suite also ``skipped``, ``timestamp`` (ISO 8601,
UTC, no zone), ``hostname``, ``id`` and ``package``; every ``testcase`` has ``classname``,
``name`` and ``time``. The Markdown is meant for ``$GITHUB_STEP_SUMMARY`` or a PR comment,
which GitHub renders as HTML: data-derived text is HTML-escaped and cannot open a link, an
image or a new table cell. Every data-derived string goes through
:func:`labelprep.console.safe` first, so no printed line can start a workflow command.
"""

from __future__ import annotations

import html
import json
import re
import socket
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone

from labelprep.console import github_command, json_safe, safe
from labelprep.verdict import (
    GatedReport,
    GateResult,
    ValidationReport,
    _group_rejects,
    _headline,
    _num,
    _rows_line,
    _sample_line,
)

__all__ = [
    "format_error",
    "format_junit",
    "format_summary_error",
    "format_summary_markdown",
]


def format_junit(
    report: GatedReport,
    *,
    seconds: float = 0.0,
    timestamp: datetime | None = None,
    hostname: str | None = None,
) -> str:
    """JUnit XML: one test case per gate, plus (for validate) a ``rows`` case.

    The ``rows`` case lists the rejected sample rows. It fails only when the reject-rate
    gate fails; rejects that the gate tolerates are reported in its ``system-out``.

    Examples
    --------
    >>> from labelprep.verdict import evaluate_threshold
    >>> gate = evaluate_threshold("max_reject_rate", 0.5, 0.1)
    >>> report = ValidationReport(("a.csv",), 2, 1, 1, {"bad_sum": 1}, (), (gate,), ("x", "y"))
    >>> root = ET.fromstring(format_junit(report, seconds=1.5, hostname="ci"))
    >>> root.get("failures"), root.find("testsuite").get("time")
    ('2', '1.500')
    """
    cases = [
        _junit_case("labelprep.gate", g.name, None if g.passed else g.message) for g in report.gates
    ]
    if isinstance(report, ValidationReport):
        cases.append(_junit_rows_case(report))
    return _junit_document(cases, seconds=seconds, timestamp=timestamp, hostname=hostname)


def _junit_rows_case(report: ValidationReport) -> ET.Element:
    if not report.rows_rejected:
        return _junit_case("labelprep.rows", "rows", None)
    reasons = ", ".join(f"{r}: {n}" for r, n, _ in _group_rejects(report))
    message = f"{report.rows_rejected} of {report.rows_in} rows rejected ({reasons})"
    lines = [_sample_line(s) for s in report.samples]
    if _gate_failed(report.gates, "max_reject_rate"):
        return _junit_case("labelprep.rows", "rows", message, lines)
    case = _junit_case("labelprep.rows", "rows", None)
    ET.SubElement(case, "system-out").text = _text_block([message, *lines])
    return case


def _gate_failed(gates: Iterable[GateResult], name: str) -> bool:
    return any(g.name == name and not g.passed for g in gates)


def _junit_case(
    classname: str, name: str, failure: str | None, details: Sequence[str] = (), kind: str = ""
) -> ET.Element:
    case = ET.Element("testcase", classname=classname, name=_xml_safe(name), time="0")
    if failure is not None:
        attrs = {"message": _xml_safe(failure), "type": _xml_safe(kind or name)}
        ET.SubElement(case, "failure", attrs).text = _text_block(details or [failure])
    return case


def _junit_document(
    cases: list[ET.Element],
    *,
    seconds: float,
    timestamp: datetime | None,
    hostname: str | None,
) -> str:
    failures = sum(case.find("failure") is not None for case in cases)
    counts = {"tests": str(len(cases)), "failures": str(failures), "errors": "0"}
    elapsed = f"{max(seconds, 0.0):.3f}"
    when = (timestamp or datetime.now(timezone.utc)).astimezone(timezone.utc)
    suites = ET.Element("testsuites", {"name": "labelprep", **counts, "time": elapsed})
    suite = ET.SubElement(
        suites,
        "testsuite",
        {
            "name": "labelprep",
            **counts,
            "skipped": "0",
            "time": elapsed,
            "timestamp": when.strftime("%Y-%m-%dT%H:%M:%S"),
            "hostname": _xml_safe(hostname or socket.gethostname() or "localhost"),
            "id": "0",
            "package": "labelprep",
        },
    )
    ET.SubElement(suite, "properties")
    suite.extend(cases)
    ET.SubElement(suite, "system-out")
    ET.SubElement(suite, "system-err")
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True)


def _text_block(lines: Iterable[str]) -> str:
    """Element text: one safe line per item (a data value never starts a line)."""
    return "\n".join(_xml_safe(line) for line in lines)


def _xml_safe(text: str) -> str:
    """One safe line (:func:`safe` renders every character XML 1.0 cannot carry)."""
    return re.sub("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]", "\ufffd", safe(text))


def format_error(fmt: str, command: str, error: BaseException, exit_code: int) -> str | None:
    """A file-level error in a machine-readable format (``None`` for ``text``).

    JSON: ``{"passed": false, "exit_code": 2, "error": {"type", "message"}}``; JUnit: one
    failing test case named after the error; GitHub: one ``::error`` annotation.

    Examples
    --------
    >>> print(format_error("github", "validate", ValueError("a.csv: no such file"), 2))
    ::error title=labelprep validate::a.csv: no such file
    """
    kind, message = type(error).__name__, _message(error)
    if fmt == "json":
        body = {
            "passed": False,
            "exit_code": exit_code,
            "error": {"type": kind, "message": message},
        }
        return json_safe(json.dumps(body, indent=2))
    if fmt == "junit":
        case = _junit_case(f"labelprep.{command}", kind, message, kind=kind)
        return _junit_document([case], seconds=0.0, timestamp=None, hostname=None)
    if fmt == "github":
        return github_command("error", message, title=f"labelprep {command}")
    return None


def _message(error: BaseException) -> str:
    text = getattr(error, "message", None)  # click's UsageError keeps it apart
    return str(text) if isinstance(text, str) else str(error)


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


def format_summary_error(command: str, error: BaseException) -> str:
    """The Markdown summary of a run that stopped on a file-level error.

    Examples
    --------
    >>> print(format_summary_error("validate", ValueError("<b>.csv: missing")))
    ## labelprep validate: ERROR
    <BLANKLINE>
    &lt;b&gt;.csv: missing
    """
    return f"## labelprep {command}: ERROR\n\n{_md_text(_message(error))}"


def _gate_table(gates: Iterable[GateResult]) -> str:
    rows = [
        (g.name, "pass" if g.passed else "**FAIL**", _num(g.value), _num(g.threshold), g.message)
        for g in gates
    ]
    return "### Gates\n\n" + _md_table(("gate", "result", "value", "threshold", "detail"), rows)


def _md_table(head: tuple[str, ...], rows: Iterable[tuple[str, ...]]) -> str:
    lines = [
        " | ".join(_md_text(c) for c in head),
        " | ".join("---" for _ in head),
        *(" | ".join(_md_text(c) for c in row) for row in rows),
    ]
    return "\n".join(f"| {line} |" for line in lines)


_MARKDOWN_SPECIAL = re.compile(r"([\\`|\[\]!])")


def _md_text(text: str) -> str:
    """Data as inert Markdown: one line, HTML escaped, no link, image, code span or cell."""
    escaped = html.escape(safe(text), quote=True)
    return _MARKDOWN_SPECIAL.sub(r"\\\1", escaped)
