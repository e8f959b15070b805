"""Aggregation methods by name, as the CLI and config files spell them."""

from __future__ import annotations

import dataclasses
from typing import Any

from labelprep.aggregation._encoded import AggregationMethod
from labelprep.aggregation.dawid_skene import DawidSkene
from labelprep.aggregation.majority import Majority
from labelprep.aggregation.shares import Shares
from labelprep.errors import ConfigError, did_you_mean

METHODS: dict[str, type[AggregationMethod]] = {
    "shares": Shares,
    "majority": Majority,
    "dawid-skene": DawidSkene,
}


def get_method(name: str, **params: Any) -> AggregationMethod:
    """Instantiate the aggregation method called ``name`` with keyword ``params``.

    ``dawid_skene`` is accepted for ``dawid-skene``. Unknown names and parameters raise
    ``ConfigError`` with a hint.

    Examples
    --------
    >>> get_method("shares", alpha=1.0)
    Shares(alpha=1.0)
    >>> get_method("dawid-skeen")
    Traceback (most recent call last):
    ...
    labelprep.errors.ConfigError: unknown aggregation method 'dawid-skeen'; choose one of \
'shares', 'majority', 'dawid-skene'. Did you mean 'dawid-skene'?
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
