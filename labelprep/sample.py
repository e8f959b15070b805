"""The bundled sample data (installed with the package), used by ``labelprep run``."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

SAMPLE_FILES: dict[str, tuple[str, ...]] = {
    "all": ("soft_wide.csv", "partial.jsonl", "mixed.parquet", "mixed.tsv", "votes.csv"),
    "votes": ("votes.csv",),
}


def sample_dir() -> Path:
    """Folder of the bundled sample files."""
    return Path(str(resources.files("labelprep") / "sample_data"))


def sample_paths(kind: str = "all") -> list[str]:
    """Paths of the bundled sample inputs (``"all"``, or only the ``"votes"``), in order."""
    folder = sample_dir()
    return [str(folder / name) for name in SAMPLE_FILES[kind]]
