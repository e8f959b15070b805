"""The one exception hierarchy of labelprep, each class with its process exit code.

Exit codes (documented in the README and used by the CLI):

==== =====================================================================
0    success
1    the data failed a gate (``validate``/``compare`` thresholds)
2    usage or input error (bad option, unreadable file, missing column...)
3    internal error (a bug: the traceback is kept)
130  interrupted by SIGINT (Ctrl-C): the run's partial outputs are removed
143  terminated by SIGTERM (``docker stop``, a cancelled CI job): the same
==== =====================================================================

An operating-system error (permission denied, read-only file system, disk full,
not a directory...) is a usage error (2), never an internal one: :class:`InputError`
when labelprep was reading, :class:`OutputError` when it was writing, each naming the
path and the reason (:func:`os_error_message`).
"""

from __future__ import annotations

import errno
import os
import signal
from collections.abc import Iterable
from difflib import get_close_matches
from pathlib import Path

EXIT_OK = 0
EXIT_GATE_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3
EXIT_SIGINT = 128 + signal.SIGINT  # 130, the shells' convention
EXIT_SIGTERM = 128 + signal.SIGTERM  # 143


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


class OutputError(LabelprepError):
    """The output cannot be written (an operating-system error while writing), or the
    output path is not labelprep's to replace."""


class Interrupted(KeyboardInterrupt):
    """The run was stopped by SIGINT or SIGTERM. Not an error of the data: like
    :class:`KeyboardInterrupt` (its base, so ``except Exception`` does not swallow it)
    it unwinds the run, whose partial outputs are removed on the way out."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        self.exit_code = 128 + signum
        super().__init__(f"interrupted by {signal.Signals(signum).name}")


def display_path(path: str | bytes | os.PathLike[str] | None) -> str:
    """A path as a printable string: an undecodable byte of a file name shows as ``\\xff``
    (the string Python made with ``surrogateescape`` cannot be printed as is)."""
    if path is None:
        return "(unknown path)"
    raw = os.fsencode(path)
    return raw.decode("utf-8", "backslashreplace")


_WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS})


def os_error_message(exc: OSError, *, writing: bool | None, path: str | Path | None = None) -> str:
    """``cannot write PATH: No space left on device.`` from an :class:`OSError`
    (``writing=None``: not known; a full or read-only disk still says write)."""
    where = path if path is not None else exc.filename
    reason = os.strerror(exc.errno) if exc.errno else (exc.strerror or str(exc))
    extra = f" (to {display_path(exc.filename2)})" if exc.filename2 else ""
    if writing is None:
        writing = _guess_writing(exc)
    verb = {True: "write", False: "read", None: "access"}[writing]
    return f"cannot {verb} {display_path(where)}{extra}: {reason}."


def _guess_writing(exc: OSError) -> bool | None:
    """Reading or writing, for an error whose caller did not say: a full or read-only
    disk is writing; an existing path we may not read is reading; one we may read but
    not write, or a new file we may not create, is writing."""
    if exc.errno in _WRITE_ERRNOS:
        return True
    path = exc.filename
    if path is None or exc.errno not in (errno.EACCES, errno.EPERM):
        return None
    if not os.path.exists(path):
        return True
    if not os.access(path, os.R_OK):
        return False
    return True if not os.access(path, os.W_OK) else None


class ConfigError(LabelprepError):
    """Invalid options, from the command line, the Python API or a config file."""


class VocabularyError(ConfigError):
    """The class vocabulary is missing, empty, or inconsistent with the data."""


class MissingExtraError(ConfigError, ImportError):
    """An optional feature whose packages are not installed; the message names the extra
    (``pip install 'labelprep[torch]'``). Also an :class:`ImportError`, so the usual
    ``try: import ... except ImportError`` guard catches it."""


class GateFailedError(LabelprepError):
    """The data did not pass a gate of ``validate`` or ``compare``."""

    exit_code = EXIT_GATE_FAILED


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """Return ``" Did you mean 'x'?"`` for the closest choice, or an empty string."""
    by_lower = {choice.lower(): choice for choice in choices}
    close = get_close_matches(word.lower(), list(by_lower), n=1)
    return f" Did you mean {by_lower[close[0]]!r}?" if close else ""
