"""Collection of the package's doctests (``--doctest-modules`` imports every module).

``labelprep/torch_data.py`` needs the ``torch`` extra: where PyTorch is not installed its
doctests cannot be collected, and the run's header says so (its tests in
``tests/test_torch_loaders.py`` are skipped with the same reason).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

TORCH_MISSING = importlib.util.find_spec("torch") is None
TORCH_REASON = (
    "PyTorch is not installed (pip install torch --index-url "
    "https://download.pytorch.org/whl/cpu); the torch extra is not tested"
)


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if TORCH_MISSING and collection_path.name == "torch_data.py":
        return True
    return None


def pytest_report_header(config: pytest.Config) -> str | None:
    return f"SKIPPED labelprep/torch_data.py doctests: {TORCH_REASON}" if TORCH_MISSING else None
