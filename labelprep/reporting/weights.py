"""Report sections on the class weights (with the extreme ones flagged and why) and on
calibration: paste-ready logit-adjustment offsets, or why the counts cannot support them."""

from __future__ import annotations

import re
from typing import Any

import polars as pl

from labelprep.reporting.blocks import (
    Block,
    Bullets,
    Code,
    Details,
    Figure,
    Heading,
    Inline,
    Para,
    Table,
    frame_table,
    names_list,
    num,
)
from labelprep.reporting.charts import weights_chart
from labelprep.reporting.classes import (
    EXTREME,
    HEAD_TAIL,
    by_count,
    count_column,
    head_and_tail,
)
from labelprep.weights import COUNT_COLUMNS, WEIGHT_SCHEMES

_FLAGS_SHOWN = 50


def options_of(summary: dict[str, Any]) -> dict[str, Any]:
    options = summary.get("options")
    return options if isinstance(options, dict) else {}


def weights_section(block: pl.DataFrame, summary: dict[str, Any], count_by: str) -> list[Block]:
    schemes = {s: s for s in WEIGHT_SCHEMES if s != "prior" and s in block.columns}
    if not schemes:
        return []
    options = options_of(summary)
    params = "".join(f", {p} = {options[p]}" for p in ("beta", "tau") if p in options)
    note = (
        f"n_k = `{COUNT_COLUMNS.get(count_by, count_by)}`{params}. K counts the classes with"
        " n_k > 0; a class with no mass gets weight 0, since no target carries mass for it."
    )
    definitions = Table(("scheme", "definition"), tuple(WEIGHT_SCHEMES.items()), text=True)
    k = block.height
    table = Details(f"Weights of all {k:,} classes", (frame_table(block, schemes),), k <= 40)
    blocks: list[Block] = [Heading(2, "Class weights"), *_flags(block, count_by)]
    if (reason := no_counts(block, summary, count_by)) is None:
        blocks += _weights_figure(block, count_by)
    else:
        blocks.append(Para(("**No meaningful weights:** ", ("user", reason), ".")))
    return [*blocks, table, Para((note,)), definitions]


def _extreme(count: int) -> str:
    return "1 extreme weight" if count == 1 else f"{count:,} extreme weights"


def _classes(count: int) -> str:
    return "1 class has" if count == 1 else f"{count:,} classes have"


def _weights_figure(block: pl.DataFrame, count_by: str) -> list[Block]:
    schemes = [s for s in WEIGHT_SCHEMES if s != "prior" and s in block.columns]
    loss = [s for s in schemes if s != "logit_adjustment"]
    if not loss:
        return []
    column = count_column(block, count_by)
    shown, blank = head_and_tail(by_count(block, column), column)
    what = HEAD_TAIL if blank else "every class"
    return [Figure(weights_chart(shown, loss, blank=blank), f"Class weights of {what}")]


def _flags(block: pl.DataFrame, count_by: str) -> list[Block]:
    """Classes whose balanced weight is more than 10 times the median weight."""
    column = count_column(block, count_by)
    if column is None or "balanced" not in block.columns:
        return []
    weights = block["balanced"].cast(pl.Float64)
    median = weights.filter(weights > 0).median()
    if not isinstance(median, float) or median <= 0:
        return []
    flagged = block.filter(pl.col("balanced") > EXTREME * median).sort("balanced", descending=True)
    if flagged.is_empty():
        return []
    items: list[tuple[Inline, ...]] = [
        (
            ("user", str(r["class"])),
            f": {column} = {num(r[column])}, balanced weight {num(r['balanced'])}"
            f" ({r['balanced'] / median:,.0f}x the median)",
        )
        for r in flagged.head(_FLAGS_SHOWN).iter_rows(named=True)
    ]
    if flagged.height > _FLAGS_SHOWN:
        items.append((f"and {flagged.height - _FLAGS_SHOWN:,} more (see the table)",))
    lead = (
        f"**{_extreme(flagged.height)}**: the balanced weight N / (K * n_k) is more than"
        f" {EXTREME:g} times the median weight ({num(median)}) for classes with very few"
        " items, so a handful of examples would dominate the loss."
        " Consider the milder schemes or the logit-adjustment offsets."
    )
    return [Para((lead,)), Bullets(tuple(items))]


def no_counts(block: pl.DataFrame, summary: dict[str, Any], count_by: str) -> str | None:
    """Why there are no class counts to derive weights from, if there are none."""
    column = count_column(block, count_by)
    if summary.get("rows_accepted") == 0:
        return "no row was accepted, so there are no class counts to derive them from"
    if column is None or block.is_empty():
        return "the class counts are missing"
    counts = block[column].cast(pl.Float64).fill_null(0.0)
    if float(counts.sum()) <= 0:
        return f"every class has {column} 0, so there are no class counts to derive them from"
    return None


def unsupported(block: pl.DataFrame, summary: dict[str, Any], count_by: str) -> str | None:
    """Why offsets computed from these counts would mislead, if they would."""
    if (reason := no_counts(block, summary, count_by)) is not None:
        return reason
    column = count_column(block, count_by)
    assert column is not None  # checked by no_counts
    empty = block.filter(block[column].cast(pl.Float64).fill_null(0.0) <= 0)["class"].to_list()
    if empty:
        return (
            f"{_classes(len(empty))} no mass ({names_list(empty, 20)}): their prior is 0"
            " and log(prior) is minus infinity, so any offset for them is a made-up floor."
            " Collect examples of these classes or drop them from the vocabulary first"
        )
    return None


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


def calibration_section(block: pl.DataFrame, summary: dict[str, Any], count_by: str) -> list[Block]:
    blocks: list[Block] = [Heading(2, "Calibration: weights or offsets"), Para((_CALIBRATION,))]
    if "logit_adjustment" in block.columns:
        if (reason := unsupported(block, summary, count_by)) is None:
            blocks.append(Code(_torch_snippet(block, summary)))
        else:
            blocks.append(Para(("**No paste-ready offsets:** ", ("user", reason), ".")))
    return [*blocks, Para((_TORCH_NOTE,))]


def _torch_snippet(block: pl.DataFrame, summary: dict[str, Any]) -> str:
    offsets = block["logit_adjustment"].cast(pl.Float64).fill_null(0.0).to_list()
    names = [re.sub(r"[\x00-\x1f\x7f-\x9f\u2028\u2029`]", " ", str(n)) for n in block["class"]]
    if len(offsets) <= 30:
        lines = [f"    {v:.6f},  # {n}" for v, n in zip(offsets, names, strict=True)]
    else:  # too many classes for one comment per line
        rows = range(0, len(offsets), 6)
        lines = ["    " + " ".join(f"{v:.6f}," for v in offsets[i : i + 6]) for i in rows]
    tau = options_of(summary).get("tau", 1.0)
    count_by = summary.get("count_by", "soft")
    return _SNIPPET.format(count_by=count_by, tau=tau, values="\n".join(lines))
