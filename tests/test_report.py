"""The imbalance report: golden markdown for the SPEC's 4-row example, offline and escaped HTML,
charts, and graceful handling of missing summary keys and of a missing matplotlib."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from labelprep.rendering import render_html, render_markdown
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
    assert "### Split train" in markdown
    assert "| c3 | 0.05 | 1 | 0 | 1 | 0.025 | 13.33 |" in markdown
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
    assert page.count("<svg") == 2


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


def test_html_without_matplotlib_shows_install_hint(
    stats: pl.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes find_spec/import fail
    page = render_html(stats, four_row_summary(stats))
    assert "<svg" not in page
    assert "charts need <code>pip install &#x27;labelprep[charts]&#x27;</code>" in page


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
