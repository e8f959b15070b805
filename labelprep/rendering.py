"""The imbalance report: rendering only, as markdown (CI job summary) or one offline HTML page.

The content is built once as small blocks (headings, paragraphs, tables, code, chart slots)
that each format renders. Any summary key may be missing: a section without data is left out.
User strings (class names, paths, reasons, options) are escaped in both formats.
"""

from __future__ import annotations

import html
import json
import math
import re
from dataclasses import dataclass
from typing import Any

import polars as pl

from labelprep.charts import render_charts
from labelprep.weights import COUNT_COLUMNS, WEIGHT_SCHEMES, dataset_summary, imbalance_ratio

# Inline: static text in a markdown subset (**bold**, `code`) or ("user", text), escaped.
Inline = str | tuple[str, str]


@dataclass(frozen=True)
class Heading:
    level: int
    text: str


@dataclass(frozen=True)
class Para:
    parts: tuple[Inline, ...]


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    text: bool = False  # left-align every column (default: numbers after the first column)


@dataclass(frozen=True)
class Code:
    text: str


@dataclass(frozen=True)
class ChartSlot:
    title: str


Block = Heading | Para | Table | Code | ChartSlot

_COUNTS = {
    "soft_mass": "soft mass",
    "support": "support",
    "hard_count": "hard count",
    "candidate_count": "candidates",
    "labelled_count": "labelled",
    "excluded_count": "excluded",
    "prior": "prior",
}


def render_markdown(stats: pl.DataFrame, summary: dict[str, Any]) -> str:
    """Render the imbalance report as GitHub-flavoured markdown (pipe tables, no HTML).

    Parameters
    ----------
    stats
        Weighted class statistics: the counts frame after :func:`labelprep.weights.add_weights`.
    summary
        Run summary (version, row counts, rejects, evidence kinds, options...); any key may
        be missing.

    Examples
    --------
    >>> stats = pl.DataFrame({"split": [None, None], "class": ["a", "b"],
    ...                       "soft_mass": [3.0, 1.0], "support": [4, 2]})
    >>> render_markdown(stats, {}).splitlines()[0]
    '# labelprep imbalance report'
    """
    return "\n\n".join(_md_block(b) for b in _blocks(stats, summary) if _md_block(b)) + "\n"


def render_html(stats: pl.DataFrame, summary: dict[str, Any]) -> str:
    """Render the imbalance report as one self-contained HTML page that works offline.

    The charts are inline SVG, drawn by :mod:`labelprep.charts` without any plotting library.

    Examples
    --------
    >>> stats = pl.DataFrame({"class": ["<b>"], "soft_mass": [1.0]})
    >>> "&lt;b&gt;" in render_html(stats, {})
    True
    """
    charts = render_charts(stats)
    body = "\n".join(_html_block(b, charts) for b in _blocks(stats, summary))
    return _PAGE.format(css=_CSS, body=body)


def _blocks(stats: pl.DataFrame, summary: dict[str, Any]) -> list[Block]:
    block = _all_rows(stats)
    count_by = str(summary.get("count_by", "soft"))
    blocks: list[Block] = [Heading(1, "labelprep imbalance report")]
    if "version" in summary:
        blocks.append(Para(("labelprep ", ("user", str(summary["version"])))))
    blocks += _overview(summary)
    blocks += _classes(block, summary, count_by)
    blocks += _which_count(block)
    blocks += _weights(block, summary, count_by)
    blocks += _calibration(block, summary)
    blocks += _splits(stats, count_by)
    blocks += _votes(summary)
    blocks += _rows(summary)
    return blocks


def _votes(summary: dict[str, Any]) -> list[Block]:
    """Vote aggregation and annotator agreement, when the inputs had votes."""
    votes = summary.get("votes")
    if not isinstance(votes, dict):
        return []
    agreement = votes.get("agreement") or {}
    numbers = {
        "method": votes.get("method"),
        "votes in": votes.get("votes_in"),
        "votes used": votes.get("votes_used"),
        "duplicate votes": votes.get("duplicate_votes"),
        "items with a tied plurality": votes.get("ties"),
        "Fleiss' kappa": agreement.get("fleiss_kappa"),
        "Krippendorff's alpha (nominal)": agreement.get("krippendorff_alpha"),
        "mean vote entropy (bits)": agreement.get("mean_vote_entropy"),
    }
    shown = {k: v for k, v in numbers.items() if v is not None}
    return [Heading(2, "Votes and annotator agreement"), *_kv_table(("", "value"), shown)]


def _all_rows(stats: pl.DataFrame) -> pl.DataFrame:
    block = stats.filter(pl.col("split").is_null()) if "split" in stats.columns else stats
    return block.sort("index") if "index" in block.columns else block


def _num(value: Any) -> str:
    if isinstance(value, str) or value is None:
        return value or "-"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return json.dumps(value, default=str)
    if isinstance(value, float) and not (value.is_integer() and abs(value) < 1e15):
        if 1000 <= abs(value) < math.inf:  # thousands separated like the integers
            return f"{value:,.1f}"
        return f"{value:.4g}"
    return f"{int(value):,}"


def _kv_table(header: tuple[str, str], mapping: Any, *, text: bool = False) -> list[Block]:
    pairs = mapping.items() if isinstance(mapping, dict) else ()
    return [Table(header, tuple((str(k), _num(v)) for k, v in pairs), text)] if pairs else []


def _frame_table(frame: pl.DataFrame, columns: dict[str, str]) -> Table:
    present = [c for c in columns if c in frame.columns]
    rows = [(str(r["class"]), *(_num(r[c]) for c in present)) for r in frame.iter_rows(named=True)]
    return Table(("class", *(columns[c] for c in present)), tuple(rows))


def _overview(summary: dict[str, Any]) -> list[Block]:
    keys = ("rows_in", "rows_accepted", "rows_rejected", "renormalized", "smoothed")
    rows = {k.replace("_", " "): summary[k] for k in keys if k in summary}
    blocks: list[Block] = [Heading(2, "Rows"), *_kv_table(("", "rows"), rows)] if rows else []
    if set(keys[:3]) <= summary.keys() and summary[keys[0]] != summary[keys[1]] + summary[keys[2]]:
        blocks.append(Para(("**Warning:** rows in is not rows accepted + rows rejected.",)))
    if isinstance(inputs := summary.get("inputs"), list) and inputs:
        table = tuple((str(i.get("path", "?")), _num(i.get("rows"))) for i in inputs)
        blocks += [Heading(3, "Inputs"), Table(("path", "rows"), table)]
    return blocks


def _classes(block: pl.DataFrame, summary: dict[str, Any], count_by: str) -> list[Block]:
    if block.is_empty():
        return []
    column = COUNT_COLUMNS.get(count_by, count_by)
    note = (
        "**soft mass**: sum of the items' probabilities (the expected count); **support**: items"
        " with p > 0; **hard count**: items whose argmax is the class; **candidates**: items"
        " whose mask allows it; **labelled** / **excluded**: items that name it as their class /"
        f" rule it out. **prior** = n_k / N, with n_k the `{column}` (count_by = {count_by})."
    )
    blocks: list[Block] = [Heading(2, "Classes"), _frame_table(block, _COUNTS), Para((note,))]
    blocks.append(ChartSlot("Class counts"))
    dataset = summary.get("dataset")
    if not isinstance(dataset, dict) and column in block.columns:
        dataset = dataset_summary(block, count_by=count_by)  # type: ignore[arg-type]
    return blocks + _imbalance(dataset) if isinstance(dataset, dict) else blocks


def _imbalance(dataset: dict[str, Any]) -> list[Block]:
    rows = {
        "imbalance ratio (largest / smallest non-zero n_k)": dataset.get("imbalance_ratio"),
        "prior entropy (bits)": dataset.get("prior_entropy_bits"),
        "effective number of classes (2 ** entropy)": dataset.get("effective_classes"),
        "classes (K)": dataset.get("k"),
        "N (sum of n_k)": dataset.get("n"),
    }
    blocks: list[Block] = [Heading(3, "Imbalance"), *_kv_table(("", "value"), rows)]
    if empty := dataset.get("zero_mass_classes"):
        names = ("user", ", ".join(map(str, empty)))
        blocks.append(Para(("Classes with no mass (all weights 0): ", names, ".")))
    return blocks


def _which_count(block: pl.DataFrame) -> list[Block]:
    if not {"soft_mass", "support"} <= set(block.columns):
        return []
    observed = block.filter(pl.col("soft_mass") > 0)
    mass, support = (observed[c].cast(pl.Float64) for c in ("soft_mass", "support"))
    parts: list[Inline] = [
        "**Soft mass is the expected class count.** Summing the items' probabilities for a"
        f" class gives how many items of that class to expect; the soft masses sum to"
        f" {_num(float(mass.sum()))}, one per accepted row. If you balance at all, balance"
        " this number. **Support over-counts small probabilities:** an item with p = 0.05"
        " counts as much as one with p = 0.9."
    ]
    if observed.height:
        k = int((support / mass).arg_max() or 0)
        parts += [" Here ", ("user", str(observed["class"][k]))]
        parts.append(
            f" is given some probability by {_num(support[k])} items, but its expected count is"
            f" {_num(mass[k])}. The imbalance ratio is {_num(imbalance_ratio(mass))} by soft"
            f" mass and {_num(imbalance_ratio(support))} by support."
        )
    return [Heading(2, "Which count to balance"), Para(tuple(parts))]


def _weights(block: pl.DataFrame, summary: dict[str, Any], count_by: str) -> list[Block]:
    schemes = {s: s for s in WEIGHT_SCHEMES if s != "prior" and s in block.columns}
    if not schemes:
        return []
    options = _options(summary)
    params = "".join(f", {p} = {options[p]}" for p in ("beta", "tau") if p in options)
    note = (
        f"n_k = `{COUNT_COLUMNS.get(count_by, count_by)}`{params}. K counts the classes with"
        " n_k > 0; a class with no mass gets weight 0, since no target carries mass for it."
    )
    definitions = Table(("scheme", "definition"), tuple(WEIGHT_SCHEMES.items()), text=True)
    table = _frame_table(block, schemes)
    return [Heading(2, "Class weights"), table, ChartSlot("Class weights by scheme"),
            Para((note,)), definitions]  # fmt: skip


def _options(summary: dict[str, Any]) -> dict[str, Any]:
    options = summary.get("options")
    return options if isinstance(options, dict) else {}


_CALIBRATION = (
    "Weighting the loss moves the predicted probabilities: with class weights w_k, the"
    " weighted cross-entropy is minimised by q_k(x) proportional to w_k p(k | x), so the model"
    " is no longer calibrated and over-predicts the up-weighted classes. To keep calibrated"
    " probabilities, train without weights and move the decision instead, with the"
    " logit-adjustment offsets tau * log(prior_k): add them to the logits inside the loss only"
    " (the plain logits then give balanced decisions), or subtract them after training"
    " (post-hoc prior correction) where balanced decisions are needed, while softmax(logits)"
    " still estimates the probabilities under the training prior."
)
_TORCH_NOTE = (
    "**PyTorch note:** `CrossEntropyLoss(weight=w)` with the default mean reduction divides"
    " by the summed weights of the batch's targets when the targets are class indices, but by"
    " the batch size when the targets are probabilities (soft targets): the same weights give"
    " a differently scaled loss. To get the class-index normalisation with soft targets, use"
    " `reduction='sum'` and divide by `(soft_targets @ w).sum()`."
)
_SNIPPET = """import torch
import torch.nn.functional as F

# tau * log(prior) per class, vocabulary order (count_by = {count_by}, tau = {tau})
log_prior = torch.tensor([
{values}
])

# (a) logit-adjusted loss: train on shifted logits, predict with the plain logits
loss = F.cross_entropy(logits + log_prior, soft_targets)

# (b) post-hoc correction of a model trained without class weights:
#     softmax(logits) stays calibrated; balanced decisions use the shifted logits
balanced_prediction = (logits - log_prior).argmax(dim=-1)"""


def _calibration(block: pl.DataFrame, summary: dict[str, Any]) -> list[Block]:
    blocks: list[Block] = [Heading(2, "Calibration: weights or offsets"), Para((_CALIBRATION,))]
    if "logit_adjustment" in block.columns:
        blocks.append(Code(_torch_snippet(block, summary)))
    return [*blocks, Para((_TORCH_NOTE,))]


def _torch_snippet(block: pl.DataFrame, summary: dict[str, Any]) -> str:
    offsets = block["logit_adjustment"].cast(pl.Float64).fill_null(0.0).to_list()
    names = [re.sub(r"[\r\n`]", " ", str(n)) for n in block["class"].to_list()]
    if len(offsets) <= 30:
        lines = [f"    {v:.6f},  # {n}" for v, n in zip(offsets, names, strict=True)]
    else:  # too many classes for one comment per line
        rows = range(0, len(offsets), 6)
        lines = ["    " + " ".join(f"{v:.6f}," for v in offsets[i : i + 6]) for i in rows]
    tau = _options(summary).get("tau", 1.0)
    count_by = summary.get("count_by", "soft")
    return _SNIPPET.format(count_by=count_by, tau=tau, values="\n".join(lines))


def _splits(stats: pl.DataFrame, count_by: str) -> list[Block]:
    if "split" not in stats.columns:
        return []
    names = stats["split"].drop_nulls().unique(maintain_order=True).to_list()
    blocks: list[Block] = [Heading(2, "Per split")] if names else []
    drop = ("labelled_count", "excluded_count")
    columns = {k: v for k, v in _COUNTS.items() if k not in drop} | {"balanced": "balanced"}
    for name in names:
        block = _all_rows(stats.filter(pl.col("split") == name).drop("split"))
        blocks += [Heading(3, f"Split {name}"), _frame_table(block, columns)]
        if (column := COUNT_COLUMNS.get(count_by)) in block.columns:
            ratio = _num(imbalance_ratio(block[column]))
            blocks.append(Para((f"Imbalance ratio (by {column}): {ratio}.",)))
    return blocks


def _rows(summary: dict[str, Any]) -> list[Block]:
    sections = (
        ("Rejected rows by reason", ("reason", "rows"), "rejects_by_reason"),
        ("Accepted rows by evidence", ("evidence", "rows"), "rows_by_evidence"),
        ("Candidate set size", ("classes possible", "rows"), "candidate_set_size"),
        ("Target entropy (bits)", ("statistic", "bits"), "target_entropy_bits"),
        ("Options", ("option", "value"), "options"),
    )
    blocks: list[Block] = []
    for title, header, key in sections:
        if table := _kv_table(header, summary.get(key), text=key == "options"):
            blocks += [Heading(2, title), *table]
    return blocks


def _md_escape(text: str) -> str:
    text = re.sub(r"[\r\n]+", " ", text)
    return re.sub(r"([\\`*_\[\]<>|#~&])", r"\\\1", text)


def _md_inline(part: Inline) -> str:
    return part if isinstance(part, str) else _md_escape(part[1])


def _md_block(block: Block) -> str:
    if isinstance(block, Heading):
        return "#" * block.level + " " + _md_escape(block.text)
    if isinstance(block, Para):
        return "".join(map(_md_inline, block.parts))
    if isinstance(block, Code):
        return f"```python\n{block.text}\n```"
    if isinstance(block, Table):
        rule = "| --- |" + (" --- |" if block.text else " ---: |") * (len(block.header) - 1)
        rows = [block.header, *block.rows]
        lines = ["| " + " | ".join(map(_md_escape, cells)) + " |" for cells in rows]
        return "\n".join([lines[0], rule, *lines[1:]])
    return ""  # charts are for the HTML page only


def _html_inline(part: Inline) -> str:
    if not isinstance(part, str):
        return html.escape(part[1])
    text = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", html.escape(part))
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", text)


def _html_table(block: Table) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in block.header)
    cells = ("".join(f"<td>{html.escape(c)}</td>" for c in row) for row in block.rows)
    body = "".join(f"<tr>{row}</tr>" for row in cells)
    table = f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody>"
    return f'<div class="t"><table class="{"text" if block.text else "num"}">{table}</table></div>'


def _html_block(block: Block, charts: dict[str, str]) -> str:
    if isinstance(block, Heading):
        return f"<h{block.level}>{html.escape(block.text)}</h{block.level}>"
    if isinstance(block, Para):
        return f"<p>{''.join(map(_html_inline, block.parts))}</p>"
    if isinstance(block, Code):
        return f"<pre><code>{html.escape(block.text)}</code></pre>"
    if isinstance(block, Table):
        return _html_table(block)
    svg = charts.get(block.title)
    return (
        f"<figure>{svg}<figcaption>{html.escape(block.title)}</figcaption></figure>" if svg else ""
    )


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>labelprep imbalance report</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{css}</style></head>
<body><main>
{body}
</main></body></html>
"""
_CSS = """
body { margin: 0; background: #f3f4f6; color: #1d2430; font: 15px/1.5 system-ui, sans-serif; }
main { max-width: 1040px; margin: 0 auto; padding: 24px 32px 48px; background: #fff; }
h1 { font-size: 26px; margin: 0 0 4px; } h3 { font-size: 16px; margin: 20px 0 6px; }
h2 { font-size: 20px; margin: 32px 0 8px; padding-bottom: 4px; border-bottom: 1px solid #e3e6eb; }
.t { overflow-x: auto; } figure { margin: 12px 0 20px; } svg { max-width: 100%; height: auto; }
td:first-child { max-width: 420px; overflow-wrap: break-word; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; margin: 6px 0 10px; }
th, td { padding: 4px 12px; border-bottom: 1px solid #e3e6eb; text-align: right; }
th:first-child, td:first-child, .text th, .text td { text-align: left; }
th { font-weight: 600; white-space: nowrap; } tbody tr:nth-child(even) { background: #fafbfc; }
th, code, pre { background: #f0f2f5; } code { padding: 1px 4px; border-radius: 3px; }
code, pre { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 13px; }
pre { padding: 12px 14px; overflow-x: auto; border-radius: 4px; } pre code { padding: 0; }
figcaption, .note { color: #5b6472; font-size: 13px; }
"""
