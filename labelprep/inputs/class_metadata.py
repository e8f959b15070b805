"""Class names an input file already stores in its metadata (Parquet key-value metadata).

Looked for, in this order, in each Parquet input:

``labelprep.classes``
    a JSON list of names: what labelprep writes into its own outputs;
``huggingface``
    the ``datasets`` features: a ``ClassLabel`` on the label column, or a list
    (``Sequence`` / ``List``) of ``ClassLabel`` on the candidates or excluded column;
``n_classes``
    a class count, as the partial-label benchmarks store it: classes ``0`` .. ``n-1``.

The values of a ``ClassLabel`` or ``n_classes`` column are 0-based class indices, which
:meth:`labelprep.inputs.vocab.Vocabulary.index_of` maps to the class at that position.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from labelprep.config import Options
from labelprep.errors import VocabularyError
from labelprep.inputs.ingest import InputFile
from labelprep.stores import parquet_schema

OWN_KEY, HF_KEY, COUNT_KEY = "labelprep.classes", "huggingface", "n_classes"
MAX_CLASSES = 10_000
"""Most classes a stored count or an inferred integer range may give without --classes."""


@dataclass(frozen=True)
class StoredClasses:
    """Class names found in one file, and where."""

    names: tuple[str, ...]
    path: str
    where: str
    """e.g. ``the Hugging Face ClassLabel of column 'label'``."""
    indices: bool = False
    """The file's class values are 0-based indices (a ClassLabel, ``n_classes``), so an
    integer value means the class at that position even when a name is also a number."""


def key_values(source: InputFile) -> dict[str, str]:
    """The key-value metadata of a Parquet input or a PyArrow frame (empty for others)."""
    if source.format == "frame":
        return dict(source.metadata or {})
    if source.format != "parquet":
        return {}
    try:
        stored = parquet_schema(source.path).metadata or {}
    except (OSError, pa.ArrowException):
        return {}  # the reader reports unreadable files
    return {k.decode("utf-8", "replace"): v.decode("utf-8", "replace") for k, v in stored.items()}


def class_label_names(feature: Any) -> list[str] | None:
    """The names of a ``datasets`` ``ClassLabel`` feature, or of a list of them."""
    if isinstance(feature, list) and len(feature) == 1:  # [ClassLabel]: a Sequence
        feature = feature[0]
    if not isinstance(feature, dict):
        return None
    kind = feature.get("_type")
    if kind == "ClassLabel" and isinstance(feature.get("names"), list):
        return [str(name) for name in feature["names"]]
    if kind in ("Sequence", "List", "LargeList") and "feature" in feature:
        return class_label_names(feature["feature"])
    return None


def _json(source: InputFile, key: str, text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise VocabularyError(
            f"{source.path}: the {key!r} metadata is not valid JSON ({exc.msg}); "
            "pass --classes a,b,c."
        ) from exc


def _from_hf(source: InputFile, text: str, options: Options) -> StoredClasses | None:
    info = _json(source, HF_KEY, text)
    features = info.get("info", {}).get("features", {}) if isinstance(info, dict) else {}
    cols = options.columns
    found = {}
    for column in (cols.label, cols.candidates, cols.excluded):
        names = class_label_names(features.get(column)) if isinstance(features, dict) else None
        if names is not None:
            found[column] = tuple(names)
    if len(set(found.values())) > 1:
        detail = "; ".join(f"{c!r}: {', '.join(n)}" for c, n in found.items())
        raise VocabularyError(
            f"{source.path}: the Hugging Face ClassLabel features disagree ({detail}); "
            "pass --classes a,b,c."
        )
    if not found:
        return None
    column, stored = next(iter(found.items()))
    where = f"the Hugging Face ClassLabel of column {column!r}"
    return StoredClasses(stored, source.path, where, indices=True)


def _from_count(source: InputFile, text: str) -> StoredClasses:
    if not text.strip().isdigit() or not 0 < int(text) <= MAX_CLASSES:
        raise VocabularyError(
            f"{source.path}: the {COUNT_KEY!r} metadata is {text!r}, not a class count "
            f"from 1 to {MAX_CLASSES}; pass --classes a,b,c."
        )
    names = tuple(str(i) for i in range(int(text)))
    where = f"the {COUNT_KEY!r} metadata ({text} classes)"
    return StoredClasses(names, source.path, where, indices=True)


def stored_in_file(source: InputFile, options: Options) -> StoredClasses | None:
    """The class names one file stores (see the module docstring), or None."""
    meta = key_values(source)
    if OWN_KEY in meta:
        names = _json(source, OWN_KEY, meta[OWN_KEY])
        if not isinstance(names, list) or not names:
            raise VocabularyError(
                f"{source.path}: the {OWN_KEY!r} metadata is not a list of class names."
            )
        return StoredClasses(tuple(map(str, names)), source.path, f"the {OWN_KEY!r} metadata")
    if HF_KEY in meta and (found := _from_hf(source, meta[HF_KEY], options)) is not None:
        return found
    if COUNT_KEY in meta:
        return _from_count(source, meta[COUNT_KEY])
    return None


def stored_classes(sources: Sequence[InputFile], options: Options) -> StoredClasses | None:
    """The class names the inputs store; inputs storing different names are an error."""
    found = [s for s in (stored_in_file(source, options) for source in sources) if s]
    if not found:
        return None
    if len({s.names for s in found}) > 1:
        detail = "; ".join(f"{s.path} ({s.where}): {', '.join(s.names)}" for s in found)
        raise VocabularyError(
            f"the inputs store different class names: {detail}. Pass --classes a,b,c "
            "to fix one vocabulary, or read the files in separate runs."
        )
    return found[0]
