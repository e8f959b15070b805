"""Agreement statistics against published worked examples and hand computations."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labelprep.aggregation import (
    AgreementStats,
    EncodedVotes,
    annotator_agreement,
    fleiss_kappa,
    krippendorff_alpha_nominal,
    vote_entropy,
)
from labelprep.errors import ConfigError

# Wikipedia's "Fleiss' kappa" worked example: 10 subjects, 5 categories, 14 raters each.
FLEISS_WIKIPEDIA = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]

_ = None
# Krippendorff's textbook reliability data: rows are coders, columns units, _ = missing.
THREE_CODERS = [
    [_, _, _, _, _, 3, 4, 1, 2, 1, 1, 3, 3, _, 3],
    [1, _, 2, 1, 3, 3, 4, 3, _, _, _, _, _, _, _],
    [_, _, 2, 1, 3, 4, 4, _, 2, 1, 1, 3, 3, _, 4],
]
# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", example C.
FOUR_CODERS = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, _, _, _],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, _, 3],
    [_, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, _],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, _],
]


def from_reliability_matrix(rows: list[list[int | None]]) -> EncodedVotes:
    """Coders x units matrix of 1-based values (None = missing) to encoded votes."""
    cells = [
        (unit, coder, value - 1)
        for coder, row in enumerate(rows)
        for unit, value in enumerate(row)
        if value is not None
    ]
    item, annotator, label = (np.array(column) for column in zip(*cells, strict=True))
    return EncodedVotes(item, annotator, label, len(rows[0]), len(rows), int(label.max()) + 1)


def pairwise_alpha(votes: EncodedVotes) -> float:
    """Krippendorff's nominal alpha from its pair-counting definition, with plain loops."""
    units: dict[int, list[int]] = {}
    for item, label in zip(votes.item.tolist(), votes.label.tolist(), strict=True):
        units.setdefault(item, []).append(label)
    pairable = [values for values in units.values() if len(values) >= 2]
    disagree = sum(
        sum(a != b for a, b in itertools.permutations(values, 2)) / (len(values) - 1)
        for values in pairable
    )
    pooled = [value for values in pairable for value in values]
    n = len(pooled)
    expected = sum(a != b for a, b in itertools.permutations(pooled, 2)) / (n - 1)
    return 1.0 - disagree / expected


# --- Fleiss' kappa ------------------------------------------------------------------------


def test_fleiss_wikipedia_example() -> None:
    assert round(fleiss_kappa(np.array(FLEISS_WIKIPEDIA)), 3) == 0.210
    # P-bar = 0.378 and P_e = 0.213 in the worked example; kappa = (P - Pe) / (1 - Pe).
    assert fleiss_kappa(FLEISS_WIKIPEDIA) == pytest.approx(0.2099307, abs=1e-7)


def test_fleiss_perfect_agreement_is_one() -> None:
    assert fleiss_kappa([[3, 0], [0, 3], [3, 0]]) == 1.0


def test_fleiss_single_category_is_undefined() -> None:
    assert math.isnan(fleiss_kappa([[2, 0], [2, 0]]))


@pytest.mark.parametrize(
    ("counts", "message"),
    [
        ([[2, 0], [1, 2]], "same number of ratings, got between 2 and 3"),
        ([[1, 0], [0, 1]], "at least 2 ratings"),
        ([[2, -1], [1, 0]], "non-negative integers"),
        ([[1.5, 0.5], [2, 0]], "non-negative integers"),
        ([1, 2, 3], "2-D count matrix"),
    ],
)
def test_fleiss_rejects_bad_counts(counts: list[object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        fleiss_kappa(counts)  # type: ignore[arg-type]


# --- Krippendorff's alpha -----------------------------------------------------------------


def test_krippendorff_textbook_three_coders() -> None:
    alpha = krippendorff_alpha_nominal(from_reliability_matrix(THREE_CODERS))
    assert alpha == pytest.approx(0.691358, abs=1e-6)


def test_krippendorff_four_coders_example_c() -> None:
    # Published nominal alpha 0.743; by the pair-counting definition exactly 1 - 39/152.
    votes = from_reliability_matrix(FOUR_CODERS)
    assert krippendorff_alpha_nominal(votes) == pytest.approx(1 - 39 / 152, abs=1e-12)
    assert pairwise_alpha(votes) == pytest.approx(1 - 39 / 152, abs=1e-12)
    assert round(krippendorff_alpha_nominal(votes), 3) == 0.743


def test_krippendorff_ignores_units_with_one_value() -> None:
    base = from_reliability_matrix(THREE_CODERS)
    # A 16th unit rated once, in a class nobody else used, must not change alpha.
    extra = EncodedVotes(
        np.append(base.item, 15), np.append(base.annotator, 0), np.append(base.label, 4), 16, 3, 5
    )
    assert krippendorff_alpha_nominal(extra) == krippendorff_alpha_nominal(base)


def test_krippendorff_perfect_and_undefined() -> None:
    agree = EncodedVotes([0, 0, 1, 1], [0, 1, 0, 1], [0, 0, 1, 1], 2, 2, 2)
    assert krippendorff_alpha_nominal(agree) == 1.0
    one_class = EncodedVotes([0, 0, 1, 1], [0, 1, 0, 1], [1, 1, 1, 1], 2, 2, 2)
    assert math.isnan(krippendorff_alpha_nominal(one_class))


@st.composite
def pairable_votes(draw: st.DrawFn) -> EncodedVotes:
    n_items, n_classes = draw(st.integers(1, 6)), draw(st.integers(2, 4))
    size = draw(st.integers(2, 25))
    item = draw(st.lists(st.integers(0, n_items - 1), min_size=size, max_size=size))
    label = draw(st.lists(st.integers(0, n_classes - 1), min_size=size, max_size=size))
    return EncodedVotes(item, list(range(size)), label, n_items, size, n_classes)


@settings(max_examples=150, deadline=None)
@given(votes=pairable_votes())
def test_krippendorff_matches_pair_counting_definition(votes: EncodedVotes) -> None:
    alpha = krippendorff_alpha_nominal(votes)
    counts = np.bincount(votes.item, minlength=votes.n_items)
    pooled = votes.label[counts[votes.item] >= 2]
    if pooled.size < 2 or np.unique(pooled).size < 2:
        assert math.isnan(alpha)
    else:
        assert alpha == pytest.approx(pairwise_alpha(votes), abs=1e-12)


# --- Per-annotator agreement and entropy --------------------------------------------------


def test_annotator_agreement_with_tied_consensus() -> None:
    # Item 0 consensus ties classes 1 and 2, so class 1 counts as the consensus.
    votes = EncodedVotes([0, 0, 0, 1, 1], [0, 1, 2, 0, 1], [1, 2, 1, 0, 0], 2, 4, 3)
    consensus = np.array([[0.0, 0.5, 0.5], [1.0, 0.0, 0.0]])
    agreement = annotator_agreement(votes, consensus)
    np.testing.assert_array_equal(agreement, [1.0, 0.5, 1.0, np.nan])


def test_annotator_agreement_checks_shape() -> None:
    votes = EncodedVotes([0], [0], [0], 1, 1, 2)
    with pytest.raises(ConfigError, match=r"consensus has shape \(1, 3\), expected \(1, 2\)"):
        annotator_agreement(votes, np.ones((1, 3)))


def test_vote_entropy_in_bits() -> None:
    # Items: (a, b) -> 1 bit; (a, a, a, b) -> H(3/4, 1/4); (a, b, c, d) -> 2 bits; (a); none.
    labels = [[0, 1], [0, 0, 0, 1], [0, 1, 2, 3], [2]]
    item = [i for i, row in enumerate(labels) for _ in row]
    flat = [label for row in labels for label in row]
    votes = EncodedVotes(item, list(range(len(flat))), flat, 5, len(flat), 4)
    h_quarter = -(0.75 * math.log2(0.75) + 0.25 * math.log2(0.25))
    np.testing.assert_allclose(
        vote_entropy(votes), [1.0, h_quarter, 2.0, 0.0, np.nan], rtol=0, atol=1e-15
    )
    assert h_quarter == pytest.approx(0.811278, abs=1e-6)


# --- AgreementStats -----------------------------------------------------------------------


def test_agreement_stats_bundle() -> None:
    votes = EncodedVotes([0, 0, 1, 1, 2, 2], [0, 1, 0, 1, 0, 1], [0, 0, 1, 1, 0, 1], 4, 3, 2)
    stats = AgreementStats.compute(votes, np.array([[1, 0], [0, 1], [1, 0], [0.5, 0.5]]))
    # Pairs per item: (0,0), (1,1), (0,1): P-bar = 2/3, P_e = 1/2, kappa = 1/3.
    assert stats.fleiss_kappa == pytest.approx(1 / 3, abs=1e-12)
    # Coincidences [[2, 1], [1, 2]]: D_o = 2, D_e = (6**2 - 3**2 - 3**2) / 5, alpha = 4/9.
    assert stats.krippendorff_alpha == pytest.approx(4 / 9, abs=1e-12)
    assert stats.mean_vote_entropy == pytest.approx(1 / 3, abs=1e-12)
    as_dict = stats.to_dict()
    assert as_dict["annotator_agreement"] == [1.0, 2 / 3, None]
    assert json.loads(json.dumps(as_dict)) == as_dict


def test_agreement_stats_without_fleiss_for_unequal_ratings() -> None:
    stats = AgreementStats.compute(from_reliability_matrix(THREE_CODERS), np.ones((15, 4)))
    assert stats.fleiss_kappa is None
    assert stats.to_dict()["fleiss_kappa"] is None
    assert stats.to_dict()["krippendorff_alpha"] == pytest.approx(0.691358, abs=1e-6)
