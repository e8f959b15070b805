"""Properties over random inputs: targets are distributions, mass only where the mask
allows it, and every row is accounted for."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import polars as pl
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
