"""Accuracy of every aggregation method on public crowd-labelling data, side by side with
crowd-kit, and Dawid-Skene timing.

Not a test: it needs the shared data folder, which is never copied into the project, and
crowd-kit is never a project dependency. Usage::

    python benchmarks/eval_aggregation.py [--data ../shared/data/crowd]
        [--crowd-kit-python PY] [--crowd-kit-cache FILE] [--no-timing]

Prints Markdown tables: the accuracy against gold of each method on each data set with
gold, with crowd-kit's accuracy for the same model on the same encoded votes in brackets
(default parameters; ``!`` marks a labelprep figure more than 0.005 below it); the
iterations each iterative method ran (``(cap)`` when it stopped at ``max_iter``); for each
such shortfall, what crowd-kit itself gives when its own run is made comparable (Dawid-Skene
and one-coin run to convergence, MACE with annotators and labels numbered in order of first
appearance: see the README); then timings and agreement statistics.

crowd-kit runs in the interpreter given by ``--crowd-kit-python`` (one process per model
and data set, each result appended to the cache file, keyed by the votes' fingerprint, so
a later run reuses it; without that option only cached results are shown). Its MACE runs
with ``n_restarts=1``: its ten restarts all draw the same start (``random_state=0``), so
one run gives the same result ten times faster. Ties: labelprep's argmax takes the lowest
class index (classes sorted by their numeric code); the "MV expected" column is the
majority accuracy expected with uniformly random tie-breaking.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl
from crowd_kit_reference import CrowdKit

from labelprep.aggregation import (
    DawidSkene,
    EncodedVotes,
    fleiss_kappa,
    get_method,
    krippendorff_alpha_nominal,
    vote_counts,
)

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "crowd"
DEFAULT_CACHE = Path(__file__).resolve().parent / ".data" / "crowd_kit_reference.jsonl"


@dataclass(frozen=True)
class Dataset:
    """Encoded votes plus gold codes (``-1`` where an item has no gold)."""

    name: str
    votes: EncodedVotes
    gold: npt.NDArray[np.int64]


def _strings(df: pl.DataFrame) -> pl.DataFrame:
    """All columns as stripped strings (several files carry CR line endings)."""
    return df.select(pl.all().cast(pl.String).str.strip_chars())


def read_snow(path: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Snow et al. 2008 TSV: one vote per row with the item's gold on every row."""
    raw = _strings(pl.read_csv(path, separator="\t", infer_schema=False, quote_char=None))
    votes = raw.select(
        item=pl.col("orig_id"), annotator=pl.col("!amt_worker_ids"), label=pl.col("response")
    )
    gold = raw.select(item=pl.col("orig_id"), gold=pl.col("gold")).unique()
    return votes, gold


def _read_tab(path: Path, names: list[str]) -> pl.DataFrame:
    return pl.read_csv(
        path, separator="\t", has_header=False, infer_schema=False, new_columns=names
    )


def read_sme(crowd: Path, truth: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Zhang et al. 2016 copies: headerless ``item worker label`` and ``item label`` files."""
    votes = _strings(_read_tab(crowd, ["item", "annotator", "label"]))
    gold = _strings(_read_tab(truth, ["item", "gold"])).unique()
    return votes, gold


def read_act(path: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Headerless ``worker, item, label, gold[, extra]`` CSV."""
    raw = _strings(pl.read_csv(path, has_header=False, infer_schema=False))
    worker, item, label, gold_label = raw.columns[:4]
    votes = raw.select(item=pl.col(item), annotator=pl.col(worker), label=pl.col(label))
    gold = raw.select(item=pl.col(item), gold=pl.col(gold_label)).unique()
    return votes, gold


def read_music(path: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Rodrigues et al. 2013 music genres: CR line endings, string class names."""
    raw = _strings(pl.read_csv(path, infer_schema=False, eol_char="\r"))
    votes = raw.select(
        item=pl.col("Input.song"), annotator=pl.col("WorkerID"), label=pl.col("Answer.pred_label")
    )
    gold = raw.select(item=pl.col("Input.song"), gold=pl.col("Input.true_label")).unique()
    return votes, gold


def _codes(values: pl.Expr) -> pl.Expr:
    return (values.rank("dense") - 1).cast(pl.Int64)


def encode(name: str, votes: pl.DataFrame, gold: pl.DataFrame) -> Dataset:
    """Dense codes: items and annotators in sorted order, classes by numeric value."""
    if gold.get_column("item").is_duplicated().any():
        raise SystemExit(f"{name}: an item has two different gold labels")
    values = pl.concat([votes.get_column("label"), gold.get_column("gold").alias("label")])
    numeric = values.cast(pl.Int64, strict=False).null_count() == 0
    dtype = pl.Int64 if numeric else pl.String
    classes = values.cast(dtype).unique().sort()
    lookup = pl.DataFrame({"value": classes, "code": pl.int_range(len(classes), eager=True)})
    coded = votes.with_columns(
        _codes(pl.col("item")).alias("item_code"),
        _codes(pl.col("annotator")).alias("annotator"),
        pl.col("label").cast(dtype).replace_strict(lookup["value"], lookup["code"]),
    )
    items = coded.select("item", "item_code").unique().sort("item_code")
    gold_codes = items.join(gold, on="item", how="left").select(
        pl.col("gold").cast(dtype).replace_strict(lookup["value"], lookup["code"]).fill_null(-1)
    )
    encoded = EncodedVotes.from_frame(
        coded.select(pl.col("item_code").alias("item"), "annotator", "label"),
        n_items=len(items),
        n_annotators=coded.get_column("annotator").n_unique(),
        n_classes=len(classes),
    )
    return Dataset(name, encoded, gold_codes.to_series().to_numpy().astype(np.int64))


def load_all(root: Path) -> list[Dataset]:
    """Every dataset of the folder that has gold labels."""
    loaders: dict[str, Callable[[], tuple[pl.DataFrame, pl.DataFrame]]] = {
        "RTE": lambda: read_snow(root / "snow2008_rte.tsv"),
        "TEMP": lambda: read_snow(root / "snow2008_temp.tsv"),
        "WSD": lambda: read_snow(root / "snow2008_wsd.tsv"),
        "Dog": lambda: read_sme(root / "sme_dog_crowd.txt", root / "sme_dog_truth.txt"),
        "Web": lambda: read_sme(root / "sme_web_crowd.txt", root / "sme_web_truth.txt"),
        "Bluebirds": lambda: read_sme(
            root / "sme_bluebird_crowd.txt", root / "sme_bluebird_truth.txt"
        ),
        "MS": lambda: read_act(root / "act_MS.csv"),
        "CF": lambda: read_act(root / "act_CF.csv"),
        "SP": lambda: read_act(root / "act_SP.csv"),
        "ZenCrowd": lambda: read_act(root / "act_ZenCrowd_all.csv"),
        "music": lambda: read_music(root / "music_mturk_answers_cr.csv"),
    }
    return [encode(name, *load()) for name, load in loaders.items()]


def accuracy(proba: npt.NDArray[np.float64], gold: npt.NDArray[np.int64]) -> float:
    """Share of gold-labelled items whose argmax (lowest index on ties) is the gold class."""
    known = gold >= 0
    return float((np.argmax(proba[known], axis=1) == gold[known]).mean())


def expected_majority(data: Dataset) -> float:
    """Majority accuracy expected when ties are broken uniformly at random."""
    counts = vote_counts(data.votes)[data.gold >= 0]
    gold = data.gold[data.gold >= 0]
    top = counts == counts.max(axis=1, keepdims=True)
    return float((top[np.arange(len(gold)), gold] / top.sum(axis=1)).mean())


SHOWN = (
    "majority",
    "dawid-skene",
    "one-coin-dawid-skene",
    "glad",
    "mace",
    "wawa",
    "zero-based-skill",
)
ITERATIVE = ("dawid-skene", "one-coin-dawid-skene", "glad", "mace", "zero-based-skill")


TOLERANCE = 0.005
"""A labelprep figure more than this below crowd-kit's is marked ``!``."""

EXPLAINED = {"dawid-skene": "converged", "one-coin-dawid-skene": "converged", "mace": "aligned"}
"""For a shortfall: the crowd-kit variant that makes its run comparable (see
``crowd_kit_reference``)."""


@dataclass(frozen=True)
class Evaluation:
    """One data set's Markdown rows and its shortfalls against crowd-kit."""

    accuracy: str
    iterations: str
    shortfalls: list[str]


def _votes(data: Dataset) -> dict[str, npt.NDArray[np.int64]]:
    v = data.votes
    return {"item": v.item, "annotator": v.annotator, "label": v.label, "gold": data.gold}


def _shortfall(data: Dataset, name: str, ours: float, theirs: float, kit: CrowdKit) -> str:
    """One line: the shortfall and what crowd-kit gives when its run is made comparable."""
    line = f"- {data.name} {name}: labelprep {ours:.4f}, crowd-kit {theirs:.4f}"
    variant = EXPLAINED.get(name)
    fair = None if variant is None else kit.result(data.name, _votes(data), name, variant)
    if fair is not None:
        line += f"; crowd-kit {variant}: {fair['accuracy']:.4f}"
        if ours >= fair["accuracy"] - TOLERANCE:
            line += " (within tolerance)"
    return line


def evaluate(data: Dataset, kit: CrowdKit) -> Evaluation:
    """Accuracies (crowd-kit's in brackets), iterations, and the shortfalls."""
    v = data.votes
    scores = {name: get_method(name).fit_predict_proba(v) for name in SHOWN}
    cells = [data.name, f"{v.n_items}/{v.n_annotators}/{v.n_votes}/{v.n_classes}"]
    cells.append(f"{expected_majority(data):.4f}")
    shortfalls = []
    for name in SHOWN:
        ours = accuracy(scores[name].proba, data.gold)
        reference = kit.result(data.name, _votes(data), name)
        cell = f"{ours:.4f}"
        if reference is not None:
            theirs = reference["accuracy"]
            below = ours < theirs - TOLERANCE
            cell += f" ({theirs:.4f}){'!' if below else ''}"
            if below and name != "majority":
                shortfalls.append(_shortfall(data, name, ours, theirs, kit))
        cells.append(cell)
    iterations = [data.name] + [
        f"{scores[n].n_iter}{'' if scores[n].converged else ' (cap)'}" for n in ITERATIVE
    ]
    return Evaluation(
        "| " + " | ".join(cells) + " |", "| " + " | ".join(iterations) + " |", shortfalls
    )


def synthetic(n_votes: int, *, n_classes: int = 5, seed: int = 0) -> EncodedVotes:
    """Random votes from annotators right with probability 0.5 to 0.9, else uniform noise."""
    rng = np.random.default_rng(seed)
    n_items, n_annotators = n_votes // 10, max(n_votes // 500, 10)
    truth = rng.integers(0, n_classes, n_items)
    skill = rng.uniform(0.5, 0.9, n_annotators)
    item = np.repeat(np.arange(n_items), 10)
    annotator = rng.integers(0, n_annotators, item.size)
    right = rng.random(item.size) < skill[annotator]
    label = np.where(right, truth[item], rng.integers(0, n_classes, item.size))
    return EncodedVotes(item, annotator, label, n_items, n_annotators, n_classes)


def time_ds(name: str, votes: EncodedVotes) -> str:
    """Wall-clock time of one Dawid-Skene fit, best of 3."""
    best = np.inf
    for _ in range(3):
        start = time.perf_counter()
        result = DawidSkene().fit_predict_proba(votes)
        best = min(best, time.perf_counter() - start)
    return (
        f"| {name} | {votes.n_votes} | {votes.n_items} | {votes.n_annotators} | "
        f"{votes.n_classes} | {result.n_iter} | {best:.3f} |"
    )


AGREEMENT_KNOWN = (  # file, statistic, published value (data README / Krippendorff 2011)
    ("fleiss_wikipedia_example_counts.csv", "Fleiss' kappa", 0.210),
    ("reliability_data_3coders_15units.csv", "Krippendorff's alpha (nominal)", 0.691358),
    ("reliability_data_4coders_12units.csv", "Krippendorff's alpha (nominal)", 0.743),
)


def reliability_votes(path: Path) -> EncodedVotes:
    """Rows = coders, columns = units, blank = missing -> encoded votes."""
    wide = pl.read_csv(path, infer_schema=False)
    long = wide.unpivot(index="coder", variable_name="unit", value_name="value").drop_nulls()
    coded = long.select(
        pl.col("unit").rank("dense").cast(pl.Int64).sub(1).alias("item"),
        pl.col("coder").rank("dense").cast(pl.Int64).sub(1).alias("annotator"),
        pl.col("value").rank("dense").cast(pl.Int64).sub(1).alias("label"),
    )
    return EncodedVotes.from_frame(
        coded,
        n_items=int(coded["item"].max()) + 1,  # type: ignore[operator]
        n_annotators=int(coded["annotator"].max()) + 1,  # type: ignore[operator]
        n_classes=int(coded["label"].max()) + 1,  # type: ignore[operator]
    )


def agreement_rows(folder: Path) -> list[str]:
    """Agreement statistics on the shared examples next to their published values."""
    rows = []
    for name, statistic, known in AGREEMENT_KNOWN:
        path = folder / name
        if not path.is_file():
            continue
        if name.startswith("fleiss"):
            counts = pl.read_csv(path).drop("subject").to_numpy()
            value = fleiss_kappa(counts)
        else:
            value = krippendorff_alpha_nominal(reliability_votes(path))
        rows.append(f"| {name} | {statistic} | {value:.6f} | {known} |")
    return rows


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="crowd data folder")
    parser.add_argument(
        "--crowd-kit-python", default=None, help="an interpreter where crowd-kit is installed"
    )
    parser.add_argument("--crowd-kit-cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--no-timing", action="store_true", help="skip the timing table")
    return parser.parse_args(argv)


def print_accuracy(datasets: list[Dataset], kit: CrowdKit) -> None:
    """The accuracy table, the iterations table and the shortfalls."""
    rows = [evaluate(data, kit) for data in datasets]
    print("| data | items/annotators/votes/K | MV expected | " + " | ".join(SHOWN) + " |")
    print("|---" * (len(SHOWN) + 3) + "|")
    print("\n".join(row.accuracy for row in rows))
    print("\n| data | " + " | ".join(ITERATIVE) + " |")
    print("|---" * (len(ITERATIVE) + 1) + "|")
    print("\n".join(row.iterations for row in rows))
    shortfalls = [line for row in rows for line in row.shortfalls]
    print(f"\nMore than {TOLERANCE} below crowd-kit (majority aside): {len(shortfalls)}")
    print("\n".join(shortfalls))


def main(argv: list[str] | None = None) -> int:
    """Print the accuracy tables, then the timing and agreement tables."""
    args = _arguments(argv)
    if not (args.data / "snow2008_rte.tsv").is_file():
        print(f"crowd data not found in {args.data}; pass --data DIR", file=sys.stderr)
        return 2
    datasets = load_all(args.data)
    print_accuracy(datasets, CrowdKit(args.crowd_kit_python, args.crowd_kit_cache))
    if not args.no_timing:
        largest = max(datasets, key=lambda d: d.votes.n_votes)
        print("\n| Dawid-Skene timing | votes | items | annotators | K | iterations | seconds |")
        print("|---|---|---|---|---|---|---|")
        print(time_ds(largest.name, largest.votes))
        for size in (100_000, 1_000_000):
            print(time_ds(f"synthetic {size // 1000}k", synthetic(size)))
    print("\n| agreement example | statistic | labelprep | published |")
    print("|---|---|---|---|")
    print("\n".join(agreement_rows(args.data.parent / "agreement")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
