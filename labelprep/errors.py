"""The one exception hierarchy of labelprep, each class with its process exit code.

Exit codes (documented in the README and used by the CLI):

==== =====================================================================
0    success
1    the data failed a gate (``validate``/``compare`` thresholds)
2    usage or input error (bad option, unreadable file, missing column...)
3    internal error (a bug: the traceback is kept)
==== =====================================================================
"""

from __future__ import annotations

from collections.abc import Iterable
from difflib import get_close_matches

EXIT_OK = 0
EXIT_GATE_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3


class LabelprepError(Exception):
    """Base class of every error labelprep raises on purpose."""

    exit_code: int = EXIT_USAGE


class InputError(LabelprepError):
    """A file-level problem: unreadable, unknown format, wrong encoding, empty."""


class ColumnNotFoundError(InputError):
    """A required or configured column is absent from an input."""

    @classmethod
    def from_missing_and_available(
        cls, missing: str, available: Iterable[str], *, source: str, role: str
    ) -> ColumnNotFoundError:
        available = list(available)
        hint = did_you_mean(missing, available)
        flag = {"id": " (or pass --id-column NAME)"}.get(role, "")
        return cls(
            f"{source}: the {role} column {missing!r} is missing; "
            f"the file has {', '.join(map(repr, available)) or 'no columns'}.{hint}{flag}"
        )


class ConfigError(LabelprepError):
    """Invalid options, from the command line, the Python API or a config file."""


class VocabularyError(ConfigError):
    """The class vocabulary is missing, empty, or inconsistent with the data."""


class GateFailedError(LabelprepError):
    """The data did not pass a gate of ``validate`` or ``compare``."""

    exit_code = EXIT_GATE_FAILED


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """Return ``" Did you mean 'x'?"`` for the closest choice, or an empty string."""
    by_lower = {choice.lower(): choice for choice in choices}
    close = get_close_matches(word.lower(), list(by_lower), n=1)
    return f" Did you mean {by_lower[close[0]]!r}?" if close else ""
