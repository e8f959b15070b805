"""The output directory: only labelprep's own is replaced, and only whole.

* ``DIR`` (``-o``) may not exist, be an empty directory, or be a previous labelprep
  output: a directory whose entries are all regular files named in
  :data:`OUTPUT_FILES` (or directories of part files named in :data:`PART_DIRS`, or
  the :data:`SPLITS_DIR` of per-split targets files) and whose ``manifest.json`` carries
  ``"labelprep_output"`` (:data:`MARKER_KEY`). Anything else (a user's notes or folders,
  another tool's ``manifest.json``, a symbolic link, a file) is refused with an
  :class:`~labelprep.errors.OutputError` and left untouched; so is an output
  directory that holds one of the run's inputs. :mod:`labelprep.output_names` says which
  entries are labelprep's (a ``README.md`` only when the manifest lists it unchanged).
* The outputs are written into a staging directory next to ``DIR``, named
  ``.DIR.labelprep-PID-TOKEN`` and holding :data:`STAGING_MARK` (the pid). When
  complete it is swapped with ``DIR`` in one ``renameat2(RENAME_EXCHANGE)`` where the
  system has it (two renames otherwise) and the previous output is removed. Runs into
  one ``DIR`` take turns for that step (a ``flock`` on the parent directory): the last
  to finish wins and nothing is left behind.
* A failed or interrupted run removes its staging directory and the parent
  directories it created. A staging directory left by a killed run (its pid is no
  longer running) is removed by the next run into the same place; nothing else is.
* Directories and files are created with the permissions the umask gives.
* ``DIR`` may be an object-store URL (``s3://bucket/out``): the same rule, the output
  built locally and uploaded with its manifest last (:mod:`labelprep.remote_output`
  says what that guarantees: a store has no rename).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import os
import re
import secrets
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from labelprep.errors import InputError, OutputError, display_path, os_error_message
from labelprep.interrupts import deferred_signals
from labelprep.output_names import (
    ANNOTATORS,
    CLASS_STATS,
    DATASET_CARD,
    MANIFEST,
    MARKER_KEY,
    OUTPUT_FILES,
    OUTPUT_FORMAT,
    PART_DIRS,
    REJECTS,
    REPORT_HTML,
    REPORT_MD,
    SPLIT_NAME,
    SPLITS_DIR,
    TARGETS,
    foreign_entries,
    is_marked_manifest,
    is_part_dir,
    is_split_file,
    is_splits_dir,
)
from labelprep.remote_output import listing, output_location, remote_directory
from labelprep.stores import is_url

__all__ = [
    "ANNOTATORS",
    "CLASS_STATS",
    "DATASET_CARD",
    "MANIFEST",
    "MARKER_KEY",
    "OUTPUT_FILES",
    "OUTPUT_FORMAT",
    "PART_DIRS",
    "REJECTS",
    "REPORT_HTML",
    "REPORT_MD",
    "SPLITS_DIR",
    "SPLIT_NAME",
    "STAGING_MARK",
    "TARGETS",
    "atomic_directory",
    "check_inputs_outside",
    "check_replaceable",
    "foreign_entries",
    "is_marked_manifest",
    "is_part_dir",
    "is_split_file",
    "is_splits_dir",
    "listing",
    "output_location",
    "output_path",
    "remove_stale_staging",
]


STAGING_MARK = ".labelprep-staging"
_STAGING = re.compile(r"\.labelprep-(?P<pid>[0-9]+)-[0-9a-f]{8}")


@contextmanager
def atomic_directory(out_dir: str | Path, *, inputs: Sequence[str | Path] = ()) -> Iterator[Path]:
    """Yield an empty staging directory that replaces ``out_dir`` when the block succeeds.

    ``out_dir`` must be absent, empty or labelprep's own output (module docstring);
    ``inputs`` (the run's input files) must not lie inside it. On any failure or
    interruption the staging directory and the parents created for it are removed,
    and an :class:`OSError` becomes an :class:`~labelprep.errors.OutputError` (writing)
    or :class:`~labelprep.errors.InputError` (reading) naming the path.
    """
    if is_url(os.fspath(out_dir)):
        with _remote(os.fspath(out_dir), inputs) as folder:
            yield folder
        return
    final = output_path(out_dir)
    check_replaceable(final)
    check_inputs_outside(final, inputs)
    created: list[Path] = []
    staging: Path | None = None
    try:
        created = _make_parents(final.parent)
        with _turn(final.parent):
            remove_stale_staging(final)
        staging = _make_staging(final)
        yield staging
        with deferred_signals(), _turn(final.parent):
            check_replaceable(final)  # another run may have written it meanwhile
            _move_into_place(staging, final)
    except BaseException as exc:
        with deferred_signals():
            if staging is not None:
                shutil.rmtree(staging, ignore_errors=True)
            _remove_empty(created)
        if isinstance(exc, OSError):
            raise _os_error(exc, final, staging) from exc
        if isinstance(exc, OutputError) and staging is not None and str(staging) in str(exc):
            # name the file as the user knows it, not its staging copy
            raise OutputError(str(exc).replace(str(staging), str(final))) from exc
        raise


@contextmanager
def _remote(url: str, inputs: Sequence[str | Path]) -> Iterator[Path]:
    """:func:`atomic_directory` for a prefix in an object store (built locally, then
    uploaded: :mod:`labelprep.remote_output`)."""
    with remote_directory(url, inputs=inputs) as staging:
        try:
            yield staging
        except OSError as exc:
            raise _os_error(exc, staging, None) from exc
        except OutputError as exc:
            if str(staging) not in str(exc):
                raise
            raise OutputError(str(exc).replace(str(staging), url)) from exc


def output_path(out_dir: str | Path) -> Path:
    """``out_dir`` as a path whose last part names the directory (``.`` and ``a/..`` are
    resolved, so that the staging directory can sit next to it)."""
    text = os.fspath(out_dir)
    if not text:
        raise OutputError("the output directory is an empty string; pass -o DIR.")
    path = Path(text)
    if path.name in ("", ".", "..") or ".." in path.parts:
        path = Path(os.path.abspath(text))
    if path.name == "":
        raise OutputError(f"{display_path(text)}: cannot use the root directory as the output.")
    return path


def check_replaceable(final: Path) -> None:
    """Refuse an output path that is not absent, empty, or labelprep's own output."""
    here = os.getcwd()
    real = os.path.realpath(final)
    if here == real or here.startswith(real.rstrip(os.sep) + os.sep):
        raise _refuse(final, "is the current directory or contains it")
    try:
        if not os.path.lexists(final):
            return
        if final.is_symlink():
            raise _refuse(final, "is a symbolic link")
        if not final.is_dir():
            raise _refuse(final, "exists and is not a directory")
        problems = foreign_entries(final)
    except OSError as exc:  # e.g. a directory that cannot be listed
        raise OutputError(os_error_message(exc, writing=False)) from exc
    if problems:
        raise _refuse(final, "holds files labelprep did not write: " + problems)


def _refuse(final: Path, why: str) -> OutputError:
    return OutputError(
        f"{display_path(final)}: the output path {why}; labelprep replaces only an empty "
        "directory or its own output (nothing was changed). Choose another -o directory, "
        "or move those files away."
    )


def check_inputs_outside(final: Path, inputs: Sequence[str | Path]) -> None:
    """Refuse an output directory that holds (or is) one of the inputs."""
    root = os.path.realpath(final)
    for item in inputs:
        real = os.path.realpath(item)
        if real == root or real.startswith(root.rstrip(os.sep) + os.sep):
            raise OutputError(
                f"{display_path(final)}: the output directory holds the input "
                f"{display_path(item)}, which replacing it would delete; choose another -o "
                "directory."
            )


def _make_parents(parent: Path) -> list[Path]:
    """Create the missing parents of the output (umask permissions); return them."""
    missing: list[Path] = []
    for folder in [parent, *parent.parents]:
        if os.path.lexists(folder):
            if not folder.is_dir():
                raise OutputError(
                    f"cannot write {display_path(parent)}: {display_path(folder)} is not "
                    "a directory."
                )
            break
        missing.append(folder)
    created: list[Path] = []
    for folder in reversed(missing):
        try:
            folder.mkdir()
        except FileExistsError:
            continue  # made meanwhile by someone else: not ours to remove
        except BaseException:
            _remove_empty(created)
            raise
        created.append(folder)
    return created


def _remove_empty(created: Sequence[Path]) -> None:
    for folder in reversed(created):
        with contextlib.suppress(OSError):
            folder.rmdir()  # only if still empty


def _staging_prefix(final: Path) -> str:
    """``.NAME`` of the staging directories of ``final``, in UTF-8 even when the output's
    own name is not (Polars opens only UTF-8 paths; the final rename takes any)."""
    return f".{display_path(final.name)}"


def _make_staging(final: Path) -> Path:
    parent = os.fsencode(final.parent)
    try:
        parent.decode("utf-8")
    except UnicodeDecodeError:
        raise OutputError(
            f"cannot write {display_path(final)}: the folder's path is not valid UTF-8; "
            "choose an output directory whose parent folders have UTF-8 names."
        ) from None
    while True:
        token = secrets.token_hex(4)
        staging = final.with_name(f"{_staging_prefix(final)}.labelprep-{os.getpid()}-{token}")
        try:
            staging.mkdir()  # 0o777 less the umask, unlike tempfile.mkdtemp's 0o700
        except FileExistsError:
            continue
        (staging / STAGING_MARK).write_text(f"{os.getpid()}\n", encoding="ascii")
        return staging


def _move_into_place(staging: Path, final: Path) -> None:
    (staging / STAGING_MARK).unlink()
    if os.path.lexists(final) and _exchange(staging, final):
        shutil.rmtree(staging, ignore_errors=True)  # it now holds the previous output
        return
    if os.path.lexists(final):
        backup = staging.with_name(staging.name + "-old")
        final.rename(backup)
        try:
            staging.rename(final)
        except BaseException:
            backup.rename(final)
            raise
        shutil.rmtree(backup, ignore_errors=True)
        return
    staging.rename(final)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux ``renameat2``); False where unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    result = renameat2(
        _AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), ctypes.c_uint(_RENAME_EXCHANGE)
    )
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), os.fspath(b))


@contextmanager
def _turn(parent: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``parent`` (released when the process ends)."""
    try:
        fd = os.open(parent, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        yield  # an unreadable parent: no lock, the swap is still atomic
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def remove_stale_staging(final: Path) -> list[Path]:
    """Remove the staging directories of ``final`` left by killed runs; return them.

    A directory qualifies only if its name is ``.NAME.labelprep-PID-TOKEN``, its pid is
    no longer running, it is a plain directory, and it holds nothing but output files
    and the staging mark (whose pid must match the name's).
    """
    prefix = _staging_prefix(final)
    removed: list[Path] = []
    try:
        names = os.listdir(final.parent)
    except OSError:
        return removed
    for name in names:
        rest = name[len(prefix) :] if name.startswith(prefix) else ""
        match = _STAGING.fullmatch(rest.removesuffix("-old"))
        if match is None or _alive(int(match["pid"])):
            continue
        path = final.parent / name
        if _is_stale_staging(path, match["pid"]):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def _is_stale_staging(path: Path, pid: str) -> bool:
    if path.is_symlink() or not path.is_dir():
        return False
    with os.scandir(path) as entries:
        found = [(entry.name, entry.is_file(follow_symlinks=False)) for entry in entries]
    if not all(
        (is_file and name in {*OUTPUT_FILES, STAGING_MARK})
        or (name in PART_DIRS and is_part_dir(path / name))
        or (name == SPLITS_DIR and is_splits_dir(path / name))
        for name, is_file in found
    ):
        return False
    if any(name == STAGING_MARK for name, _ in found):
        mark = (path / STAGING_MARK).read_text(encoding="ascii", errors="replace")
        return mark.strip() == pid
    return True


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def _os_error(exc: OSError, final: Path, staging: Path | None) -> InputError | OutputError:
    """An :class:`OSError` met during a run: writing when its path is the output, a
    staging directory of it, or one of its parents; reading otherwise (an input)."""
    if exc.filename is None:
        return OutputError(os_error_message(exc, writing=True, path=final))
    path = Path(os.path.abspath(os.fsdecode(exc.filename)))
    target = Path(os.path.abspath(final))
    ours = [target, *([Path(os.path.abspath(staging))] if staging is not None else [])]
    staged = path.parent == target.parent and path.name.startswith(
        f"{_staging_prefix(target)}.labelprep-"
    )
    if staged:
        return OutputError(os_error_message(exc, writing=True, path=final))
    if path in target.parents or any(p == path or p in path.parents for p in ours):
        return OutputError(os_error_message(exc, writing=True))
    return InputError(os_error_message(exc, writing=False))
