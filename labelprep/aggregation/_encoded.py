"""Encoded vote tables, aggregation results and the counting helpers every method shares.

A vote is one (item, annotator, label) triple of integer codes. Repeated votes of one
annotator on one item (as in Dawid & Skene's own data, where a rater saw each patient
three times) are kept: each counts as one vote.

Tie rule, used everywhere an argmax is taken: among tied classes the lowest class index
wins, i.e. the class that comes first in the vocabulary (the rule of ``numpy.argmax``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Protocol

import numpy as np
import numpy.typing as npt
import polars as pl

from labelprep.errors import ColumnNotFoundError, InputError

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

_VOTE_COLUMNS = ("item", "annotator", "label")


def _frozen_codes(values: npt.ArrayLike, name: str, size: int) -> IntArray:
    """Return a read-only int64 copy of ``values``, checking it is 1-D and in ``[0, size)``."""
    arr = np.array(values, dtype=np.int64, copy=True)
    if arr.ndim != 1:
        raise InputError(f"votes: {name} codes must be one-dimensional, got shape {arr.shape}.")
    if arr.size and (arr.min() < 0 or arr.max() >= size):
        bad = int(arr[(arr < 0) | (arr >= size)][0])
        raise InputError(
            f"votes: {name} code {bad} is outside 0..{size - 1}; "
            f"encode {name}s as 0-based integer codes below n_{name}s={size}."
        )
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True)
class EncodedVotes:
    """A vote table as three parallel integer-code arrays.

    Parameters
    ----------
    item, annotator, label
        int64 arrays of shape ``(V,)``; codes are 0-based and below ``n_items``,
        ``n_annotators`` and ``n_classes`` respectively. They are copied and frozen.
    n_items, n_annotators, n_classes
        Sizes of the three vocabularies; items or annotators without a vote are allowed.

    Examples
    --------
    >>> v = EncodedVotes(item=[0, 0, 1], annotator=[0, 1, 0], label=[1, 1, 0],
    ...                  n_items=2, n_annotators=2, n_classes=2)
    >>> v.n_votes
    3
    """

    item: IntArray
    annotator: IntArray
    label: IntArray
    n_items: int
    n_annotators: int
    n_classes: int

    def __post_init__(self) -> None:
        for size_name in ("n_items", "n_annotators", "n_classes"):
            if int(getattr(self, size_name)) < 0:
                raise InputError(f"votes: {size_name} must be >= 0.")
        if self.n_classes < 1:
            raise InputError("votes: n_classes must be at least 1.")
        sizes = (self.n_items, self.n_annotators, self.n_classes)
        for (name, size), values in zip(
            zip(_VOTE_COLUMNS, sizes, strict=True),
            (self.item, self.annotator, self.label),
            strict=True,
        ):
            object.__setattr__(self, name, _frozen_codes(values, name, size))
        if not len(self.item) == len(self.annotator) == len(self.label):
            raise InputError(
                "votes: item, annotator and label must have the same length, got "
                f"{len(self.item)}, {len(self.annotator)} and {len(self.label)}."
            )

    @classmethod
    def unchecked(
        cls,
        item: IntArray,
        annotator: IntArray,
        label: IntArray,
        *,
        n_items: int,
        n_annotators: int,
        n_classes: int,
    ) -> EncodedVotes:
        """Votes from int64 code arrays the caller built and vouches for (equal lengths,
        codes in range): frozen in place, without the copy and the range check of the
        constructor (which cost a pass over millions of votes)."""
        votes = object.__new__(cls)
        for name, values in zip(_VOTE_COLUMNS, (item, annotator, label), strict=True):
            arr = np.asarray(values, dtype=np.int64)
            arr.setflags(write=False)
            object.__setattr__(votes, name, arr)
        sizes = {"n_items": n_items, "n_annotators": n_annotators, "n_classes": n_classes}
        for name, size in sizes.items():
            object.__setattr__(votes, name, int(size))
        return votes

    @property
    def n_votes(self) -> int:
        """Total number of votes ``V``."""
        return len(self.item)

    @cached_property
    def counts(self) -> IntArray:
        """Per-item vote counts per class, int64 ``(n_items, n_classes)``, read-only
        (computed once: every method and statistic starts from them)."""
        k = self.n_classes
        flat = np.bincount(self.item * k + self.label, minlength=self.n_items * k)
        counts = flat.astype(np.int64).reshape(self.n_items, k)
        counts.setflags(write=False)
        return counts

    @classmethod
    def from_frame(
        cls, df: pl.DataFrame, *, n_items: int, n_annotators: int, n_classes: int
    ) -> EncodedVotes:
        """Build from a frame with integer-code columns ``item``, ``annotator``, ``label``.

        Examples
        --------
        >>> import polars as pl
        >>> df = pl.DataFrame({"item": [0, 1], "annotator": [0, 0], "label": [2, 0]})
        >>> EncodedVotes.from_frame(df, n_items=2, n_annotators=1, n_classes=3).label.tolist()
        [2, 0]
        """
        for name in _VOTE_COLUMNS:
            if name not in df.columns:
                raise ColumnNotFoundError.from_missing_and_available(
                    name, df.columns, source="votes frame", role="vote"
                )
            if not df.schema[name].is_integer():
                raise InputError(
                    f"votes frame: column {name!r} must hold integer codes, "
                    f"got {df.schema[name]}; encode it first."
                )
            if df.get_column(name).null_count():
                raise InputError(f"votes frame: column {name!r} has missing codes.")
        item, annotator, label = (df.get_column(c).cast(pl.Int64).to_numpy() for c in _VOTE_COLUMNS)
        return cls(
            item=item,
            annotator=annotator,
            label=label,
            n_items=n_items,
            n_annotators=n_annotators,
            n_classes=n_classes,
        )


@dataclass(frozen=True)
class AggregationResult:
    """What every aggregation method returns.

    Attributes
    ----------
    proba
        float64 ``(n_items, n_classes)``; every row is non-negative and sums to 1.
    method
        The method's name as the CLI spells it, with underscores (``"dawid_skene"``).
    n_votes
        int64 ``(n_items,)``: votes per item.
    ties
        Number of items with at least one vote whose raw vote count has a tied maximum;
        computed from the raw counts whatever the method.
    annotator_accuracy
        Models with confusion matrices: ``sum_k prior_k * confusion[a, k, k]``, the
        probability that annotator ``a`` gives the true class of an item drawn from the prior.
    confusion
        Models with confusion matrices (Dawid-Skene, one-coin, MACE): ``(n_annotators, K,
        K)``; ``confusion[a, k, l]`` is the probability that annotator ``a`` answers ``l``
        when the true class is ``k``.
    class_prior
        EM models: ``(K,)`` class prior (estimated, or fixed uniform for GLAD and MACE).
    n_iter
        EM iterations run (0 for the closed-form methods).
    converged
        Whether the stopping criterion was met (always True for closed-form methods).
    skills
        ``(n_annotators,)`` per-annotator skill where the model has one (its meaning is
        the method's: accuracy, ability, competence or weight; see each method).
    log_likelihood
        The objective after every E-step (EM methods), oldest first.
    final_change
        Relative change of the objective over the last iteration (None if under two).
    gold_items
        Items whose posterior was fixed to a gold class.
    gold_accuracy
        Accuracy on the gold items of the votes-only posterior (None without gold).
    """

    proba: FloatArray
    method: str
    n_votes: IntArray
    ties: int
    annotator_accuracy: FloatArray | None = None
    confusion: FloatArray | None = None
    class_prior: FloatArray | None = None
    n_iter: int = 0
    converged: bool = True
    skills: FloatArray | None = None
    log_likelihood: tuple[float, ...] = ()
    final_change: float | None = None
    gold_items: int = 0
    gold_accuracy: float | None = None

    def hard_labels(self) -> IntArray:
        """Argmax class per item, ties going to the lowest class index."""
        return argmax_lowest(self.proba)


class AggregationMethod(Protocol):
    """The one verb every aggregation method implements."""

    def fit_predict_proba(
        self, votes: EncodedVotes, gold: npt.ArrayLike | None = None
    ) -> AggregationResult:
        """Aggregate ``votes`` into one class distribution per item; ``gold`` (per item a
        class code, or -1) fixes the posteriors of the items whose answer is known."""
        ...


def vote_counts(votes: EncodedVotes) -> IntArray:
    """Per-item vote counts per class, int64 ``(n_items, n_classes)``, read-only.

    Examples
    --------
    >>> v = EncodedVotes(item=[0, 0, 1], annotator=[0, 1, 0], label=[1, 1, 0],
    ...                  n_items=2, n_annotators=2, n_classes=2)
    >>> vote_counts(v).tolist()
    [[0, 2], [1, 0]]
    """
    return votes.counts


def votes_per_item(votes: EncodedVotes) -> IntArray:
    """Number of votes per item, int64 ``(n_items,)``.

    Examples
    --------
    >>> v = EncodedVotes(item=[0, 0, 1], annotator=[0, 1, 0], label=[1, 1, 0],
    ...                  n_items=3, n_annotators=2, n_classes=2)
    >>> votes_per_item(v).tolist()
    [2, 1, 0]
    """
    return np.bincount(votes.item, minlength=votes.n_items).astype(np.int64)


def tied_rows(counts: IntArray) -> npt.NDArray[np.bool_]:
    """Per row: it has at least one vote and its maximum count is shared by 2+ classes."""
    if counts.shape[0] == 0:
        return np.zeros(0, dtype=bool)
    top = counts.max(axis=1, keepdims=True)
    tied: npt.NDArray[np.bool_] = ((counts == top).sum(axis=1) > 1) & (top[:, 0] > 0)
    return tied


def count_ties(counts: IntArray) -> int:
    """Number of rows with at least one vote whose maximum count is shared by 2+ classes."""
    return int(tied_rows(counts).sum())


def argmax_lowest(values: FloatArray | IntArray) -> IntArray:
    """Row-wise argmax; among tied classes the lowest class index wins."""
    winners: IntArray = np.argmax(values, axis=1).astype(np.int64)
    return winners


def vote_shares(counts: IntArray, alpha: float = 0.0) -> FloatArray:
    """Per-row ``(count_k + alpha) / (n_votes + K * alpha)``; a row with no mass is uniform.

    Examples
    --------
    >>> vote_shares(np.array([[2, 1], [0, 0]])).round(3).tolist()
    [[0.667, 0.333], [0.5, 0.5]]
    """
    smoothed = np.add(counts, alpha, dtype=np.float64)
    totals = smoothed.sum(axis=1, keepdims=True)
    empty = totals[:, 0] <= 0
    totals[empty] = 1.0
    smoothed /= totals
    smoothed[empty] = 1.0 / counts.shape[1]
    shares: FloatArray = smoothed
    return shares
