"""What the inputs mean: the role of each column, which files hold votes, and the classes.

:func:`interpret` is the one place that answers it for a run. Reading a file (its
format, header, types) is :mod:`labelprep.inputs.ingest`'s job; this module takes the opened
files and decides:

- every column renamed on purpose (``--label-column lable``) exists somewhere;
- which files are vote files: an annotator column, or every file with
  ``layout="wide"`` (the same rule for ``run``, ``validate`` and ``aggregate``);
- the class vocabulary (:func:`labelprep.inputs.vocab.resolve_vocabulary`), and for each
  plain file the columns that hold each class;
- the kinds of evidence the inputs can carry (the target plan skips the others).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from labelprep.config import Columns, Options
from labelprep.duplicates import DuplicateIds
from labelprep.errors import ColumnNotFoundError, ConfigError
from labelprep.evidence import TargetPlan
from labelprep.inputs.ingest import InputFile, canonical_frame, raw_class_column
from labelprep.inputs.vocab import Vocabulary, resolve_vocabulary
from labelprep.votes import VoteSettings, is_vote_file, long_votes, vocabulary_frame

Opened = tuple[InputFile, pl.LazyFrame]


@dataclass(frozen=True)
class Meaning:
    """The inputs as the run understands them (nothing has been computed yet)."""

    vocabulary: Vocabulary
    frames: tuple[pl.LazyFrame, ...]
    """The canonical frame of each plain (non-vote) file."""
    votes: tuple[pl.LazyFrame, ...]
    """One row per vote, for each vote file (:func:`labelprep.votes.long_votes`)."""
    vote_files: frozenset[int]
    """Indices of the vote files among the inputs."""
    kinds: frozenset[str]
    """The kinds of evidence the inputs can carry."""


def interpret(
    opened: Sequence[Opened], options: Options, votes: VoteSettings, *, only_votes: bool = False
) -> Meaning:
    """Decide the role of every input and column, and fix the class vocabulary.

    With ``only_votes`` every input must be a vote file.
    """
    check_named_roles([source for source, _ in opened], options)
    is_votes = [is_vote_file(source, options, votes) for source, _ in opened]
    refuse_keep_on_votes([s for (s, _), v in zip(opened, is_votes, strict=True) if v], options)
    plain = [item for item, v in zip(opened, is_votes, strict=True) if not v]
    if only_votes:
        require_votes([source for source, _ in plain], options)
    voted = [
        long_votes(s, lf, options, votes) for (s, lf), v in zip(opened, is_votes, strict=True) if v
    ]
    bare = [canonical_frame(s, lf, class_columns=[], options=options) for s, lf in plain]
    bare += [vocabulary_frame(frame) for frame in voted]
    vocabulary = resolve_vocabulary(
        [s for s, _ in plain], bare, options, stored_in=[s for s, _ in opened]
    )
    return Meaning(
        vocabulary=vocabulary,
        frames=tuple(canonical(source, lf, vocabulary, options) for source, lf in plain),
        votes=tuple(voted),
        vote_files=frozenset(s.index for (s, _), v in zip(opened, is_votes, strict=True) if v),
        kinds=input_kinds([s for s, _ in plain], vocabulary, options, has_votes=bool(voted)),
    )


def refuse_keep_on_votes(vote_files: Sequence[InputFile], options: Options) -> None:
    """``keep`` carries a column of each input row into its target row; the votes of a
    vote file become one row per item, so there is no row to carry a vote's column into."""
    if options.keep and vote_files:
        raise ConfigError(
            f"{vote_files[0].path}: a vote file (one row per vote) has no target row per "
            f"input row to carry --keep {', '.join(options.keep)} into; drop --keep for "
            "vote files, or join those columns to targets.parquet by id."
        )


def require_votes(not_votes: Sequence[InputFile], options: Options) -> None:
    """Every input of ``aggregate`` must be a vote file."""
    if not_votes:
        source = not_votes[0]
        error = ColumnNotFoundError.from_missing_and_available(
            options.columns.annotator, source.columns, source=source.path, role="annotator"
        )
        raise ColumnNotFoundError(
            f"{error} A vote file has one row per vote (id, annotator, label): pass "
            "--annotator-column NAME, or --layout wide for one column per annotator."
        )


def check_named_roles(sources: Sequence[InputFile], options: Options) -> None:
    """A column role renamed on purpose (``--label-column lable``) must exist somewhere."""
    defaults = Columns()
    for role, name in vars(options.columns).items():
        if role == "id" or name == getattr(defaults, role):
            continue
        if not any(name in source.columns for source in sources):
            available = dict.fromkeys(c for source in sources for c in source.columns)
            raise ColumnNotFoundError.from_missing_and_available(
                name, available, source=", ".join(s.path for s in sources), role=role
            )


def input_kinds(
    sources: Sequence[InputFile], vocabulary: Vocabulary, options: Options, *, has_votes: bool
) -> frozenset[str]:
    """The kinds of evidence the inputs can carry (the target plan skips the others)."""
    cols = options.columns
    roles = {
        "list": cols.probs,
        "label": cols.label,
        "excluded": cols.excluded,
        "candidates": cols.candidates,
    }
    kinds = {kind for kind, name in roles.items() for s in sources if name in s.columns}
    if any(any(vocabulary.class_columns[s.path]) for s in sources):
        kinds.add("wide")
    if has_votes:
        kinds |= {"votes", "list", "label"}
    return frozenset(kinds)


def canonical(
    source: InputFile, lf: pl.LazyFrame, vocabulary: Vocabulary, options: Options
) -> pl.LazyFrame:
    """One plain file projected onto the canonical columns, with its class columns."""
    columns = vocabulary.class_columns[source.path]
    check_class_columns(source, vocabulary.classes, columns)
    return canonical_frame(source, lf, class_columns=columns, options=options)


def check_class_columns(
    source: InputFile, classes: Sequence[str], columns: Sequence[str | None]
) -> None:
    """A file with some class columns must have all of them."""
    present = [c for c in columns if c is not None]
    if present and len(present) < len(columns):
        missing = next(c for c, col in zip(classes, columns, strict=True) if col is None)
        raise ColumnNotFoundError.from_missing_and_available(
            missing, source.columns, source=source.path, role="probability"
        )


def target_plan(
    frame: pl.LazyFrame, meaning: Meaning, options: Options, *, duplicates: DuplicateIds
) -> TargetPlan:
    """The plan the row expressions compile from: classes, options and input kinds."""
    schema = frame.collect_schema()
    classes = meaning.vocabulary.classes
    return TargetPlan(
        classes=classes,
        index_of=meaning.vocabulary.index_of(),
        options=options,
        raw_is_string=tuple(
            schema.get(raw_class_column(i)) == pl.String for i in range(len(classes))
        ),
        kinds=meaning.kinds,
        duplicates=duplicates,
        id_is_text=not schema["id"].is_numeric(),
    )
