"""Votes to soft targets (vote shares, majority, Dawid-Skene) and agreement statistics.

Every method is a frozen dataclass with one verb, ``fit_predict_proba(votes)``, taking an
:class:`EncodedVotes` table and returning an :class:`AggregationResult`. Wherever an argmax
is taken, ties go to the lowest class index (the class first in the vocabulary).
"""

from __future__ import annotations

from labelprep.aggregation._encoded import (
    AggregationMethod,
    AggregationResult,
    EncodedVotes,
    vote_counts,
    votes_per_item,
)
from labelprep.aggregation._registry import METHODS, get_method
from labelprep.aggregation.agreement import (
    AgreementStats,
    annotator_agreement,
    fleiss_kappa,
    krippendorff_alpha_nominal,
    vote_entropy,
)
from labelprep.aggregation.dawid_skene import DawidSkene
from labelprep.aggregation.majority import Majority
from labelprep.aggregation.shares import Shares

__all__ = [
    "METHODS",
    "AggregationMethod",
    "AggregationResult",
    "AgreementStats",
    "DawidSkene",
    "EncodedVotes",
    "Majority",
    "Shares",
    "annotator_agreement",
    "fleiss_kappa",
    "get_method",
    "krippendorff_alpha_nominal",
    "vote_counts",
    "vote_entropy",
    "votes_per_item",
]
