"""Vote aggregation: encoded votes, shares, majority, Dawid-Skene and the method registry."""

from __future__ import annotations

import doctest
import importlib

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labelprep.aggregation import (
    GLAD,
    MACE,
    METHODS,
    DawidSkene,
    EncodedVotes,
    Majority,
    OneCoinDawidSkene,
    Shares,
    Wawa,
    ZeroBasedSkill,
    get_method,
    vote_counts,
    votes_per_item,
)
from labelprep.errors import ColumnNotFoundError, ConfigError, InputError

A, B, C = 0, 1, 2


@pytest.fixture
def small_votes() -> EncodedVotes:
    """Item 0: a, a, b. Item 1: a, b (tie). Item 2: c. Item 3: no vote. K = 3."""
    return EncodedVotes(
        item=np.array([0, 0, 0, 1, 1, 2]),
        annotator=np.array([0, 1, 2, 0, 1, 2]),
        label=np.array([A, A, B, A, B, C]),
        n_items=4,
        n_annotators=3,
        n_classes=3,
    )


# --- EncodedVotes -------------------------------------------------------------------------


def test_counts_and_votes_per_item(small_votes: EncodedVotes) -> None:
    assert vote_counts(small_votes).tolist() == [[2, 1, 0], [1, 1, 0], [0, 0, 1], [0, 0, 0]]
    assert votes_per_item(small_votes).tolist() == [3, 2, 1, 0]
    assert small_votes.n_votes == 6


def test_encoded_votes_are_frozen_copies() -> None:
    labels = np.array([0, 1])
    votes = EncodedVotes(np.array([0, 0]), np.array([0, 1]), labels, 1, 2, 2)
    labels[0] = 1
    assert votes.label.tolist() == [0, 1]
    assert votes.label.dtype == np.int64
    with pytest.raises(ValueError, match="read-only"):
        votes.label[0] = 1


def test_unchecked_votes_are_frozen_in_place() -> None:
    item, labels = np.array([0, 1, 1]), np.array([1, 0, 0])
    votes = EncodedVotes.unchecked(
        item, np.array([0, 0, 1]), labels, n_items=2, n_annotators=2, n_classes=2
    )
    assert votes.item is item  # no copy
    assert not labels.flags.writeable
    assert votes.counts.tolist() == [[0, 1], [2, 0]]
    assert (votes.n_items, votes.n_annotators, votes.n_classes, votes.n_votes) == (2, 2, 2, 3)


@pytest.mark.parametrize(
    ("field", "message"),
    [("item", "item code 5 is outside 0..1"), ("label", "label code -1 is outside 0..2")],
)
def test_out_of_range_codes_are_rejected(field: str, message: str) -> None:
    codes = {"item": [0, 1], "annotator": [0, 0], "label": [0, 2]}
    codes[field] = [5, 1] if field == "item" else [-1, 2]
    with pytest.raises(InputError, match=message):
        EncodedVotes(**codes, n_items=2, n_annotators=1, n_classes=3)


def test_unequal_lengths_are_rejected() -> None:
    with pytest.raises(InputError, match="same length, got 2, 1 and 2"):
        EncodedVotes([0, 1], [0], [0, 1], n_items=2, n_annotators=1, n_classes=2)


def test_from_frame_round_trip() -> None:
    df = pl.DataFrame(
        {"item": [1, 0], "annotator": [0, 1], "label": [2, 0], "note": ["x", "y"]},
        schema_overrides={"item": pl.UInt32},
    )
    votes = EncodedVotes.from_frame(df, n_items=2, n_annotators=2, n_classes=3)
    assert votes.item.tolist() == [1, 0]
    assert votes.annotator.tolist() == [0, 1]
    assert votes.label.tolist() == [2, 0]
    assert votes.item.dtype == np.int64


def test_from_frame_missing_column_names_the_close_one() -> None:
    df = pl.DataFrame({"item": [0], "annotater": [0], "label": [0]})
    with pytest.raises(ColumnNotFoundError, match="Did you mean 'annotater'"):
        EncodedVotes.from_frame(df, n_items=1, n_annotators=1, n_classes=1)


def test_from_frame_requires_integer_codes() -> None:
    df = pl.DataFrame({"item": [0], "annotator": [0], "label": ["cat"]})
    with pytest.raises(InputError, match="'label' must hold integer codes"):
        EncodedVotes.from_frame(df, n_items=1, n_annotators=1, n_classes=1)


# --- Shares and Majority ------------------------------------------------------------------


def test_shares_exact(small_votes: EncodedVotes) -> None:
    result = Shares().fit_predict_proba(small_votes)
    third = 1 / 3
    expected = [[2 / 3, third, 0], [0.5, 0.5, 0], [0, 0, 1], [third, third, third]]
    np.testing.assert_allclose(result.proba, expected, rtol=0, atol=1e-15)
    assert result.method == "shares"
    assert result.n_votes.tolist() == [3, 2, 1, 0]
    assert result.ties == 1
    assert (result.annotator_accuracy, result.confusion, result.class_prior) == (None,) * 3
    assert (result.n_iter, result.converged) == (0, True)


def test_shares_laplace_smoothing_exact(small_votes: EncodedVotes) -> None:
    proba = Shares(alpha=1.0).fit_predict_proba(small_votes).proba
    expected = [[3 / 6, 2 / 6, 1 / 6], [2 / 5, 2 / 5, 1 / 5], [1 / 4, 1 / 4, 2 / 4], [1 / 3] * 3]
    np.testing.assert_allclose(proba, expected, rtol=0, atol=1e-15)


def test_majority_one_hot_and_tie_rule(small_votes: EncodedVotes) -> None:
    result = Majority().fit_predict_proba(small_votes)
    expected = [[1, 0, 0], [1, 0, 0], [0, 0, 1], [1 / 3] * 3]
    np.testing.assert_allclose(result.proba, expected, rtol=0, atol=1e-15)
    assert result.hard_labels().tolist() == [A, A, C, A]
    assert result.ties == 1
    assert result.method == "majority"


def test_majority_tie_between_later_classes_picks_the_first_of_them() -> None:
    # Votes c, b, c, b, a: b and c tie with 2 each; a has fewer, so b (index 1) wins.
    votes = EncodedVotes([0] * 5, [0, 1, 2, 3, 4], [C, B, C, B, A], 1, 5, 3)
    result = Majority().fit_predict_proba(votes)
    assert result.proba.tolist() == [[0.0, 1.0, 0.0]]
    assert result.ties == 1


def test_ties_are_counted_for_every_method(small_votes: EncodedVotes) -> None:
    assert {m: get_method(m).fit_predict_proba(small_votes).ties for m in METHODS} == dict.fromkeys(
        METHODS, 1
    )


# --- Dawid-Skene --------------------------------------------------------------------------

TRUTH = [0, 1, 0, 1, 0, 1, 0, 1]


@pytest.fixture
def adversarial_votes() -> EncodedVotes:
    """Annotators 0 and 1 are always right, 2 is right except on item 3, 3 is always wrong.

    Items 0-5 get all four votes; items 6-7 only annotators 0 and 3 (a 1-1 tie). Majority
    gets items 3 (2-2 tie) and 7 (1-1 tie) wrong; Dawid-Skene should read annotator 3's
    votes inverted and get every item right.
    """
    item, annotator, label = [], [], []
    for i, truth in enumerate(TRUTH):
        for a in (0, 1, 2, 3) if i < 6 else (0, 3):
            wrong = a == 3 or (a == 2 and i == 3)
            item.append(i)
            annotator.append(a)
            label.append(1 - truth if wrong else truth)
    return EncodedVotes(np.array(item), np.array(annotator), np.array(label), 8, 4, 2)


def test_majority_fails_where_annotators_are_adversarial(adversarial_votes: EncodedVotes) -> None:
    result = Majority().fit_predict_proba(adversarial_votes)
    assert result.hard_labels().tolist() == [0, 1, 0, 0, 0, 1, 0, 0]
    assert result.ties == 3  # items 3, 6, 7


def test_dawid_skene_recovers_truth_despite_adversary(adversarial_votes: EncodedVotes) -> None:
    result = DawidSkene().fit_predict_proba(adversarial_votes)
    assert result.hard_labels().tolist() == TRUTH
    assert result.proba[7, 1] > 0.99
    assert result.proba[3, 1] > 0.99
    assert result.converged
    assert 1 <= result.n_iter < 100
    assert result.method == "dawid_skene"
    assert result.annotator_accuracy is not None
    assert result.annotator_accuracy[3] < 0.01
    assert np.all(result.annotator_accuracy[:2] > 0.99)
    assert 0.8 < result.annotator_accuracy[2] < 0.9  # wrong once in 6 votes


def test_dawid_skene_parameters_are_consistent(adversarial_votes: EncodedVotes) -> None:
    result = DawidSkene().fit_predict_proba(adversarial_votes)
    assert result.confusion is not None
    assert result.class_prior is not None
    assert result.confusion.shape == (4, 2, 2)
    np.testing.assert_allclose(result.confusion.sum(axis=2), 1.0, rtol=0, atol=1e-12)
    np.testing.assert_allclose(result.class_prior, [0.5, 0.5], atol=1e-6)
    np.testing.assert_allclose(result.confusion[3], [[0, 1], [1, 0]], atol=1e-6)
    diag = np.diagonal(result.confusion, axis1=1, axis2=2)
    np.testing.assert_allclose(result.annotator_accuracy, diag @ result.class_prior)
    np.testing.assert_allclose(result.proba.sum(axis=1), 1.0, rtol=0, atol=1e-12)


def test_dawid_skene_is_deterministic(adversarial_votes: EncodedVotes) -> None:
    first = DawidSkene().fit_predict_proba(adversarial_votes)
    second = DawidSkene().fit_predict_proba(adversarial_votes)
    assert np.array_equal(first.proba, second.proba)
    assert np.array_equal(first.confusion, second.confusion)  # type: ignore[arg-type]
    assert first.n_iter == second.n_iter


def test_dawid_skene_stops_at_max_iter(adversarial_votes: EncodedVotes) -> None:
    result = DawidSkene(max_iter=1).fit_predict_proba(adversarial_votes)
    assert (result.n_iter, result.converged) == (1, False)


def test_dawid_skene_unvoted_item_gets_the_class_prior() -> None:
    # Items 0-2 voted 0, 0, 1 by two agreeing annotators; item 3 has no vote.
    votes = EncodedVotes([0, 0, 1, 1, 2, 2], [0, 1, 0, 1, 0, 1], [0, 0, 0, 0, 1, 1], 4, 2, 2)
    result = DawidSkene().fit_predict_proba(votes)
    assert result.class_prior is not None
    np.testing.assert_allclose(result.class_prior, [2 / 3, 1 / 3], atol=1e-6)
    np.testing.assert_allclose(result.proba[3], result.class_prior, atol=1e-6)
    assert result.n_votes.tolist() == [2, 2, 2, 0]


def test_dawid_skene_without_any_vote_is_uniform() -> None:
    empty = np.array([], dtype=np.int64)
    result = DawidSkene().fit_predict_proba(EncodedVotes(empty, empty, empty, 2, 1, 3))
    np.testing.assert_allclose(result.proba, np.full((2, 3), 1 / 3))
    assert result.converged


# --- Registry -----------------------------------------------------------------------------


def test_registry_names() -> None:
    assert {
        "shares": Shares,
        "majority": Majority,
        "dawid-skene": DawidSkene,
        "one-coin-dawid-skene": OneCoinDawidSkene,
        "glad": GLAD,
        "mace": MACE,
        "wawa": Wawa,
        "zero-based-skill": ZeroBasedSkill,
    } == METHODS
    assert get_method("one_coin_dawid_skene") == OneCoinDawidSkene()
    assert get_method("dawid-skene", max_iter=5, tol=1e-3) == DawidSkene(max_iter=5, tol=1e-3)
    assert get_method("dawid_skene") == DawidSkene()
    assert get_method("shares", alpha=0.5) == Shares(alpha=0.5)


def test_unknown_method_hints_the_closest_name() -> None:
    with pytest.raises(ConfigError, match=r"unknown aggregation method 'majorty'.*'majority'\?"):
        get_method("majorty")


def test_unknown_parameter_hints_the_closest_name() -> None:
    with pytest.raises(ConfigError, match=r"no parameter 'max_iters'.*Did you mean 'max_iter'"):
        get_method("dawid-skene", max_iters=3)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Shares(alpha=-1.0), "alpha must be a finite number >= 0"),
        (lambda: DawidSkene(max_iter=0), "max_iter must be >= 1"),
        (lambda: DawidSkene(max_iter=2.5), "max_iter must be an integer"),  # type: ignore[arg-type]
        (lambda: DawidSkene(tol=0.0), "tol must be a finite number > 0"),
    ],
)
def test_invalid_parameters(make: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        make()  # type: ignore[operator]


# --- Properties ---------------------------------------------------------------------------


@st.composite
def random_votes(draw: st.DrawFn) -> EncodedVotes:
    n_items = draw(st.integers(1, 8))
    n_annotators = draw(st.integers(1, 5))
    n_classes = draw(st.integers(1, 4))
    n_votes = draw(st.integers(0, 40))
    codes = [
        draw(st.lists(st.integers(0, size - 1), min_size=n_votes, max_size=n_votes))
        for size in (n_items, n_annotators, n_classes)
    ]
    return EncodedVotes(*codes, n_items=n_items, n_annotators=n_annotators, n_classes=n_classes)


@pytest.mark.parametrize("name", sorted(METHODS))
@settings(max_examples=150, deadline=None)
@given(votes=random_votes(), alpha=st.sampled_from([0.0, 0.5, 1.0]))
def test_every_method_gives_distributions(name: str, votes: EncodedVotes, alpha: float) -> None:
    method = get_method(name, alpha=alpha) if name == "shares" else get_method(name)
    result = method.fit_predict_proba(votes)
    assert result.proba.shape == (votes.n_items, votes.n_classes)
    assert result.proba.dtype == np.float64
    assert np.all(np.isfinite(result.proba))
    assert np.all(result.proba >= 0)
    np.testing.assert_allclose(result.proba.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert result.n_votes.tolist() == votes_per_item(votes).tolist()


# --- Docs that run ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "module",
    [
        "_encoded",
        "_registry",
        "shares",
        "majority",
        "dawid_skene",
        "one_coin",
        "glad",
        "mace",
        "wawa",
        "zero_based_skill",
        "agreement",
    ],
)
def test_docstring_examples(module: str) -> None:
    mod = importlib.import_module(f"labelprep.aggregation.{module}")
    failures, tried = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
    assert tried > 0
    assert failures == 0
