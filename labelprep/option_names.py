"""Names of option groups shared by the Python API (:mod:`labelprep.parameters`) and the
command line (:mod:`labelprep.cli.options`); imports nothing, so ``--help`` stays fast."""

from __future__ import annotations

NOT_FOR_VOTES: tuple[str, ...] = (
    "probs_column",
    "excluded_column",
    "candidates_column",
    "prob_columns",
    "list_delimiter",
    "tolerance",
    "renormalize",
    "partial",
    "keep",
)
"""Options ``aggregate`` does not take: probabilities and class lists, which vote files do
not hold, and ``keep`` (an item's votes are several rows: no one value to carry)."""
