"""The CI gate and class-prior drift through the Python API: ``validate`` and ``compare``.

Every expected number is worked out by hand from the SPEC's 4-row table or from two small
hard-label datasets whose class priors are [0.5, 0.3, 0.2] and [0.4, 0.4, 0.2].
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import polars as pl
import pytest

import labelprep
from labelprep import ConfigError, VocabularyError
from labelprep.gate import GateResult, RejectSample, ValidationReport
from tests.conftest import BAD_SUM_MESSAGE, ONE_BAD_ROW, OUTPUT_FILES, SPEC_TABLE

# Priors a = [5, 3, 2] / 10 and b = [4, 4, 2] / 10 over the classes a, b, c.
PRIORS_A = (0.5, 0.3, 0.2)
PRIORS_B = (0.4, 0.4, 0.2)


def jsd_by_hand() -> float:
    """JS(P || Q) in bits for PRIORS_A and PRIORS_B, with M = (P + Q) / 2 = [0.45, 0.35, 0.2].

    Class c is equal on both sides, so its terms are 0.2 * log2(0.2 / 0.2) = 0.
    """
    kl_pm = 0.5 * math.log2(0.5 / 0.45) + 0.3 * math.log2(0.3 / 0.35)
    kl_qm = 0.4 * math.log2(0.4 / 0.45) + 0.4 * math.log2(0.4 / 0.35)
    return 0.5 * kl_pm + 0.5 * kl_qm


@pytest.fixture(autouse=True)
def _no_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run every test in its own folder so no labelprep.toml / pyproject.toml is picked up."""
    monkeypatch.chdir(tmp_path)


def write_csv(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def label_csv(labels: Sequence[str], *, split: str | None = None, first_id: int = 1) -> str:
    """A hard-label CSV with one row per label (``"aab"`` is three rows), ids from ``first_id``."""
    ids = range(first_id, first_id + len(labels))
    if split is None:
        rows = [f"{i},{c}" for i, c in zip(ids, labels, strict=True)]
        return "id,label\n" + "\n".join(rows) + "\n"
    rows = [f"{i},{c},{split}" for i, c in zip(ids, labels, strict=True)]
    return "id,label,split\n" + "\n".join(rows) + "\n"


def without_header(text: str) -> str:
    return text.split("\n", 1)[1]


def write_priors(tmp_path: Path) -> tuple[Path, Path]:
    """Two 10-row datasets with class counts 5/3/2 and 4/4/2."""
    a = write_csv(tmp_path, "a.csv", label_csv("aaaaabbbcc"))
    b = write_csv(tmp_path, "b.csv", label_csv("aaaabbbbcc"))
    return a, b


def gate(report: ValidationReport, name: str) -> GateResult:
    (found,) = [g for g in report.gates if g.name == name]
    return found


def validate(path: Path, **settings: object) -> ValidationReport:
    return labelprep.validate(path, config=False, **settings)


# -- validate: rejected rows ------------------------------------------------------------------


def test_clean_input_passes_the_default_gates(tmp_path: Path) -> None:
    report = validate(write_csv(tmp_path, "spec.csv", SPEC_TABLE))
    assert report.passed
    assert (report.rows_in, report.rows_accepted, report.rows_rejected) == (4, 4, 0)
    assert report.classes == ("c1", "c2", "c3")
    assert [g.name for g in report.gates] == ["max_reject_rate"]
    assert gate(report, "max_reject_rate").value == 0.0
    assert report.samples == ()


def test_one_rejected_row_fails_the_default_reject_rate(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "bad.csv", ONE_BAD_ROW)
    report = validate(path)
    assert not report.passed
    rate = gate(report, "max_reject_rate")
    assert not rate.passed
    assert rate.value == 1 / 4
    assert rate.threshold == 0.0
    assert rate.message == "reject rate 0.25 > 0 (1 of 4 rows rejected)"
    assert report.rejects_by_reason == {"bad_sum": 1}


def test_the_reject_sample_names_file_line_and_reason(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "bad.csv", ONE_BAD_ROW)
    report = validate(path)
    assert report.samples == (
        RejectSample(
            source=str(path),
            row=4,
            id="3",
            reason="bad_sum",
            column="c1..c3",
            value="1.5",
            message=BAD_SUM_MESSAGE,
        ),
    )


def test_a_reject_rate_under_the_threshold_passes(tmp_path: Path) -> None:
    report = validate(write_csv(tmp_path, "bad.csv", ONE_BAD_ROW), max_reject_rate=0.5)
    assert report.passed
    rate = gate(report, "max_reject_rate")
    assert (rate.passed, rate.value, rate.threshold) == (True, 0.25, 0.5)
    assert report.rows_rejected == 1


def test_jsonl_rows_are_numbered_from_one(tmp_path: Path) -> None:
    lines = [
        {"id": 1, "probs": [0.9, 0.05, 0.05]},
        {"id": 2, "probs": [0.2, 0.8, 0.0]},
        {"id": 3, "probs": [0.3, 0.3, 0.9]},
    ]
    text = "".join(json.dumps(line) + "\n" for line in lines)
    report = validate(write_csv(tmp_path, "p.jsonl", text), classes="c1,c2,c3")
    (sample,) = report.samples
    assert (sample.row, sample.id, sample.reason, sample.value) == (3, "3", "bad_sum", "1.5")
    assert gate(report, "max_reject_rate").value == pytest.approx(1 / 3)


def test_parquet_rows_are_numbered_from_one(tmp_path: Path) -> None:
    path = tmp_path / "labels.parquet"
    pl.DataFrame({"id": ["a", "b", "c"], "label": ["x", "y", "zz"]}).write_parquet(path)
    report = validate(path, classes="x,y")
    (sample,) = report.samples
    assert (sample.source, sample.row, sample.id) == (str(path), 3, "c")
    assert (sample.reason, sample.column, sample.value) == ("unknown_class", "label", "zz")


# -- validate: class counts -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("threshold", "passed", "message"),
    [
        (0.8, False, "smallest class count (soft) 0.75 < 0.8 (class 'c3')"),
        (0.75, True, "smallest class count (soft) 0.75 >= 0.75 (class 'c3')"),
    ],
)
def test_min_class_count_on_soft_mass(
    tmp_path: Path, threshold: float, passed: bool, message: str
) -> None:
    report = validate(write_csv(tmp_path, "spec.csv", SPEC_TABLE), min_class_count=threshold)
    result = gate(report, "min_class_count")
    assert result.value == pytest.approx(0.75)
    assert (result.passed, result.message) == (passed, message)
    assert report.passed is passed


def test_soft_masses_and_supports_of_the_spec_table(tmp_path: Path) -> None:
    stats = labelprep.class_stats(write_csv(tmp_path, "spec.csv", SPEC_TABLE), config=False)
    overall = stats.filter(pl.col("split").is_null()).sort("index")
    assert overall["class"].to_list() == ["c1", "c2", "c3"]
    assert overall["soft_mass"].to_list() == pytest.approx([2.1, 1.15, 0.75])
    assert overall["support"].to_list() == [4, 3, 3]


@pytest.mark.parametrize(("threshold", "passed"), [(3.5, False), (3.0, True)])
def test_min_class_count_by_support(tmp_path: Path, threshold: float, passed: bool) -> None:
    """Supports are 4 / 3 / 3: the smallest is 3, and c2 comes first of the tied classes."""
    path = write_csv(tmp_path, "spec.csv", SPEC_TABLE)
    report = validate(path, min_class_count=threshold, count_by="support")
    result = gate(report, "min_class_count")
    assert (result.passed, result.value) == (passed, 3.0)
    assert result.message.startswith("smallest class count (support) 3 ")
    assert result.message.endswith("(class 'c2')")


@pytest.mark.parametrize(("threshold", "passed"), [(2.5, False), (3.0, True)])
def test_max_imbalance_ratio(tmp_path: Path, threshold: float, passed: bool) -> None:
    """Largest over smallest soft mass: 2.1 / 0.75 = 2.8."""
    path = write_csv(tmp_path, "spec.csv", SPEC_TABLE)
    result = gate(validate(path, max_imbalance_ratio=threshold), "max_imbalance_ratio")
    assert result.value == pytest.approx(2.8)
    assert result.passed is passed


def test_require_classes_names_the_class_without_examples(tmp_path: Path) -> None:
    labels = ["c1", "c1", "c2", "c2", "c2", "c3", "c3"]
    path = write_csv(tmp_path, "labels.csv", label_csv(labels))
    report = validate(path, classes="c1,c2,c3,c4", require_classes=True)
    assert not report.passed
    result = gate(report, "require_classes")
    assert (result.passed, result.value) == (False, 1.0)
    assert result.message == "classes with no examples 1 > 0 (missing: c4)"


def test_require_classes_passes_when_every_class_has_an_example(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "spec.csv", SPEC_TABLE)
    result = gate(validate(path, require_classes=True), "require_classes")
    assert (result.passed, result.value) == (True, 0.0)
    assert result.message.endswith("(all classes present)")


# -- compare ----------------------------------------------------------------------------------


def test_compare_priors_linf_and_jsd(tmp_path: Path) -> None:
    a, b = write_priors(tmp_path)
    report = labelprep.compare(a, b, classes="a,b,c")
    drift = report.drift
    assert drift.classes == ("a", "b", "c")
    assert drift.prior_a == pytest.approx(PRIORS_A)
    assert drift.prior_b == pytest.approx(PRIORS_B)
    assert drift.linf == pytest.approx(0.1)
    assert drift.linf_class == "a"  # a and b tie at 0.1; the first in vocabulary order wins
    assert drift.jsd == pytest.approx(jsd_by_hand(), rel=1e-12)
    assert drift.jsd == pytest.approx(0.0091859, abs=1e-7)
    assert (report.a, report.b) == (str(a), str(b))
    assert report.passed  # no thresholds given


@pytest.mark.parametrize(("max_linf", "passed"), [(0.05, False), (0.2, True)])
def test_compare_max_linf(tmp_path: Path, max_linf: float, passed: bool) -> None:
    a, b = write_priors(tmp_path)
    report = labelprep.compare(a, b, classes="a,b,c", max_linf=max_linf)
    assert report.passed is passed
    linf = next(g for g in report.gates if g.name == "max_linf")
    assert (linf.passed, linf.threshold) == (passed, max_linf)
    assert linf.value == pytest.approx(0.1)


@pytest.mark.parametrize(("max_jsd", "passed"), [(0.009, False), (0.01, True)])
def test_compare_max_jsd(tmp_path: Path, max_jsd: float, passed: bool) -> None:
    a, b = write_priors(tmp_path)
    assert labelprep.compare(a, b, classes="a,b,c", max_jsd=max_jsd).passed is passed


def test_compare_two_splits_of_one_dataset(tmp_path: Path) -> None:
    train = label_csv("aaaaabbbcc", split="train")
    val = without_header(label_csv("aaaabbbbcc", split="val", first_id=11))
    path = write_csv(tmp_path, "splits.csv", train + val)
    report = labelprep.compare(path, split_a="train", split_b="val", classes="a,b,c")
    assert (report.a, report.b) == (f"{path} [train]", f"{path} [val]")
    assert report.drift.prior_a == pytest.approx(PRIORS_A)
    assert report.drift.prior_b == pytest.approx(PRIORS_B)
    assert report.drift.jsd == pytest.approx(jsd_by_hand(), rel=1e-12)


def test_compare_unknown_split_names_the_available_splits(tmp_path: Path) -> None:
    text = label_csv("aabc", split="train") + without_header(
        label_csv("ab", split="val", first_id=5)
    )
    path = write_csv(tmp_path, "splits.csv", text)
    with pytest.raises(ConfigError, match=r"no split 'test'; the splits are: train, val\.$"):
        labelprep.compare(path, split_a="train", split_b="test", classes="a,b,c")


@pytest.mark.parametrize("target", ["", "class_stats.parquet", "manifest.json"])
def test_compare_against_a_run_output(tmp_path: Path, target: str) -> None:
    a, b = write_priors(tmp_path)
    out = tmp_path / "out"
    labelprep.run(a, output_dir=out, config=False, classes="a,b,c")
    baseline = out / target if target else out
    report = labelprep.compare(baseline, b, classes="a,b,c", max_linf=0.05)
    assert report.drift.prior_a == pytest.approx(PRIORS_A)
    assert report.drift.linf == pytest.approx(0.1)
    assert report.drift.jsd == pytest.approx(jsd_by_hand(), rel=1e-12)
    assert not report.passed


def test_compare_against_a_folder_without_class_stats(tmp_path: Path) -> None:
    _, b = write_priors(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ConfigError, match=r"no class_stats\.parquet found there\.$"):
        labelprep.compare(empty, b)


# -- validate against a baseline --------------------------------------------------------------


@pytest.mark.parametrize(("max_linf", "passed"), [(0.05, False), (0.2, True)])
def test_validate_against_a_baseline(tmp_path: Path, max_linf: float, passed: bool) -> None:
    a, b = write_priors(tmp_path)
    report = validate(b, classes="a,b,c", baseline=str(a), max_linf=max_linf)
    assert report.passed is passed
    linf = gate(report, "max_linf")
    assert linf.value == pytest.approx(0.1)
    assert linf.passed is passed
    assert gate(report, "max_jsd").value == pytest.approx(jsd_by_hand(), rel=1e-12)


def test_validate_against_a_run_output_as_baseline(tmp_path: Path) -> None:
    a, b = write_priors(tmp_path)
    labelprep.run(a, output_dir=tmp_path / "out", config=False, classes="a,b,c")
    report = validate(b, classes="a,b,c", baseline=str(tmp_path / "out"), max_jsd=0.009)
    assert not gate(report, "max_jsd").passed
    assert gate(report, "max_linf").value == pytest.approx(0.1)


@pytest.mark.parametrize("setting", ["max_linf", "max_jsd"])
def test_drift_thresholds_need_a_baseline(tmp_path: Path, setting: str) -> None:
    path = write_csv(tmp_path, "spec.csv", SPEC_TABLE)
    with pytest.raises(ConfigError, match=r"need a baseline: pass --baseline FILE\.$"):
        validate(path, **{setting: 0.1})


# -- validate writes only when asked ----------------------------------------------------------


def test_validate_writes_the_outputs_when_asked(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "bad.csv", ONE_BAD_ROW)
    out = tmp_path / "out"
    report = validate(path, output_dir=out)
    assert not report.passed  # the outputs are written even when a gate fails
    assert {p.name for p in out.iterdir()} == OUTPUT_FILES
    assert pl.read_parquet(out / "targets.parquet")["id"].to_list() == [1, 2, 4]  # Int64 ids
    rejects = pl.read_parquet(out / "rejects.parquet")
    assert rejects.select("reason").to_dicts() == [{"reason": "bad_sum"}]
    manifest = json.loads((out / "manifest.json").read_text())
    assert (manifest["rows"]["in"], manifest["rows"]["rejected"]) == (4, 1)


def test_validate_writes_nothing_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_csv(tmp_path, "spec.csv", SPEC_TABLE)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    assert validate(path).passed
    assert list(cwd.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cwd", "spec.csv"]


def test_an_empty_input_fails_the_gate(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "empty.csv", "id,c1,c2\n")
    report = labelprep.validate(path, config=False, classes="c1,c2")
    assert not report.passed
    assert report.gates[0].name == "min_rows"
    assert report.gates[0].message == "rows in 0 < 1"
    relaxed = labelprep.validate(path, config=False, classes="c1,c2", min_rows=0)
    assert relaxed.passed


# -- nothing dropped without a word -----------------------------------------------------------


def test_class_stats_with_counts_reports_every_row(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "bad.csv", ONE_BAD_ROW)
    plain = labelprep.class_stats(path, config=False)
    stats, totals = labelprep.class_stats(path, config=False, with_counts=True)
    assert stats.equals(plain)  # the table keeps its shape
    assert (totals.rows_in, totals.rows_accepted, totals.rows_rejected) == (4, 3, 1)
    assert totals.rejects_by_reason == {"bad_sum": 1}
    assert totals.to_dict()["rejected_by_reason"] == {"bad_sum": 1}


def test_compare_one_side_without_splits_is_refused(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "spec.csv", SPEC_TABLE)
    with pytest.raises(ConfigError, match="compare needs two sides"):
        labelprep.compare(path, config=False)
    with pytest.raises(ConfigError, match="compare needs two sides"):
        labelprep.compare(path, split_a="train", split_b="train", config=False)


def test_compare_different_classes_is_an_error_unless_aligned(tmp_path: Path) -> None:
    a = write_csv(tmp_path, "a.csv", "id,label\n1,x\n2,y\n3,y\n4,w\n")
    b = write_csv(tmp_path, "b.csv", "id,label\n1,y\n2,z\n")
    with pytest.raises(VocabularyError) as error:
        labelprep.compare(a, b, config=False)
    assert f"only in {a}: w, x; only in {b}: z." in str(error.value)
    report = labelprep.compare(a, b, config=False, align="union")
    # priors over (w, x, y, z): a (1/4, 1/4, 1/2, 0), b (0, 0, 1/2, 1/2)
    assert report.drift.linf == pytest.approx(0.5)


def test_classes_in_another_order_are_matched_by_name(tmp_path: Path) -> None:
    a = write_csv(tmp_path, "a.csv", "id,label\n1,x\n2,y\n")
    b = write_csv(tmp_path, "b.csv", "id,label\n1,y\n2,x\n")
    report = labelprep.compare(a, b, config=False, classes="x,y")
    other = labelprep.compare(a, b, config=False)
    assert report.drift.linf == other.drift.linf == 0.0


def test_baseline_with_other_classes_is_an_error_unless_aligned(tmp_path: Path) -> None:
    base = write_csv(tmp_path, "base.csv", "id,label\n1,x\n2,y\n")
    new = write_csv(tmp_path, "new.csv", "id,label\n1,x\n2,z\n")
    with pytest.raises(VocabularyError, match=r"only in .*base.csv: y; only in inputs: z"):
        validate(new, baseline=str(base), max_linf=1.0)
    report = validate(new, baseline=str(base), max_linf=1.0, align="union")
    assert report.passed


# -- fallbacks are counted and named ----------------------------------------------------------


def test_renormalized_rows_are_counted(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "r.csv", "id,a,b\n1,0.2,0.2\n2,0.5,0.5\n3,0.3,0.6\n")
    out = tmp_path / "out"
    result = labelprep.run(path, output_dir=out, config=False, renormalize=True)
    assert result.summary["fallbacks"] == {"renormalized": 2}
    assert any(
        "2 row(s) whose probabilities did not sum to 1 were renormalized" in n
        for n in result.notices
    )
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["summary"]["fallbacks"] == {"renormalized": 2}


def test_smoothed_rows_are_counted(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "s.csv", "id,label\n1,a\n2,b\n")
    result = labelprep.run(path, output_dir=tmp_path / "o", config=False, smoothing=0.1)
    assert result.summary["fallbacks"] == {"smoothed": 2}


def test_prior_falls_back_to_uniform_without_labelled_rows(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "p.csv", "id,candidates\n1,a|b\n2,b|c\n")
    result = labelprep.run(
        path, output_dir=tmp_path / "o", config=False, partial="prior", classes="a,b,c"
    )
    assert result.summary["fallbacks"] == {"prior_to_uniform": 2}
    assert any("2 partial row(s) were spread uniformly" in n for n in result.notices)


def test_prior_zero_on_every_candidate_falls_back_for_that_row(tmp_path: Path) -> None:
    text = "id,label,candidates\n1,a,\n2,a,\n3,a,\n4,,b|c\n5,,a|b\n"
    path = write_csv(tmp_path, "z.csv", text)
    out = tmp_path / "o"
    result = labelprep.run(path, output_dir=out, config=False, partial="prior", classes="a,b,c")
    assert result.summary["prior_source"] == "labelled"
    assert result.summary["fallbacks"] == {"prior_to_uniform": 1}  # row 4 only
    targets = pl.read_parquet(out / "targets.parquet").sort("id")
    assert targets["soft_target"].to_list()[3:] == [[0.0, 0.5, 0.5], [1.0, 0.0, 0.0]]


def test_default_runs_have_no_fallbacks(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "spec.csv", SPEC_TABLE)
    result = labelprep.run(path, output_dir=tmp_path / "o", config=False)
    assert result.summary["fallbacks"] == {}
