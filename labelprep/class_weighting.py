"""Class weights and logit-adjustment offsets in the shapes training frameworks take.

:func:`class_weights` and :func:`logit_adjustment` return a ``dict`` of class name to
value, the shape of scikit-learn's ``class_weight`` (it *is* a ``dict``), which also
gives the values in class order as a NumPy array (``.array``, float64, writable, ready
for ``torch.from_numpy``) and keyed by class index (``.by_index()``, for integer labels
such as ``hard_index``). The numbers are those of ``class_stats.parquet``
(:mod:`labelprep.weights`): as the statistics hold them when ``count_by``, ``beta`` and
``tau`` are left at None (for a run's outputs, the run's options; for inputs, those of the
configuration file), else computed again from its counts for the values asked for; a class
without examples gets weight 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from labelprep.class_counts import WEIGHT_SETTINGS, load_stats_made_with, split_block
from labelprep.config import CountBy, Options
from labelprep.errors import ConfigError, did_you_mean
from labelprep.parameters import keywords_checked
from labelprep.weights import COUNT_COLUMNS, LOSS_WEIGHT_SCHEMES, add_weights

if TYPE_CHECKING:
    from labelprep.parameters import Inputs

Scheme = Literal["balanced", "inverse_sqrt", "effective_number", "median_frequency"]


class PerClass(dict[str, float]):
    """One value per class: a ``dict`` in class order, with the array and index views."""

    scheme: str
    count_by: str | None
    split: str | None

    def __init__(
        self,
        classes: Sequence[str],
        values: Sequence[float],
        *,
        scheme: str,
        count_by: str | None,
        split: str | None = None,
    ) -> None:
        super().__init__(zip(classes, map(float, values), strict=True))
        self.scheme, self.count_by, self.split = scheme, count_by, split

    @property
    def classes(self) -> tuple[str, ...]:
        """The class names, in class order."""
        return tuple(self)

    @property
    def array(self) -> npt.NDArray[np.float64]:
        """The values in class order (a new, writable float64 array)."""
        return np.fromiter(self.values(), dtype=np.float64, count=len(self))

    def by_index(self) -> dict[int, float]:
        """The values keyed by class index (0-based, as ``hard_index``)."""
        return dict(enumerate(self.values()))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.scheme}, count_by={self.count_by!r}, {dict(self)!r})"


class ClassWeights(PerClass):
    """Per-class loss weights (``class_weight`` of scikit-learn, ``weight`` of PyTorch)."""


class LogitAdjustment(PerClass):
    """Per-class offsets ``tau * log(prior)`` added to the logits (Menon et al. 2021)."""


@keywords_checked
def class_weights(
    inputs_or_stats: Inputs,
    scheme: Scheme = "balanced",
    *,
    count_by: CountBy | None = None,
    beta: float | None = None,
    split: str | None = None,
    classes: Sequence[str] | str | None = None,
    config: str | Path | bool = True,
) -> ClassWeights:
    """Per-class loss weights as scikit-learn and PyTorch take them.

    Parameters
    ----------
    inputs_or_stats
        Inputs (paths, globs, frames; read as :func:`labelprep.class_stats` reads them,
        with the options of the config file), a class statistics table (a frame with the
        columns of ``class_stats.parquet``, such as ``labelprep.class_stats(...)``
        returns), a run's output directory, its ``class_stats.parquet`` or
        ``manifest.json``. For other reading options, pass ``class_stats(...)``'s table.
    scheme
        ``balanced`` (``N / (K * n_k)``, scikit-learn's), ``inverse_sqrt``,
        ``effective_number`` (``beta``) or ``median_frequency``
        (:mod:`labelprep.weights`).
    count_by
        The class count ``n_k``: ``soft`` mass (the expected count), ``support`` (rows
        with p > 0) or ``hard`` (argmax counts). None: the one the statistics were
        computed with (a run's ``--count-by``, the configuration file's; else ``soft``).
    beta
        ``beta`` of ``effective_number``, in [0, 1); None: as for ``count_by`` (else
        0.999).
    split
        The weights of one split (``None``: all rows).
    classes
        The class vocabulary for reading inputs (``None``: from the inputs).
    config
        The configuration file for reading inputs, as for :func:`labelprep.run`.

    Returns
    -------
    ClassWeights
        A ``dict`` ``{class: weight}`` in class order; ``.array`` gives the weights in
        class order, ``.by_index()`` keys them by class index.

    Examples
    --------
    >>> import labelprep, polars as pl
    >>> frame = pl.DataFrame({"id": [1, 2, 3, 4], "label": ["a", "a", "a", "b"]})
    >>> weights = labelprep.class_weights(frame, "balanced", config=False)
    >>> weights
    ClassWeights(balanced, count_by='soft', {'a': 0.6666666666666666, 'b': 2.0})
    >>> weights.array
    array([0.66666667, 2.        ])
    """
    if scheme not in LOSS_WEIGHT_SCHEMES:
        raise ConfigError(
            f"scheme={scheme!r} is not one of {', '.join(LOSS_WEIGHT_SCHEMES)}."
            + did_you_mean(str(scheme), LOSS_WEIGHT_SCHEMES)
        )
    asked = {"count_by": count_by, "beta": beta}
    names, values, used = _per_class(
        inputs_or_stats, scheme, asked, split=split, classes=classes, config=config
    )
    return ClassWeights(names, values, scheme=scheme, count_by=used, split=split)


@keywords_checked
def logit_adjustment(
    inputs_or_stats: Inputs,
    *,
    tau: float | None = None,
    count_by: CountBy | None = None,
    split: str | None = None,
    classes: Sequence[str] | str | None = None,
    config: str | Path | bool = True,
) -> LogitAdjustment:
    """Per-class logit-adjustment offsets ``tau * log(prior_k)``, added to the logits
    during training (or subtracted at inference) instead of weighting the loss.

    Takes what :func:`class_weights` takes; ``tau`` is the temperature (None: the one the
    statistics were computed with, a run's ``--tau``; else 1). A class without examples
    gets an offset below every observed class (:mod:`labelprep.weights`).

    Examples
    --------
    >>> import labelprep, polars as pl
    >>> frame = pl.DataFrame({"id": [1, 2, 3, 4], "label": ["a", "a", "a", "b"]})
    >>> offsets = labelprep.logit_adjustment(frame, config=False)
    >>> [round(v, 4) for v in offsets.values()]
    [-0.2877, -1.3863]
    """
    asked = {"count_by": count_by, "tau": tau}
    names, values, used = _per_class(
        inputs_or_stats, "logit_adjustment", asked, split=split, classes=classes, config=config
    )
    return LogitAdjustment(names, values, scheme="logit_adjustment", count_by=used, split=split)


def _per_class(
    source: object,
    scheme: str,
    asked: dict[str, Any],
    *,
    split: str | None,
    classes: Sequence[str] | str | None,
    config: str | Path | bool,
) -> tuple[list[str], list[float], str | None]:
    """The classes, one scheme's values of one split of the statistics of ``source``, and
    the ``count_by`` behind them (None when a table's own column is taken as it is)."""
    count_by = asked.get("count_by")
    if count_by is not None and count_by not in COUNT_COLUMNS:
        raise ConfigError(
            f"count_by={count_by!r} is not one of {', '.join(COUNT_COLUMNS)}."
            + did_you_mean(str(count_by), COUNT_COLUMNS)
        )
    stats, made_with = load_stats_made_with(source, settings={"classes": classes}, config=config)
    label = str(source) if isinstance(source, (str, Path)) else "the statistics"
    block = split_block(stats, label, split)
    if all(value is None for value in asked.values()) and scheme in block.columns:
        return [str(c) for c in block["class"]], block[scheme].to_list(), made_with.get("count_by")
    chosen = {**_DEFAULTS, **made_with, **{k: v for k, v in asked.items() if v is not None}}
    present = [name for name in COUNT_COLUMNS.values() if name in block.columns]
    weighted = add_weights(block.select("split", "class", *present), **chosen)
    return [str(c) for c in weighted["class"]], weighted[scheme].to_list(), chosen["count_by"]


_DEFAULTS: dict[str, Any] = {name: getattr(Options(), name) for name in WEIGHT_SETTINGS}
