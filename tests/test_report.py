"""The imbalance report: golden markdown for the SPEC's 4-row example, offline and escaped HTML,
the hand-built SVG charts (real values: bar lengths, labels, axes, escaping), and graceful
handling of missing summary keys."""

from __future__ import annotations

import itertools
import math
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from labelprep.reporting.charts import counts_chart, render_charts, weights_chart
from labelprep.reporting.render import render_html, render_markdown
from labelprep.weights import add_weights, dataset_summary

GOLDEN = Path(__file__).parent / "golden" / "report_4row.md"
XSS = "<script>alert(1)</script>"


def four_row_stats(names: tuple[str, str, str] = ("c1", "c2", "c3")) -> pl.DataFrame:
    """Counts of the SPEC's 4 soft-label rows, plus a 'train' split holding rows 1 and 2."""
    uint = pl.UInt64
    counts = pl.DataFrame(
        {
            "split": pl.Series([None, None, None, "train", "train", "train"], dtype=pl.String),
            "class": list(names) * 2,
            "index": pl.Series([0, 1, 2] * 2, dtype=pl.UInt32),
            "soft_mass": [2.1, 1.15, 0.75, 1.1, 0.85, 0.05],
            "support": pl.Series([4, 3, 3, 2, 2, 1], dtype=uint),
            "hard_count": pl.Series([2, 1, 1, 1, 1, 0], dtype=uint),
            "labelled_count": pl.Series([0] * 6, dtype=uint),
            "candidate_count": pl.Series([4, 3, 3, 2, 2, 1], dtype=uint),
            "excluded_count": pl.Series([0] * 6, dtype=uint),
        }
    )
    return add_weights(counts)


def four_row_summary(stats: pl.DataFrame) -> dict[str, Any]:
    return {
        "version": "0.1.0",
        "inputs": [{"path": "soft_labels.csv", "rows": 5}],
        "classes": ["c1", "c2", "c3"],
        "count_by": "soft",
        "rows_in": 5,
        "rows_accepted": 4,
        "rows_rejected": 1,
        "rejects_by_reason": {"bad_sum": 1},
        "rows_by_evidence": {"probabilities": 4},
        "renormalized": 0,
        "smoothed": 0,
        "target_entropy_bits": {"mean": 0.9364, "p50": 0.8979, "p90": 1.4, "max": 1.571},
        "candidate_set_size": {"2": 2, "3": 2},
        "dataset": dataset_summary(stats),
        "options": {"beta": 0.999, "tau": 1.0, "tolerance": 0.001, "partial": "uniform"},
    }


@pytest.fixture
def stats() -> pl.DataFrame:
    return four_row_stats()


def test_markdown_matches_golden_file(stats: pl.DataFrame) -> None:
    markdown = render_markdown(stats, four_row_summary(stats))
    if os.environ.get("LABELPREP_UPDATE_GOLDEN") == "1":
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(markdown, encoding="utf-8")
    assert markdown == GOLDEN.read_text(encoding="utf-8")


def test_markdown_states_the_users_numbers(stats: pl.DataFrame) -> None:
    markdown = render_markdown(stats, four_row_summary(stats))
    header = (
        "| class | soft mass | support | hard count | candidates | labelled | excluded | prior |"
    )
    assert header in markdown
    assert "| c1 | 2.1 | 4 | 2 | 4 | 0 | 0 | 0.525 |" in markdown
    assert "| c3 | 0.75 | 3 | 1 | 3 | 0 | 0 | 0.1875 |" in markdown
    assert (
        "Here c3 is given some probability by 3 items, but its expected count is 0.75" in markdown
    )
    assert "imbalance ratio is 2.8 by soft mass and 1.333 by support" in markdown
    # balanced = 4 / (3 * 2.1) = 0.6349; offsets log(0.525) = -0.644357 ready to paste
    assert "| c1 | 0.6349 | 0.8148 | 0.5335 | 0.5476 | -0.6444 |" in markdown
    assert "    -0.644357,  # c1\n    -1.246532,  # c2\n    -1.673976,  # c3" in markdown
    assert "but by the batch size when the targets are probabilities" in markdown
    # the train split: N = 1.1 + 0.85 + 0.05 = 2, ratio 1.1 / 0.05 = 22; c3 balanced 2 / (3 * 0.05)
    assert "| train | 2 | 3 | 22 | reference | - | - |" in markdown
    assert "| c3 | 0.05 | 0.025 | 13.33 |" in markdown
    assert "| bad\\_sum | 1 |" in markdown
    assert "| probabilities | 4 |" in markdown


def test_markdown_has_no_html_and_escapes_class_names() -> None:
    stats = four_row_stats((XSS, "a|b", "c"))
    markdown = render_markdown(stats, four_row_summary(stats))
    prose = re.sub(r"```python\n.*?\n```", "", markdown, flags=re.DOTALL)  # code is literal
    assert not re.search(r"(?<!\\)<[A-Za-z/]", prose)  # no tag, only escaped "\<"
    assert "  # <script>alert(1)</script>\n" in markdown
    assert "| \\<script\\>alert(1)\\</script\\> | 2.1 |" in markdown
    assert "| a\\|b | 1.15 |" in markdown


def test_html_is_self_contained_and_offline(stats: pl.DataFrame) -> None:
    page = render_html(stats, four_row_summary(stats))
    assert page.startswith("<!DOCTYPE html>")
    assert "http://" not in page
    assert "https://" not in page
    assert not re.search(r"""(src|href)\s*=\s*(?!["']?#)""", page)  # only in-page references
    for tag in ("<script", "<link", "<img", "<iframe", "@import", "url(http"):
        assert tag not in page
    assert page.count("<svg") == 3  # counts, weights, priors per split


def test_html_escapes_every_user_string() -> None:
    stats = four_row_stats((XSS, "c2", "c3"))
    summary = four_row_summary(stats) | {
        "inputs": [{"path": XSS, "rows": 1}],
        "rejects_by_reason": {XSS: 1},
        "options": {XSS: XSS},
        "version": XSS,
    }
    page = render_html(stats, summary)
    assert "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_html_charts_are_deterministic(stats: pl.DataFrame) -> None:
    summary = four_row_summary(stats)
    assert render_html(stats, summary) == render_html(stats, summary)


@pytest.mark.parametrize(
    "summary",
    [
        {},
        {"options": None, "dataset": None, "inputs": "x", "rejects_by_reason": []},
        {"count_by": "support", "rows_in": 3, "rows_accepted": 1, "rows_rejected": 1},
    ],
)
def test_missing_or_odd_summary_keys_do_not_crash(
    stats: pl.DataFrame, summary: dict[str, Any]
) -> None:
    markdown = render_markdown(stats, summary)
    assert markdown.startswith("# labelprep imbalance report\n")
    assert "| c1 | 2.1 |" in markdown
    assert "<h1>labelprep imbalance report</h1>" in render_html(stats, summary)


def test_row_count_mismatch_is_flagged(stats: pl.DataFrame) -> None:
    summary = {"rows_in": 3, "rows_accepted": 1, "rows_rejected": 1}
    assert "**Warning:** rows in is not rows accepted + rows rejected." in render_markdown(
        stats, summary
    )


def test_minimal_stats_render(stats: pl.DataFrame) -> None:
    minimal = pl.DataFrame({"class": ["a", "b"], "soft_mass": [0.0, 0.0]})
    assert "| a | 0 |" in render_markdown(minimal, {})
    assert "<td>a</td>" in render_html(minimal, {})


# --- charts: the SVG is well-formed XML, so the tests read it with ElementTree ---------------


def svg_root(svg: str) -> ET.Element:
    assert svg.startswith("<svg ")
    assert svg.endswith("</svg>")
    return ET.fromstring(svg)  # fails on anything unescaped


def bars(root: ET.Element, series: str) -> list[dict[str, float]]:
    """x, y, width, height of the bars of one column, in class order."""
    group = root.find(f"g[@data-series='{series}']")
    assert group is not None, series
    return [{k: float(rect.attrib[k]) for k in ("x", "y", "width", "height")} for rect in group]


def texts(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter("text")]


def value_labels(root: ET.Element) -> list[str]:
    """The labels at the end of the bars (small text, not centred like the tick labels)."""
    groups = [g for g in root.iter("g") if g.get("font-size") and not g.get("text-anchor")]
    return [t.text or "" for g in groups for t in g]


def tick_labels(root: ET.Element) -> list[str]:
    return [t.text or "" for g in root.iter("g") if g.get("text-anchor") == "middle" for t in g]


def vertical_lines(root: ET.Element) -> list[ET.Element]:
    """The dark vertical lines across the class rows (zero and reference lines, no ticks)."""
    groups = [g for g in root.iter("g") if g.get("stroke") == "#555555"]
    lines = [line for g in groups for line in g.iter("line")]
    return [
        line
        for line in lines
        if line.attrib["x1"] == line.attrib["x2"]
        and float(line.attrib["y2"]) - float(line.attrib["y1"]) > 10
    ]


def test_chart_bars_are_proportional_to_the_values_with_labels() -> None:
    block = pl.DataFrame({"class": ["big", "small"], "soft_mass": [3.0, 1.0]})
    root = svg_root(counts_chart(block, ["soft_mass"]))
    first, second = bars(root, "soft_mass")
    assert first["width"] == pytest.approx(3 * second["width"], rel=1e-3)
    assert first["x"] == second["x"]  # both start at the zero line
    assert first["y"] < second["y"]  # first class on top, as in the tables
    assert value_labels(root) == ["3", "1"]
    assert {"big", "small", "soft mass", "items"} <= set(texts(root))
    # x axis: round, evenly spaced ticks from 0 past the largest value
    ticks = [float(t) for t in tick_labels(root)]
    assert ticks[0] == 0
    assert ticks[-1] >= 3
    steps = {round(b - a, 9) for a, b in itertools.pairwise(ticks)}
    assert len(steps) == 1
    assert steps.pop() in {0.5, 1.0}


def test_value_labels_sit_at_the_end_of_the_bars() -> None:
    block = pl.DataFrame({"class": ["a", "b"], "soft_mass": [2.5, 0.125]})
    root = svg_root(counts_chart(block, ["soft_mass"]))
    (group,) = [g for g in root.iter("g") if g.get("font-size") and not g.get("text-anchor")]
    assert [t.text for t in group] == ["2.5", "0.125"]
    for bar, label in zip(bars(root, "soft_mass"), group, strict=True):
        assert 0 < float(label.attrib["x"]) - (bar["x"] + bar["width"]) < 6
        assert bar["y"] < float(label.attrib["y"]) < bar["y"] + bar["height"] + 2


def test_counts_chart_groups_the_count_columns_per_class(stats: pl.DataFrame) -> None:
    charts = render_charts(stats)
    assert list(charts) == ["Class counts", "Class weights by scheme"]
    root = svg_root(charts["Class counts"])
    assert root.findtext("title") == "Class counts"
    mass, support, hard = (bars(root, c) for c in ("soft_mass", "support", "hard_count"))
    # only the split = null rows: 2.1 / 1.15 / 0.75, not the train split's 1.1 / 0.85 / 0.05
    assert [b["width"] / mass[0]["width"] for b in mass] == pytest.approx(
        [1, 1.15 / 2.1, 0.75 / 2.1], rel=1e-3
    )
    assert support[0]["width"] / hard[0]["width"] == pytest.approx(4 / 2, rel=1e-3)
    assert mass[0]["y"] < support[0]["y"] < hard[0]["y"] < mass[1]["y"]  # grouped per class
    assert value_labels(root) == ["2.1", "1.15", "0.75", "4", "3", "3", "2", "1", "1"]
    assert {"soft mass", "support", "hard count"} <= set(texts(root))


def test_weights_chart_has_a_dotted_line_at_one_and_offsets_left_of_zero() -> None:
    block = pl.DataFrame(
        {
            "class": ["a", "b"],
            "balanced": [1.0, 2.0],
            "logit_adjustment": [-0.5, -2.0],
        }
    )
    root = svg_root(weights_chart(block, ["balanced"]))
    one = bars(root, "balanced")[0]  # class a, weight 1
    lines = vertical_lines(root)
    dotted = [line for line in lines if line.get("stroke-dasharray")]
    assert len(dotted) == 1
    assert float(dotted[0].attrib["x1"]) == pytest.approx(one["x"] + one["width"], abs=0.02)
    assert "loss weight (dotted line: 1 = unweighted)" in texts(root)

    offsets = bars(root, "logit_adjustment")
    solid = [float(line.attrib["x1"]) for line in lines if not line.get("stroke-dasharray")]
    assert len(solid) == 2  # one zero line per panel
    zero = solid[1]
    for bar in offsets:  # negative: drawn to the left, ending on the zero line
        assert bar["x"] < zero
        assert bar["x"] + bar["width"] == pytest.approx(zero, abs=0.02)
    assert offsets[1]["width"] == pytest.approx(4 * offsets[0]["width"], rel=1e-3)
    assert min(b["x"] for b in offsets) > max(b["x"] + b["width"] for b in bars(root, "balanced"))
    centres = [
        [b["y"] + b["height"] / 2 for b in bars(root, s)] for s in ("balanced", "logit_adjustment")
    ]
    assert centres[0] == pytest.approx(centres[1], abs=0.02)  # the panels share the class rows


def test_weights_chart_without_offsets_has_one_panel() -> None:
    root = svg_root(weights_chart(pl.DataFrame({"class": ["a"], "balanced": [1.0]}), ["balanced"]))
    assert root.find("g[@data-series='logit_adjustment']") is None
    assert not any("logit" in t for t in texts(root))


def test_charts_only_for_present_columns() -> None:
    stats = pl.DataFrame({"class": ["a", "b"], "support": [2, 1], "balanced": [0.75, 1.5]})
    charts = render_charts(stats)
    counts = svg_root(charts["Class counts"])
    assert [g.get("data-series") for g in counts.iter("g") if g.get("data-series")] == ["support"]
    assert "logit" not in charts["Class weights by scheme"]
    assert render_charts(pl.DataFrame({"class": ["a"], "prior": [1.0]})) == {}
    assert render_charts(stats.clear()) == {}


@pytest.mark.parametrize(
    "values",
    [[0.0, 0.0], [0, 0], [float("nan"), None], [float("inf"), float("-inf")]],
)
def test_zero_nan_and_null_values_are_drawn_as_zero(values: list[Any]) -> None:
    stats = pl.DataFrame(
        {
            "class": ["a", "b"],
            "soft_mass": pl.Series(values, dtype=pl.Float64),
            "balanced": pl.Series(values, dtype=pl.Float64),
            "logit_adjustment": pl.Series(values, dtype=pl.Float64),
        }
    )
    for svg in render_charts(stats).values():
        root = svg_root(svg)
        assert not re.search(r"nan|inf", svg, re.IGNORECASE)
        for group in root.iter("g"):
            if group.get("data-series"):
                assert all(float(r.attrib["width"]) == 0 for r in group)
        numbers = [float(v) for e in root.iter() for k, v in e.attrib.items() if k in "xy"]
        assert all(math.isfinite(v) for v in numbers)


def test_negative_counts_are_drawn_left_of_zero_with_their_labels() -> None:
    block = pl.DataFrame({"class": ["neg", "pos"], "soft_mass": [-2.0, 4.0]})
    root = svg_root(counts_chart(block, ["soft_mass"]))
    neg, pos = bars(root, "soft_mass")
    assert neg["x"] + neg["width"] == pytest.approx(pos["x"], abs=0.02)  # both touch zero
    assert pos["width"] == pytest.approx(2 * neg["width"], rel=1e-3)
    label = next(t for t in root.iter("text") if t.text == "-2")
    assert label.get("text-anchor") == "end"
    assert float(label.attrib["x"]) < neg["x"]
    assert float(label.attrib["x"]) > 0


def test_chart_class_names_are_escaped_and_truncated() -> None:
    names = [XSS, "a \"b\" & 'c'", "x" * 40]
    block = pl.DataFrame({"class": names, "soft_mass": [1.0, 2.0, 3.0]})
    svg = counts_chart(block, ["soft_mass"])
    assert "<script" not in svg
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in svg
    assert "a &quot;b&quot; &amp; &#x27;c&#x27;" in svg
    root = svg_root(svg)  # well-formed: every name round-trips through the XML parser
    labels = texts(root)
    assert XSS in labels
    assert "a \"b\" & 'c'" in labels
    assert "x" * 27 + "\u2026" in labels  # 28 characters with the ellipsis
    assert "x" * 28 not in labels
    assert [t.text for t in root.iter("title")][1:] == ["x" * 40]  # full name as a tooltip


def test_many_classes_grow_the_chart_without_value_labels() -> None:
    def height(n: int) -> float:
        block = pl.DataFrame({"class": [f"k{i}" for i in range(n)], "soft_mass": [1.5] * n})
        root = svg_root(counts_chart(block, ["soft_mass"]))
        assert len(bars(root, "soft_mass")) == n
        assert value_labels(root) == (["1.5"] * n if n <= 24 else [])
        return float(root.attrib["viewBox"].split()[3])

    assert height(1) < height(24) < height(120) < height(240)
    assert height(240) - height(120) == pytest.approx(120 * (height(120) - height(119)))


def test_charts_are_accessible_and_scale(stats: pl.DataFrame) -> None:
    for title, svg in render_charts(stats).items():
        root = svg_root(svg)
        assert root.get("role") == "img"
        assert root.get("width") == "100%"
        assert re.fullmatch(r"0 0 960 [\d.]+", root.attrib["viewBox"])
        assert "sans-serif" in root.attrib["font-family"]
        assert root[0].tag == "title"
        assert root[0].text == title
        assert root.findtext("desc")
        assert "id" not in {k for e in root.iter() for k in e.attrib}  # none to collide


def test_charts_are_byte_identical_with_rounded_coordinates(stats: pl.DataFrame) -> None:
    first, second = render_charts(stats), render_charts(stats.clone())
    assert first == second
    for svg in first.values():
        coordinates = re.findall(r' (?:x|y|x1|x2|y1|y2|width|height)="([^"]+)"', svg)
        assert coordinates
        assert all(re.fullmatch(r"-?\d+(\.\d{1,2})?|100%", c) for c in coordinates)
