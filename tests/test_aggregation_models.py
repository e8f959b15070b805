"""One-coin Dawid-Skene, GLAD, MACE, Wawa, ZeroBasedSkill; convergence and gold items."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import digamma as scipy_digamma
from scipy.special import gammaln

from labelprep.aggregation import (
    GLAD,
    MACE,
    METHODS,
    DawidSkene,
    EncodedVotes,
    Majority,
    OneCoinDawidSkene,
    Wawa,
    ZeroBasedSkill,
    get_method,
)
from labelprep.aggregation._em import Trace, digamma, dirichlet_kl, log_gamma
from labelprep.aggregation.glad import _ascend
from labelprep.errors import ConfigError, InputError
from labelprep.vote_fit import sparsity_notice

EM = ["dawid-skene", "one-coin-dawid-skene", "glad", "mace"]


def votes_of(triples: list[tuple[int, int, int]], n_items: int, n_ann: int, k: int) -> EncodedVotes:
    item, annotator, label = (np.array(col, dtype=np.int64) for col in zip(*triples, strict=True))
    return EncodedVotes(item, annotator, label, n_items, n_ann, k)


# --- Wawa and ZeroBasedSkill: closed-form values ------------------------------------------


@pytest.fixture
def three_annotators() -> EncodedVotes:
    """Item 0: 0, 0, 1 (majority 0). Item 1: 1, 1, 1. Item 2: 0, 1, 1 (majority 1)."""
    triples = [(0, 0, 0), (0, 1, 0), (0, 2, 1), (1, 0, 1), (1, 1, 1), (1, 2, 1)]
    triples += [(2, 0, 0), (2, 1, 1), (2, 2, 1)]
    return votes_of(triples, 3, 3, 2)


def test_wawa_weights_and_posteriors_by_hand(three_annotators: EncodedVotes) -> None:
    result = Wawa().fit_predict_proba(three_annotators)
    # a0 agrees with the majority on items 0, 1; a1 on all; a2 on items 1, 2.
    np.testing.assert_allclose(result.skills, [2 / 3, 1.0, 2 / 3], rtol=0, atol=1e-15)
    # item 0: class 0 gets 2/3 + 1, class 1 gets 2/3 -> (5/7, 2/7); item 2 mirrored.
    expected = [[5 / 7, 2 / 7], [0.0, 1.0], [2 / 7, 5 / 7]]
    np.testing.assert_allclose(result.proba, expected, rtol=0, atol=1e-15)
    assert (result.n_iter, result.converged, result.confusion) == (0, True, None)


def test_zero_based_skill_reaches_the_agreement_fixed_point(three_annotators: EncodedVotes) -> None:
    result = ZeroBasedSkill().fit_predict_proba(three_annotators)
    # Equal starting skills give the plain majority; one full step (lr 1) moves every skill
    # to its agreement rate; the weighted labels are then unchanged, so iteration 2 is still.
    np.testing.assert_allclose(result.skills, [2 / 3, 1.0, 2 / 3], rtol=0, atol=1e-15)
    assert (result.n_iter, result.converged) == (2, True)
    np.testing.assert_allclose(result.proba[0], [5 / 7, 2 / 7], rtol=0, atol=1e-15)


def test_zero_based_skill_learning_rate_schedule() -> None:
    # Two annotators disagreeing on one item: the tie goes to class 0, so a0's skill heads
    # to 1 and a1's to 0; with lr 0.5 the gap halves each step and never closes within tol.
    votes = votes_of([(0, 0, 0), (0, 1, 1)], 1, 2, 2)
    result = ZeroBasedSkill(max_iter=3, lr_init=0.5).fit_predict_proba(votes)
    start = 0.5 + 1e-5
    a0 = start + 0.5 * (1 - start)
    a0 = a0 + 0.5 * (1 - a0)
    a0 = a0 + 0.5 * (1 - a0)
    np.testing.assert_allclose(result.skills[0], a0, rtol=0, atol=1e-15)
    assert (result.n_iter, result.converged) == (3, False)


# --- One-coin Dawid-Skene -----------------------------------------------------------------


def test_one_coin_first_step_by_hand() -> None:
    """Item 0: a0 -> 0, a1 -> 0, a2 -> 1; item 1: a0 -> 1, a1 -> 0 (K = 2).

    From the vote shares (2/3, 1/3) and (1/2, 1/2): prior (7/12, 5/12); skills a0 = mean(2/3,
    1/2) = 7/12, a1 = 7/12, a2 = 1/3. E-step: item 0 is 7/12 * (7/12)^2 * 2/3 against
    5/12 * (5/12)^2 * 1/3, i.e. 686 : 125; item 1 is 7/12 * 5/12 * 7/12 against
    5/12 * 7/12 * 5/12, i.e. 7 : 5.
    """
    votes = votes_of([(0, 0, 0), (0, 1, 0), (0, 2, 1), (1, 0, 1), (1, 1, 0)], 2, 3, 2)
    result = OneCoinDawidSkene(max_iter=1).fit_predict_proba(votes)
    expected = [[686 / 811, 125 / 811], [7 / 12, 5 / 12]]
    np.testing.assert_allclose(result.proba, expected, rtol=0, atol=1e-12)
    assert (result.n_iter, result.converged, result.final_change) == (1, False, None)


def test_one_coin_converges_to_its_fixed_point() -> None:
    rng = np.random.default_rng(3)
    truth = rng.integers(0, 3, 60)
    item = np.repeat(np.arange(60), 4)
    annotator = np.tile(np.arange(4), 60)
    right = rng.random(item.size) < np.array([0.9, 0.8, 0.7, 0.6])[annotator]
    label = np.where(right, truth[item], (truth[item] + 1 + rng.integers(0, 2, item.size)) % 3)
    votes = EncodedVotes(item, annotator, label, 60, 4, 3)
    result = OneCoinDawidSkene(tol=1e-12, max_iter=500).fit_predict_proba(votes)
    assert result.converged
    assert result.skills is not None
    assert result.class_prior is not None
    # M-step equations hold at the fixed point: skill = mean posterior of the voted class.
    right_mass = result.proba[item, label]
    np.testing.assert_allclose(
        result.skills, np.bincount(annotator, right_mass) / 60, rtol=0, atol=1e-6
    )
    np.testing.assert_allclose(result.class_prior, result.proba.mean(axis=0), atol=1e-6)
    # E-step equation: posterior from the prior and the skills.
    log_right, log_wrong = np.log(result.skills), np.log((1 - result.skills) / 2)
    scores = np.tile(np.log(result.class_prior), (60, 1))
    for a in range(4):
        own = label[annotator == a]
        scores += log_wrong[a]
        scores[np.arange(60), own] += log_right[a] - log_wrong[a]
    post = np.exp(scores - scores.max(axis=1, keepdims=True))
    np.testing.assert_allclose(result.proba, post / post.sum(axis=1, keepdims=True), atol=1e-5)
    assert result.confusion is not None
    np.testing.assert_allclose(result.confusion[0].diagonal(), result.skills[0])
    np.testing.assert_allclose(result.confusion.sum(axis=2), 1.0, atol=1e-12)
    assert (result.hard_labels() == truth).mean() > 0.9


# --- GLAD and MACE ------------------------------------------------------------------------


def test_glad_and_mace_find_the_spammer() -> None:
    """Three careful annotators, one who always answers class 0."""
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 2, 40)
    triples = [(i, a, int(truth[i])) for i in range(40) for a in range(3)]
    triples[5] = (1, 2, 1 - int(truth[1]))  # one honest mistake
    triples += [(i, 3, 0) for i in range(40)]
    votes = votes_of(triples, 40, 4, 2)
    glad = GLAD().fit_predict_proba(votes)
    mace = MACE().fit_predict_proba(votes)
    for result in (glad, mace):
        assert result.hard_labels().tolist() == truth.tolist()
        assert result.skills is not None
        assert int(np.argmin(result.skills)) == 3
        assert result.converged
    assert mace.skills is not None
    assert mace.skills[3] < 0.2
    assert mace.skills[:3].min() > 0.9
    assert mace.confusion is not None
    np.testing.assert_allclose(mace.confusion.sum(axis=2), 1.0, atol=1e-12)


def test_digamma_matches_scipy() -> None:
    x = np.concatenate([np.linspace(1e-3, 1, 50), np.linspace(1, 50, 200), [1e4, 1e7]])
    np.testing.assert_allclose(digamma(x), scipy_digamma(x), rtol=1e-12, atol=1e-12)


def test_log_gamma_matches_scipy() -> None:
    x = np.concatenate([np.linspace(1e-3, 1, 50), np.linspace(1, 50, 200), [1e4, 1e7]])
    np.testing.assert_allclose(log_gamma(x), gammaln(x), rtol=1e-13, atol=1e-12)


def test_dirichlet_kl_by_hand() -> None:
    # Beta(2, 1) has density 2x; from the uniform Beta(1, 1):
    # integral of 2x log(2x) over [0, 1] = log 2 + 2 * (-1/4) = log 2 - 1/2.
    posterior, prior = np.array([[2.0, 1.0], [1.0, 1.0]]), np.ones((2, 2))
    assert dirichlet_kl(posterior, prior) == pytest.approx(np.log(2) - 0.5, abs=1e-12)


def test_mace_keeps_the_run_with_the_highest_bound() -> None:
    # Each run's objective is recorded; the one kept has the largest final value.
    rng = np.random.default_rng(3)
    n = 240
    item, annotator = rng.integers(0, 60, n), rng.integers(0, 10, n)
    label = np.where(rng.random(n) < 0.6, item % 3, rng.integers(0, 3, n))
    votes = EncodedVotes(item, annotator, label, 60, 10, 3)
    model = MACE(n_restarts=5)
    finals = [
        trace.history[-1] for _, trace in (model._run(votes, None, s) for s in model._starts(votes))
    ]
    assert model.fit_predict_proba(votes).log_likelihood[-1] == max(finals)


# --- Convergence --------------------------------------------------------------------------


def test_trace_stops_on_relative_change() -> None:
    trace = Trace(tol=1e-3, max_iter=10)
    assert not trace.record(-100.0)
    assert trace.final_change is None
    assert not trace.record(-50.0)  # change 0.5
    assert trace.final_change == pytest.approx(0.5)
    assert trace.record(-49.99)  # change 0.01 / 50 = 2e-4 < 1e-3
    assert trace.converged
    assert trace.n_iter == 3
    capped = Trace(tol=1e-9, max_iter=2)
    assert not capped.record(-1.0)
    assert capped.record(-0.5)
    assert not capped.converged


@pytest.mark.parametrize("name", ["dawid-skene", "one-coin-dawid-skene", "glad", "mace"])
def test_em_log_likelihood_never_decreases(name: str) -> None:
    # MACE (variational Bayes): its objective is the evidence lower bound.
    rng = np.random.default_rng(7)
    n = 300
    item, annotator = rng.integers(0, 80, n), rng.integers(0, 12, n)
    label = np.where(rng.random(n) < 0.7, item % 3, rng.integers(0, 3, n))
    result = get_method(name, tol=1e-10).fit_predict_proba(
        EncodedVotes(item, annotator, label, 80, 12, 3)
    )
    history = np.array(result.log_likelihood)
    assert len(history) == result.n_iter >= 2
    assert np.all(np.diff(history) >= -1e-7 * np.abs(history[:-1]))
    assert result.final_change == pytest.approx(abs(history[-1] - history[-2]) / abs(history[-2]))
    assert result.converged == (result.final_change < 1e-10)


def test_glad_steps_are_halved_until_they_gain() -> None:
    # gain(t) = -(t - 1)^2 per parameter. From 0 a step of 3 lands on -4 < -1: halved to
    # 1.5 (gain -0.25), kept. From 1 (the optimum) every step loses: the value stays.
    # From 0.5 a step of 0.5 gains at once (gain 0 > -0.25).
    def gain(t: np.ndarray) -> np.ndarray:
        return -((t - 1.0) ** 2)

    value, step = np.array([0.0, 1.0, 0.5]), np.array([3.0, 0.5, 0.5])
    assert _ascend(value, step, 10.0, gain).tolist() == [1.5, 1.0, 1.0]
    assert _ascend(np.array([0.0]), np.array([3.0]), 0.5, gain).tolist() == [0.5]  # clipped


def test_sparsity_notice_threshold() -> None:
    # K = 2: 4 cells; the median annotator has 3 votes -> warned; 4 votes -> not.
    sparse = votes_of([(i, a, 0) for a in range(3) for i in range(3)], 3, 3, 2)
    dense = votes_of([(i, a, 0) for a in range(3) for i in range(4)], 4, 3, 2)
    notice = sparsity_notice("dawid-skene", sparse)
    assert notice is not None
    assert "median annotator has 3 votes" in notice
    assert "one-coin-dawid-skene" in notice
    assert sparsity_notice("dawid_skene", dense) is None
    assert sparsity_notice("one-coin-dawid-skene", sparse) is None


# --- Gold items ---------------------------------------------------------------------------


@pytest.fixture
def split_pair() -> EncodedVotes:
    """Annotator 0 always answers 0, annotator 1 always answers 1, on four items."""
    return votes_of([(i, a, a) for i in range(4) for a in range(2)], 4, 2, 2)


@pytest.mark.parametrize("name", EM)
def test_one_gold_item_tells_em_whom_to_trust(name: str, split_pair: EncodedVotes) -> None:
    gold = np.array([1, -1, -1, -1])
    result = get_method(name).fit_predict_proba(split_pair, gold)
    assert result.proba[0].tolist() == [0.0, 1.0]
    assert result.hard_labels().tolist() == [1, 1, 1, 1]
    assert result.gold_items == 1


def test_one_coin_gold_first_step_by_hand(split_pair: EncodedVotes) -> None:
    # Item 0 fixed to (0, 1), the others start at (1/2, 1/2): skills a0 = 3/8, a1 = 5/8,
    # prior (3/8, 5/8); items 1-3: 3/8 * 3/8 * 3/8 against 5/8 * 5/8 * 5/8 -> 27 : 125.
    result = OneCoinDawidSkene(max_iter=1).fit_predict_proba(split_pair, [1, -1, -1, -1])
    np.testing.assert_allclose(result.proba[1:], [[27 / 152, 125 / 152]] * 3, atol=1e-12)
    # The reported accuracy is the votes-only posterior's: item 0 alone, 27 : 125 -> right.
    assert result.gold_accuracy == 1.0


def test_gold_accuracy_is_measured_before_clamping() -> None:
    votes = votes_of([(0, 0, 0), (0, 1, 1), (1, 0, 0), (1, 1, 0)], 2, 2, 2)
    result = Majority().fit_predict_proba(votes, [1, 1])  # tie -> 0 (wrong); 0 (wrong)
    assert result.proba.tolist() == [[0.0, 1.0], [0.0, 1.0]]
    assert (result.gold_items, result.gold_accuracy) == (2, 0.0)


@pytest.mark.parametrize(
    ("gold", "message"),
    [([0, 0, 0], "expected 2 codes"), ([0, 2], r"-1 \(unknown\) or 0..1"), ([-2, 0], "-1")],
)
def test_bad_gold_vectors(gold: list[int], message: str) -> None:
    votes = votes_of([(0, 0, 0), (1, 0, 1)], 2, 1, 2)
    with pytest.raises(InputError, match=message):
        DawidSkene().fit_predict_proba(votes, gold)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: GLAD(m_step_iter=0), "m_step_iter must be an integer >= 1"),
        (lambda: MACE(method="gibbs"), "method must be 'vb' or 'em'"),  # type: ignore[arg-type]
        (lambda: MACE(n_restarts=0), "n_restarts must be an integer >= 1"),
        (lambda: OneCoinDawidSkene(tol=float("nan")), "tol must be a finite number > 0"),
        (lambda: ZeroBasedSkill(lr_reduce_factor=1.5), r"lr_reduce_factor must be in \(0, 1\]"),
    ],
)
def test_invalid_parameters(make: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        make()  # type: ignore[operator]


def test_mace_restarts_keep_the_best_run(split_pair: EncodedVotes) -> None:
    one = MACE(method="em", n_restarts=1).fit_predict_proba(split_pair)
    several = MACE(method="em", n_restarts=4, seed=1).fit_predict_proba(split_pair)
    assert several.log_likelihood[-1] >= one.log_likelihood[-1] - 1e-12


# --- Properties ---------------------------------------------------------------------------


@st.composite
def votes_and_gold(draw: st.DrawFn) -> tuple[EncodedVotes, np.ndarray]:
    n_items, n_ann, k = draw(st.integers(1, 7)), draw(st.integers(1, 4)), draw(st.integers(1, 4))
    n = draw(st.integers(0, 30))
    cols = [
        draw(st.lists(st.integers(0, s - 1), min_size=n, max_size=n)) for s in (n_items, n_ann, k)
    ]
    gold = draw(st.lists(st.integers(-1, k - 1), min_size=n_items, max_size=n_items))
    return EncodedVotes(*cols, n_items=n_items, n_annotators=n_ann, n_classes=k), np.array(gold)


@pytest.mark.parametrize("name", sorted(METHODS))
@settings(max_examples=40, deadline=None)
@given(case=votes_and_gold(), seed=st.integers(0, 2**16))
def test_gold_rows_and_annotator_relabelling(name: str, case: tuple, seed: int) -> None:
    votes, gold = case
    result = get_method(name).fit_predict_proba(votes, gold)
    np.testing.assert_allclose(result.proba.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    known = gold >= 0
    assert np.array_equal(result.proba[known], np.eye(votes.n_classes)[gold[known]])
    assert result.gold_items == int(known.sum())
    # The same votes with the annotators renumbered give the same posteriors.
    perm = np.random.default_rng(seed).permutation(votes.n_annotators)
    renamed = EncodedVotes(
        votes.item,
        perm[votes.annotator],
        votes.label,
        votes.n_items,
        votes.n_annotators,
        votes.n_classes,
    )
    again = get_method(name).fit_predict_proba(renamed, gold)
    np.testing.assert_allclose(again.proba, result.proba, rtol=0, atol=1e-9)
    if result.skills is not None:
        assert again.skills is not None
        np.testing.assert_allclose(again.skills[perm], result.skills, rtol=0, atol=1e-9)
