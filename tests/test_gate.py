"""The CI gate's result model and its renderers: text, JSON, GitHub, JUnit, Markdown."""

from __future__ import annotations

import json
import math
import re
import xml.etree.ElementTree as ET
from datetime import datetime, timezone

import pytest

from labelprep.errors import ConfigError
from labelprep.gate import (
    FORMATS,
    GateResult,
    RejectSample,
    ValidationReport,
    evaluate_threshold,
    format_error,
    format_github,
    format_json,
    format_junit,
    format_summary_error,
    format_summary_markdown,
    format_text,
)

# One failing gate, one passing, one not numeric.
REJECT_RATE = evaluate_threshold("max_reject_rate", 0.25, 0, detail="3 of 12 rows rejected")
CLASS_COUNT = evaluate_threshold("min_class_count", 4, 2, higher_is_worse=False)
REQUIRED = GateResult("require_classes", True, None, None, "every class has an example")

SAMPLES = (
    RejectSample("data/a.csv", 3, "7", "bad_sum", "c1", "0.5", "probabilities sum to 0.9"),
    RejectSample("data/b,c.csv", 5, "9", "bad_sum", None, None, "sum is 1.2\nnot 1, 100%"),
    RejectSample("data/a.csv", 8, None, "unknown_class", "label", "dgo", "did you mean 'dog'?"),
)


def make_report(
    gates: tuple[GateResult, ...] = (REJECT_RATE, CLASS_COUNT, REQUIRED),
    samples: tuple[RejectSample, ...] = SAMPLES,
    rejects_by_reason: dict[str, int] | None = None,
) -> ValidationReport:
    if rejects_by_reason is None:
        rejects_by_reason = {"unknown_class": 1, "bad_sum": 2}
    return ValidationReport(
        inputs=("data/a.csv", "data/b,c.csv"),
        rows_in=12,
        rows_accepted=9,
        rows_rejected=3,
        rejects_by_reason=rejects_by_reason,
        samples=samples,
        gates=gates,
        classes=("c1", "c2", "c3"),
    )


# -- thresholds -------------------------------------------------------------------------------


def test_value_equal_to_max_threshold_passes() -> None:
    gate = evaluate_threshold("max_reject_rate", 0.1, 0.1)
    assert gate == GateResult("max_reject_rate", True, 0.1, 0.1, "reject rate 0.1 <= 0.1")


def test_value_strictly_above_max_threshold_fails() -> None:
    gate = evaluate_threshold("max_reject_rate", 0.25, 0, detail="3 of 12 rows rejected")
    assert not gate.passed
    assert gate.message == "reject rate 0.25 > 0 (3 of 12 rows rejected)"


def test_min_threshold_passes_when_equal_and_fails_strictly_below() -> None:
    equal = evaluate_threshold("min_class_count", 5, 5, higher_is_worse=False)
    below = evaluate_threshold("min_class_count", 4.5, 5, higher_is_worse=False)
    assert (equal.passed, equal.message) == (True, "class count 5 >= 5")
    assert (below.passed, below.message) == (False, "class count 4.5 < 5")


def test_describe_names_the_value_in_the_message() -> None:
    gate = evaluate_threshold("max_linf", 0.3, 0.2, describe="L-infinity distance")
    assert gate.message == "L-infinity distance 0.3 > 0.2"


def test_no_threshold_passes_and_records_the_value() -> None:
    gate = evaluate_threshold("max_imbalance_ratio", math.inf, None)
    assert gate == GateResult(
        "max_imbalance_ratio", True, math.inf, None, "imbalance ratio inf, no threshold"
    )


def test_infinite_value_fails_a_finite_max() -> None:
    assert not evaluate_threshold("max_imbalance_ratio", math.inf, 10).passed


def test_nan_value_fails() -> None:
    gate = evaluate_threshold("max_jsd", math.nan, 0.1)
    assert not gate.passed
    assert gate.message == "jsd is not a number, so it cannot be checked against 0.1"


def test_nan_threshold_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"threshold of gate 'max_jsd' is NaN"):
        evaluate_threshold("max_jsd", 0.1, math.nan)


def test_report_passes_only_when_every_gate_passes() -> None:
    assert not make_report().passed
    assert make_report(gates=(CLASS_COUNT, REQUIRED)).passed
    assert make_report(gates=()).passed


# -- text -------------------------------------------------------------------------------------


def test_text_has_headline_gates_and_rejects_grouped_by_reason_with_counts() -> None:
    assert format_text(make_report()) == "\n".join(
        [
            "labelprep validate: FAIL",
            "12 rows from 2 inputs: 9 accepted, 3 rejected",
            "gates:",
            "  FAIL max_reject_rate = 0.25 (threshold 0): "
            "reject rate 0.25 > 0 (3 of 12 rows rejected)",
            "  PASS min_class_count = 4 (threshold 2): class count 4 >= 2",
            "  PASS require_classes = - (threshold -): every class has an example",
            "rejects by reason:",
            "  bad_sum: 2 rows",
            "    data/a.csv:3 id=7 column=c1 value='0.5': probabilities sum to 0.9",
            "    data/b,c.csv:5 id=9: sum is 1.2\\nnot 1, 100%",
            "  unknown_class: 1 row",
            "    data/a.csv:8 column=label value='dgo': did you mean 'dog'?",
        ]
    )


def test_text_bounds_examples_per_reason_and_counts_the_rest() -> None:
    report = make_report(rejects_by_reason={"bad_sum": 40, "unknown_class": 1})
    text = format_text(report, max_examples=1)
    assert "  bad_sum: 40 rows\n    data/a.csv:3 id=7" in text
    assert "    ... 39 more not shown" in text
    assert "data/b,c.csv:5" not in text


def test_text_for_a_clean_passing_run() -> None:
    report = ValidationReport(("a.csv",), 1, 1, 0, {}, (), (CLASS_COUNT,), ("c1",))
    assert format_text(report) == "\n".join(
        [
            "labelprep validate: PASS",
            "1 row from 1 input: 1 accepted, 0 rejected",
            "gates:",
            "  PASS min_class_count = 4 (threshold 2): class count 4 >= 2",
        ]
    )


# -- JSON -------------------------------------------------------------------------------------


def test_json_round_trips_with_every_gate_and_sample() -> None:
    loaded = json.loads(format_json(make_report()))
    assert list(loaded) == [
        "passed",
        "inputs",
        "classes",
        "rows_in",
        "rows_accepted",
        "rows_rejected",
        "rejects_by_reason",
        "gates",
        "samples",
        "config",
    ]
    assert loaded["passed"] is False
    assert (loaded["rows_in"], loaded["rows_accepted"], loaded["rows_rejected"]) == (12, 9, 3)
    assert list(loaded["rejects_by_reason"].items()) == [("bad_sum", 2), ("unknown_class", 1)]
    assert loaded["gates"] == [
        {
            "name": "max_reject_rate",
            "passed": False,
            "value": 0.25,
            "threshold": 0,
            "message": "reject rate 0.25 > 0 (3 of 12 rows rejected)",
        },
        {
            "name": "min_class_count",
            "passed": True,
            "value": 4,
            "threshold": 2,
            "message": "class count 4 >= 2",
        },
        {
            "name": "require_classes",
            "passed": True,
            "value": None,
            "threshold": None,
            "message": "every class has an example",
        },
    ]
    assert loaded["samples"][1] == {
        "source": "data/b,c.csv",
        "row": 5,
        "id": "9",
        "reason": "bad_sum",
        "column": None,
        "value": None,
        "message": "sum is 1.2\nnot 1, 100%",
    }


def test_json_writes_non_finite_values_as_null() -> None:
    gate = evaluate_threshold("max_imbalance_ratio", math.inf, 10)
    loaded = json.loads(format_json(make_report(gates=(gate,))))
    assert loaded["gates"][0]["value"] is None
    assert loaded["gates"][0]["message"] == "imbalance ratio inf > 10"


# -- GitHub -----------------------------------------------------------------------------------


def test_github_has_one_annotation_per_sample_and_failed_gate() -> None:
    lines = format_github(make_report()).splitlines()
    assert len(lines) == 4
    assert all(re.match(r"^::error file=.+,line=\d+,title=labelprep \w+::", x) for x in lines[:3])
    assert (
        lines[0]
        == "::error file=data/a.csv,line=3,title=labelprep bad_sum::probabilities sum to 0.9"
    )
    assert lines[3] == (
        "::error title=labelprep gate max_reject_rate::reject rate 0.25 > 0 (3 of 12 rows rejected)"
    )


def test_github_escapes_properties_and_messages() -> None:
    line = format_github(make_report()).splitlines()[1]
    # The comma in the file name is escaped as a property; the message escapes %, CR and LF
    # only, so its comma stays.
    assert (
        line
        == "::error file=data/b%2Cc.csv,line=5,title=labelprep bad_sum::sum is 1.2%0Anot 1, 100%25"
    )


def test_github_escapes_colons_in_properties() -> None:
    sample = RejectSample("C:\\data\\a.csv", 2, None, "bad_sum", None, None, "x: y\r\n")
    line = format_github(make_report(gates=(), samples=(sample,)))
    assert line.splitlines()[0] == (
        "::error file=C%3A\\data\\a.csv,line=2,title=labelprep bad_sum::x: y%0D%0A"
    )


def test_github_ends_with_a_notice_when_everything_passed() -> None:
    report = make_report(gates=(CLASS_COUNT,), samples=(), rejects_by_reason={})
    assert format_github(report) == (
        "::notice::labelprep validate: PASS: 12 rows from 2 inputs: 9 accepted, 3 rejected; "
        "1 of 1 gates passed"
    )


# -- JUnit ------------------------------------------------------------------------------------


def test_junit_parses_and_counts_failures() -> None:
    root = ET.fromstring(format_junit(make_report()))
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures")) == ("4", "2")
    (suite,) = root.findall("testsuite")
    assert (suite.get("name"), suite.get("tests"), suite.get("failures")) == ("labelprep", "4", "2")
    cases = {case.get("name"): case for case in suite.findall("testcase")}
    assert list(cases) == ["max_reject_rate", "min_class_count", "require_classes", "rows"]
    assert {cases[n].get("classname") for n in list(cases)[:3]} == {"labelprep.gate"}
    failure = cases["max_reject_rate"].find("failure")
    assert failure is not None
    assert failure.get("message") == "reject rate 0.25 > 0 (3 of 12 rows rejected)"
    assert cases["min_class_count"].find("failure") is None
    rows = cases["rows"].find("failure")
    assert rows is not None
    assert rows.get("message") == "3 of 12 rows rejected (bad_sum: 2, unknown_class: 1)"
    assert rows.text is not None
    assert (
        rows.text.splitlines()[0]
        == "data/a.csv:3 id=7 column=c1 value='0.5': probabilities sum to 0.9"
    )


def test_junit_rows_case_passes_without_rejects() -> None:
    clean = ValidationReport(("a.csv",), 12, 12, 0, {}, (), (), ("c1", "c2"))
    root = ET.fromstring(format_junit(clean))
    assert (root.get("tests"), root.get("failures")) == ("1", "0")


def test_junit_escapes_markup_and_renders_characters_xml_cannot_hold() -> None:
    sample = RejectSample("a.csv", 2, "<&>", "bad_sum", None, "\x00", 'bad "<value>" \x1b here')
    root = ET.fromstring(format_junit(make_report(gates=(REJECT_RATE,), samples=(sample,))))
    failure = root.find("testsuite/testcase[@name='rows']/failure")
    assert failure is not None
    assert failure.text == "a.csv:2 id=<&> value='\\x00': bad \"<value>\" \\x1b here"


def test_junit_rows_case_is_informational_when_the_reject_gate_passes() -> None:
    tolerant = evaluate_threshold("max_reject_rate", 0.25, 0.5, detail="3 of 12 rows rejected")
    root = ET.fromstring(format_junit(make_report(gates=(tolerant,))))
    assert (root.get("tests"), root.get("failures")) == ("2", "0")
    rows = root.find("testsuite/testcase[@name='rows']")
    assert rows is not None
    assert rows.find("failure") is None
    out = rows.find("system-out")
    assert out is not None
    assert out.text is not None
    assert out.text.splitlines() == [
        "3 of 12 rows rejected (bad_sum: 2, unknown_class: 1)",
        "data/a.csv:3 id=7 column=c1 value='0.5': probabilities sum to 0.9",
        "data/b,c.csv:5 id=9: sum is 1.2\\nnot 1, 100%",
        "data/a.csv:8 column=label value='dgo': did you mean 'dog'?",
    ]


def test_junit_carries_what_strict_schemas_require() -> None:
    when = datetime(2026, 1, 2, 3, 4, 5, 678, tzinfo=timezone.utc)
    text = format_junit(make_report(), seconds=1.23456, timestamp=when, hostname="ci-7")
    root = ET.fromstring(text)
    assert root.attrib == {
        "name": "labelprep",
        "tests": "4",
        "failures": "2",
        "errors": "0",
        "time": "1.235",
    }
    (suite,) = root
    assert suite.attrib == {
        "name": "labelprep",
        "tests": "4",
        "failures": "2",
        "errors": "0",
        "skipped": "0",
        "time": "1.235",
        "timestamp": "2026-01-02T03:04:05",
        "hostname": "ci-7",
        "id": "0",
        "package": "labelprep",
    }
    assert [child.tag for child in suite] == [
        "properties",
        *["testcase"] * 4,
        "system-out",
        "system-err",
    ]
    assert all(case.get("time") == "0" for case in suite.iter("testcase"))
    default = ET.fromstring(format_junit(make_report()))[0]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", default.get("timestamp", ""))
    assert default.get("hostname")


# -- file-level errors in every format --------------------------------------------------------

FILE_ERROR = ConfigError("bad\n::error::x.csv: the id column 'id' is missing")


def test_error_as_json() -> None:
    text = format_error("json", "validate", FILE_ERROR, 2)
    assert text is not None
    assert json.loads(text) == {
        "passed": False,
        "exit_code": 2,
        "error": {"type": "ConfigError", "message": str(FILE_ERROR)},
    }


def test_error_as_junit_is_one_failing_case_naming_it() -> None:
    text = format_error("junit", "compare", FILE_ERROR, 2)
    assert text is not None
    root = ET.fromstring(text)
    assert (root.get("tests"), root.get("failures")) == ("1", "1")
    (case,) = root.iter("testcase")
    assert (case.get("classname"), case.get("name")) == ("labelprep.compare", "ConfigError")
    failure = case.find("failure")
    assert failure is not None
    assert failure.get("type") == "ConfigError"
    assert failure.get("message") == "bad\\n::error::x.csv: the id column 'id' is missing"
    assert all(not line.lstrip().startswith("::") for line in text.splitlines())


def test_error_as_github_and_as_text() -> None:
    assert format_error("github", "validate", FILE_ERROR, 2) == (
        "::error title=labelprep validate::bad%0A::error::x.csv: the id column 'id' is missing"
    )
    assert format_error("text", "validate", FILE_ERROR, 2) is None


def test_error_in_the_markdown_summary() -> None:
    error = ConfigError("<img src=x onerror=alert(1)>.csv: missing | column")
    assert format_summary_error("validate", error) == (
        "## labelprep validate: ERROR\n\n&lt;img src=x onerror=alert(1)&gt;.csv: missing \\| column"
    )


# -- Markdown ---------------------------------------------------------------------------------


def test_markdown_makes_html_and_links_inert() -> None:
    sample = RejectSample(
        "<script>alert(1)</script>.csv",
        2,
        "<img src=x onerror=alert(1)>",
        "unknown_class",
        "label",
        "[click](javascript:alert(1)) ![x](https://e.example/p.png)",
        "a & b\r\n| c `code`",
    )
    markdown = format_summary_markdown(make_report(samples=(sample,)))
    assert "<" not in markdown
    assert "&lt;script&gt;alert(1)&lt;/script&gt;.csv" in markdown
    assert "&lt;img src=x onerror=alert(1)&gt;" in markdown
    assert "\\[click\\](javascript:alert(1)) \\!\\[x\\](https://e.example/p.png)" in markdown
    assert "a &amp; b\\\\r\\\\n\\| c \\`code\\`" in markdown
    (row,) = [line for line in markdown.splitlines() if "script" in line]
    assert row.count(" | ") == 6  # seven cells, none split


# -- Markdown ---------------------------------------------------------------------------------


def test_markdown_summary_has_gates_rejects_and_samples_tables() -> None:
    markdown = format_summary_markdown(make_report(), max_examples=2)
    assert markdown.startswith("## labelprep validate: FAIL\n\n12 rows from 2 inputs:")
    assert (
        "| max_reject_rate | **FAIL** | 0.25 | 0 | reject rate 0.25 &gt; 0 (3 of 12 rows"
        in markdown
    )
    assert "| reason | rows |\n| --- | --- |\n| bad_sum | 2 |\n| unknown_class | 1 |" in markdown
    assert "| data/b,c.csv | 5 | 9 | bad_sum |  |  | sum is 1.2\\\\nnot 1, 100% |" in markdown
    assert "data/a.csv | 8" not in markdown  # bounded to 2 samples


def test_markdown_escapes_pipes_in_cells() -> None:
    sample = RejectSample("a.csv", 2, "1", "unknown_class", "label", "c|d", "unknown class")
    markdown = format_summary_markdown(make_report(samples=(sample,)))
    assert "| label | c\\|d | unknown class |" in markdown


def test_formats_cover_the_cli_choices() -> None:
    assert set(FORMATS) == {"text", "json", "github", "junit"}
    report = make_report()
    assert all(isinstance(render(report), str) for render in FORMATS.values())
