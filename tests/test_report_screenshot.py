"""What a person sees in the report at K = 3, 10, 100 and 1000 classes with three splits.

The layout checks run on the SVG geometry (every label's box, from its position, anchor and
an estimated text width, must stay inside the chart and not overlap another label), so they
need no browser. The page is then rendered by headless Chromium (Debian's ``chromium``):
the DOM it builds must hold every section, chart and class, and a screenshot must be taken.
Those tests are skipped where Chromium is not installed (``apt-get install chromium``).
"""

from __future__ import annotations

import itertools
import re
import shutil
import struct
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from report_fixtures import synthetic_stats, synthetic_summary

from labelprep.reporting.render import render_html
from labelprep.reporting.svg import WIDTH, text_width

SIZES = (3, 10, 100, 1000)
SECTIONS = (
    "Rows",
    "What happened to the data",
    "Classes",
    "Which count to balance",
    "Class weights",
    "Calibration: weights or offsets",
    "Per split",
    "Votes and annotator agreement",
)
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (Debian: apt-get install -y chromium)"
)
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)

Box = tuple[float, float, float, float]  # left, top, right, bottom


@pytest.fixture(scope="module")
def pages() -> dict[int, str]:
    out = {}
    for k in SIZES:
        stats = synthetic_stats(k)
        out[k] = render_html(stats, synthetic_summary(stats, annotators=60 if k > 10 else 8))
    return out


def svgs(page: str) -> list[ET.Element]:
    return [ET.fromstring(svg) for svg in re.findall(r"<svg .*?</svg>", page, flags=re.DOTALL)]


def label_boxes(root: ET.Element) -> list[tuple[str, Box]]:
    """Every <text> with its box: attributes inherited from the enclosing groups."""
    boxes = []

    def walk(element: ET.Element, inherited: dict[str, str]) -> None:
        attrs = inherited | element.attrib
        if element.tag == "text":
            size = float(attrs.get("font-size", "13"))
            text = element.text or ""
            width = text_width(text, size)
            x, y = float(attrs["x"]), float(attrs["y"])
            anchor = attrs.get("text-anchor", "start")
            left = x - {"start": 0.0, "middle": width / 2, "end": width}[anchor]
            boxes.append((text, (left, y - 0.8 * size, left + width, y + 0.25 * size)))
            return
        for child in element:
            walk(child, {k: v for k, v in attrs.items() if k not in ("x", "y", "width")})

    walk(root, {})
    return boxes


def overlap(a: Box, b: Box) -> bool:
    slack = 0.5
    return (
        a[0] < b[2] - slack and b[0] < a[2] - slack and a[1] < b[3] - slack and b[1] < a[3] - slack
    )


@pytest.mark.parametrize("k", SIZES)
def test_no_label_overlaps_another_or_leaves_its_chart(pages: dict[int, str], k: int) -> None:
    charts = svgs(pages[k])
    assert len(charts) >= 4  # counts (and long tail), weights, priors per split, annotators
    for root in charts:
        height = float(root.attrib["viewBox"].split()[3])
        boxes = label_boxes(root)
        assert boxes
        for text, (left, top, right, bottom) in boxes:
            assert left >= 0, (root.findtext("title"), text)
            assert right <= WIDTH, (root.findtext("title"), text)
            assert top >= 0, (root.findtext("title"), text)
            assert bottom <= height, (root.findtext("title"), text)
        for (ta, a), (tb, b) in itertools.combinations(boxes, 2):
            assert not overlap(a, b), (root.findtext("title"), ta, tb)


def test_the_overlap_check_can_fail() -> None:
    svg = (
        '<svg viewBox="0 0 960 50"><g font-size="11"><text x="10" y="20">a long label</text>'
        '<text x="30" y="22">another</text></g></svg>'
    )
    (a, first), (b, second) = label_boxes(ET.fromstring(svg))
    assert (a, b) == ("a long label", "another")
    assert overlap(first, second)
    assert not overlap(first, (first[2] + 1, first[1], first[2] + 20, first[3]))


@pytest.mark.parametrize("k", SIZES)
def test_chart_rows_stay_readable(pages: dict[int, str], k: int) -> None:
    """At most 40 named rows in a chart, whatever K: the rest are in the tables."""
    for root in svgs(pages[k]):
        row_labels = [t for g in root.iter("g") if g.get("text-anchor") == "end" for t in g]
        assert len(row_labels) <= 41
    assert ("<title>Long tail</title>" in pages[k]) is (k > 40)


def chromium(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    with tempfile.TemporaryDirectory(prefix="labelprep-chromium-") as profile:
        command = [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args]
        return subprocess.run(command, check=True, capture_output=True, text=True, timeout=timeout)


@needs_chromium
@pytest.mark.parametrize("k", SIZES)
def test_chromium_renders_every_section_and_class(
    pages: dict[int, str], k: int, tmp_path: Path
) -> None:
    path = tmp_path / "report.html"
    path.write_text(pages[k], encoding="utf-8")
    dom = chromium("--dump-dom", path.as_uri()).stdout
    headings = re.findall(r"<h2>(.*?)</h2>", dom)
    assert headings[: len(SECTIONS)] == list(SECTIONS)
    assert dom.count("<svg") == pages[k].count("<svg")
    assert dom.count("<figcaption>") == pages[k].count("<figcaption>")
    for i in range(3, k):
        assert f"<td>class_{i:04d}</td>" in dom
    assert "<script" not in dom


@needs_chromium
@pytest.mark.parametrize("k", [3, 1000])
def test_chromium_screenshot(pages: dict[int, str], k: int, tmp_path: Path) -> None:
    path, png = tmp_path / "report.html", tmp_path / "report.png"
    path.write_text(pages[k], encoding="utf-8")
    chromium(f"--screenshot={png}", "--window-size=1280,3000", path.as_uri())
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", data[16:24]) == (1280, 3000)
    assert len(data) > 50_000  # text and charts, not a blank page
