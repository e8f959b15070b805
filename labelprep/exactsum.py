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


def units_to_float(units: int) -> float:
    """A sum in 2**-64 units as the nearest float."""
    return units / (1 << 64)
