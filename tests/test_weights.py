"""Class priors and weight schemes: exact values on the SPEC's worked example, empty classes,
per-split blocks, and equality with scikit-learn's "balanced" weights on hard labels."""

from __future__ import annotations

import json
import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labelprep.errors import ColumnNotFoundError, ConfigError
from labelprep.weights import (
    LOSS_WEIGHT_SCHEMES,
    WEIGHT_SCHEMES,
    add_weights,
    dataset_summary,
    imbalance_ratio,
)

# The SPEC's soft labels: (0.9, 0.05, 0.05), (0.2, 0.8, 0), (0.3, 0.3, 0.4), (0.7, 0, 0.3).
# soft mass: c1 = 0.9 + 0.2 + 0.3 + 0.7 = 2.1, c2 = 0.05 + 0.8 + 0.3 = 1.15,
# c3 = 0.05 + 0.4 + 0.3 = 0.75 (N = 4); support (p > 0): 4 / 3 / 3; argmax: c1, c2, c3, c1.
SOFT = [2.1, 1.15, 0.75]
SUPPORT = [4, 3, 3]
HARD = [2, 1, 1]


def counts_frame(
    soft: list[float], *, support: list[int] | None = None, split: str | None = None
) -> pl.DataFrame:
    k = len(soft)
    return pl.DataFrame(
        {
            "split": pl.Series([split] * k, dtype=pl.String),
            "class": [f"c{i + 1}" for i in range(k)],
            "index": pl.Series(range(k), dtype=pl.UInt32),
            "soft_mass": soft,
            "support": pl.Series(support or [1 if s > 0 else 0 for s in soft], dtype=pl.UInt64),
            "hard_count": pl.Series([round(s) for s in soft], dtype=pl.UInt64),
        }
    )


def spec_stats(**kwargs: object) -> pl.DataFrame:
    counts = counts_frame(SOFT, support=SUPPORT).with_columns(
        hard_count=pl.Series(HARD, dtype=pl.UInt64)
    )
    return add_weights(counts, **kwargs)  # type: ignore[arg-type]


def column(frame: pl.DataFrame, name: str) -> list[float]:
    return frame[name].to_list()


def test_prior_and_balanced_on_the_spec_example() -> None:
    stats = spec_stats()
    assert column(stats, "prior") == pytest.approx([2.1 / 4, 1.15 / 4, 0.75 / 4], rel=1e-15)
    assert column(stats, "prior") == pytest.approx([0.525, 0.2875, 0.1875], rel=1e-12)
    balanced = [4 / (3 * 2.1), 4 / (3 * 1.15), 4 / (3 * 0.75)]
    assert column(stats, "balanced") == pytest.approx(balanced, rel=1e-15)
    assert column(stats, "balanced") == pytest.approx([0.634921, 1.159420, 1.777778], abs=1e-6)


def test_inverse_sqrt_on_the_spec_example() -> None:
    # c = N / sum_k sqrt(n_k) = 4 / (1.449138 + 1.072381 + 0.866025) = 4 / 3.387544
    c = 4 / (math.sqrt(2.1) + math.sqrt(1.15) + math.sqrt(0.75))
    expected = [c / math.sqrt(2.1), c / math.sqrt(1.15), c / math.sqrt(0.75)]
    weights = column(spec_stats(), "inverse_sqrt")
    assert weights == pytest.approx(expected, rel=1e-12)
    assert weights == pytest.approx([0.814827, 1.101099, 1.363466], abs=1e-6)
    assert sum(n * w for n, w in zip(SOFT, weights, strict=True)) / 4 == pytest.approx(1.0)


def test_effective_number_on_the_spec_example() -> None:
    # raw_k = (1 - 0.999) / (1 - 0.999 ** n_k) = 0.476452, 0.869631, 1.333166 (sum 2.679249);
    # scaled to sum to K = 3.
    raw = [(1 - 0.999) / (1 - 0.999**n) for n in SOFT]
    expected = [3 * r / sum(raw) for r in raw]
    weights = column(spec_stats(), "effective_number")
    assert weights == pytest.approx(expected, rel=1e-10)
    assert weights == pytest.approx([0.533492, 0.973740, 1.492769], abs=1e-6)
    assert sum(weights) == pytest.approx(3.0)


def test_effective_number_beta_zero_is_uniform() -> None:
    assert column(spec_stats(beta=0.0), "effective_number") == pytest.approx([1.0, 1.0, 1.0])


def test_median_frequency_on_the_spec_example() -> None:
    # freq = 0.525, 0.2875, 0.1875; median = 0.2875
    expected = [0.2875 / 0.525, 0.2875 / 0.2875, 0.2875 / 0.1875]
    assert column(spec_stats(), "median_frequency") == pytest.approx(expected, rel=1e-12)


def test_logit_adjustment_on_the_spec_example() -> None:
    expected = [math.log(0.525), math.log(0.2875), math.log(0.1875)]
    assert column(spec_stats(), "logit_adjustment") == pytest.approx(expected, rel=1e-12)
    assert column(spec_stats(), "logit_adjustment") == pytest.approx(
        [-0.644357, -1.246532, -1.673976], abs=1e-6
    )
    halved = [0.5 * x for x in expected]
    assert column(spec_stats(tau=0.5), "logit_adjustment") == pytest.approx(halved, rel=1e-12)


def test_count_by_support_and_hard() -> None:
    # support 4 / 3 / 3, N = 10: balanced = 10 / (3 * 4), 10 / (3 * 3), 10 / (3 * 3)
    by_support = spec_stats(count_by="support")
    assert column(by_support, "prior") == pytest.approx([0.4, 0.3, 0.3])
    assert column(by_support, "balanced") == pytest.approx([10 / 12, 10 / 9, 10 / 9])
    # hard counts 2 / 1 / 1, N = 4: balanced = 4 / 6, 4 / 3, 4 / 3
    by_hard = spec_stats(count_by="hard")
    assert column(by_hard, "balanced") == pytest.approx([4 / 6, 4 / 3, 4 / 3])


def test_output_columns_dtypes_and_order() -> None:
    counts = counts_frame(SOFT, support=SUPPORT)
    stats = add_weights(counts)
    assert stats.columns == [*counts.columns, *WEIGHT_SCHEMES]
    assert all(stats[name].dtype == pl.Float64 for name in WEIGHT_SCHEMES)
    assert stats.select(counts.columns).equals(counts)


def test_empty_class_gets_zero_weights_and_finite_offset() -> None:
    # soft mass 3 / 1 / 0, N = 4, K+ = 2 classes with mass
    stats = add_weights(counts_frame([3.0, 1.0, 0.0]))
    assert column(stats, "balanced") == pytest.approx([4 / (2 * 3), 4 / (2 * 1), 0.0])
    c = 4 / (math.sqrt(3) + 1)
    assert column(stats, "inverse_sqrt") == pytest.approx([c / math.sqrt(3), c, 0.0])
    raw = [0.001 / (1 - 0.999**3), 0.001 / (1 - 0.999)]
    expected = [2 * r / sum(raw) for r in raw]
    assert column(stats, "effective_number") == pytest.approx([*expected, 0.0])
    # median over the observed classes: median(3, 1) = 2
    assert column(stats, "median_frequency") == pytest.approx([2 / 3, 2 / 1, 0.0])
    # eps = min(1 / (2 N), p_min / 2) = min(1/8, 0.25 / 2) = 0.125
    assert column(stats, "logit_adjustment") == pytest.approx(
        [math.log(0.75), math.log(0.25), math.log(0.125)]
    )


def test_empty_class_offset_stays_below_a_tiny_soft_class() -> None:
    # p_min = 0.1 / 4 = 0.025 < 1 / (2 N) = 0.125, so eps = 0.025 / 2
    offsets = column(add_weights(counts_frame([3.9, 0.1, 0.0])), "logit_adjustment")
    assert offsets == pytest.approx([math.log(0.975), math.log(0.025), math.log(0.0125)])


def test_all_zero_block_is_all_zero_not_nan() -> None:
    stats = add_weights(counts_frame([0.0, 0.0, 0.0]))
    for name in WEIGHT_SCHEMES:
        assert column(stats, name) == [0.0, 0.0, 0.0], name


def test_blocks_per_split_are_independent() -> None:
    counts = pl.concat(
        [counts_frame(SOFT, support=SUPPORT), counts_frame([1.0, 0.5, 0.5], split="train")]
    )
    stats = add_weights(counts)
    everything, train = stats.filter(pl.col("split").is_null()), stats.filter(split="train")
    assert column(everything, "balanced") == pytest.approx(column(spec_stats(), "balanced"))
    # train: N = 2, balanced = 2 / (3 * 1), 2 / (3 * 0.5), 2 / (3 * 0.5)
    assert column(train, "balanced") == pytest.approx([2 / 3, 4 / 3, 4 / 3])
    assert column(train, "prior") == pytest.approx([0.5, 0.25, 0.25])
    assert column(train, "median_frequency") == pytest.approx([0.5, 1.0, 1.0])


def test_frame_without_split_column_is_one_block() -> None:
    stats = add_weights(counts_frame(SOFT).drop("split"))
    assert "split" not in stats.columns
    assert column(stats, "balanced") == pytest.approx(column(spec_stats(), "balanced"))


def test_bad_options_raise() -> None:
    with pytest.raises(ConfigError, match=r"beta must be in \[0, 1\)"):
        add_weights(counts_frame(SOFT), beta=1.0)
    with pytest.raises(ConfigError, match="count_by must be one of"):
        add_weights(counts_frame(SOFT), count_by="votes")  # type: ignore[arg-type]
    with pytest.raises(ColumnNotFoundError, match="'soft_mass' is missing"):
        add_weights(counts_frame(SOFT).drop("soft_mass"))


def test_balanced_equals_scikit_learn_on_hard_labels() -> None:
    from sklearn.utils.class_weight import compute_class_weight

    y = np.array(["a"] * 5 + ["b"] * 2 + ["c"] * 1)
    counts = pl.DataFrame({"class": ["a", "b", "c"], "hard_count": [5, 2, 1]})
    ours = add_weights(counts, count_by="hard")["balanced"].to_numpy()
    theirs = compute_class_weight("balanced", classes=np.array(["a", "b", "c"]), y=y)
    assert np.array_equal(ours, theirs)  # exact, not approximately


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 10_000), min_size=1, max_size=12))
def test_balanced_equals_scikit_learn_property(hard: list[int]) -> None:
    from sklearn.utils.class_weight import compute_class_weight

    classes = np.arange(len(hard))
    y = np.repeat(classes, hard)
    counts = pl.DataFrame({"class": [str(c) for c in classes], "hard_count": hard})
    ours = add_weights(counts, count_by="hard")["balanced"].to_numpy()
    assert np.array_equal(ours, compute_class_weight("balanced", classes=classes, y=y))


masses = st.one_of(st.just(0.0), st.floats(1e-12, 1e6))


@settings(max_examples=100, deadline=None)
@given(st.lists(masses, min_size=1, max_size=10))
def test_every_value_is_finite_and_normalised(soft: list[float]) -> None:
    stats = add_weights(
        pl.DataFrame({"class": [str(i) for i in range(len(soft))], "soft_mass": soft})
    )
    assert stats.select(pl.col(*WEIGHT_SCHEMES).is_finite().all()).row(0) == (True,) * 6
    empty = [n == 0 for n in soft]
    for name in LOSS_WEIGHT_SCHEMES:
        assert [w == 0 for w in column(stats, name)] == empty, name
    total, observed = sum(soft), sum(not e for e in empty)
    if observed:
        assert sum(column(stats, "prior")) == pytest.approx(1.0)
        weighted = sum(n * w for n, w in zip(soft, column(stats, "balanced"), strict=True))
        assert weighted == pytest.approx(total)
        assert sum(column(stats, "effective_number")) == pytest.approx(observed)


def test_dataset_summary_on_the_spec_example() -> None:
    summary = dataset_summary(spec_stats())
    p = [0.525, 0.2875, 0.1875]
    entropy = -sum(x * math.log2(x) for x in p)  # 1.457895 bits
    assert summary == {
        "k": 3,
        "n": pytest.approx(4.0),
        "imbalance_ratio": pytest.approx(2.1 / 0.75),
        "prior_entropy_bits": pytest.approx(entropy),
        "effective_classes": pytest.approx(2**entropy),
        "zero_mass_classes": [],
    }
    assert entropy == pytest.approx(1.457895, abs=1e-6)
    json.dumps(summary)


def test_dataset_summary_uses_the_all_rows_block_and_count_by() -> None:
    counts = pl.concat(
        [counts_frame([3.0, 1.0, 0.0]), counts_frame([9.0, 1.0, 1.0], split="train")]
    )
    summary = dataset_summary(add_weights(counts))
    assert (summary["k"], summary["n"], summary["imbalance_ratio"]) == (3, 4.0, 3.0)
    assert summary["zero_mass_classes"] == ["c3"]
    assert dataset_summary(counts, count_by="support")["n"] == 2.0


def test_dataset_summary_with_no_mass() -> None:
    summary = dataset_summary(counts_frame([0.0, 0.0]))
    assert summary == {
        "k": 2,
        "n": 0.0,
        "imbalance_ratio": None,
        "prior_entropy_bits": None,
        "effective_classes": None,
        "zero_mass_classes": ["c1", "c2"],
    }


def test_imbalance_ratio() -> None:
    assert imbalance_ratio(pl.Series([4, 3, 3, 0])) == pytest.approx(4 / 3)
    assert imbalance_ratio(pl.Series([0.0, 0.0])) is None
    assert imbalance_ratio(pl.Series([], dtype=pl.Float64)) is None
