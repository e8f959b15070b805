"""The keyword parameters of the public functions: one table for the API, config and docs.

Every field of :class:`labelprep.config.Options` is a keyword parameter of each public
function that reads inputs, under the name of its config key (and of its command-line
flag, dashes for underscores: ``max_reject_rate`` is ``--max-reject-rate``); every column
role of :class:`labelprep.config.Columns` is ``<role>_column``. Their default is ``None``,
which means: the value in the configuration file when it sets one, else the default of
:class:`~labelprep.config.Options`. A keyword given explicitly wins over the file.

The "Other Parameters" section of each function's docstring is generated from
:data:`OPTION_DOCS` and the defaults of ``Options`` (:func:`documented`);
``tests/test_api_typed.py`` fails when a signature, the options, the command-line flags
or the docs drift apart.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, TypeVar, cast

from labelprep.config import Columns, Options, build_options, config_settings
from labelprep.errors import ConfigError, InputError, did_you_mean
from labelprep.inputs.frames import is_frame
from labelprep.option_names import NOT_FOR_VOTES
from labelprep.sample import sample_paths
from labelprep.votes import DuplicatePolicy, VoteLayout, VoteSettings

if TYPE_CHECKING:
    from labelprep.inputs.frames import FrameLike

    Input: TypeAlias = str | Path | FrameLike
    """One input: a path or glob, or an in-memory frame."""
    Inputs: TypeAlias = Input | Sequence[Input]
    """What a function that reads annotations takes."""

SampleWeight = Literal["balanced", "inverse_sqrt", "effective_number", "median_frequency"]

F = TypeVar("F", bound=Callable[..., Any])

COLUMN_OPTIONS: tuple[str, ...] = tuple(f"{f.name}_column" for f in dataclasses.fields(Columns))
WRITE_OPTIONS: tuple[str, ...] = ("keep", "sample_weight", "compression", "split_files")
"""Options that only change what is written (taken by the functions that write outputs)."""
VOTE_OPTIONS: tuple[str, ...] = ("layout", "missing", "duplicates")
"""How vote files are read (not config keys; see :func:`labelprep.aggregate`)."""
_NOT_OPTIONS = ("columns", "config_file")
READ_OPTIONS: tuple[str, ...] = (
    "classes",
    *COLUMN_OPTIONS,
    *(
        f.name
        for f in dataclasses.fields(Options)
        if f.name not in (*_NOT_OPTIONS, "classes", *WRITE_OPTIONS)
    ),
)
"""Options of every function that reads annotations: how the inputs are read and checked
and how targets and weights are computed."""

RUN_OPTIONS = (*READ_OPTIONS, *WRITE_OPTIONS)
"""The option parameters of :func:`run` and :func:`validate`."""
AGGREGATE_OPTIONS = tuple(name for name in RUN_OPTIONS if name not in NOT_FOR_VOTES)
"""The option parameters of :func:`aggregate` (and of ``labelprep aggregate``)."""
COMPARE_OPTIONS = tuple(name for name in READ_OPTIONS if name not in ("beta", "tau"))
"""The reading options of :func:`compare`, which compares class counts, not weights."""

OPTION_DOCS: dict[str, str] = {
    "classes": "Class vocabulary in order (``['a', 'b']`` or ``'a,b'``); None: read from "
    "the inputs (stored class names, wide columns, labels).",
    "id_column": "Item id column.",
    "label_column": "Known-class column (class name or 0-based index).",
    "probs_column": "List-of-probabilities column.",
    "excluded_column": "Excluded-classes column (a list, or a delimited string).",
    "candidates_column": "Candidate-classes column (a list, or a delimited string).",
    "split_column": "Split column (train/val/...).",
    "annotator_column": "Annotator column of vote files.",
    "prob_columns": "Wide probability columns, in class order; None: the columns named "
    "after the classes.",
    "keep": "Input columns carried into ``targets``.",
    "list_delimiter": "Separator of class lists in CSV/TSV cells.",
    "input_format": "Read every file with this format instead of by extension.",
    "separator": "Field separator of CSV/TSV files: one character, ``'\\t'`` or "
    "``'whitespace'``; None: ``,`` for CSV, tab for TSV.",
    "no_header": "Text files have no header line (see ``column_names``).",
    "column_names": "Column names of headerless text files, in order; None: "
    "``column_1``, ``column_2``, ...",
    "id_from_row": "The inputs have no id column: each row's 1-based number is its id.",
    "quote_char": "Quote character of CSV/TSV files; ``''`` for none.",
    "tolerance": "Allowed ``|sum(p) - 1|`` of a probability row.",
    "renormalize": "Rescale probability rows that do not sum to 1 instead of rejecting them.",
    "partial": "Spread of partial labels: ``uniform`` or by the class ``prior``.",
    "smoothing": "Label-smoothing epsilon, in [0, 1).",
    "count_by": "Class count behind the weights: ``soft`` mass, ``support`` or ``hard``.",
    "beta": "``beta`` of the ``effective_number`` weights, in [0, 1).",
    "tau": "Temperature of the ``logit_adjustment`` offsets.",
    "sample_weight": "Add a ``sample_weight`` column to targets from this weight scheme; "
    "None: no column.",
    "compression": "Parquet codec of ``targets.parquet`` and ``rejects.parquet``.",
    "split_files": "Also write the targets of each split to ``splits/NAME.parquet``, with "
    "a dataset card that Hugging Face ``datasets`` reads.",
    "layout": "Vote files: ``long`` (id, annotator, label rows) or ``wide`` (one column "
    "per annotator, every input).",
    "missing": "Wide layout: the value(s) meaning no vote (an empty cell too).",
    "duplicates": "A second vote of one annotator on one item: ``keep`` it, keep the "
    "``first``, or ``reject`` them all.",
    "min_rows": "Fail when fewer rows than this are read; None: an empty input fails.",
    "max_reject_rate": "Fail when the share of rejected rows is above this.",
    "min_class_count": "Fail when a class's count (by ``count_by``) is below this.",
    "max_imbalance_ratio": "Fail when largest / smallest non-zero class count is above this.",
    "require_classes": "Fail when a class of the vocabulary has no examples.",
    "baseline": "Dataset (paths or a frame), output directory, ``class_stats.parquet`` or "
    "``manifest.json`` to compare the class prior against.",
    "max_linf": "Fail when the prior's L-infinity distance to the baseline is above this.",
    "max_jsd": "Fail when the prior's Jensen-Shannon divergence (base 2) to the baseline "
    "is above this.",
}
"""One line per option parameter (the gates of ``validate`` too); the default is appended
from ``Options``."""

_VOTE_DEFAULTS = {"layout": "long", "missing": ("-1",), "duplicates": "keep"}


def option_default(name: str) -> Any:
    """The value an option parameter left at None takes when the config file lacks it."""
    if name in COLUMN_OPTIONS:
        return getattr(Columns(), name.removesuffix("_column"))
    if name in _VOTE_DEFAULTS:
        return _VOTE_DEFAULTS[name]
    return getattr(Options(), name, None)


def shown_default(value: Any) -> str:
    if isinstance(value, tuple):
        return ", ".join(map(repr, value)) if value else "none"
    return repr(value)


def documented(
    *groups: Sequence[str],
    defaults: Mapping[str, Any] | None = None,
    docs: Mapping[str, str] | None = None,
) -> Callable[[F], F]:
    """Append the "Other Parameters" section of the option parameters in ``groups`` to a
    function's docstring (before its Examples), with their types from the signature and
    their defaults from ``Options`` (or ``defaults``)."""

    def decorate(func: F) -> F:
        func = keywords_checked(func)
        signature = inspect.signature(func)
        lines = ["    Other Parameters", "    ----------------"]
        for name in (n for group in groups for n in group):
            annotation = signature.parameters[name].annotation
            default = (defaults or {}).get(name, option_default(name))
            text = {**OPTION_DOCS, **(docs or {})}[name]
            shown = "" if default is None else f" Default: {shown_default(default)}."
            lines += [f"    {name} : {annotation}", f"        {text}{shown}"]
        section = "\n".join(lines) + "\n\n"
        if not func.__doc__:  # python -OO
            return func
        first, *rest = inspect.cleandoc(func.__doc__).splitlines()
        doc = "\n".join([first, *(("    " + line) if line else "" for line in rest)])
        head, marker, tail = doc.partition("    Examples\n    --------")
        func.__doc__ = head + section + marker + tail if marker else doc + "\n\n" + section
        return func

    return decorate


class UnknownKeywordError(ConfigError, TypeError):
    """A keyword a public function does not take; the message suggests the closest one.
    Also a :class:`TypeError`, as Python raises for an unexpected keyword argument."""


def keywords_checked(func: F) -> F:
    """``func``, refusing an unknown keyword with a :class:`UnknownKeywordError` that
    names the closest parameter (``tolerence=`` -> ``tolerance``)."""
    known = tuple(inspect.signature(func).parameters)

    @functools.wraps(func)
    def call(*args: Any, **kwargs: Any) -> Any:
        unknown = [name for name in kwargs if name not in known]
        if unknown:
            raise UnknownKeywordError(
                f"{func.__name__}() got an unexpected keyword argument {unknown[0]!r}."
                + did_you_mean(unknown[0], known)
            )
        return func(*args, **kwargs)

    return cast(F, call)


def given_options(values: Mapping[str, Any], names: Sequence[str]) -> dict[str, Any]:
    """The option parameters among ``values`` (a function's arguments) that were given."""
    return {name: values[name] for name in names if values.get(name) is not None}


def input_list(inputs: object) -> list[object]:
    """A function's ``inputs`` as a list: one path or frame, or a sequence of them."""
    if isinstance(inputs, (str, Path)) or is_frame(inputs):
        return [inputs]
    if isinstance(inputs, Sequence):
        return list(inputs)
    raise InputError(
        f"an object of type {type(inputs).__name__} is neither a path nor a frame (a Polars "
        "DataFrame or LazyFrame, a pandas DataFrame, a PyArrow Table), nor a list of them."
    )


def given(values: Mapping[str, Any]) -> dict[str, Any]:
    """The options among a public function's arguments that the caller gave."""
    return given_options(values, RUN_OPTIONS)


def vote_settings(
    layout: VoteLayout, missing: str | Sequence[str], duplicates: DuplicatePolicy, **fit: Any
) -> VoteSettings:
    """How vote files are read (and, with ``fit``, aggregated); a None or empty value
    (an unset command-line flag) keeps the default."""
    markers = (missing,) if isinstance(missing, str) else tuple(missing or ())
    values = {"layout": layout, "missing": markers, "duplicates": duplicates, **fit}
    return VoteSettings(**{k: v for k, v in values.items() if v is not None and v != ()})


def resolve_run_inputs(
    inputs: object,
    *,
    config: str | Path | bool,
    settings: dict[str, Any],
) -> tuple[list[object], Options]:
    """Inputs (the bundled sample when none) and the merged options of a call."""
    merged = {**config_settings(config), **{k: v for k, v in settings.items() if v is not None}}
    items: list[object] = [] if inputs is None else input_list(inputs)
    return items or list(sample_paths()), build_options(merged)
