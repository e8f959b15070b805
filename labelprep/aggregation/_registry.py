"""Aggregation methods by name, as the CLI and config files spell them."""

from __future__ import annotations

import dataclasses
from typing import Any

from labelprep.aggregation._encoded import AggregationMethod
from labelprep.aggregation.dawid_skene import DawidSkene
from labelprep.aggregation.glad import GLAD
from labelprep.aggregation.mace import MACE
from labelprep.aggregation.majority import Majority
from labelprep.aggregation.one_coin import OneCoinDawidSkene
from labelprep.aggregation.shares import Shares
from labelprep.aggregation.wawa import Wawa
from labelprep.aggregation.zero_based_skill import ZeroBasedSkill
from labelprep.errors import ConfigError, did_you_mean

METHODS: dict[str, type[AggregationMethod]] = {
    "shares": Shares,
    "majority": Majority,
    "dawid-skene": DawidSkene,
    "one-coin-dawid-skene": OneCoinDawidSkene,
    "glad": GLAD,
    "mace": MACE,
    "wawa": Wawa,
    "zero-based-skill": ZeroBasedSkill,
}

EM_METHODS = frozenset({"dawid-skene", "one-coin-dawid-skene", "glad", "mace"})
"""Methods fitted by EM (they take ``max_iter`` and ``tol`` and report a log-likelihood)."""

PER_ANNOTATOR_CONFUSION = frozenset({"dawid-skene"})
"""Methods that fit a full K x K confusion matrix per annotator."""


def get_method(name: str, **params: Any) -> AggregationMethod:
    """Instantiate the aggregation method called ``name`` with keyword ``params``.

    Underscores are accepted for hyphens (``dawid_skene`` for ``dawid-skene``). Unknown
    names and parameters raise ``ConfigError`` with a hint.

    Examples
    --------
    >>> get_method("shares", alpha=1.0)
    Shares(alpha=1.0)
    >>> get_method("dawid-skeen")
    Traceback (most recent call last):
    ...
    labelprep.errors.ConfigError: unknown aggregation method 'dawid-skeen'; choose one of \
'shares', 'majority', 'dawid-skene', 'one-coin-dawid-skene', 'glad', 'mace', 'wawa', \
'zero-based-skill'. Did you mean 'dawid-skene'?
    """
    key = name.strip().lower().replace("_", "-")
    if key not in METHODS:
        choices = ", ".join(map(repr, METHODS))
        hint = did_you_mean(key, METHODS)
        raise ConfigError(f"unknown aggregation method {name!r}; choose one of {choices}.{hint}")
    cls = METHODS[key]
    allowed = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    for param in params:
        if param not in allowed:
            accepted = ", ".join(map(repr, allowed)) or "none"
            raise ConfigError(
                f"aggregation method {key!r} has no parameter {param!r}; "
                f"it accepts {accepted}.{did_you_mean(param, allowed)}"
            )
    return cls(**params)
