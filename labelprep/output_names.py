"""Which entries of a folder are labelprep's own output, by name and by its manifest.

An output directory holds the files named in :data:`OUTPUT_FILES`, the directories of
part files of :data:`PART_DIRS` (the Dask engine) and :data:`SPLITS_DIR` (per-split
targets), and a ``manifest.json`` that carries :data:`MARKER_KEY`. A file as common as a
user's own (:data:`RECORDED_ONLY`: ``README.md``) counts only when the manifest lists it
with the same size and sha256, and a split file only when listed with the same size: a
user's ``README.md`` in an output directory is never taken for labelprep's
(:mod:`labelprep.outdir` then refuses to replace the directory).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

from labelprep.errors import display_path

MANIFEST = "manifest.json"
TARGETS = "targets.parquet"
REJECTS = "rejects.parquet"
CLASS_STATS = "class_stats.parquet"
ANNOTATORS = "annotators.parquet"
REPORT_MD = "report.md"
REPORT_HTML = "report.html"
DATASET_CARD = "README.md"
"""With ``split_files``: the dataset card whose YAML tells Hugging Face the splits."""
OUTPUT_FILES = frozenset(
    {MANIFEST, TARGETS, REJECTS, CLASS_STATS, ANNOTATORS, REPORT_MD, REPORT_HTML, DATASET_CARD}
)
"""Every name labelprep writes into an output directory, and the only ones it replaces."""
PART_DIRS = frozenset({"targets", "rejects"})
"""With the Dask engine ``targets`` and ``rejects`` are directories of part files."""
PART_FILE = re.compile(r"part-[0-9]{5,}\.parquet")
SPLITS_DIR = "splits"
"""With ``split_files``: one targets file per split (``splits/NAME.parquet``)."""
SPLIT_NAME = re.compile(r"\w+(?:\.\w+)*")
"""A split name that can name a file and a Hugging Face split: letters, digits and ``_``,
in parts joined by single dots (the rule of ``datasets``); never ``/``, ``..`` or a space."""
MARKER_KEY = "labelprep_output"
OUTPUT_FORMAT = 1
"""Value of :data:`MARKER_KEY` in the manifests this version writes."""
_SHOWN = 5


def foreign_entries(folder: Path) -> str:
    """What makes ``folder`` not labelprep's output (empty when it is, or is empty)."""
    names = sorted(os.listdir(folder))
    if not names:
        return ""
    recorded = recorded_outputs(folder / MANIFEST)
    foreign = [name for name in names if not _is_output_file(folder / name, recorded)]
    if foreign:
        shown = ", ".join(display_path(n) for n in foreign[:_SHOWN])
        more = f" and {len(foreign) - _SHOWN} more" if len(foreign) > _SHOWN else ""
        return shown + more
    if not is_marked_manifest(folder / MANIFEST):
        return f"{MANIFEST} (not written by labelprep: no {MARKER_KEY!r} key)"
    return ""


def _is_output_file(path: Path, recorded: dict[str, tuple[int, str]]) -> bool:
    if path.is_dir() and not path.is_symlink():
        return _is_output_dir(path, recorded)
    if path.name not in OUTPUT_FILES or not path.is_file() or path.is_symlink():
        return False
    return path.name not in RECORDED_ONLY or _is_recorded(path, path.name, recorded)


def _is_output_dir(path: Path, recorded: dict[str, tuple[int, str]]) -> bool:
    """A folder of part or split files, every one listed in the manifest with its size."""
    if path.name in PART_DIRS:
        shaped = is_part_dir(path)
    elif path.name == SPLITS_DIR:
        shaped = is_splits_dir(path)
    else:
        return False
    return shaped and all(
        _is_recorded(entry, f"{path.name}/{entry.name}", recorded, by_hash=False)
        for entry in path.iterdir()
    )


RECORDED_ONLY = frozenset({DATASET_CARD})
"""Output names as common as a user's own file (a ``README.md``): such a file is
labelprep's only when its manifest lists it with the same size and sha256 (as the files of
:data:`SPLITS_DIR` and :data:`PART_DIRS` must be listed with the same size)."""


def recorded_outputs(manifest: Path) -> dict[str, tuple[int, str]]:
    """The outputs a manifest lists (paths relative to its folder): size and sha256."""
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return recorded_in(data)


def recorded_in(data: object) -> dict[str, tuple[int, str]]:
    """The outputs a parsed manifest lists: path, size and sha256."""
    entries = data.get("outputs") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        return {}
    return {
        e["path"]: (e["bytes"], str(e.get("sha256")))
        for e in entries
        if isinstance(e, dict)
        and isinstance(e.get("path"), str)
        and isinstance(e.get("bytes"), int)
    }


def _is_recorded(
    path: Path, relative: str, recorded: dict[str, tuple[int, str]], *, by_hash: bool = True
) -> bool:
    """``path`` is the file the manifest lists as ``relative``: same size (and sha256)."""
    if relative not in recorded or path.stat().st_size != recorded[relative][0]:
        return False
    return not by_hash or hashlib.sha256(path.read_bytes()).hexdigest() == recorded[relative][1]


def is_part_dir(path: Path) -> bool:
    """A directory of part files (``part-00000.parquet``...) and nothing else."""
    with os.scandir(path) as entries:
        return all(
            PART_FILE.fullmatch(e.name) and e.is_file(follow_symlinks=False) for e in entries
        )


def is_split_file(name: str) -> bool:
    """True for ``NAME.parquet`` where ``NAME`` is a valid split name (:data:`SPLIT_NAME`)."""
    stem, dot, ext = name.rpartition(".")
    return bool(dot) and ext == "parquet" and SPLIT_NAME.fullmatch(stem) is not None


def is_splits_dir(path: Path) -> bool:
    """A directory of per-split targets files (``train.parquet``...) and nothing else."""
    with os.scandir(path) as entries:
        return all(is_split_file(e.name) and e.is_file(follow_symlinks=False) for e in entries)


def is_marked_manifest(path: Path) -> bool:
    """True when ``path`` is a manifest labelprep wrote (it carries :data:`MARKER_KEY`)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return is_marked(data)


def is_marked(data: object) -> bool:
    """True for a parsed manifest that labelprep wrote (it carries :data:`MARKER_KEY`)."""
    return isinstance(data, dict) and isinstance(data.get(MARKER_KEY), int)


def is_output_object(relative: str) -> bool:
    """True for a name an output directory may hold, relative to it: an output file, or a
    part (``targets/part-00000.parquet``) or split file (``splits/train.parquet``) in its
    folder (:func:`labelprep.remote_output.foreign_objects` adds the manifest's word)."""
    folder, _, name = relative.rpartition("/")
    if not folder:
        return name in OUTPUT_FILES
    if folder in PART_DIRS:
        return PART_FILE.fullmatch(name) is not None
    return folder == SPLITS_DIR and is_split_file(name)
