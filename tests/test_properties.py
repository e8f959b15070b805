"""Properties over random inputs: targets are distributions, mass only where the mask
allows it, and every row is accounted for."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import labelprep

CLASSES = ("a", "b", "c", "d")
probability = st.one_of(
    st.none(), st.floats(min_value=-0.2, max_value=1.2), st.just(0.0), st.just(float("nan"))
)
subset = st.lists(st.sampled_from([*CLASSES, "zz"]), max_size=4, unique=True)
row = st.fixed_dictionaries(
    {
        "id": st.one_of(st.none(), st.sampled_from([f"i{n}" for n in range(30)])),
        "probs": st.one_of(st.none(), st.lists(probability, min_size=3, max_size=5)),
        "label": st.one_of(st.none(), st.sampled_from([*CLASSES, "1", "9", "zz"])),
        "excluded": st.one_of(st.none(), subset),
        "candidates": st.one_of(st.none(), subset),
    }
)


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(row, min_size=1, max_size=25), smoothing=st.sampled_from([0.0, 0.1]))
def test_targets_are_distributions_and_rows_are_conserved(rows, smoothing):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "rows.parquet"
        pl.DataFrame(rows, schema_overrides={"probs": pl.List(pl.Float64)}).write_parquet(path)
        result = labelprep.run(
            [path],
            output_dir=Path(folder) / "out",
            config=False,
            classes=",".join(CLASSES),
            smoothing=smoothing,
            renormalize=True,
        )
        _check_outputs(Path(folder) / "out", len(rows))
    assert result.rows_in == len(rows)


cell = st.one_of(
    st.just(""), st.sampled_from(["0", "0.5", "1", "0.25", "-0.1", "abc", "nan", "0.75"])
)
csv_row = st.tuples(
    st.sampled_from(["", "r1", "r2", "r3", "r4", "r5", "r6"]),
    cell,
    cell,
    cell,
    st.sampled_from(["", "a", "b", "c", "zz", "1"]),
    st.sampled_from(["", "a", "b|c", "a|b|c", "zz"]),
)


def _check_outputs(folder: Path, rows_in: int) -> None:
    targets = pl.read_parquet(folder / "targets.parquet")
    rejects = pl.read_parquet(folder / "rejects.parquet")
    assert targets.height + rejects.height == rows_in
    if targets.height:
        soft = np.asarray(targets["soft_target"].to_list(), dtype=np.float64)
        mask = np.asarray(targets["mask"].to_list())
        assert (soft >= 0).all()
        assert np.allclose(soft.sum(axis=1), 1.0, atol=1e-6)
        assert (soft[mask == 0] == 0).all()
        assert set(np.unique(mask)) <= {0, 1}
        assert targets["id"].is_unique().all()


@settings(max_examples=30, deadline=None)
@given(rows=st.lists(csv_row, min_size=1, max_size=20))
def test_wide_csv_with_labels_and_sets_conserves_rows(rows):
    text = "id,a,b,c,label,excluded\n" + "".join(",".join(r) + "\n" for r in rows)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "rows.csv"
        path.write_text(text)
        result = labelprep.run(
            [path], output_dir=Path(folder) / "out", config=False, classes="a,b,c"
        )
        _check_outputs(Path(folder) / "out", len(rows))
    assert result.rows_in == len(rows) == result.rows_accepted + result.rows_rejected
    assert result.summary["inputs"][0]["rows"] == len(rows)


value = st.one_of(
    st.none(),
    st.sampled_from([0.0, 0.5, 1.0, -0.5, 1.5, float("nan"), float("inf"), -float("inf")]),
    st.floats(min_value=-0.1, max_value=1.1),
)
text_value = st.one_of(value.map(lambda v: None if v is None else str(v)), st.just("x"))
VALID = [[1.0, 0.0, 0.0, 0.0], [0.5, 0.5, 0.0, 0.0], [0.95, 0.05, 0.0, 0.0], [0.25] * 4]


@st.composite
def probability_vector(draw: st.DrawFn) -> list[float | str | None]:
    """Mostly valid rows, some with one value replaced by an edge case."""
    vector: list[float | str | None] = list(draw(st.sampled_from(VALID)))
    if draw(st.booleans()):
        vector[draw(st.integers(0, len(vector) - 1))] = draw(st.one_of(value, st.just("x")))
    return vector


none_or = st.one_of
wide_row = st.builds(
    lambda ident, label, excluded, candidates, probs, wide: {
        "id": ident,
        "label": label,
        "excluded": excluded,
        "candidates": candidates,
        "probs": probs,
        **{f"w{i}": None if wide is None else wide[i] for i in range(len(CLASSES))},
    },
    none_or(st.just("i1"), st.just(""), st.none()),
    none_or(st.none(), st.none(), st.sampled_from([*CLASSES, "zz"])),
    none_or(st.none(), st.none(), subset),
    none_or(st.none(), st.none(), subset),
    none_or(st.none(), st.none(), probability_vector(), st.lists(value, min_size=3, max_size=5)),
    none_or(st.none(), probability_vector()),
)


def as_raw(v: float | str | None, *, as_text: bool) -> float | str | None:
    """A raw cell: text as read from CSV, or a number ("x" is unparsable text)."""
    if v is None:
        return None
    if as_text:
        return str(v)
    return None if isinstance(v, str) else v


EDGE_ROWS = [  # each accepted by one but not all of the value checks folded together
    {"probs": [1.0, 0.0, 0.0, None]},  # a null inside a list
    {"probs": [1.0, 0.0, 0.0, "x"]},  # unparsable text inside a list
    {"probs": [1.0, 0.0, 0.0, float("nan")]},
    {"wide": [1.0, 0.0, 0.0, "x"]},  # unparsable text in a class column
    {"wide": [1.0, 0.0, 0.0, float("nan")]},
    {"wide": [1.0004, 0.0, 0.0, 0.0]},  # above one, within the sum tolerance
    {"wide": [1.0004, -0.0004, 0.0, 0.0]},
    {"wide": [0.95, 0.05, 0.0, 0.0]},  # valid
]


@pytest.mark.parametrize("as_text", [True, False])
def test_fast_row_check_on_edge_rows(as_text):
    rows = [
        {
            "id": f"i{n}",
            "label": None,
            "excluded": None,
            "candidates": None,
            "probs": edge.get("probs"),
            **{f"w{i}": edge["wide"][i] if "wide" in edge else None for i in range(4)},
        }
        for n, edge in enumerate(EDGE_ROWS)
    ]
    fast, exact = fast_and_exact(rows, as_text=as_text)
    assert fast == exact
    assert exact[-1] is True
    assert exact[0] is False


@settings(max_examples=150, deadline=None)
@given(rows=st.lists(wide_row, min_size=1, max_size=20), as_text=st.booleans())
def test_fast_row_check_agrees_with_the_reason_checks(rows, as_text):
    """The pass accepts a row exactly when no reason of ``reason_checks`` applies."""
    fast, exact = fast_and_exact(rows, as_text=as_text)
    assert fast == exact


def fast_and_exact(rows: list[dict[str, Any]], *, as_text: bool) -> tuple[list[Any], list[Any]]:
    """``ok_expr`` and "no reason applies" on the rows, parsed as the pipeline does."""
    from labelprep.evidence import TargetPlan, parse_evidence
    from labelprep.inputs.ingest import RAW_CANDIDATES, RAW_EXCLUDED, RAW_LABEL, RAW_PROBS
    from labelprep.row_checks import ok_expr, reason_checks

    k = len(CLASSES)
    wide_type = pl.String if as_text else pl.Float64
    frame = pl.DataFrame(
        {
            "id": [None if r["id"] is None else f"{r['id']}-{n}" for n, r in enumerate(rows)],
            RAW_LABEL: [r["label"] for r in rows],
            RAW_EXCLUDED: [r["excluded"] for r in rows],
            RAW_CANDIDATES: [r["candidates"] for r in rows],
            RAW_PROBS: [
                None if r["probs"] is None else [as_raw(v, as_text=True) for v in r["probs"]]
                for r in rows
            ],
            **{f"__raw{i}": [as_raw(r[f"w{i}"], as_text=as_text) for r in rows] for i in range(k)},
            "__votes": [False] * len(rows),
            "__pre_reason": [None] * len(rows),
        },
        schema_overrides={
            RAW_LABEL: pl.String,
            RAW_EXCLUDED: pl.List(pl.String),
            RAW_CANDIDATES: pl.List(pl.String),
            RAW_PROBS: pl.List(pl.String),
            "__pre_reason": pl.String,
            **{f"__raw{i}": wide_type for i in range(k)},
        },
    )
    index = {name: i for i, name in enumerate(CLASSES)}
    plan = TargetPlan(CLASSES, index, labelprep.Options(), (as_text,) * k)
    checked = parse_evidence(frame.lazy(), plan).select(
        ok_expr(plan).alias("fast"),
        (~pl.any_horizontal([c for _, c in reason_checks(plan)])).alias("exact"),
    )
    result = checked.collect()
    return result["fast"].to_list(), result["exact"].to_list()
