"""Class-prior drift: TFDV's L-infinity distance and base-2 Jensen-Shannon divergence."""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

# scipy comes with scikit-learn (a test dependency). Its relative entropy is the reference: its
# jensenshannon is the square root of JSD and warns on a rounding-negative value before sqrt.
from scipy.stats import entropy as scipy_kl

from labelprep.drift import (
    COMPARE_FORMATS,
    CompareReport,
    PriorDrift,
    format_compare_json,
    format_compare_text,
    jensen_shannon,
    prior_drift,
)
from labelprep.errors import ConfigError
from labelprep.gate import evaluate_threshold, format_github, format_junit

CLASSES = ("c0", "c1", "c2")


def test_worked_example_linf_and_jsd() -> None:
    drift = prior_drift(CLASSES, [0.5, 0.3, 0.2], [0.4, 0.4, 0.2])
    # M = (P + Q) / 2 = [0.45, 0.35, 0.2]; class 2 is equal on both sides, so its log is 0.
    kl_p_m = 0.5 * math.log2(0.5 / 0.45) + 0.3 * math.log2(0.3 / 0.35) + 0.2 * math.log2(1.0)
    kl_q_m = 0.4 * math.log2(0.4 / 0.45) + 0.4 * math.log2(0.4 / 0.35) + 0.2 * math.log2(1.0)
    expected_jsd = 0.5 * kl_p_m + 0.5 * kl_q_m
    assert expected_jsd == pytest.approx(0.0091859, abs=1e-7)
    assert drift.jsd == pytest.approx(expected_jsd, rel=1e-12)
    assert drift.linf == pytest.approx(0.1, rel=1e-12)
    # c0 and c1 both differ by 0.1 (0.09999999999999998 and 0.10000000000000003 in binary
    # floating point): the tie goes to the first class.
    assert drift.linf_class == "c0"


def test_exact_tie_goes_to_first_class_in_vocabulary_order() -> None:
    drift = prior_drift(["b", "a"], [3, 1], [1, 3])
    assert (drift.linf, drift.linf_class) == (0.5, "b")


def test_each_side_is_normalized_separately_and_soft_masses_are_accepted() -> None:
    drift = prior_drift(CLASSES, [5.0, 3.0, 2.0], [0.8, 0.8, 0.4])
    assert drift.prior_a == pytest.approx((0.5, 0.3, 0.2))
    assert drift.prior_b == pytest.approx((0.4, 0.4, 0.2))
    assert drift.linf == pytest.approx(0.1)


def test_identical_priors_have_zero_drift() -> None:
    drift = prior_drift(CLASSES, [10, 30, 60], [1, 3, 6])
    assert drift.linf == 0.0
    assert drift.jsd == 0.0


def test_disjoint_supports_have_jsd_exactly_one() -> None:
    drift = prior_drift(["a", "b", "c", "d"], [2, 2, 0, 0], [0, 0, 1, 3])
    assert drift.jsd == 1.0
    assert (drift.linf, drift.linf_class) == (0.75, "d")


def test_zero_mass_class_keeps_its_position() -> None:
    drift = prior_drift(CLASSES, [1, 0, 1], [1, 0, 1])
    assert drift.prior_a == (0.5, 0.0, 0.5)
    assert drift.jsd == 0.0


def test_to_frame_has_one_row_per_class_with_difference_b_minus_a() -> None:
    frame = prior_drift(["x", "y"], [1, 1], [1, 3]).to_frame()
    expected = pl.DataFrame(
        {
            "class": ["x", "y"],
            "prior_a": [0.5, 0.5],
            "prior_b": [0.25, 0.75],
            "difference": [-0.25, 0.25],
        }
    )
    assert_frame_equal(frame, expected)


def test_to_dict_is_json_ready() -> None:
    drift = prior_drift(["x", "y"], [1, 1], [1, 3])
    loaded = json.loads(json.dumps(drift.to_dict()))
    assert loaded["linf"] == 0.25
    assert loaded["linf_class"] == "x"
    assert loaded["jsd"] == pytest.approx(drift.jsd)
    assert loaded["priors"][1] == {
        "class": "y",
        "prior_a": 0.5,
        "prior_b": 0.75,
        "difference": 0.25,
    }


def test_prior_drift_is_frozen() -> None:
    drift = prior_drift(["x"], [1], [2])
    assert isinstance(drift, PriorDrift)
    with pytest.raises(AttributeError):
        drift.linf = 1.0  # type: ignore[misc]


@pytest.mark.parametrize(
    ("classes", "a", "b", "match"),
    [
        (CLASSES, [1, 2], [1, 2, 3], r"side a has 2 class counts but the vocabulary has 3"),
        (CLASSES, [1, 2, 3], [1, 2, 3, 4], r"side b has 4 class counts"),
        (CLASSES, [0, 0, 0], [1, 2, 3], r"side a has no labelled mass"),
        (CLASSES, [1, 2, 3], [0.0, 0.0, 0.0], r"side b has no labelled mass"),
        (CLASSES, [1, -2, 3], [1, 2, 3], r"count of class 'c1' is -2\.0; counts must be finite"),
        (CLASSES, [1, 2, 3], [1, 2, math.nan], r"count of class 'c2' is nan"),
        ((), [], [], r"vocabulary is empty"),
        (("a", "b", "a"), [1, 1, 1], [1, 1, 1], r"repeats 'a'"),
    ],
)
def test_bad_inputs_raise_config_error(
    classes: tuple[str, ...], a: list[float], b: list[float], match: str
) -> None:
    with pytest.raises(ConfigError, match=match):
        prior_drift(classes, a, b)


masses = st.lists(st.floats(min_value=0, max_value=1e6), min_size=4, max_size=4).filter(
    lambda xs: sum(xs) > 1e-9
)


@given(masses, masses)
def test_distances_are_bounded_and_symmetric(a: list[float], b: list[float]) -> None:
    names = ("w", "x", "y", "z")
    forward, backward = prior_drift(names, a, b), prior_drift(names, b, a)
    assert 0.0 <= forward.jsd <= 1.0
    assert 0.0 <= forward.linf <= 1.0
    assert forward.jsd == pytest.approx(backward.jsd, abs=1e-12)
    assert forward.linf == backward.linf
    assert math.fsum(forward.prior_a) == pytest.approx(1.0)


def test_jensen_shannon_is_in_bits() -> None:
    # Half the mass shared: M = [0.5, 0.25, 0.25]; each KL is 0.5 * log2(0.5 / 0.25) = 0.5 bit.
    assert jensen_shannon([0.5, 0.5, 0.0], [0.5, 0.0, 0.5]) == pytest.approx(0.5)


@given(masses, masses)
def test_jsd_agrees_with_scipy(a: list[float], b: list[float]) -> None:
    drift = prior_drift(("w", "x", "y", "z"), a, b)
    m = [(x + y) / 2 for x, y in zip(drift.prior_a, drift.prior_b, strict=True)]
    expected = 0.5 * scipy_kl(drift.prior_a, m, base=2) + 0.5 * scipy_kl(drift.prior_b, m, base=2)
    assert drift.jsd == pytest.approx(expected, abs=1e-9)


def make_compare(max_linf: float, max_jsd: float) -> CompareReport:
    drift = prior_drift(CLASSES, [50, 30, 20], [40, 40, 20])
    gates = (
        evaluate_threshold("max_linf", drift.linf, max_linf, describe="L-infinity distance"),
        evaluate_threshold("max_jsd", drift.jsd, max_jsd, describe="Jensen-Shannon divergence"),
    )
    return CompareReport("train.csv", "val.csv", drift, gates)


def test_compare_text_shows_gates_priors_and_distances() -> None:
    assert format_compare_text(make_compare(0.05, 0.1)) == "\n".join(
        [
            "labelprep compare: FAIL (a = train.csv, b = val.csv)",
            "gates:",
            "  FAIL max_linf = 0.1 (threshold 0.05): L-infinity distance 0.1 > 0.05",
            "  PASS max_jsd = 0.00918593 (threshold 0.1): "
            "Jensen-Shannon divergence 0.00918593 <= 0.1",
            "class       a       b   b - a",
            "c0     0.5000  0.4000 -0.1000 *",
            "c1     0.3000  0.4000 +0.1000",
            "c2     0.2000  0.2000 +0.0000",
            "L-infinity 0.1 (class c0); Jensen-Shannon divergence 0.00918593 (base 2)",
        ]
    )


def test_compare_json_round_trips() -> None:
    report = make_compare(0.2, 0.1)
    loaded = json.loads(format_compare_json(report))
    assert loaded["passed"] is True
    assert (loaded["a"], loaded["b"]) == ("train.csv", "val.csv")
    assert loaded["drift"] == json.loads(json.dumps(report.drift.to_dict()))
    assert [g["name"] for g in loaded["gates"]] == ["max_linf", "max_jsd"]


def test_compare_github_and_junit_reuse_the_gate_renderers() -> None:
    failing = make_compare(0.05, 0.001)
    assert format_github(failing).splitlines() == [
        "::error title=labelprep gate max_linf::L-infinity distance 0.1 > 0.05",
        "::error title=labelprep gate max_jsd::Jensen-Shannon divergence 0.00918593 > 0.001",
    ]
    root = ET.fromstring(format_junit(failing))
    assert (root.get("tests"), root.get("failures")) == ("2", "2")
    assert format_github(make_compare(0.2, 0.1)) == (
        "::notice::labelprep compare: PASS: train.csv vs val.csv, "
        "L-infinity 0.1 (c0), JSD 0.00918593"
    )


def test_compare_formats_cover_the_cli_choices() -> None:
    assert set(COMPARE_FORMATS) == {"text", "json", "github", "junit"}
