"""PyTorch loaders over a run's outputs (the ``torch`` extra).

``pip install 'labelprep[torch]'`` (or, CPU only, ``pip install torch --index-url
https://download.pytorch.org/whl/cpu``). Without PyTorch, importing this module raises
:class:`~labelprep.errors.MissingExtraError` (also an :class:`ImportError`) saying so.

* :class:`TargetsDataset`: a map-style :class:`torch.utils.data.Dataset` over a run's
  ``targets.parquet`` (or one of its ``splits/NAME.parquet``), optionally one split or
  several. Each column is read and converted to a tensor once, whole (no Python loop
  over rows); items are views into those tensors, batched by ``DataLoader``'s default
  collate.
* :func:`class_weight_tensor` and :func:`logit_adjustment_tensor`: a weight scheme or
  the logit-adjustment offsets of ``class_stats.parquet``, in class order, for
  ``CrossEntropyLoss(weight=...)`` and ``logits + offsets``.

Examples
--------
>>> import labelprep, tempfile, torch
>>> out = tempfile.mkdtemp() + "/out"
>>> _ = labelprep.run(output_dir=out, config=False)
>>> data = TargetsDataset(out)
>>> item = data[0]
>>> item["soft_target"].dtype, item["mask"].dtype, item["hard_index"].dtype
(torch.float32, torch.float32, torch.int64)
>>> loss = torch.nn.CrossEntropyLoss(weight=class_weight_tensor(out))
>>> batch = next(iter(torch.utils.data.DataLoader(data, batch_size=8)))
>>> batch["soft_target"].shape
torch.Size([8, 4])
>>> float(loss(torch.zeros(8, 4), batch["soft_target"])) > 0
True
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from labelprep.errors import ConfigError, InputError, MissingExtraError, did_you_mean

try:
    import torch
    from torch.utils.data import Dataset
except ModuleNotFoundError as exc:  # only PyTorch itself missing is the extra's business
    if exc.name != "torch":
        raise
    raise MissingExtraError(
        "labelprep.torch_data needs PyTorch, which is not installed; install it with: "
        "pip install 'labelprep[torch]' (CPU only: pip install torch --index-url "
        "https://download.pytorch.org/whl/cpu)."
    ) from exc

from labelprep.class_weighting import Scheme, class_weights, logit_adjustment
from labelprep.outdir import CLASS_STATS, TARGETS
from labelprep.summary import RunResult

__all__ = ["TargetsDataset", "class_weight_tensor", "logit_adjustment_tensor"]

_REQUIRED = ("id", "soft_target", "mask", "hard_index")
_HELD = "the run's targets (held in memory)"


class TargetsDataset(Dataset[dict[str, Any]]):
    """A run's targets as a map-style dataset.

    Parameters
    ----------
    source
        A run's output directory (its ``targets.parquet``, or the ``targets/`` part files
        of the Dask engine), a targets file (``targets.parquet``,
        ``splits/train.parquet``), or the result of ``labelprep.run`` (its directory, or
        its targets held in memory for a run with ``output_dir=None``).
    split
        Keep only the rows of this split, or of these splits (``None``: every row).

    Item ``i`` is a dict: ``soft_target`` (float32, K), ``mask`` (float32, K, 1.0 where
    the class is possible), ``hard_index`` (int64 scalar), ``id`` (an int64 or float64
    scalar tensor for numeric ids, else the id as a string), and ``sample_weight``
    (float32 scalar) when the run wrote one. The whole columns are attributes too
    (``soft_target`` an N x K float32 tensor, ``mask`` N x K bool, ``hard_index``, ``ids``),
    with the class names in ``classes``: the dataset holds N x K x 5 bytes in memory.
    """

    def __init__(
        self, source: str | Path | RunResult, *, split: str | Sequence[str] | None = None
    ) -> None:
        self.path: Path | None = None
        if isinstance(source, RunResult) and source.output_dir is None:  # held in memory
            held = source.targets
            frame = _read_targets(_HELD, held.lazy(), held.columns, split)
            self.classes: tuple[str, ...] = source.classes
        else:
            folder = source.output_dir if isinstance(source, RunResult) else source
            self.path = path = targets_file(str(folder))
            frame = _read_targets(path, *_scan(path), split)
            self.classes = _classes(path)
        k = len(self.classes) if self.classes else _width(frame)
        self.soft_target = _float_matrix(frame["soft_target"], k)
        self.mask = _bool_matrix(frame["mask"], k)
        self.hard_index = _column_tensor(frame["hard_index"], np.int64)
        self.ids: torch.Tensor | list[str] = _ids(frame["id"])
        self.sample_weight: torch.Tensor | None = (
            _column_tensor(frame["sample_weight"], np.float32)
            if "sample_weight" in frame.columns
            else None
        )

    def __len__(self) -> int:
        return int(self.soft_target.shape[0])

    def __getitem__(self, index: int) -> dict[str, Any]:
        item: dict[str, Any] = {
            "id": self.ids[index],
            "soft_target": self.soft_target[index],
            "mask": self.mask[index].float(),
            "hard_index": self.hard_index[index],
        }
        if self.sample_weight is not None:
            item["sample_weight"] = self.sample_weight[index]
        return item


def targets_file(source: str | Path) -> Path:
    """The targets of a run directory: its ``targets.parquet``, or the ``targets/`` folder
    of part files a run on the Dask engine writes (or ``source`` itself, a file)."""
    path = Path(source)
    if path.is_dir():
        parts = path / TARGETS.removesuffix(".parquet")
        path = parts if not (path / TARGETS).exists() and _part_files(parts) else path / TARGETS
    if not path.is_file() and not _part_files(path):
        raise InputError(
            f"{path}: no such file; give a labelprep output directory or a targets file."
        )
    return path


def _part_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.parquet")) if folder.is_dir() else []


def _read_targets(
    path: Path | str, scan: pl.LazyFrame, names: list[str], split: str | Sequence[str] | None
) -> pl.DataFrame:
    """The columns the dataset needs, of the wanted splits, read once."""
    missing = [c for c in _REQUIRED if c not in names]
    if missing:
        raise InputError(f"{path}: not a labelprep targets file (no column {missing[0]!r}).")
    columns = [*_REQUIRED, *(["sample_weight"] if "sample_weight" in names else [])]
    if split is not None:
        wanted = [split] if isinstance(split, str) else list(split)
        _check_splits(path, scan, names, wanted)
        scan = scan.filter(pl.col("split").is_in(wanted))
    return _collect(path, scan.select(columns))


def _check_splits(
    path: Path | str, scan: pl.LazyFrame, names: list[str], wanted: list[str]
) -> None:
    if "split" not in names:
        raise ConfigError(f"{path}: split={wanted[0]!r}, but the targets have no split column.")
    present = _collect(path, scan.select(pl.col("split").drop_nulls().unique().sort()))
    known = [str(name) for name in present["split"]]
    for name in wanted:
        if name not in known:
            raise ConfigError(
                f"{path}: no split {name!r}; the splits are {', '.join(known) or '(none)'}."
                + did_you_mean(name, known)
            )


def _scan(path: Path) -> tuple[pl.LazyFrame, list[str]]:
    """The file, lazily, and its column names (reading its footer)."""
    try:
        scan = pl.scan_parquet(path / "*.parquet" if path.is_dir() else path)
        return scan, scan.collect_schema().names()
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise InputError(f"{path}: cannot read it as Parquet: {exc}") from exc


def _collect(path: Path | str, query: pl.LazyFrame) -> pl.DataFrame:
    try:
        return query.collect()
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise InputError(f"{path}: cannot read it as Parquet: {exc}") from exc


def _classes(path: Path) -> tuple[str, ...]:
    first = _part_files(path)[0] if path.is_dir() else path
    names = pl.read_parquet_metadata(first).get("labelprep.classes")
    return tuple(json.loads(names)) if names else ()


def _width(frame: pl.DataFrame) -> int:
    dtype = frame.schema["soft_target"]
    return dtype.size if isinstance(dtype, pl.Array) else 0


def _float_matrix(column: pl.Series, k: int) -> torch.Tensor:
    """An N x K float32 tensor that owns writable memory (Arrow's buffers are read-only,
    which ``torch.from_numpy`` warns about)."""
    array = np.asarray(column.to_numpy()).reshape(-1, k)
    return torch.from_numpy(
        np.require(array.astype(np.float32, copy=False), requirements=("C", "W"))
    )


def _bool_matrix(column: pl.Series, k: int) -> torch.Tensor:
    """An N x K bool tensor (1 byte a value; items are made float one at a time)."""
    array = np.asarray(column.to_numpy()).reshape(-1, k)
    return torch.from_numpy(np.require(array.astype(np.bool_, copy=False), requirements=("C", "W")))


def _column_tensor(column: pl.Series, dtype: type[np.generic]) -> torch.Tensor:
    array = np.asarray(column.to_numpy()).astype(dtype, copy=False)
    return torch.from_numpy(np.require(array, requirements=("C", "W")))


def _ids(column: pl.Series) -> torch.Tensor | list[str]:
    if column.dtype.is_integer():
        return _column_tensor(column, np.int64)
    if column.dtype.is_float():
        return _column_tensor(column, np.float64)
    return [str(v) for v in column.cast(pl.String).to_list()]


def class_weight_tensor(
    source: str | Path,
    scheme: Scheme = "balanced",
    *,
    split: str | None = None,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """A class-weight scheme of a run, in class order: ``CrossEntropyLoss(weight=...)``.

    The weights of :func:`labelprep.class_weights` (``class_stats.parquet``'s column,
    computed with the run's ``--count-by`` and ``--beta``) as a tensor.

    Parameters
    ----------
    source
        A run's output directory, or its ``class_stats.parquet``.
    scheme
        ``balanced``, ``inverse_sqrt``, ``effective_number`` or ``median_frequency``
        (README, "Class-weight schemes"); an empty class gets 0.
    split
        The weights of this split's rows (e.g. ``"train"``); ``None``: of all rows.
    """
    weights = class_weights(_run_output(source), scheme, split=split, config=False)
    return torch.tensor(weights.array, dtype=dtype)


def logit_adjustment_tensor(
    source: str | Path,
    tau: float | None = None,
    *,
    split: str | None = None,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """The logit-adjustment offsets ``tau * log(prior)`` of a run, in class order: add
    them to the logits while training (or subtract them at prediction time).

    ``tau=None`` takes the run's (``--tau``, default 1); another ``tau`` recomputes the
    offsets from the counts with the run's ``--count-by`` (from ``manifest.json``), the
    empty classes getting ``tau * log(eps)`` as in ``class_stats.parquet``
    (:func:`labelprep.logit_adjustment`).
    """
    offsets = logit_adjustment(_run_output(source), tau=tau, split=split, config=False)
    return torch.tensor(offsets.array, dtype=dtype)


def _run_output(source: str | Path) -> Path:
    """A run's output directory or its ``class_stats.parquet``, which must exist."""
    path = Path(source)
    stats = path / CLASS_STATS if path.is_dir() else path
    if not stats.is_file():
        raise InputError(
            f"{stats}: no such file; give a labelprep output directory or its {CLASS_STATS}."
        )
    return path
