"""The targets of an output directory, as a step that reads a run (``refine``) needs them:
its ``targets.parquet``, or the part files of ``targets/`` that a run on the Dask engine
writes (``part-00000.parquet``, ...; read in name order, which is input order, they are
the local engine's ``targets.parquet`` row for row).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl

from labelprep.errors import InputError
from labelprep.output_names import PART_FILE, TARGETS


@dataclass(frozen=True)
class RunTargets:
    """A run's targets, read whole, and the files they came from."""

    frame: pl.DataFrame
    files: tuple[Path, ...]
    """``targets.parquet``, or the part files in name order."""
    rows: tuple[int, ...]
    """The rows of each file (the frame is their concatenation, in this order)."""

    def locate(self, positions: npt.NDArray[np.int64]) -> pl.DataFrame:
        """``source`` (the file's path) and ``row`` (1-based, in that file) of the rows at
        ``positions`` (0-based) of the frame.

        >>> RunTargets(pl.DataFrame(), (Path("p0"), Path("p1")), (2, 3)).locate(
        ...     np.array([0, 3])).rows()
        [('p0', 1), ('p1', 2)]
        """
        starts = np.cumsum([0, *self.rows])
        index = np.searchsorted(starts, positions, side="right") - 1
        paths = pl.Series([str(path) for path in self.files], dtype=pl.String)
        return pl.DataFrame(
            {
                "source": paths.gather(pl.Series(index, dtype=pl.Int64)),
                "row": pl.Series(positions - starts[index] + 1, dtype=pl.Int64),
            }
        )


def output_files(folder: Path, name: str = TARGETS) -> list[Path]:
    """``folder/NAME.parquet`` (``targets.parquet``, ``rejects.parquet``), or (when there is
    none) the part files of ``folder/NAME/``, in name order. The single file is returned
    when neither exists, for the reader to report."""
    single = folder / name
    parts = folder / name.removesuffix(".parquet")
    if single.exists() or not parts.is_dir():
        return [single]
    files = sorted(p for p in parts.iterdir() if PART_FILE.fullmatch(p.name) and p.is_file())
    return files or [single]


def read_run_targets(folder: Path) -> RunTargets:
    """Every row of a run's targets (see :func:`output_files`), in order.

    Raises
    ------
    InputError
        When a file cannot be read, or the parts do not share one schema.
    """
    files = output_files(folder)
    try:
        frames = [pl.read_parquet(path) for path in files]
        frame = pl.concat(frames, how="vertical") if len(frames) > 1 else frames[0]
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise InputError(f"{folder}: cannot read the run's targets: {exc}") from exc
    return RunTargets(frame, tuple(files), tuple(f.height for f in frames))
