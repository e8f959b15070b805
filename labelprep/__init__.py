"""labelprep: messy classification labels in; validated soft targets, masks and stats out.

The public API mirrors the command line: ``labelprep run`` is :func:`run`,
``labelprep stats`` is :func:`class_stats`, and so on.
"""

from __future__ import annotations

__version__ = "0.1.0"

from labelprep.api import aggregate, class_stats, report, run
from labelprep.checks import compare, validate
from labelprep.config import Columns, Options
from labelprep.errors import (
    ColumnNotFoundError,
    ConfigError,
    GateFailedError,
    InputError,
    Interrupted,
    LabelprepError,
    OutputError,
    VocabularyError,
)
from labelprep.refine import RefineResult, refine
from labelprep.sample import sample_paths
from labelprep.schema import schema_json
from labelprep.summary import RunResult

__all__ = [
    "ColumnNotFoundError",
    "Columns",
    "ConfigError",
    "GateFailedError",
    "InputError",
    "Interrupted",
    "LabelprepError",
    "Options",
    "OutputError",
    "RefineResult",
    "RunResult",
    "VocabularyError",
    "__version__",
    "aggregate",
    "class_stats",
    "compare",
    "refine",
    "report",
    "run",
    "sample_paths",
    "schema_json",
    "validate",
]
