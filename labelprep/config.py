"""One frozen options object; every default is declared here once.

Options come from three places, later ones winning: the defaults below, a
``labelprep.toml`` (or ``[tool.labelprep]`` in ``pyproject.toml``) found between the
working directory and the project root (:mod:`labelprep.config_files`), and the keyword
arguments / command-line flags. Every value is checked against the type of its field
(:func:`build_options`): a value of the wrong type, a number that is not finite or out of
range, an empty name, raises :class:`~labelprep.errors.ConfigError` naming the option.
"""

from __future__ import annotations

import dataclasses
import math
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from labelprep.config_files import (
    CONFIG_FILE,
    CONFIG_KEY,
    config_settings,
    find_config_file,
    load_config,
    project_root,
    resolve_config_file,
    short_repr,
)
from labelprep.errors import ConfigError, did_you_mean

__all__ = [
    "CONFIG_FILE",
    "GATE_SETTINGS",
    "Columns",
    "Options",
    "build_options",
    "config_settings",
    "find_config_file",
    "load_config",
    "parse_class_list",
    "project_root",
    "resolve_config_file",
    "typed_gates",
]

PartialMode = Literal["uniform", "prior"]
CountBy = Literal["soft", "support", "hard"]
InputFormat = Literal["csv", "tsv", "parquet", "jsonl"]
Compression = Literal["zstd", "snappy", "lz4", "gzip", "uncompressed"]

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
    split_files: bool = False
    """Also write the targets of each split to ``splits/NAME.parquet``, with a dataset card
    (``README.md``) from which Hugging Face ``datasets.load_dataset(DIR)`` reads the splits.
    Needs a split column, and a valid name on every accepted row (see
    :mod:`labelprep.split_files`)."""
    separator: str | None = None
    """Field separator of CSV/TSV inputs: one character, ``\\t``, or ``whitespace`` (runs of
    spaces and tabs, as in ``item worker label`` files). Default: by format."""
    no_header: bool = False
    """Text inputs have no header line; columns are ``column_names`` or ``column_1``..."""
    column_names: tuple[str, ...] | None = None
    """Names of the columns of headerless text inputs, in order."""
    quote_char: str = '"'
    """Quote character of CSV/TSV inputs; empty for none."""
    id_from_row: bool = False
    """The inputs have no id column: each record's line (row) number is its id."""

    config_file: str | None = None
    """The configuration file the options were read from (recorded, not an option)."""

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
        if not self.tau >= 0.0:  # tau * log(prior): a negative tau would favour rare classes
            raise ConfigError(f"option tau={self.tau} must be >= 0.")
        if self.classes is not None:
            _check_classes(self.classes)
        if not self.list_delimiter:
            raise ConfigError("option list_delimiter is empty; give a separator such as '|'.")
        _check_keep(self.keep, self.columns)

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-serializable view (for the manifest; the config file is apart)."""
        options = dataclasses.asdict(self)
        del options[CONFIG_KEY]
        return options


_WRITTEN_COLUMNS = ("soft_target", "mask", "evidence", "hard_label", "sample_weight")


def _check_keep(keep: Sequence[str], columns: Columns) -> None:
    """``keep`` names input columns to carry along: not one the targets already have."""
    always = {columns.id: "the id column", columns.split: "the split column"}
    seen: set[str] = set()
    for name in keep:
        if name in always:
            raise ConfigError(
                f"option keep={name!r}: {always[name]} is always in targets; drop it from --keep."
            )
        if name in _WRITTEN_COLUMNS:
            raise ConfigError(
                f"option keep={name!r}: targets already has a column {name!r} labelprep "
                "computes; rename the input column."
            )
        if name in seen:
            raise ConfigError(f"option keep={name!r} is given twice.")
        seen.add(name)


def _check_classes(classes: Sequence[str]) -> None:
    if not classes:
        raise ConfigError("the class list is empty; give at least one class name.")
    seen: set[str] = set()
    for name in classes:
        if name == "":
            raise ConfigError("a class name is empty (check for a trailing comma in --classes).")
        if not name.strip():
            raise ConfigError(f"class name {name!r} is blank; give a visible name.")
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
_HINTS: dict[str, Any] = get_type_hints(Options)
_GATE_TYPES: dict[str, Any] = {
    "min_rows": float,
    "max_reject_rate": float,
    "min_class_count": float,
    "max_imbalance_ratio": float,
    "require_classes": bool,
    "baseline": str,
    "max_linf": float,
    "max_jsd": float,
}
_RANGES: dict[str, tuple[float, float]] = {
    "min_rows": (0.0, math.inf),
    "max_reject_rate": (0.0, 1.0),
    "min_class_count": (0.0, math.inf),
    "max_imbalance_ratio": (1.0, math.inf),
    "max_linf": (0.0, 1.0),
    "max_jsd": (0.0, 1.0),
}


def _wrong(key: str, value: Any, expected: str) -> ConfigError:
    return ConfigError(f"option {key}={short_repr(value)} must be {expected}.")


def _coerce(key: str, value: Any, hint: Any) -> Any:
    """``value`` checked against (and converted to) the type ``hint`` of option ``key``."""
    origin, args = get_origin(hint), get_args(hint)
    if origin in (Union, types.UnionType):
        if value is None:
            return None
        (inner,) = [arg for arg in args if arg is not type(None)]
        return _coerce(key, value, inner)
    if origin is Literal:
        if isinstance(value, str):
            return value  # which choice: checked by Options, with a did-you-mean hint
        raise _wrong(key, value, "one of " + ", ".join(map(str, args)))
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise _wrong(key, value, "true or false")
    if hint is float:
        return _number(key, value)
    if hint is str:
        if isinstance(value, str):
            return value
        raise _wrong(key, value, "a string")
    if origin is tuple:
        return _names(key, value)
    return value


def _number(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise _wrong(key, value, "a number")
    try:
        number = float(value)
    except (ValueError, OverflowError) as exc:
        raise _wrong(key, value, "a number") from exc
    if not math.isfinite(number):
        raise _wrong(key, value, "a finite number")
    low, high = _RANGES.get(key, (-math.inf, math.inf))
    if not low <= number <= high:
        raise _wrong(key, value, f"between {low:g} and {high:g}")
    return number


def _names(key: str, value: Any) -> tuple[str, ...]:
    """A list of names: ``"a,b"`` or a list of strings; ``classes`` are checked by Options."""
    if isinstance(value, str):
        names = tuple(part.strip() for part in value.split(","))
    elif isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        names = tuple(value)
    else:
        raise _wrong(key, value, "a list of strings or a comma-separated string")
    if key != "classes":
        for name in names:
            _name(key, name)
    return names


def _name(key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise _wrong(key, value, "a string")
    if not value.strip():
        raise _wrong(key, value, "a non-blank column name")
    return value


def _column_table(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _wrong("columns", value, "a table of column names by role (id = 'item')")
    return dict(value)


def typed_gates(values: Mapping[str, Any]) -> dict[str, Any]:
    """Gate settings (``None``: unset) checked and converted to their types."""
    return {
        key: _coerce(key, value, _GATE_TYPES[key])
        for key, value in values.items()
        if key in GATE_SETTINGS and value is not None
    }


_COLUMN_NAMES = {f.name for f in fields(Columns)}


def build_options(values: Mapping[str, Any]) -> Options:
    """Build :class:`Options` from a flat mapping, ignoring ``None`` values.

    Column names may be given as ``id_column=`` / ``label_column=`` ... or in a
    ``columns`` mapping. Unknown keys raise :class:`ConfigError` with a hint.
    """
    kwargs: dict[str, Any] = {}
    column_kwargs = _column_table(values.get("columns"))
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
    typed_gates(values)  # a bad gate value fails every command, not only validate
    kwargs = {key: _coerce(key, value, _HINTS[key]) for key, value in kwargs.items()}
    columns = {role: _name(f"{role}_column", name) for role, name in column_kwargs.items()}
    return Options(columns=Columns(**columns), **kwargs)
