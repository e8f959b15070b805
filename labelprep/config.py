"""One frozen options object; every default is declared here once.

Options come from three places, later ones winning: the defaults below, a
``labelprep.toml`` (or ``[tool.labelprep]`` in ``pyproject.toml``) found in the
working directory or its parents, and the keyword arguments / command-line flags.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from labelprep.errors import ConfigError, did_you_mean

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

PartialMode = Literal["uniform", "prior"]
CountBy = Literal["soft", "support", "hard"]
InputFormat = Literal["csv", "tsv", "parquet", "jsonl"]
Compression = Literal["zstd", "snappy", "lz4", "gzip", "uncompressed"]

CONFIG_FILE = "labelprep.toml"
GATE_SETTINGS: tuple[str, ...] = (
    "min_rows",
    "max_reject_rate",
    "min_class_count",
    "max_imbalance_ratio",
    "require_classes",
    "baseline",
    "max_linf",
    "max_jsd",
)
_CHOICES: dict[str, tuple[str, ...]] = {
    "partial": ("uniform", "prior"),
    "count_by": ("soft", "support", "hard"),
    "input_format": ("csv", "tsv", "parquet", "jsonl"),
    "compression": ("zstd", "snappy", "lz4", "gzip", "uncompressed"),
    "sample_weight": (
        "balanced",
        "inverse_sqrt",
        "effective_number",
        "median_frequency",
    ),
}


@dataclass(frozen=True)
class Columns:
    """Names of the input columns labelprep looks for."""

    id: str = "id"
    label: str = "label"
    probs: str = "probs"
    excluded: str = "excluded"
    candidates: str = "candidates"
    split: str = "split"
    annotator: str = "annotator"


@dataclass(frozen=True)
class Options:
    """Every option of a labelprep run, with its default.

    Attributes mirror the command-line flags (``--max-reject-rate`` is
    ``max_reject_rate``). Column names live in :class:`Columns`.
    """

    classes: tuple[str, ...] | None = None
    columns: Columns = field(default_factory=Columns)
    prob_columns: tuple[str, ...] | None = None
    keep: tuple[str, ...] = ()
    list_delimiter: str = "|"
    input_format: InputFormat | None = None
    tolerance: float = 1e-3
    renormalize: bool = False
    partial: PartialMode = "uniform"
    smoothing: float = 0.0
    count_by: CountBy = "soft"
    beta: float = 0.999
    tau: float = 1.0
    sample_weight: str | None = None
    compression: Compression = "snappy"
    """Parquet codec of ``targets.parquet`` and ``rejects.parquet``: Snappy, the default of
    pyarrow, pandas, Spark and DuckDB (fast to write and to read back every epoch);
    ``zstd`` makes files about a quarter smaller for about 15% more run time."""

    def __post_init__(self) -> None:
        for name, allowed in _CHOICES.items():
            value = getattr(self, name)
            if value is not None and value not in allowed:
                raise ConfigError(
                    f"option {name}={value!r} is not one of {', '.join(allowed)}."
                    + did_you_mean(str(value), allowed)
                )
        if not 0.0 <= self.smoothing < 1.0:
            raise ConfigError(f"option smoothing={self.smoothing} must be in [0, 1).")
        if not self.tolerance >= 0.0:
            raise ConfigError(f"option tolerance={self.tolerance} must be >= 0.")
        if not 0.0 <= self.beta < 1.0:
            raise ConfigError(f"option beta={self.beta} must be in [0, 1).")
        if self.classes is not None:
            _check_classes(self.classes)

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-serializable view (for the manifest)."""
        return dataclasses.asdict(self)


def _check_classes(classes: Sequence[str]) -> None:
    if not classes:
        raise ConfigError("the class list is empty; give at least one class name.")
    seen: set[str] = set()
    for name in classes:
        if name == "":
            raise ConfigError("a class name is empty (check for a trailing comma in --classes).")
        if name in seen:
            raise ConfigError(f"class {name!r} is listed twice in the class list.")
        seen.add(name)


def parse_class_list(text: str | Sequence[str] | None) -> tuple[str, ...] | None:
    """Accept ``"a,b,c"`` or ``["a", "b", "c"]``; ``None`` stays ``None``."""
    if text is None:
        return None
    if isinstance(text, str):
        return tuple(part.strip() for part in text.split(","))
    return tuple(str(part) for part in text)


_OPTION_NAMES = {f.name for f in fields(Options)}
_TYPES: dict[str, type] = {
    "tolerance": float,
    "smoothing": float,
    "beta": float,
    "tau": float,
    "renormalize": bool,
    "max_reject_rate": float,
    "min_rows": float,
    "min_class_count": float,
    "max_imbalance_ratio": float,
    "max_linf": float,
    "max_jsd": float,
    "require_classes": bool,
}


def _typed(key: str, value: Any, kind: type) -> Any:
    """A setting converted to its type, or a :class:`ConfigError` naming it."""
    if kind is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"option {key}={value!r} must be true or false.")
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ConfigError(f"option {key}={value!r} must be a number.")
    try:
        return float(value)
    except ValueError as exc:
        raise ConfigError(f"option {key}={value!r} must be a number.") from exc


def typed_gates(values: Mapping[str, Any]) -> dict[str, Any]:
    """Gate settings converted to their types (``baseline`` stays a path)."""
    return {
        k: _typed(k, v, _TYPES[k]) if k in _TYPES else v
        for k, v in values.items()
        if k in GATE_SETTINGS
    }


_COLUMN_NAMES = {f.name for f in fields(Columns)}


def build_options(values: Mapping[str, Any]) -> Options:
    """Build :class:`Options` from a flat mapping, ignoring ``None`` values.

    Column names may be given as ``id_column=`` / ``label_column=`` ... or in a
    ``columns`` mapping. Unknown keys raise :class:`ConfigError` with a hint.
    """
    kwargs: dict[str, Any] = {}
    column_kwargs: dict[str, str] = dict(values.get("columns") or {})
    for key, value in values.items():
        if value is None or key == "columns":
            continue
        if key.endswith("_column") and key[: -len("_column")] in _COLUMN_NAMES:
            column_kwargs[key[: -len("_column")]] = value
        elif key in _OPTION_NAMES:
            kwargs[key] = value
        elif key not in GATE_SETTINGS:
            known = [*_OPTION_NAMES, *GATE_SETTINGS, *(f"{c}_column" for c in _COLUMN_NAMES)]
            raise ConfigError(f"unknown option {key!r}." + did_you_mean(key, known))
    unknown = set(column_kwargs) - _COLUMN_NAMES
    if unknown:
        name = sorted(unknown)[0]
        raise ConfigError(f"unknown column role {name!r}." + did_you_mean(name, _COLUMN_NAMES))
    for key, kind in _TYPES.items():
        if key in kwargs:
            kwargs[key] = _typed(key, kwargs[key], kind)
    if "classes" in kwargs:
        kwargs["classes"] = parse_class_list(kwargs["classes"])
    for key in ("keep", "prob_columns"):
        if key in kwargs:
            kwargs[key] = parse_class_list(kwargs[key])
    return Options(columns=Columns(**column_kwargs), **kwargs)


def find_config_file(start: Path | None = None) -> Path | None:
    """The nearest ``labelprep.toml`` or ``pyproject.toml`` with ``[tool.labelprep]``."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_FILE
        if candidate.is_file():
            return candidate
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and "labelprep" in _read_toml(pyproject).get("tool", {}):
            return pyproject
    return None


def load_config(path: Path | None = None) -> dict[str, Any]:
    """Read the settings of a config file as a flat mapping (keys use underscores)."""
    path = path if path is not None else find_config_file()
    if path is None:
        return {}
    data = _read_toml(path)
    if path.name == "pyproject.toml":
        data = data.get("tool", {}).get("labelprep", {})
    return _normalize_keys(data, source=str(path))


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the configuration: {exc}") from exc


def _normalize_keys(data: Mapping[str, Any], *, source: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        norm = key.replace("-", "_")
        if isinstance(value, Mapping) and norm not in ("columns",):
            out.update(_normalize_keys(value, source=source))  # [tool.labelprep.validate]
        else:
            out[norm] = value
    return out


def config_settings(config: str | Path | bool) -> dict[str, Any]:
    """Settings from a config file: ``True`` finds the nearest, ``False`` reads none."""
    if config is False:
        return {}
    if config is True:
        return load_config()
    path = Path(config)
    if not path.is_file():
        raise ConfigError(f"{path}: no such configuration file.")
    return load_config(path)
