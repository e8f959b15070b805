"""Per-class counts of one side of a comparison, from a dataset or from a run's outputs.

A side is a dataset (paths, globs or an in-memory frame, read with the options of
:func:`labelprep.run`), a run's output directory, its ``class_stats.parquet`` or
``manifest.json``, or a class statistics table in memory (a frame with the columns of
``class_stats.parquet``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import polars as pl

from labelprep.drift import PriorDrift, prior_drift
from labelprep.errors import ConfigError, VocabularyError, did_you_mean
from labelprep.inputs.frames import as_lazy, is_frame
from labelprep.outputs import CLASS_STATS, MANIFEST
from labelprep.parameters import resolve_run_inputs
from labelprep.pipeline import count, prepare
from labelprep.results import class_statistics
from labelprep.weights import COUNT_COLUMNS

Align = Literal["exact", "union"]
"""How two sides with different classes are matched (see :func:`labelprep.compare`)."""

STATS_COLUMNS = frozenset({"class", "index", "soft_mass", "prior"})
"""Columns that make a table (a file or a frame) a class statistics table."""


@dataclass(frozen=True)
class ClassCounts:
    """Per-class counts of one side of a comparison."""

    label: str
    classes: tuple[str, ...]
    counts: tuple[float, ...]


def drift_between(a: ClassCounts, b: ClassCounts, *, align: Align = "exact") -> PriorDrift:
    """Drift between two sides, matched by class name. Sides with different classes are
    an error naming them, unless ``align="union"`` (a class absent on a side counts 0)."""
    if align not in ("exact", "union"):
        raise ConfigError(f"align={align!r}: use exact or union.")
    only_a = [c for c in a.classes if c not in b.classes]
    only_b = [c for c in b.classes if c not in a.classes]
    if (only_a or only_b) and align == "exact":
        raise VocabularyError(
            f"{a.label} and {b.label} have different classes: only in {a.label}: "
            f"{', '.join(only_a) or '(none)'}; only in {b.label}: {', '.join(only_b) or '(none)'}. "
            "Pass --classes to read both with one vocabulary, or --align union to compare "
            "over the union of the classes (a class absent on one side counts 0 there)."
        )
    classes = list(dict.fromkeys([*a.classes, *b.classes]))
    lookup_a = dict(zip(a.classes, a.counts, strict=True))
    lookup_b = dict(zip(b.classes, b.counts, strict=True))
    return prior_drift(
        classes, [lookup_a.get(c, 0.0) for c in classes], [lookup_b.get(c, 0.0) for c in classes]
    )


def side_label(source: object, default: str) -> str:
    """How a side is named in messages: its path, or ``default`` for a frame."""
    return default if is_frame(source) else str(source)


def load_class_counts(
    source: object,
    *,
    split: str | None = None,
    settings: dict[str, Any] | None = None,
) -> ClassCounts:
    """Per-class counts from a dataset, a run's output directory, its ``class_stats.parquet``
    or its ``manifest.json`` (by ``count_by``; of one split when ``split`` is given)."""
    settings = dict(settings or {})
    count_by = settings.get("count_by") or "soft"
    stats = load_stats(source, settings=settings)
    label = side_label(source, "<baseline frame>")
    return counts_of_split(stats, label, split, COUNT_COLUMNS[count_by])


def load_stats(
    source: object, *, settings: dict[str, Any], config: str | Path | bool = False
) -> pl.DataFrame:
    """The class statistics of a dataset, or those a run already wrote."""
    return load_stats_made_with(source, settings=settings, config=config)[0]


def load_stats_made_with(
    source: object, *, settings: dict[str, Any], config: str | Path | bool = False
) -> tuple[pl.DataFrame, dict[str, Any]]:
    """The class statistics of ``source`` and the :data:`WEIGHT_SETTINGS` their weight
    columns were computed with: the run's (from its ``manifest.json``), those of the
    options the inputs were read with, or none known (a statistics table in memory)."""
    if is_frame(source):
        table = stats_frame(source)
        if table is not None:
            return table, {}
    elif isinstance(source, (str, Path)):
        stats_path = _stats_path(Path(source))
        if stats_path is not None:
            if not stats_path.is_file():
                raise ConfigError(f"{source}: no {CLASS_STATS} found there.")
            return pl.read_parquet(stats_path), _run_settings(stats_path.with_name(MANIFEST))
    paths, options = resolve_run_inputs(source, config=config, settings=settings)
    prepared = prepare(paths, options)
    made_with = {name: getattr(options, name) for name in WEIGHT_SETTINGS}
    return class_statistics(prepared, count(prepared)), made_with


WEIGHT_SETTINGS = ("count_by", "beta", "tau")
"""The options behind the weight columns of ``class_stats.parquet``."""


def _run_settings(manifest: Path) -> dict[str, Any]:
    """The :data:`WEIGHT_SETTINGS` a run recorded in its manifest (none when unreadable)."""
    try:
        options = json.loads(manifest.read_text(encoding="utf-8")).get("options")
    except (OSError, ValueError, AttributeError):
        return {}
    if not isinstance(options, dict):
        return {}
    return {name: options[name] for name in WEIGHT_SETTINGS if options.get(name) is not None}


def stats_frame(frame: object) -> pl.DataFrame | None:
    """A frame that is a class statistics table, in Polars (None for other frames)."""
    lazy = as_lazy(frame, "<frame>")
    if not set(lazy.collect_schema().names()) >= STATS_COLUMNS:
        return None
    table = lazy.collect()
    if "split" not in table.columns:
        table = table.with_columns(pl.lit(None, dtype=pl.String).alias("split"))
    return table


def _stats_path(path: Path) -> Path | None:
    if path.is_dir():
        return path / CLASS_STATS
    if path.name == MANIFEST:
        return path.with_name(CLASS_STATS)
    if path.name == CLASS_STATS or (path.suffix == ".parquet" and _is_class_stats(path)):
        return path
    return None


def _is_class_stats(path: Path) -> bool:
    names = pl.read_parquet_schema(path)
    return set(names) >= STATS_COLUMNS


def split_block(stats: pl.DataFrame, label: str, split: str | None) -> pl.DataFrame:
    """The K rows of one split (None: all rows) of a class statistics table, in class
    order; an unknown split is an error naming ``label`` and the splits there are."""
    block = stats.filter(pl.col("split").is_null() if split is None else pl.col("split") == split)
    if stats.is_empty():
        raise ConfigError(f"{label}: the class statistics table has no rows.")
    if block.is_empty():
        found = sorted(s for s in stats["split"].unique().to_list() if s is not None)
        raise ConfigError(
            f"{label}: no split {split!r}; the splits are: {', '.join(found) or '(none)'}."
            + did_you_mean(str(split), found)
        )
    return block.sort("index")


def counts_of_split(stats: pl.DataFrame, label: str, split: str | None, column: str) -> ClassCounts:
    """The counts of one split (None: all rows) of a class statistics table, in class order."""
    block = split_block(stats, label, split)
    name = label if split is None else f"{label} [{split}]"
    return ClassCounts(name, tuple(block["class"]), tuple(float(v) for v in block[column]))
