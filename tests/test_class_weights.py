"""Class weights and logit-adjustment offsets in the shapes frameworks take."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.utils.class_weight import compute_class_weight

import labelprep
from labelprep.errors import ColumnNotFoundError, ConfigError

# The SPEC's table: soft masses 2.1 / 1.15 / 0.75 (N = 4, K = 3), supports 4 / 3 / 3.
SPEC = pl.DataFrame(
    {
        "id": [1, 2, 3, 4],
        "c1": [0.9, 0.2, 0.3, 0.7],
        "c2": [0.05, 0.8, 0.3, 0.0],
        "c3": [0.05, 0.0, 0.4, 0.3],
    }
)
HARD = ["dog", "cat", "cat", "bird", "cat", "dog", "cat", "cat", "fish", "dog", "cat"]


def test_balanced_hard_weights_equal_scikit_learn() -> None:
    frame = pl.DataFrame({"id": range(len(HARD)), "label": HARD})
    classes = ["bird", "cat", "dog", "fish"]
    weights = labelprep.class_weights(
        frame, scheme="balanced", count_by="hard", classes=classes, config=False
    )
    expected = compute_class_weight("balanced", classes=np.array(classes), y=np.array(HARD))
    np.testing.assert_array_equal(weights.array, expected)  # same operations, same bits
    assert weights == dict(zip(classes, expected.tolist(), strict=True))
    assert weights.classes == tuple(classes)


def test_the_spec_example_soft_and_support_weights() -> None:
    soft = labelprep.class_weights(SPEC, config=False)
    assert soft.array == pytest.approx([4 / (3 * 2.1), 4 / (3 * 1.15), 4 / (3 * 0.75)])
    assert [round(w, 4) for w in soft.values()] == [0.6349, 1.1594, 1.7778]
    support = labelprep.class_weights(SPEC, count_by="support", config=False)
    assert support.array == pytest.approx([10 / (3 * 4), 10 / (3 * 3), 10 / (3 * 3)])


def test_the_spec_example_logit_adjustment() -> None:
    offsets = labelprep.logit_adjustment(SPEC, config=False)
    priors = [2.1 / 4, 1.15 / 4, 0.75 / 4]
    assert offsets.array == pytest.approx([math.log(p) for p in priors])
    assert [round(v, 4) for v in offsets.values()] == [-0.6444, -1.2465, -1.674]
    halved = labelprep.logit_adjustment(SPEC, tau=0.5, config=False)
    assert halved.array == pytest.approx([0.5 * math.log(p) for p in priors])
    assert halved.scheme == "logit_adjustment"


def test_weights_are_a_dict_an_array_and_an_index_map() -> None:
    weights = labelprep.class_weights(SPEC, "inverse_sqrt", config=False)
    assert isinstance(weights, dict)
    array = weights.array
    assert array.dtype == np.float64
    assert array.flags.writeable
    array[0] = 99.0  # a copy: the weights do not change
    assert weights["c1"] != 99.0
    assert weights.by_index() == dict(enumerate(weights.values()))
    n = np.array([2.1, 1.15, 0.75])
    assert weights.array == pytest.approx(4 / (np.sqrt(n) * np.sqrt(n).sum()))


def test_scikit_learn_takes_the_weights_as_class_weight() -> None:
    x = np.arange(len(HARD), dtype=float).reshape(-1, 1)
    frame = pl.DataFrame({"id": range(len(HARD)), "label": HARD})
    weights = labelprep.class_weights(frame, count_by="hard", config=False)
    model = LogisticRegression(class_weight=weights).fit(x, HARD)
    balanced = LogisticRegression(class_weight="balanced").fit(x, HARD)
    np.testing.assert_allclose(model.coef_, balanced.coef_, rtol=1e-6)


def test_a_run_directory_its_files_and_a_stats_frame_give_the_same_weights(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    labelprep.run(SPEC, output_dir=out, config=False)
    expected = labelprep.class_weights(SPEC, config=False)
    stats = labelprep.class_stats(SPEC, config=False)
    for source in (
        out,
        str(out),
        out / "class_stats.parquet",
        out / "manifest.json",
        stats,
        stats.to_pandas(),
    ):
        assert labelprep.class_weights(source, config=False) == expected


def test_a_split_has_its_own_weights_and_an_unknown_split_is_named() -> None:
    frame = SPEC.with_columns(pl.Series("split", ["train", "train", "val", "val"]))
    train = labelprep.class_weights(frame, split="train", count_by="hard", config=False)
    assert train == {"c1": 1.0, "c2": 1.0, "c3": 0.0}  # hard labels c1, c2; c3 absent: 0
    with pytest.raises(ConfigError, match=r"no split 'test'; the splits are: train, val"):
        labelprep.class_weights(frame, split="test", config=False)


def test_an_empty_class_gets_weight_zero_and_the_rest_keep_theirs() -> None:
    frame = pl.DataFrame({"id": [1, 2, 3, 4], "label": ["a", "a", "a", "c"]})
    stats = labelprep.class_stats(frame, classes=["a", "b", "c"], config=False)
    weights = labelprep.class_weights(stats, "balanced")
    assert weights == {"a": 4 / (2 * 3), "b": 0.0, "c": 4 / (2 * 1)}  # K counts a and c only


def test_bad_schemes_and_counts_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"scheme='balance' .* Did you mean 'balanced'"):
        labelprep.class_weights(SPEC, "balance", config=False)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"count_by='mass'"):
        labelprep.class_weights(SPEC, count_by="mass", config=False)  # type: ignore[arg-type]
    only_soft = pl.DataFrame({"class": ["a"], "index": [0], "soft_mass": [1.0], "prior": [1.0]})
    with pytest.raises(ColumnNotFoundError, match="hard_count"):
        labelprep.class_weights(only_soft, count_by="hard")
    folder = tmp_path / "not-a-run"
    folder.mkdir()
    with pytest.raises(ConfigError, match=r"no class_stats\.parquet found there"):
        labelprep.class_weights(folder)


def test_the_weights_match_those_the_run_wrote(tmp_path: Path) -> None:
    out = tmp_path / "out"
    labelprep.run(SPEC, output_dir=out, config=False, count_by="support", beta=0.9)
    stats = pl.read_parquet(out / "class_stats.parquet").filter(pl.col("split").is_null())
    weights = labelprep.class_weights(out, "effective_number", count_by="support", beta=0.9)
    assert weights.array.tolist() == stats.sort("index")["effective_number"].to_list()
    manifest = json.loads((out / "manifest.json").read_text())
    assert list(weights) == manifest["classes"]


def test_a_runs_own_count_by_beta_and_tau_are_the_defaults(tmp_path: Path) -> None:
    out = tmp_path / "out"
    labelprep.run(SPEC, output_dir=out, config=False, count_by="hard", beta=0.5, tau=2.0)
    # hard labels c1, c2, c3, c1: counts 2 / 1 / 1 (N = 4, K = 3)
    assert labelprep.class_weights(out).array == pytest.approx([4 / 6, 4 / 3, 4 / 3])
    assert labelprep.class_weights(out).count_by == "hard"
    offsets = labelprep.logit_adjustment(out)
    assert offsets.array == pytest.approx([2 * math.log(p) for p in (0.5, 0.25, 0.25)])
    # count_by asked for, beta still the run's: supports 4 / 3 / 3, beta 0.5
    raw = [(1 - 0.5) / (1 - 0.5**n) for n in (4, 3, 3)]
    support = labelprep.class_weights(out, "effective_number", count_by="support")
    assert support.array == pytest.approx([3 * w / sum(raw) for w in raw])
    soft = labelprep.class_weights(out, count_by="soft")
    assert soft.array == pytest.approx([4 / (3 * 2.1), 4 / (3 * 1.15), 4 / (3 * 0.75)])
