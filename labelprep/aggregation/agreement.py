"""Inter-annotator agreement: Fleiss' kappa, Krippendorff's nominal alpha, per-annotator
agreement with a consensus, and per-item vote entropy.

Undefined statistics are returned as ``nan`` rather than guessed: a kappa or alpha whose
expected disagreement is 0 (every rating in the same class), the agreement of an annotator
without votes, the entropy of an item without votes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from labelprep.aggregation._encoded import (
    EncodedVotes,
    FloatArray,
    argmax_lowest,
    vote_counts,
)
from labelprep.errors import ConfigError


def _check_counts(counts: npt.ArrayLike) -> tuple[FloatArray, int]:
    """Validate a Fleiss count matrix; return it as float and the ratings per item."""
    arr = np.asarray(counts, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ConfigError(f"fleiss_kappa: expected a non-empty 2-D count matrix, got {arr.shape}.")
    if np.any(arr < 0) or np.any(arr != np.round(arr)):
        raise ConfigError("fleiss_kappa: counts must be non-negative integers.")
    per_item = arr.sum(axis=1)
    if np.any(per_item != per_item[0]):
        raise ConfigError(
            "fleiss_kappa: every item needs the same number of ratings, got between "
            f"{int(per_item.min())} and {int(per_item.max())}; "
            "use krippendorff_alpha_nominal for unequal or missing ratings."
        )
    if per_item[0] < 2:
        raise ConfigError("fleiss_kappa: every item needs at least 2 ratings.")
    return arr, int(per_item[0])


def fleiss_kappa(counts: npt.ArrayLike) -> float:
    """Fleiss' kappa of an ``(n_items, K)`` matrix of rating counts.

    Every item must have the same number ``n >= 2`` of ratings (else ``ConfigError``).
    ``nan`` when chance agreement is 1 (all ratings in one class).

    Examples
    --------
    >>> round(fleiss_kappa([[2, 0], [0, 2], [1, 1]]), 4)
    0.3333
    """
    return _kappa(*_check_counts(counts))


def _kappa(counts: FloatArray | npt.NDArray[np.int64], n: int) -> float:
    """Fleiss' kappa of checked counts with ``n`` ratings per item."""
    agreement = ((counts * (counts - 1)).sum(axis=1) / (n * (n - 1))).mean()
    class_share = counts.sum(axis=0) / counts.sum()
    chance = float((class_share**2).sum())
    if math.isclose(chance, 1.0):
        return math.nan
    return float((agreement - chance) / (1.0 - chance))


def krippendorff_alpha_nominal(votes: EncodedVotes) -> float:
    """Krippendorff's alpha for nominal data; items are the units, votes the values.

    Missing ratings are allowed: units with fewer than 2 values are not pairable and are
    ignored, as Krippendorff prescribes. Repeated votes of one annotator on one unit count
    as separate values. ``nan`` when expected disagreement is 0.

    Examples
    --------
    >>> v = EncodedVotes(item=[0, 0, 1, 1, 2], annotator=[0, 1, 0, 1, 0],
    ...                  label=[0, 0, 1, 0, 1], n_items=3, n_annotators=2, n_classes=2)
    >>> round(krippendorff_alpha_nominal(v), 4)
    0.0
    """
    counts = vote_counts(votes).astype(np.float64)
    m = counts.sum(axis=1)
    pairable = counts[m >= 2]
    weight = 1.0 / (m[m >= 2] - 1.0)
    # Coincidence matrix o[c, k] = sum_u (n_uc n_uk - [c == k] n_uc) / (m_u - 1).
    coincidence = (pairable * weight[:, None]).T @ pairable
    coincidence -= np.diag((pairable * weight[:, None]).sum(axis=0))
    marginals = coincidence.sum(axis=1)
    total = marginals.sum()
    observed = total - np.trace(coincidence)
    expected = (total**2 - (marginals**2).sum()) / (total - 1.0) if total > 1 else 0.0
    if expected <= 0:
        return math.nan
    return float(1.0 - observed / expected)


def annotator_agreement(votes: EncodedVotes, consensus: npt.ArrayLike) -> FloatArray:
    """Per annotator, the fraction of their votes equal to the consensus class of the item.

    The consensus class is the argmax of ``consensus`` (``(n_items, K)``), ties going to
    the lowest class index. Annotators without votes get ``nan``.

    Examples
    --------
    >>> v = EncodedVotes(item=[0, 0, 1, 1], annotator=[0, 1, 0, 1], label=[0, 1, 1, 1],
    ...                  n_items=2, n_annotators=3, n_classes=2)
    >>> annotator_agreement(v, [[0.9, 0.1], [0.2, 0.8]]).tolist()
    [1.0, 0.5, nan]
    """
    table = np.asarray(consensus, dtype=np.float64)
    if table.shape != (votes.n_items, votes.n_classes):
        raise ConfigError(
            f"annotator_agreement: consensus has shape {table.shape}, "
            f"expected {(votes.n_items, votes.n_classes)}."
        )
    agrees = (votes.label == argmax_lowest(table)[votes.item]).astype(np.float64)
    hits = np.bincount(votes.annotator, weights=agrees, minlength=votes.n_annotators)
    seen = np.bincount(votes.annotator, minlength=votes.n_annotators).astype(np.float64)
    share: FloatArray = np.divide(
        hits, seen, out=np.full(votes.n_annotators, np.nan), where=seen > 0
    )
    return share


def vote_entropy(votes: EncodedVotes) -> FloatArray:
    """Shannon entropy (bits) of each item's vote shares; ``nan`` for items without votes.

    Computed from the integer counts as ``log2(m) - sum_k c_k log2(c_k) / m`` (``m`` the
    item's votes), with ``c log2 c`` looked up per distinct count; an item whose votes all
    name one class gets exactly 0.

    Examples
    --------
    >>> v = EncodedVotes(item=[0, 0, 1, 1], annotator=[0, 1, 0, 1], label=[0, 1, 1, 1],
    ...                  n_items=2, n_annotators=2, n_classes=2)
    >>> vote_entropy(v).tolist()
    [1.0, 0.0]
    """
    counts = vote_counts(votes)
    totals = counts.sum(axis=1)
    table = np.arange(int(counts.max(initial=0)) + 1, dtype=np.float64)
    table[1:] *= np.log2(table[1:])  # c log2 c (0 for c = 0 and c = 1)
    safe = np.maximum(totals, 1).astype(np.float64)
    entropy = np.log2(safe) - table[counts].sum(axis=1) / safe
    entropy = np.maximum(entropy, 0.0)
    entropy[counts.max(axis=1, initial=0) == totals] = 0.0
    return np.where(totals > 0, entropy, np.nan)


def _fleiss_or_none(votes: EncodedVotes) -> float | None:
    """Fleiss' kappa over voted items when they all have the same number (>= 2) of votes
    (:func:`fleiss_kappa` on the integer counts, which need no further check)."""
    counts = vote_counts(votes)
    per_item = counts.sum(axis=1)
    voted = per_item > 0
    if not voted.all():
        counts, per_item = counts[voted], per_item[voted]
    if per_item.size == 0 or per_item.min() != per_item.max() or per_item[0] < 2:
        return None
    return _kappa(counts, int(per_item[0]))


def _json_float(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


@dataclass(frozen=True)
class AgreementStats:
    """Agreement statistics of one vote table against one consensus.

    Attributes
    ----------
    fleiss_kappa
        Over items with at least one vote; ``None`` when their vote counts differ.
    krippendorff_alpha
        Nominal alpha over pairable items (``nan`` when undefined).
    annotator_agreement
        ``(n_annotators,)`` fraction of each annotator's votes equal to the consensus class.
    mean_vote_entropy
        Mean per-item vote entropy in bits, over items with at least one vote.

    Examples
    --------
    >>> v = EncodedVotes(item=[0, 0, 1, 1], annotator=[0, 1, 0, 1], label=[0, 0, 1, 1],
    ...                  n_items=2, n_annotators=2, n_classes=2)
    >>> stats = AgreementStats.compute(v, [[1.0, 0.0], [0.0, 1.0]])
    >>> stats.to_dict()["fleiss_kappa"], stats.to_dict()["annotator_agreement"]
    (1.0, [1.0, 1.0])
    """

    fleiss_kappa: float | None
    krippendorff_alpha: float
    annotator_agreement: FloatArray
    mean_vote_entropy: float

    @classmethod
    def compute(cls, votes: EncodedVotes, consensus: npt.ArrayLike) -> AgreementStats:
        """Compute every statistic for ``votes`` and the ``(n_items, K)`` ``consensus``."""
        entropy = vote_entropy(votes)
        voted = entropy[~np.isnan(entropy)]
        return cls(
            fleiss_kappa=_fleiss_or_none(votes),
            krippendorff_alpha=krippendorff_alpha_nominal(votes),
            annotator_agreement=annotator_agreement(votes, consensus),
            mean_vote_entropy=float(voted.mean()) if voted.size else math.nan,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; undefined values (``nan``) become ``None``."""
        return {
            "fleiss_kappa": _json_float(self.fleiss_kappa),
            "krippendorff_alpha": _json_float(self.krippendorff_alpha),
            "annotator_agreement": [_json_float(x) for x in self.annotator_agreement.tolist()],
            "mean_vote_entropy": _json_float(self.mean_vote_entropy),
        }
