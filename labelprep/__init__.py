"""labelprep: messy classification labels in; validated soft targets, masks and stats out.

The public API mirrors the command line: ``labelprep run`` is :func:`run`,
``labelprep stats`` is :func:`class_stats`, and so on.
"""

from __future__ import annotations

__version__ = "0.1.0"

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from labelprep.api import aggregate, class_stats, run
    from labelprep.checks import compare, validate
    from labelprep.class_weighting import (
        ClassWeights,
        LogitAdjustment,
        class_weights,
        logit_adjustment,
    )
    from labelprep.config import Columns, Options
    from labelprep.refine import RefineResult, refine
    from labelprep.reporting.rerender import report
    from labelprep.sample import sample_paths
    from labelprep.schema import schema_json
    from labelprep.summary import RunResult

_LAZY: dict[str, str] = {
    "aggregate": "labelprep.api",
    "class_stats": "labelprep.api",
    "report": "labelprep.reporting.rerender",
    "run": "labelprep.api",
    "compare": "labelprep.checks",
    "validate": "labelprep.checks",
    "ClassWeights": "labelprep.class_weighting",
    "LogitAdjustment": "labelprep.class_weighting",
    "class_weights": "labelprep.class_weighting",
    "logit_adjustment": "labelprep.class_weighting",
    "Columns": "labelprep.config",
    "Options": "labelprep.config",
    "RefineResult": "labelprep.refine",
    "refine": "labelprep.refine",
    "sample_paths": "labelprep.sample",
    "schema_json": "labelprep.schema",
    "RunResult": "labelprep.summary",
}
"""Public names imported on first use, so ``import labelprep`` (and the command line's
``--help``) does not load Polars, NumPy, PyArrow and Pandera."""


def __getattr__(name: str) -> Any:
    """A public name, or a submodule, imported on first access (PEP 562)."""
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    if not name.startswith("_"):
        try:
            return importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


class _Package(types.ModuleType):
    """Keeps a public function when its same-named submodule is imported
    (``labelprep.refine`` stays the function after ``import labelprep.refine``)."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _LAZY and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package

__all__ = [
    "ClassWeights",
    "ColumnNotFoundError",
    "Columns",
    "ConfigError",
    "GateFailedError",
    "InputError",
    "Interrupted",
    "LabelprepError",
    "LogitAdjustment",
    "Options",
    "OutputError",
    "RefineResult",
    "RunResult",
    "VocabularyError",
    "__version__",
    "aggregate",
    "class_stats",
    "class_weights",
    "compare",
    "logit_adjustment",
    "refine",
    "report",
    "run",
    "sample_paths",
    "schema_json",
    "validate",
]
