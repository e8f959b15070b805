"""The report's sections at any number of classes: the honest headline, what happened to the
data (escaped for GitHub markdown and HTML), extreme weights, per-split priors and drift,
votes and annotators, and every class findable at K = 1000."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from report_fixtures import synthetic_stats, synthetic_summary

from labelprep.errors import OutputError
from labelprep.reporting.render import render_html, render_markdown
from labelprep.reporting.run_files import with_run_files
from labelprep.weights import add_weights


def stats_of(masses: dict[str | None, list[float]], names: list[str]) -> pl.DataFrame:
    """Weighted stats from soft masses per split (None = all rows)."""
    frames = [
        pl.DataFrame(
            {
                "split": pl.Series([split] * len(names), dtype=pl.String),
                "class": names,
                "index": pl.Series(range(len(names)), dtype=pl.UInt32),
                "soft_mass": mass,
                "support": pl.Series([round(m) for m in mass], dtype=pl.UInt64),
            }
        )
        for split, mass in masses.items()
    ]
    return add_weights(pl.concat(frames))


def rows(accepted: int, rejected: int) -> dict[str, Any]:
    return {"rows_in": accepted + rejected, "rows_accepted": accepted, "rows_rejected": rejected}


# --- honest headline ------------------------------------------------------------------------


def test_no_accepted_row_shows_a_banner_and_no_offsets() -> None:
    stats = stats_of({None: [0.0, 0.0]}, ["a", "b"])
    summary = rows(0, 5) | {"rejects_by_reason": {"bad_sum": 5}}
    markdown = render_markdown(stats, summary)
    assert "> **No row was accepted.** All 5 input rows were rejected" in markdown
    assert "log_prior = torch.tensor" not in markdown
    assert "**No paste-ready offsets:** no row was accepted, so there are no class counts" in (
        markdown
    )
    assert "**No meaningful weights:** no row was accepted" in markdown
    page = render_html(stats, summary)
    assert '<div class="banner" role="alert"><strong>No row was accepted.</strong>' in page
    assert page.count("<svg") == 0  # no chart of zeros


@pytest.mark.parametrize(
    ("accepted", "rejected", "banner"),
    [(4, 6, "**Most rows were rejected:** 6 of 10 (60%)."), (5, 5, None), (10, 0, None)],
)
def test_banner_when_most_rows_are_rejected(
    accepted: int, rejected: int, banner: str | None
) -> None:
    stats = stats_of({None: [3.0, 1.0]}, ["a", "b"])
    markdown = render_markdown(stats, rows(accepted, rejected))
    if banner is None:
        assert "\n> " not in markdown
    else:
        assert f"> {banner}" in markdown
    assert ("log_prior = torch.tensor" in markdown) is True  # counts support the offsets


def test_classes_without_mass_get_no_paste_ready_offsets() -> None:
    stats = stats_of({None: [3.0, 0.0, 1.0]}, ["a", "ghost", "b"])
    markdown = render_markdown(stats, rows(4, 0))
    assert "log_prior = torch.tensor" not in markdown
    assert (
        "**No paste-ready offsets:** 1 class has no mass (ghost): their prior is 0 and"
        " log(prior) is minus infinity" in markdown
    )
    assert "1 class with no mass (all weights 0): ghost." in markdown


# --- extreme weights -------------------------------------------------------------------------


def test_extreme_weights_are_flagged_with_the_reason() -> None:
    # N = 301, K = 4: balanced = 301 / (4 * 100) = 0.7525 for the three big classes and
    # 301 / (4 * 1) = 75.25 for "rare": 100 times the median weight 0.7525.
    stats = stats_of({None: [100.0, 100.0, 100.0, 1.0]}, ["a", "b", "c", "rare"])
    markdown = render_markdown(stats, rows(301, 0))
    assert "**1 extreme weight**: the balanced weight N / (K * n_k) is more than 10" in markdown
    assert "times the median weight (0.7525)" in markdown
    assert "- rare: soft_mass = 1, balanced weight 75.25 (100x the median)" in markdown


def test_no_flag_below_ten_times_the_median() -> None:
    stats = stats_of({None: [100.0, 100.0, 100.0, 11.0]}, ["a", "b", "c", "d"])
    assert "extreme weight" not in render_markdown(stats, {})  # 9.1x the median


# --- per split --------------------------------------------------------------------------------


def test_split_drift_is_linf_and_jsd_against_train() -> None:
    # priors train (0.75, 0.25), test (0.5, 0.5): L-inf 0.25 at "cat"; JSD (base 2) with
    # M = (0.625, 0.375): (0.051035 + 0.046554) / 2 = 0.04879.
    stats = stats_of(
        {None: [32.0, 12.0], "test": [2.0, 2.0], "train": [30.0, 10.0]}, ["cat", "dog"]
    )
    markdown = render_markdown(stats, {})
    assert (
        "| split | N | classes present | imbalance ratio | L-infinity | at class | JSD (bits) |"
        in (markdown)
    )
    assert "| test | 4 | 2 | 1 | 0.25 | cat | 0.04879 |" in markdown
    assert "| train | 40 | 2 | 3 | reference | - | - |" in markdown
    assert "Drift from the training split (`train`)" in markdown
    assert "| train | 40 | 2 | 3 | reference | - | - |\n| test | 4 |" in markdown  # train first
    assert "| cat | 30 | 0.75 | 0.6667 | 2 | 0.5 | 1 |" in markdown  # balanced 40 / (2 * 30)
    html = render_html(stats, {})
    assert "<title>Class priors per split</title>" in html
    assert html.count("<circle") == 4


def test_first_split_is_the_reference_without_train_and_absent_classes_are_named() -> None:
    stats = stats_of(
        {None: [4.0, 2.0, 1.0], "dev": [2.0, 1.0, 1.0], "eval": [2.0, 1.0, 0.0]},
        ["a", "b", "<rare>"],
    )
    markdown = render_markdown(stats, {})
    assert "Drift from the training split (`dev`)" in markdown
    assert "| dev | 4 | 3 | 2 | reference | - | - |" in markdown
    assert "- absent from `eval`, present in another split (1): \\<rare\\>" in markdown


def test_a_split_without_mass_has_no_drift() -> None:
    stats = stats_of({None: [1.0, 1.0], "train": [1.0, 1.0], "test": [0.0, 0.0]}, ["a", "b"])
    assert "| test | 0 | 0 | - | no mass | - | - |" in render_markdown(stats, {})


# --- what happened to the data ----------------------------------------------------------------


@pytest.fixture(scope="module")
def report10() -> tuple[str, str]:
    stats = synthetic_stats(10)
    summary = synthetic_summary(stats)
    return render_markdown(stats, summary), render_html(stats, summary)


def test_notices_config_fallbacks_and_rejects_are_reported(report10: tuple[str, str]) -> None:
    markdown, _ = report10
    assert "## What happened to the data" in markdown
    assert "Config file: labelprep.toml." in markdown
    assert "- labels.csv: vocabulary inferred from the data (sorted label values)" in markdown
    assert "| partial: uniform over the candidates | 4 |" in markdown
    assert "| bad\\_sum | 7 |" in markdown
    assert "| reason | file | row | column | value | message |" in markdown
    # 5 bad_sum examples in the summary, 3 shown
    assert markdown.count("| bad\\_sum | labels.csv |") == 3
    assert (
        "| bad\\_sum | labels.csv | 14 | probs | \\[0.2, 0.5\\] | probabilities sum to 0.6 |"
        in (markdown)
    )


def test_rejected_values_are_safe_in_github_markdown(report10: tuple[str, str]) -> None:
    markdown, _ = report10
    line = next(x for x in markdown.splitlines() if x.startswith("| unknown\\_class | dir/"))
    assert "\\<script\\>alert(1)\\</script\\>\\|pipe ::error::x" in line  # one line, one cell
    assert line.count(" | ") == 5
    prose = re.sub(r"```python\n.*?\n```", "", markdown, flags=re.DOTALL)
    assert not re.search(r"(?<!\\)<[A-Za-z/!?]", prose)  # no tag, comment or directive
    assert not re.search(r"(?m)^::", markdown)


def test_data_strings_are_escaped_in_html(report10: tuple[str, str]) -> None:
    _, page = report10
    assert "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;|pipe\n::error::x" in page
    assert "<li>labels.csv: columns ignored: comment, &lt;script&gt;" in page


def test_a_run_without_rejects_says_so() -> None:
    stats = stats_of({None: [1.0, 1.0]}, ["a", "b"])
    markdown = render_markdown(stats, rows(2, 0) | {"config": None})
    assert "No config file was used." in markdown
    assert "### Rejected rows\n\nNo row was rejected." in markdown


# --- votes ------------------------------------------------------------------------------------


def test_annotators_are_charted_sorted_with_the_sparse_warning() -> None:
    stats = stats_of({None: [1.0, 1.0]}, ["a", "b"])
    votes = {
        "method": "dawid_skene",
        "sparse_annotators": ["w3"],
        "annotators": [
            {"annotator": "w1", "votes": 10, "agreement_with_consensus": 0.6,
             "estimated_accuracy": 0.7},
            {"annotator": "w2", "votes": 12, "agreement_with_consensus": 0.9,
             "estimated_accuracy": 0.95},
            {"annotator": "w3", "votes": 1, "agreement_with_consensus": 1.0,
             "estimated_accuracy": 0.8},
        ],
    }  # fmt: skip
    markdown = render_markdown(stats, {"votes": votes})
    assert "- **1 sparse annotator** (too few votes for their accuracy to be estimated" in markdown
    assert re.search(r"\| w2 \| 12 \| 0.9 \| 0.95 \|\n\| w3 \| 1 \| 1 \| 0.8 \|\n\| w1 ", markdown)
    page = render_html(stats, {"votes": votes})
    svg = page[page.index("<title>Annotators</title>") :]
    labels = re.findall(r'<text x="[\d.]+" y="[\d.]+">(w\d \(\d+ votes?\))</text>', svg)
    assert labels == ["w2 (12 votes)", "w3 (1 vote)", "w1 (10 votes)"]  # by accuracy
    assert ">0.95</text>" in svg


def test_votes_without_annotators_still_render() -> None:
    stats = stats_of({None: [1.0, 1.0]}, ["a", "b"])
    markdown = render_markdown(stats, {"votes": {"method": "shares", "annotators": "odd"}})
    assert "| method | shares |" in markdown


# --- many classes -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def report1000() -> tuple[pl.DataFrame, str, str]:
    stats = synthetic_stats(1000)
    summary = synthetic_summary(stats, annotators=60)
    return stats, render_markdown(stats, summary), render_html(stats, summary)


def test_every_class_is_findable_at_k_1000(report1000: tuple[pl.DataFrame, str, str]) -> None:
    stats, markdown, page = report1000
    names = stats.filter(pl.col("split").is_null())["class"].to_list()
    text = re.sub(r"<[^>]+>", " ", page.replace("&amp;", "&"))  # the text a search reaches
    cells = set(re.findall(r"<td>([^<]*)</td>", page))
    for name in names[3:]:
        assert name in cells
        assert name in text
    assert "<details><summary>All 1,000 classes, in vocabulary order</summary>" in page
    assert "<details open>" not in page
    assert len(markdown.encode()) < 1024 * 1024  # GitHub's job-summary limit


def test_long_tail_head_and_tail_at_k_1000(report1000: tuple[pl.DataFrame, str, str]) -> None:
    stats, markdown, page = report1000
    block = stats.filter(pl.col("split").is_null()).sort("soft_mass", descending=True)
    assert block["soft_mass"][-2:].to_list() == pytest.approx([0.08, 0.0])  # one without mass
    head, tail = block["class"][:10].to_list(), block["class"][-11:-1].to_list()
    assert "<title>Long tail</title>" in page
    assert "soft_mass (log scale)</text>" in page
    counts = page[page.index("<title>Class counts</title>") :]
    counts = counts[: counts.index("</svg>")]
    labels = re.findall(r'text-anchor="end">(.*?)</g>', counts, flags=re.DOTALL)[-1]
    shown = re.findall(r">([^<]+)</text>", labels)
    assert shown == [*head, "\u2026 979 more classes \u2026", *tail, "1 class with no mass"]
    assert "**Largest 10** by `soft_mass`: " + head[0].replace("_", "\\_") in markdown
    assert "extreme weight" in markdown


# --- the run's files ------------------------------------------------------------------------


def test_run_files_add_three_rejects_per_reason_and_the_annotators(tmp_path: Path) -> None:
    rejects = pl.DataFrame(
        {
            "source": ["a.csv"] * 6,
            "row": [2, 3, 4, 5, 6, 7],
            "id": ["1", "2", "3", "4", "5", "6"],
            "reason": ["bad_sum", "bad_sum", "unknown_class", "bad_sum", "bad_sum", "bad_sum"],
            "column": ["probs"] * 6,
            "value": ["0.5", "0.6", "dog", "0.7", "0.8", "0.9"],
            "message": ["m"] * 6,
        }
    )
    rejects.write_parquet(tmp_path / "rejects.parquet")
    annotators = {"annotator": ["w1"], "votes": [3], "agreement_with_consensus": [0.5]}
    pl.DataFrame(annotators).write_parquet(tmp_path / "annotators.parquet")
    summary = with_run_files(tmp_path, {"votes": {"method": "majority"}, "rows_in": 9})
    assert [(r["reason"], r["row"], r["value"]) for r in summary["reject_samples"]] == [
        ("bad_sum", 2, "0.5"),
        ("bad_sum", 3, "0.6"),
        ("bad_sum", 5, "0.7"),
        ("unknown_class", 4, "dog"),
    ]
    assert summary["votes"] == {"method": "majority", "annotators": annotators}
    assert summary["rows_in"] == 9
    assert with_run_files(tmp_path / "absent", {"a": 1}) == {"a": 1}


def test_an_unreadable_run_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "rejects.parquet").write_text("not parquet", encoding="utf-8")
    with pytest.raises(OutputError, match=r"rejects\.parquet: cannot read it for the report"):
        with_run_files(tmp_path, {})
