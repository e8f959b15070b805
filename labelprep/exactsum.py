"""Float sums that do not depend on how the rows were cut into batches.

A float sum depends on the order of its additions, and Polars cuts the input into
batches differently on 1, 2 or 16 threads: summed batch by batch, the soft mass of a
class changed in its 15th digit with the thread count. Here every value is split, with
two exact float operations each, into a high part (the value rounded to a multiple of
2**-32) and a low part (the rest, rounded to a multiple of 2**-64). Over a chunk of
``2**20 / bound`` values below ``bound`` in magnitude, neither sum of parts ever needs
more than 53 bits, so numpy adds them exactly in any order; the chunk sums are then
added as Python integers (units of 2**-64). The result is the exact sum of the values
each rounded to 2**-64 (off by at most n * 2**-65 from the exact sum of n values),
the same for any batching, and :func:`units_to_float` rounds it once, correctly.

Examples
--------
>>> import numpy as np
>>> values = np.array([0.1, 0.2, 0.3])
>>> units_to_float(exact_units(values[:1]) + exact_units(values[1:]))
0.6
>>> float(np.add.reduce(values))  # the order of float additions shows
0.6000000000000001
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import numpy.typing as npt

UNIT = 2.0**-64
_HIGH = 1.5 * 2.0**20  # adding then subtracting it rounds to a multiple of 2**-32
_LOW = 1.5 * 2.0**-12  # ... to a multiple of 2**-64 (for values below 2**-12)
_SCALE_HIGH = 2.0**32


def exact_units(
    values: npt.NDArray[np.float64],
    where: npt.NDArray[np.bool_] | None = None,
    *,
    bound: int = 1,
) -> int:
    """The sum of ``values`` (those ``where`` is true), each rounded to a multiple of
    2**-64, as an integer number of 2**-64 units.

    Every value must be finite and below ``bound`` (a power of two, at most 2**7) in
    magnitude: probabilities have ``bound=1``.
    """
    x = np.asarray(values, dtype=np.float64)
    if where is not None:
        x = np.where(where, x, 0.0)
    chunk = (1 << 20) // bound
    units = 0
    for start in range(0, x.size, chunk):
        part = x[start : start + chunk]
        high = part + _HIGH
        high -= _HIGH
        low = part - high
        low += _LOW
        low -= _LOW
        units += int(np.add.reduce(high) * _SCALE_HIGH) << 32
        units += int(np.add.reduce(low) / UNIT)
    return units


DENSE_COLUMNS = 64
"""Up to this many columns, :func:`exact_column_units` splits every value; past it, only
the nonzero ones (a zero adds nothing), which is far less work on sparse targets."""


def exact_column_units(
    values: npt.NDArray[np.float64], where: npt.NDArray[np.bool_] | None = None
) -> list[int]:
    """:func:`exact_units` of each column of a matrix of probabilities (``bound=1``), over
    the rows ``where`` is true: the same integers, the parts of a block of values summed
    per column in one numpy call (exact in any order) rather than a call per column."""
    x = np.asarray(values, dtype=np.float64)
    k = x.shape[1]
    units = [0] * k
    for highs, lows in _column_part_sums(x, where):
        for j, (h, lo) in enumerate(zip(highs.tolist(), lows.tolist(), strict=True)):
            units[j] += (int(h * _SCALE_HIGH) << 32) + int(lo / UNIT)
    return units


def _column_part_sums(
    x: npt.NDArray[np.float64], where: npt.NDArray[np.bool_] | None
) -> Iterator[tuple[npt.NDArray[Any], npt.NDArray[Any]]]:
    """Per block of values: the per-column sums of their high and low parts."""
    n, k = x.shape
    if k <= DENSE_COLUMNS:  # blocks of rows: small temporaries, reused by the allocator
        for start in range(0, n, _BLOCK):
            block = x[start : start + _BLOCK]
            if where is not None:
                block = np.where(where[start : start + _BLOCK, None], block, 0.0)
            high, low = _split(block)
            yield np.add.reduce(high, axis=0), np.add.reduce(low, axis=0)
        return
    by_class = x.T.reshape(-1)  # class by class (a view of a column-major matrix)
    cells = np.flatnonzero(by_class != 0)
    columns, rows = np.divmod(cells, n)
    if where is not None:
        chosen = where[rows]
        cells, columns = cells[chosen], columns[chosen]
    for start in range(0, cells.size, _CHUNK):  # at most _CHUNK values in any column
        column = columns[start : start + _CHUNK]
        high, low = _split(by_class[cells[start : start + _CHUNK]])
        yield (
            np.bincount(column, weights=high, minlength=k),
            np.bincount(column, weights=low, minlength=k),
        )


def _split(
    values: npt.NDArray[np.float64],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """(high, low) parts of values below 1 in magnitude (see the module's docstring)."""
    high = values + _HIGH
    high -= _HIGH
    low = values - high
    low += _LOW
    low -= _LOW
    return high, low


_CHUNK = 1 << 20  # values of a chunk (at most this many in a column): exact sums at bound 1
_BLOCK = 1 << 13  # rows of a block of a dense matrix (fewer than _CHUNK)


def units_to_float(units: int) -> float:
    """A sum in 2**-64 units as the nearest float."""
    return units / (1 << 64)
