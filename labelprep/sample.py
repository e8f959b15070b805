"""The bundled sample data (installed with the package), used by ``labelprep run``."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

SAMPLE_FILES: tuple[str, ...] = (
    "soft_wide.csv",
    "partial.jsonl",
    "mixed.parquet",
    "mixed.tsv",
)


def sample_dir() -> Path:
    """Folder of the bundled sample files."""
    return Path(str(resources.files("labelprep") / "sample_data"))


def sample_paths() -> list[str]:
    """Paths of the bundled sample inputs, in a fixed order."""
    folder = sample_dir()
    return [str(folder / name) for name in SAMPLE_FILES]
