"""Where options come from on disk: finding and reading ``labelprep.toml`` / ``pyproject.toml``.

Discovery never leaves the project: from the working directory up to the **project root**,

* the nearest directory holding ``.git`` (a folder, or the file of a worktree or
  submodule), when there is one above the working directory;
* otherwise the nearest directory holding a ``pyproject.toml``;
* otherwise the working directory alone.

In each directory of that walk, nearest first, a ``labelprep.toml`` is the configuration;
else a ``pyproject.toml`` that has a ``[tool.labelprep]`` table is; a ``pyproject.toml``
without one is passed over. Nothing above the project root is ever read, so a file left in a
shared temporary directory or a parent checkout cannot change a verdict.

A configuration holds option keys (dashes or underscores), a ``[columns]`` table of column
names by role, and tables named after a command (``[validate]``, ``[run]``...) whose keys
are read as if they were at the top.
"""

from __future__ import annotations

import os
import reprlib
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from labelprep.errors import ConfigError, did_you_mean

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

__all__ = [
    "CONFIG_FILE",
    "config_settings",
    "find_config_file",
    "load_config",
    "project_root",
    "resolve_config_file",
    "short_repr",
]

CONFIG_FILE = "labelprep.toml"
CONFIG_KEY = "config_file"
"""The settings key under which :func:`config_settings` records the file it read."""
SECTIONS = ("run", "validate", "stats", "compare", "aggregate", "refine")
"""Tables of a configuration named after a command; their keys are read as top-level keys."""
_ROOT_MARKERS: tuple[tuple[str, ...], ...] = ((".git",), ("pyproject.toml",))

_repr = reprlib.Repr()
_repr.maxstring = 60
_repr.maxother = 60
_repr.maxlevel = 2


def short_repr(value: Any) -> str:
    """``repr`` of a setting's value, shortened (deep or long values stay one short line)."""
    return _repr.repr(value)


def project_root(start: Path | None = None) -> Path:
    """The directory where config discovery from ``start`` (default: cwd) stops."""
    here = (start or Path.cwd()).resolve()
    chain = (here, *here.parents)
    for markers in _ROOT_MARKERS:
        for folder in chain:
            if any(os.path.lexists(folder / marker) for marker in markers):
                return folder
    return here


def find_config_file(start: Path | None = None) -> Path | None:
    """The nearest ``labelprep.toml`` or ``pyproject.toml`` with ``[tool.labelprep]``,
    looking no higher than the project root (see the module docstring)."""
    here = (start or Path.cwd()).resolve()
    root = project_root(here)
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_FILE
        if os.path.isfile(candidate):
            return candidate
        pyproject = folder / "pyproject.toml"
        if os.path.isfile(pyproject) and "labelprep" in _tool_table(pyproject):
            return pyproject
        if folder == root:
            break
    return None


def _tool_table(pyproject: Path) -> Mapping[str, Any]:
    tool = _read_toml(pyproject).get("tool", {})
    return tool if isinstance(tool, Mapping) else {}


def resolve_config_file(config: str | Path | bool) -> Path | None:
    """The file a ``config=`` argument names: ``True`` finds one, ``False`` none, a path itself."""
    if config is False:
        return None
    if config is True:
        return find_config_file()
    path = Path(config)
    if not os.path.isfile(path):
        raise ConfigError(f"{path}: no such configuration file.")
    return path


def load_config(path: Path | None = None) -> dict[str, Any]:
    """Read the settings of a config file as a flat mapping (keys use underscores)."""
    path = path if path is not None else find_config_file()
    if path is None:
        return {}
    data: Any = _read_toml(path)
    if path.name == "pyproject.toml":
        data = data.get("tool", {})
        data = data.get("labelprep", {}) if isinstance(data, Mapping) else {}
        if not isinstance(data, Mapping):
            raise ConfigError(f"{path}: [tool.labelprep] must be a table of options.")
    return _normalize_keys(data, source=path)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the configuration: {exc}") from exc
    except RecursionError as exc:
        raise ConfigError(
            f"{path}: cannot read the configuration: arrays or tables nested too deeply."
        ) from exc


def _normalize_keys(
    data: Mapping[str, Any], *, source: Path, section: str | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        norm = key.replace("-", "_")
        if norm == CONFIG_KEY:
            raise ConfigError(f"{source}: unknown option {key!r}.")
        if isinstance(value, Mapping) and norm != "columns":
            if section is not None or norm not in SECTIONS:
                where = f"[{section}.{key}]" if section else f"[{key}]"
                hint = did_you_mean(norm, SECTIONS)
                raise ConfigError(
                    f"{source}: unknown table {where}; tables are [columns] and one per "
                    f"command ({', '.join(SECTIONS)}).{hint}"
                )
            out.update(_normalize_keys(value, source=source, section=key))
        else:
            out[norm] = value
    return out


def config_settings(config: str | Path | bool) -> dict[str, Any]:
    """Settings from a config file: ``True`` finds the nearest, ``False`` reads none.

    The file read is recorded under ``config_file`` (as a string).
    """
    path = resolve_config_file(config)
    if path is None:
        return {}
    settings = load_config(path)
    return {**settings, CONFIG_KEY: str(path)}
