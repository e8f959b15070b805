"""One targets file per split, and the dataset card Hugging Face reads (``split_files``).

With ``split_files=True`` (``--split-files``) a run writes, next to ``targets.parquet``
(which stays the whole output, read by ``report``, ``refine`` and the loaders):

* ``splits/NAME.parquet`` for every split of the accepted rows, in order of first
  appearance: exactly that split's rows of ``targets.parquet``, in the same order, with
  the same schema and metadata (so ``hard_index`` is a ``ClassLabel`` there too);
* ``README.md``, a dataset card whose YAML front matter (``configs`` / ``data_files``)
  maps each split to its file, so that ``datasets.load_dataset(DIR)`` returns a
  ``DatasetDict`` keyed by split.

A split name must be usable both as a file name and as a Hugging Face split name:
letters, digits and ``_``, in parts joined by single dots (``train``, ``fold_1``,
``test.hard``; :data:`~labelprep.outdir.SPLIT_NAME`), and not ``all`` (``datasets``' name
for the union of the splits). A name such as ``../x``, ``a/b`` or ``val set`` is refused
(an :class:`~labelprep.errors.InputError` naming the first row that carries it), never
rewritten: an encoded name would no longer be the split the data says. So are two names
that differ only by case (``Train`` and ``train``: one file on a case-insensitive file
system), more than :data:`MAX_SPLITS` splits, and accepted rows with no split:
``datasets`` has no split for them, and putting them in one would mix them into a split
they do not belong to. A run that accepts no row writes no split file and no card.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from labelprep import __version__
from labelprep.errors import InputError, OutputError, display_path, os_error_message
from labelprep.inputs.ingest import FILE, ROW, collect_all
from labelprep.outdir import DATASET_CARD, SPLIT_NAME, SPLITS_DIR, TARGETS
from labelprep.outputs import row_group_rows

if TYPE_CHECKING:
    from labelprep.pipeline import Prepared

__all__ = ["check_split_column", "dataset_card", "split_paths", "write_split_files"]

_SHOWN = 3
MAX_SPLITS = 100
"""More distinct splits than this is a split column used for something else."""
_TEXT_FORMATS = ("csv", "tsv", "jsonl")


def check_split_column(prepared: Prepared) -> None:
    """Refuse ``split_files`` before any pass when the inputs have no split column."""
    if prepared.options.split_files and not prepared.has_split:
        column = prepared.options.columns.split
        raise InputError(
            f"--split-files writes one file per split, but no input has a split column "
            f"({column!r}); name it with --split-column, or run without --split-files."
        )


def write_split_files(prepared: Prepared, folder: Path) -> list[Path]:
    """Write ``splits/NAME.parquet`` per split and the dataset card ``README.md`` from
    ``folder``'s targets; return the paths written (to hash for the manifest). A run
    that accepted no row has no split to write: it writes neither."""
    source = _targets_source(folder)
    splits = _splits(source)
    if splits.height == 0:
        return []
    _check_names(prepared, splits)
    names = [str(name) for name in splits["split"]]
    directory = folder / SPLITS_DIR
    try:
        directory.mkdir()
    except OSError as exc:
        raise OutputError(os_error_message(exc, writing=True)) from exc
    _sink_each(source, directory, names, compression=prepared.options.compression)
    paths = split_paths(directory, names)
    card = folder / DATASET_CARD
    rows = [int(n) for n in splits["rows"]]
    card.write_text(dataset_card(names, rows, len(prepared.classes)), encoding="utf-8")
    return [*paths, card]


def split_paths(directory: Path, names: Sequence[str]) -> list[Path]:
    """``directory / NAME.parquet`` for each (already checked) split name."""
    return [directory / f"{name}.parquet" for name in names]


def _targets_source(folder: Path) -> Path | str:
    """The run's targets: ``targets.parquet``, or the part files of ``targets/``."""
    single = folder / TARGETS
    return single if single.is_file() else str(folder / TARGETS.removesuffix(".parquet") / "*")


def _splits(source: Path | str) -> pl.DataFrame:
    """Per split of the accepted rows, in order of first appearance: its rows and first id."""
    query = (
        pl.scan_parquet(source)
        .with_row_index("__at")
        .group_by("split")
        .agg(pl.len().alias("rows"), pl.col("id").first().alias("first_id"), pl.col("__at").min())
        .sort("__at")
    )
    return collect_all([query])[0]


def _check_names(prepared: Prepared, splits: pl.DataFrame) -> None:
    """Every accepted row has a split whose name can name a file and an HF split, and
    there are at most :data:`MAX_SPLITS` of them."""
    if splits.height > MAX_SPLITS:
        raise InputError(
            f"--split-files writes one file per split, but the accepted rows have "
            f"{splits.height} distinct splits (at most {MAX_SPLITS}); is "
            f"{prepared.options.columns.split!r} really the split column?"
        )
    problems: list[tuple[str, int, object, str | None]] = []
    seen: dict[str, str] = {}
    for name, rows, first_id in splits.select("split", "rows", "first_id").iter_rows():
        if name is None:
            problems.append(("have no split", rows, first_id, name))
        elif SPLIT_NAME.fullmatch(name) is None:
            problems.append((f"have the split {name!r}, not a valid name", rows, first_id, name))
        elif name.lower() == "all":  # datasets: the union of every split
            problems.append((f"have the split {name!r}, a reserved name", rows, first_id, name))
        elif (key := unicodedata.normalize("NFC", name).casefold()) in seen:
            why = f"have the split {name!r}, the same as {seen[key]!r} but for case"
            problems.append((why, rows, first_id, name))
        else:
            seen[key] = name
    if problems:
        raise InputError(_names_message(prepared, problems))


def _names_message(
    prepared: Prepared, problems: Sequence[tuple[str, int, object, str | None]]
) -> str:
    shown = "; ".join(
        f"{rows} accepted row(s) {why} (the first: {_first_row(prepared, first_id, name)})"
        for why, rows, first_id, name in problems[:_SHOWN]
    )
    more = f"; and {len(problems) - _SHOWN} more" if len(problems) > _SHOWN else ""
    return (
        f"--split-files: {shown}{more}. A split name must be letters, digits and '_', in "
        "parts joined by single dots (train, fold_1, test.hard), and not 'all', as Hugging "
        "Face datasets requires; fix the split column, or run without --split-files."
    )


def _first_row(prepared: Prepared, first_id: object, split: str | None) -> str:
    """``FILE, line N`` (``row N`` for Parquet) of an input row with this id and split."""
    same = pl.col("split").is_null() if split is None else pl.col("split") == split
    query = prepared.frame.filter((pl.col("id") == first_id) & same).select(FILE, ROW).head(1)
    found = collect_all([query])[0]
    if found.height == 0:
        return f"id {first_id!r}"
    index, row = found.row(0)
    source = next(s for s in prepared.sources if s.index == index)
    unit = "line" if source.format in _TEXT_FORMATS else "row"
    return f"{display_path(source.path)}, {unit} {row}, id {first_id!r}"


def _sink_each(
    source: Path | str, directory: Path, names: Sequence[str], *, compression: str
) -> None:
    """Each split's rows of the targets to ``directory/NAME.parquet``, in one pass over
    the targets (Polars' partitioned sink, in row order): the same schema, row-group
    layout and key-value metadata (class names, HF features) as the targets."""
    first = source if isinstance(source, Path) else sorted(Path(source).parent.iterdir())[0]
    metadata = pl.read_parquet_metadata(first)
    scan = pl.scan_parquet(source)
    codec: Any = compression
    known = frozenset(names)

    def file_name(args: pl.io.partition.FileProviderArgs) -> str:
        name = args.partition_keys["split"][0]
        if name not in known or args.index_in_partition != 0:  # checked names, one file each
            raise ValueError(f"unexpected split file for {name!r}")
        return f"{name}.parquet"

    partitions = pl.PartitionBy(
        directory,
        key="split",
        include_key=True,
        file_path_provider=file_name,
        max_rows_per_file=None,
        approximate_bytes_per_file=None,
    )
    query = scan.sink_parquet(
        partitions,
        metadata=metadata,
        compression=codec,
        row_group_size=row_group_rows(scan.collect_schema()),
        lazy=True,
    )
    try:
        collect_all([query])
    except OSError as exc:
        raise OutputError(os_error_message(exc, writing=True)) from exc
    except InputError as exc:  # the targets were just written: a failure is the disk's
        raise OutputError(f"cannot write {display_path(directory)}: {exc}") from exc


def dataset_card(names: Sequence[str], rows: Sequence[int], n_classes: int) -> str:
    """``README.md`` of a split output: the YAML front matter ``datasets`` reads, then a
    short description. Names and paths are JSON-quoted (valid YAML), so a split named
    ``true`` or ``1`` stays a string."""
    yaml = ["---", "configs:", "- config_name: default", "  data_files:"]
    for name in names:
        yaml.append(f"  - split: {json.dumps(name)}")
        yaml.append(f"    path: {json.dumps(f'{SPLITS_DIR}/{name}.parquet')}")
    table = [
        f"| `{name}` | {n} | `{SPLITS_DIR}/{name}.parquet` |"
        for name, n in zip(names, rows, strict=True)
    ]
    body = [
        "---",
        "",
        "# Soft targets",
        "",
        f"Written by labelprep {__version__}: soft targets, candidate masks and hard labels "
        f"over {n_classes} classes, one file per split. `targets.parquet` holds every split; "
        "`manifest.json` records the inputs, options and hashes, `class_stats.parquet` the "
        "per-class statistics and weights.",
        "",
        "| split | rows | file |",
        "|---|---:|---|",
        *table,
        "",
        "```python",
        "from datasets import load_dataset",
        "",
        'splits = load_dataset("path/to/this/folder")  # a DatasetDict keyed by split',
        "```",
        "",
    ]
    return "\n".join([*yaml, *body])
