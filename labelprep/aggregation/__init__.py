"""Votes to soft targets (vote shares, majority, Dawid-Skene and its one-coin variant, GLAD,
MACE, Wawa, ZeroBasedSkill) and agreement statistics.

Every method is a frozen dataclass with one verb, ``fit_predict_proba(votes, gold=None)``,
taking an :class:`EncodedVotes` table (and optionally per-item gold class codes) and
returning an :class:`AggregationResult`. Wherever an argmax is taken, ties go to the lowest
class index (the class first in the vocabulary).
"""

from __future__ import annotations

from labelprep.aggregation._encoded import (
    AggregationMethod,
    AggregationResult,
    EncodedVotes,
    vote_counts,
    votes_per_item,
)
from labelprep.aggregation._registry import (
    EM_METHODS,
    METHODS,
    PER_ANNOTATOR_CONFUSION,
    get_method,
)
from labelprep.aggregation.agreement import (
    AgreementStats,
    annotator_agreement,
    fleiss_kappa,
    krippendorff_alpha_nominal,
    vote_entropy,
)
from labelprep.aggregation.dawid_skene import DawidSkene
from labelprep.aggregation.glad import GLAD
from labelprep.aggregation.mace import MACE
from labelprep.aggregation.majority import Majority
from labelprep.aggregation.one_coin import OneCoinDawidSkene
from labelprep.aggregation.shares import Shares
from labelprep.aggregation.wawa import Wawa
from labelprep.aggregation.zero_based_skill import ZeroBasedSkill

__all__ = [
    "EM_METHODS",
    "GLAD",
    "MACE",
    "METHODS",
    "PER_ANNOTATOR_CONFUSION",
    "AggregationMethod",
    "AggregationResult",
    "AgreementStats",
    "DawidSkene",
    "EncodedVotes",
    "Majority",
    "OneCoinDawidSkene",
    "Shares",
    "Wawa",
    "ZeroBasedSkill",
    "annotator_agreement",
    "fleiss_kappa",
    "get_method",
    "krippendorff_alpha_nominal",
    "vote_counts",
    "vote_entropy",
    "votes_per_item",
]
