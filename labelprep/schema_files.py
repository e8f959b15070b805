"""The data contracts as JSON files (``schemas/*.json``, ``labelprep schema NAME``) and
back to Pandera schemas.

An output contract (``targets``, ``rejects``, ``class_stats``) holds its ``name``, whether
it is ``strict`` (no other columns), its ``columns`` and its frame ``checks``. A column
holds its ``dtype`` (a Polars type name; ``null``: any type), ``nullable``, ``required``
and ``checks``. A check holds its ``name`` and a ``description``; a Pandera built-in
check (``isin``, ``in_range``, ``greater_than_or_equal_to``, ``str_matches``...) also its
``options``, the keyword arguments of ``pandera.Check.<name>``; a check without options
is one of labelprep's own (:data:`labelprep.schema.TARGET_CHECKS`, ``finite``). The
contracts hold for any number of classes K, written symbolically: ``shape=(K,)`` in a
dtype, ``"<classes>"`` for the class names in order and ``"K-1"`` for the last class
index. :func:`load_contract` substitutes a vocabulary and rebuilds the schema.

The ``input`` contract describes the columns an input file may have and the row checks
(one per reject reason); it is documentation, not a frame schema.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from labelprep.config import Options
from labelprep.errors import ConfigError, InputError
from labelprep.evidence import TargetPlan
from labelprep.schema import (
    CONTRACTS,
    INPUT_COLUMNS,
    TARGET_CHECKS,
    class_stats_schema,
    finite_check,
    input_schema,
    rejects_schema,
    target_check,
    targets_schema,
)

if TYPE_CHECKING:
    import pandera.polars as pa

CLASSES = "<classes>"
LAST_INDEX = "K-1"
OUTPUTS: dict[str, Callable[[Sequence[str]], pa.DataFrameSchema]] = {
    "targets": targets_schema,
    "rejects": lambda _classes: rejects_schema(),
    "class_stats": class_stats_schema,
}
_K = 3  # the contracts are rendered for 3 and 4 classes: what differs depends on K
_ARRAY = re.compile(r"^Array\((\w+), shape=\((\w+),\)\)$")
DTYPES = frozenset(
    {"Boolean", "String", "Binary", "Float32", "Float64", "Date", "Datetime", "Duration"}
    | {f"{s}Int{n}" for s in ("", "U") for n in (8, 16, 32, 64)}
)
"""The dtypes a contract file may name (alone or inside ``Array(..., shape=(n,))``)."""
BUILTIN_CHECKS = frozenset(
    (
        "equal_to",
        "not_equal_to",
        "greater_than",
        "greater_than_or_equal_to",
        "less_than",
        "less_than_or_equal_to",
        "in_range",
        "isin",
        "notin",
        "str_matches",
        "str_contains",
        "str_startswith",
        "str_endswith",
        "str_length",
        "unique_values_eq",
    )
)
"""The Pandera built-in checks a contract file may name."""


def _classes(k: int) -> tuple[str, ...]:
    return tuple(f"<class {i}>" for i in range(k))


def _symbolic(a: Any, b: Any, k: int) -> Any:
    """An option rendered for K and K+1 classes, as written in the file."""
    if a == b:
        return a
    if a == list(_classes(k)) and b == list(_classes(k + 1)):
        return CLASSES
    if a == k - 1 and b == k:
        return LAST_INDEX
    raise ValueError(f"an option depends on K in an unknown way: {a!r} / {b!r}")


def _check_entry(a: pa.Check, b: pa.Check, k: int) -> dict[str, Any]:
    if a.name in TARGET_CHECKS or a.name == "finite":
        return {"name": a.name, "description": str(a.error).removeprefix(f"{a.name}: ")}
    ours, theirs = a.statistics or {}, b.statistics or {}
    options = {key: _symbolic(ours[key], theirs[key], k) for key in ours}
    shown = ", ".join(f"{key}={_shown(value)}" for key, value in options.items())
    return {"name": a.name, "description": f"{a.name}({shown})", "options": options}


def _shown(value: Any) -> str:
    return str(value) if value in (CLASSES, LAST_INDEX) else repr(value)


def _dtype_entry(dtype: Any, k: int) -> str | None:
    return None if dtype is None else str(dtype).replace(f"shape=({k},)", "shape=(K,)")


def describe(name: str) -> dict[str, Any]:
    """One output contract as a plain dict (K symbolic)."""
    a, b = OUTPUTS[name](_classes(_K)), OUTPUTS[name](_classes(_K + 1))
    columns = {
        column: {
            "dtype": _dtype_entry(spec.dtype, _K),
            "nullable": spec.nullable,
            "required": spec.required,
            "checks": [
                _check_entry(x, y, _K)
                for x, y in zip(spec.checks, b.columns[column].checks, strict=True)
            ],
        }
        for column, spec in a.columns.items()
    }
    return {
        "name": a.name,
        "strict": a.strict,
        "columns": columns,
        "checks": [_check_entry(x, y, _K) for x, y in zip(a.checks, b.checks, strict=True)],
    }


def _input_contract() -> dict[str, Any]:
    classes = _classes(_K)
    plan = TargetPlan(classes, {c: i for i, c in enumerate(classes)}, Options(), (False,) * _K)
    checks = [
        {"name": c.name, "description": str(c.error).removeprefix(f"{c.name}: ")}
        for c in input_schema(plan).checks
    ]
    return {
        "name": "input",
        "columns": INPUT_COLUMNS,
        "checks": checks,
        "note": "a row failing a check is written to rejects.parquet with the check's "
        "name as its reason; the first failing check (in this order) wins",
    }


def contract(name: str) -> dict[str, Any]:
    """One contract as a plain dict."""
    return _input_contract() if name == "input" else describe(name)


def contracts_json(name: str | None = None) -> str:
    """The contracts (or one of them) as JSON, as kept in ``schemas/``."""
    data = contract(name) if name else {n: contract(n) for n in CONTRACTS}
    return json.dumps(data, indent=2)


class _Loader:
    """Rebuilds one contract file for a vocabulary; every problem names the file."""

    def __init__(self, path: Path, classes: Sequence[str] | None) -> None:
        self.path, self.classes = path, None if classes is None else list(classes)

    def fail(self, message: str) -> InputError:
        return InputError(f"{self.path}: {message}")

    def k(self, what: str) -> int:
        if self.classes is None:
            raise ConfigError(
                f"{self.path}: {what} depends on the classes; pass them: "
                "load_schema(path, classes=[...])"
            )
        return len(self.classes)

    def value(self, value: Any) -> Any:
        if value == CLASSES:
            self.k("a check")
            return self.classes
        return self.k("a check") - 1 if value == LAST_INDEX else value

    def dtype(self, column: str, text: Any) -> Any:
        if text is None:
            return None
        match = _ARRAY.match(str(text))
        inner = match.group(1) if match else str(text)
        size = match.group(2) if match else None
        if inner not in DTYPES or not (size is None or size == "K" or size.isdigit()):
            raise self.fail(f"column {column!r}: unknown dtype {text!r}")
        dtype = getattr(pl, inner)
        if size is None:
            return dtype
        return pl.Array(dtype, self.k("the dtype") if size == "K" else int(size))

    def check(self, where: str, entry: Any) -> pa.Check:
        import pandera.polars as pa

        name = entry.get("name") if isinstance(entry, dict) else None
        if name in TARGET_CHECKS:
            return target_check(name, self.k("a check"))
        if name == "finite":
            return finite_check()
        options = entry.get("options") if isinstance(entry, dict) else None
        if name not in BUILTIN_CHECKS or not isinstance(options, dict):
            raise self.fail(f"{where}: unknown check {entry!r}")
        try:
            check: pa.Check = getattr(pa.Check, name)(
                **{str(key): self.value(v) for key, v in options.items()}
            )
        except (TypeError, ValueError, pa.errors.SchemaDefinitionError) as exc:
            raise self.fail(f"{where}: check {name!r}: {exc}") from None
        return check

    def checks(self, column: str | None, entries: Any) -> list[Any]:
        if entries is None:
            return []
        if not isinstance(entries, list):
            where = "frame" if column is None else f"column {column!r}"
            raise self.fail(f"{where}: 'checks' must be a list, found {entries!r}")
        return entries

    def column(self, name: str, spec: Any) -> pa.Column:
        import pandera.polars as pa

        if not isinstance(spec, dict):
            raise self.fail(f"column {name!r}: expected an object, found {spec!r}")
        return pa.Column(
            self.dtype(name, spec.get("dtype")),
            [self.check(f"column {name!r}", c) for c in self.checks(name, spec.get("checks"))],
            nullable=bool(spec.get("nullable", False)),
            required=bool(spec.get("required", True)),
        )

    def schema(self, data: Any) -> pa.DataFrameSchema:
        import pandera.polars as pa

        if not isinstance(data, dict) or not isinstance(data.get("columns"), dict):
            raise self.fail("not a labelprep contract (no 'columns' object)")
        if data.get("name") == "input":
            raise self.fail(
                "the input contract documents the columns and row checks of input files; "
                "it is not a frame schema (load targets, rejects or class_stats)"
            )
        return pa.DataFrameSchema(
            {name: self.column(name, spec) for name, spec in data["columns"].items()},
            checks=[self.check("frame", c) for c in self.checks(None, data.get("checks"))],
            name=data.get("name"),
            strict=bool(data.get("strict", False)),
        )


def load_contract(path: Path, classes: Sequence[str] | None) -> pa.DataFrameSchema:
    """See :func:`labelprep.schema.load_schema`."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not JSON: {exc}") from None
    return _Loader(path, classes).schema(data)
