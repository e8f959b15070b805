"""partial="prior": the prior from labelled rows, from rows leaving one class, or uniform."""

from __future__ import annotations

import json
import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labelprep.prior import estimate_prior, held_out_gain, smoothed
from tests.conftest import targets_of


def sums_frame(labelled: list[list[int]], single: list[list[int]], k: int = 3) -> pl.DataFrame:
    """The groups of prior_sums: per fold, the one-hot counts of each kind of row."""
    rows = []
    for is_labelled, folds in ((True, labelled), (False, single)):
        for fold, counts in enumerate(folds):
            if sum(counts):
                entry = {"labelled": is_labelled, "fold": fold, "rows": sum(counts)}
                rows.append(entry | {f"s{i}": float(c) for i, c in enumerate(counts)})
    schema = {"labelled": pl.Boolean, "fold": pl.Int8, "rows": pl.UInt32}
    schema |= {f"s{i}": pl.Float64 for i in range(k)}
    return pl.DataFrame(rows, schema=schema)


def test_single_class_estimate_by_hand():
    # rows leaving one class, fold 0: a x6, b x2; fold 1: a x4, b x2, c x2. No labelled rows.
    estimate = estimate_prior(sums_frame([], [[6, 2, 0], [4, 2, 2]]), 3)
    fitted0 = [6.5 / 9.5, 2.5 / 9.5, 0.5 / 9.5]  # (n_k + 1/2) / (n + K/2)
    fitted1 = [4.5 / 9.5, 2.5 / 9.5, 2.5 / 9.5]
    on_fold1 = 4 * math.log(3 * fitted0[0]) + 2 * math.log(3 * fitted0[1])
    on_fold1 += 2 * math.log(3 * fitted0[2])
    on_fold0 = 6 * math.log(3 * fitted1[0]) + 2 * math.log(3 * fitted1[1])
    assert estimate.source == "single_class"
    assert estimate.held_out_gain == pytest.approx((on_fold0 + on_fold1) / 16)
    assert estimate.weights == pytest.approx([10.5 / 17.5, 4.5 / 17.5, 2.5 / 17.5])
    assert estimate.rows == 16
    assert "16 rows whose evidence leaves a single class" in estimate.notice


def test_fewer_than_four_rows_per_class_is_uniform():
    estimate = estimate_prior(sums_frame([], [[6, 0, 0], [5, 0, 0]]), 3)  # 11 < 4 * 3
    assert (estimate.source, estimate.weights) == ("uniform", None)
    assert "fewer than 4 such rows per class" in estimate.notice


def test_enough_labelled_rows_keep_the_labelled_prior():
    # 3 labelled rows for K = 3: the labelled prior, unsmoothed, as before.
    estimate = estimate_prior(sums_frame([[2, 0, 0], [0, 1, 0]], [[0, 0, 9], [0, 0, 9]]), 3)
    assert estimate.source == "labelled"
    assert estimate.weights == pytest.approx([2 / 3, 1 / 3, 0])


def test_few_labelled_rows_join_the_single_class_rows():
    estimate = estimate_prior(sums_frame([[1, 0, 0], [1, 0, 0]], [[5, 0, 1], [4, 1, 0]]), 3)
    assert estimate.source == "single_class"
    assert estimate.labelled_rows == 2
    assert estimate.weights == pytest.approx(smoothed(np.array([11.0, 1.0, 1.0])))


def test_estimate_that_fails_the_held_out_check_is_not_used():
    # one fold says a, the other says b: each predicts the other worse than uniform.
    estimate = estimate_prior(sums_frame([], [[6, 0, 0], [0, 6, 0]]), 3)
    assert estimate.source == "uniform"
    assert estimate.weights is None
    assert estimate.held_out_gain == pytest.approx(math.log(3 * 0.5 / 7.5))
    assert "held-out check failed" in estimate.notice


def test_no_rows_leaving_one_class_is_uniform():
    estimate = estimate_prior(sums_frame([], [[0, 0, 0], [0, 0, 0]]), 3)
    assert (estimate.source, estimate.weights, estimate.held_out_gain) == ("uniform", None, None)
    assert "fewer than 4 such rows per class" in estimate.notice


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 20), min_size=8, max_size=8))
def test_estimates_are_distributions_or_uniform(counts):
    table = np.array(counts, dtype=float).reshape(2, 4)
    estimate = estimate_prior(sums_frame([], [counts[:4], counts[4:]], k=4), 4)
    if estimate.weights is None:
        assert estimate.source == "uniform"
        too_few = table.sum() < 16 or not (table.sum(axis=1) > 0).all()
        assert too_few or held_out_gain(table) <= 0
    else:
        assert estimate.source == "single_class"
        assert sum(estimate.weights) == pytest.approx(1.0)
        assert min(estimate.weights) > 0


CANDIDATES = (
    "id,candidates\n"
    + "".join(f"s{i},a\n" for i in range(6))  # six rows that are surely a
    + "s6,b\ns7,b\ns8,c\ns9,a\ns10,a\ns11,c\n"
    + "x,a|b\ny,b|c\n"
)


def test_pure_candidate_sets_use_the_single_class_rows(write, run):
    result, out = run([write("c.csv", CANDIDATES)], classes="a,b,c", partial="prior")
    prior = smoothed(np.array([8.0, 2.0, 2.0]))  # a x8, b x2, c x2
    frame = targets_of(out)
    targets = dict(zip(frame["id"], frame["soft_target"].to_list(), strict=True))
    a, b, c = prior
    assert targets["x"] == pytest.approx([a / (a + b), b / (a + b), 0.0])
    assert targets["y"] == pytest.approx([0.0, b / (b + c), c / (b + c)])
    assert targets["s6"] == pytest.approx([0.0, 1.0, 0.0])
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["summary"]["prior_source"] == "single_class"
    assert manifest["summary"]["partial_prior"]["prior"] == pytest.approx(prior.tolist())
    assert any(n.startswith("partial=prior:") and "12 rows" in n for n in result.notices)


def test_no_usable_rows_fall_back_to_uniform_and_say_so(write, run):
    text = "id,candidates\nx,a|b\ny,b|c\nz,a|b|c\n"
    _, out = run([write("c.csv", text)], classes="a,b,c", partial="prior")
    targets = np.array(targets_of(out)["soft_target"].to_list())
    expected = [[0.5, 0.5, 0], [0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]]
    np.testing.assert_allclose(targets, expected, atol=1e-7)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["summary"]["prior_source"] == "uniform"
    assert any("spread uniformly" in n for n in manifest["notices"])
