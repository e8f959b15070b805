"""labelprep: messy classification labels in; validated soft targets, masks and stats out."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
