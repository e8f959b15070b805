"""Report sections on the run: the headline banners, the rows, what happened to the data
(config, notices, fallbacks, rejects with examples), votes and annotators, and the tail
tables (evidence, candidate set sizes, entropy, options)."""

from __future__ import annotations

from typing import Any

import polars as pl

from labelprep.reporting.blocks import (
    Banner,
    Block,
    Bullets,
    Details,
    Figure,
    Heading,
    Inline,
    Para,
    Table,
    kv_table,
    num,
)
from labelprep.reporting.charts_tail import annotators_chart

EXAMPLES_PER_REASON = 3
_VALUE_CHARS = 80
_ANNOTATORS_NAMED = 12


def headline(summary: dict[str, Any]) -> list[Block]:
    """A banner when no row was accepted or most rows were rejected."""
    rows_in, accepted, rejected = (
        summary.get(k) for k in ("rows_in", "rows_accepted", "rows_rejected")
    )
    if not (isinstance(rows_in, int) and isinstance(rejected, int)) or accepted is None:
        return []
    if accepted == 0:
        text = (
            f"**No row was accepted.** All {rows_in:,} input rows were rejected"
            " (see What happened to the data): there are no class counts, and no weights or"
            " offsets to use."
        )
        return [Banner((text if rows_in else "**No row was accepted: the input was empty.**",))]
    if rejected * 2 > rows_in:
        share = f"{rejected / rows_in:.0%}"
        text = (
            f"**Most rows were rejected:** {rejected:,} of {rows_in:,} ({share}). The counts"
            " below describe only the accepted rows; see What happened to the data."
        )
        return [Banner((text,))]
    return []


def rows_section(summary: dict[str, Any]) -> list[Block]:
    keys = ("rows_in", "rows_accepted", "rows_rejected", "renormalized", "smoothed")
    rows = {k.replace("_", " "): summary[k] for k in keys if k in summary}
    blocks: list[Block] = [Heading(2, "Rows"), *kv_table(("", "rows"), rows)] if rows else []
    if set(keys[:3]) <= summary.keys() and summary[keys[0]] != summary[keys[1]] + summary[keys[2]]:
        blocks.append(Para(("**Warning:** rows in is not rows accepted + rows rejected.",)))
    if isinstance(inputs := summary.get("inputs"), list) and inputs:
        table = tuple(_input_row(i) for i in inputs if isinstance(i, dict))
        blocks += [Heading(3, "Inputs"), Table(("path", "rows"), table)]
    return blocks


def _input_row(entry: dict[str, Any]) -> tuple[str, str]:
    return str(entry.get("path", "?")), num(entry.get("rows"))


def data_section(summary: dict[str, Any]) -> list[Block]:
    """The config file, the notices, the fallbacks, the rejects by reason with examples."""
    blocks: list[Block] = []
    if "config" in summary:
        config = summary["config"]
        blocks.append(
            Para(("Config file: ", ("user", str(config)), "."))
            if config
            else Para(("No config file was used.",))
        )
    notices = summary.get("notices")
    if isinstance(notices, list) and notices:
        blocks += [Heading(3, "Notices"), Bullets(tuple((("user", str(x)),) for x in notices))]
    if table := kv_table(("fallback", "times used"), summary.get("fallbacks"), text=False):
        blocks += [Heading(3, "Fallbacks"), *table]
    blocks += _rejects(summary)
    return [Heading(2, "What happened to the data"), *blocks] if blocks else []


def _rejects(summary: dict[str, Any]) -> list[Block]:
    by_reason = summary.get("rejects_by_reason")
    if not isinstance(by_reason, dict) or not by_reason:
        if summary.get("rows_rejected") == 0:
            return [Heading(3, "Rejected rows"), Para(("No row was rejected.",))]
        return []
    blocks: list[Block] = [
        Heading(3, "Rejected rows by reason"),
        *kv_table(("reason", "rows"), by_reason),
        Para(
            (
                "Every rejected row is in `rejects.parquet` (`rejects/` with `--engine dask`) "
                "with its file, row and message.",
            )
        ),
    ]
    samples = summary.get("reject_samples")
    if isinstance(samples, list) and samples:
        blocks += [Heading(3, "Examples of rejected rows"), _examples(samples)]
    return blocks


def _examples(samples: list[Any]) -> Table:
    """At most 3 rows per reason: reason, file, row, column, value (cut at 80 characters)."""
    seen: dict[str, int] = {}
    rows = []
    for sample in samples:
        if not isinstance(sample, dict):
            continue
        reason = str(sample.get("reason"))
        seen[reason] = seen.get(reason, 0) + 1
        if seen[reason] > EXAMPLES_PER_REASON:
            continue
        value = "" if sample.get("value") is None else str(sample["value"])
        if len(value) > _VALUE_CHARS:
            value = value[: _VALUE_CHARS - 1] + "\u2026"
        cells = (sample.get(k) for k in ("source", "row", "column"))
        source, row, column = ("" if c is None else str(c) for c in cells)
        rows.append((reason, source, row, column, value, str(sample.get("message") or "")))
    return Table(("reason", "file", "row", "column", "value", "message"), tuple(rows), text=True)


def votes_section(summary: dict[str, Any]) -> list[Block]:
    """Vote aggregation, agreement, the sparse-annotator warning and the annotators chart."""
    votes = summary.get("votes")
    if not isinstance(votes, dict):
        return []
    agreement = votes.get("agreement") if isinstance(votes.get("agreement"), dict) else {}
    assert isinstance(agreement, dict)
    numbers = {
        "method": votes.get("method"),
        "votes in": votes.get("votes_in"),
        "votes used": votes.get("votes_used"),
        "duplicate votes": votes.get("duplicate_votes"),
        "items with a tied plurality": votes.get("ties"),
        "iterations": votes.get("iterations"),
        "converged": _yes_no(votes.get("converged")),
        "Fleiss' kappa": agreement.get("fleiss_kappa"),
        "Krippendorff's alpha (nominal)": agreement.get("krippendorff_alpha"),
        "mean vote entropy (bits)": agreement.get("mean_vote_entropy"),
    }
    shown = {k: v for k, v in numbers.items() if v is not None}
    blocks: list[Block] = [Heading(2, "Votes and annotator agreement")]
    blocks += _vote_warnings(votes)
    return blocks + kv_table(("", "value"), shown) + _annotators(votes.get("annotators"))


def _yes_no(value: Any) -> str | None:
    return None if value is None else ("yes" if value else "no")


def _vote_warnings(votes: dict[str, Any]) -> list[Block]:
    items: list[tuple[Inline, ...]] = []
    for key in ("notices", "warnings"):
        if isinstance(notes := votes.get(key), list):
            items += [("**Warning:** ", ("user", str(note))) for note in notes]
    sparse = votes.get("sparse_annotators")
    if isinstance(sparse, list) and sparse:
        names = ", ".join(map(str, sparse[:50])) + (" ..." if len(sparse) > 50 else "")
        items.append(
            (
                f"**{_annotators_count(len(sparse))}** (too few votes for their accuracy to be"
                " estimated reliably): ",
                ("user", names),
            )
        )
    elif isinstance(sparse, int) and not isinstance(sparse, bool) and sparse > 0:
        items.append((f"**{_annotators_count(sparse)}**: too few votes for a reliable estimate.",))
    return [Bullets(tuple(items))] if items else []


def _annotators_count(count: int) -> str:
    return "1 sparse annotator" if count == 1 else f"{count:,} sparse annotators"


def _annotators(table: Any) -> list[Block]:
    """Annotators sorted by estimated accuracy (else agreement), as a chart and a table."""
    try:
        frame = pl.DataFrame(table)
    except (TypeError, ValueError):
        return []
    if frame.is_empty() or not {"annotator", "agreement_with_consensus"} <= set(frame.columns):
        return []
    has_accuracy = "estimated_accuracy" in frame.columns
    key = "estimated_accuracy" if has_accuracy else "agreement_with_consensus"
    frame = frame.sort([key, "annotator"], descending=[True, False], nulls_last=True)
    shown, blank = frame, frozenset[int]()
    if frame.height > 2 * _ANNOTATORS_NAMED + 4:
        more = frame.height - 2 * _ANNOTATORS_NAMED
        gap = pl.DataFrame({"annotator": [f"\u2026 {more:,} more \u2026"]})
        parts = [frame.head(_ANNOTATORS_NAMED), gap, frame.tail(_ANNOTATORS_NAMED)]
        shown, blank = pl.concat(parts, how="diagonal_relaxed"), frozenset({_ANNOTATORS_NAMED})
    accuracy = shown["estimated_accuracy"].to_list() if has_accuracy else None
    names = [str(a) for a in shown["annotator"]]
    if "votes" in shown.columns:  # an estimate from few votes is a weak one
        names = [
            f"{a} ({v:,} vote{'' if v == 1 else 's'})" if v is not None and k not in blank else a
            for k, (a, v) in enumerate(zip(names, shown["votes"].to_list(), strict=True))
        ]
    svg = annotators_chart(
        names,
        shown["agreement_with_consensus"].to_list(),
        accuracy,
        blank=blank,
    )
    what = f"the {_ANNOTATORS_NAMED} highest and lowest" if blank else "every annotator"
    caption = f"Annotators by {key.replace('_', ' ')}, highest first ({what})"
    columns = [c for c in ("votes", "agreement_with_consensus", "estimated_accuracy") if c in frame]
    rows = tuple(
        (str(r["annotator"]), *(num(r[c]) for c in columns)) for r in frame.iter_rows(named=True)
    )
    table_block = Table(("annotator", *(c.replace("_", " ") for c in columns)), rows)
    details = Details(f"All {frame.height:,} annotators", (table_block,), frame.height <= 40)
    return [Heading(3, "Annotators"), Figure(svg, caption), details]


def tail_sections(summary: dict[str, Any]) -> list[Block]:
    sections = (
        ("Accepted rows by evidence", ("evidence", "rows"), "rows_by_evidence"),
        ("Candidate set size", ("classes possible", "rows"), "candidate_set_size"),
        ("Target entropy (bits)", ("statistic", "bits"), "target_entropy_bits"),
        ("Options", ("option", "value"), "options"),
    )
    blocks: list[Block] = []
    for title, header, key in sections:
        if table := kv_table(header, summary.get(key), text=key == "options"):
            blocks += [Heading(2, title), *table]
    return blocks
