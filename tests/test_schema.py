"""The Pandera contracts: each check really fires, agrees with the pipeline, and the
files in schemas/ match the models."""

from __future__ import annotations

import json
from pathlib import Path

import pandera.polars as pa
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import labelprep
from labelprep.config import Options
from labelprep.errors import ConfigError, InputError, LabelprepError
from labelprep.evidence import REASONS, TargetPlan, parse_evidence
from labelprep.inputs.ingest import (
    PRE_REASON,
    RAW_CANDIDATES,
    RAW_EXCLUDED,
    RAW_LABEL,
    RAW_PROBS,
    VOTES,
)
from labelprep.row_checks import reason_expr
from labelprep.schema import (
    CONTRACTS,
    class_stats_schema,
    input_schema,
    load_schema,
    rejects_schema,
    schema_json,
    targets_schema,
)

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"
CLASSES = ("a", "b", "c")


def plan(**options: object) -> TargetPlan:
    index = {name: i for i, name in enumerate(CLASSES)} | {"0": 0, "1": 1, "2": 2}
    return TargetPlan(CLASSES, index, Options(**options), (True, True, True))  # type: ignore[arg-type]


def canonical(rows: list[dict[str, object]]) -> pl.LazyFrame:
    """Rows in the canonical shape ingest produces (raw class columns as text)."""
    schema = {
        "id": pl.String,
        RAW_LABEL: pl.String,
        RAW_PROBS: pl.List(pl.String),
        RAW_EXCLUDED: pl.List(pl.String),
        RAW_CANDIDATES: pl.List(pl.String),
        "__raw0": pl.String,
        "__raw1": pl.String,
        "__raw2": pl.String,
        VOTES: pl.Boolean,
        PRE_REASON: pl.String,
    }
    return pl.LazyFrame(rows, schema=schema)


ONE_ROW_PER_REASON: dict[str, dict[str, object]] = {
    "missing_id": {"id": None, RAW_LABEL: "a"},
    "duplicate_vote": {"id": "v", RAW_LABEL: "a", VOTES: True, PRE_REASON: "duplicate_vote"},
    "duplicate_id": {"id": "ok", RAW_LABEL: "b"},
    "not_a_number": {"id": "n", "__raw0": "x", "__raw1": "0.5", "__raw2": "0.5"},
    "wrong_length": {"id": "w", RAW_PROBS: ["0.5", "0.5"]},
    "negative_probability": {"id": "neg", "__raw0": "-0.5", "__raw1": "1", "__raw2": "0.5"},
    "probability_above_one": {"id": "big", "__raw0": "1.5", "__raw1": "0", "__raw2": "0"},
    "unknown_class": {"id": "u", RAW_LABEL: "zebra"},
    "no_evidence": {"id": "e"},
    "bad_sum": {"id": "s", "__raw0": "0.5", "__raw1": "0.2", "__raw2": "0"},
    "conflict": {"id": "c", RAW_LABEL: "a", RAW_EXCLUDED: ["a"]},
    "all_excluded": {"id": "x", RAW_EXCLUDED: ["a", "b", "c"]},
}


def parsed(rows: list[dict[str, object]]) -> pl.DataFrame:
    return parse_evidence(canonical(rows), plan()).collect()


def failing_checks(frame: pl.DataFrame) -> dict[int, set[str]]:
    """Row index -> names of the Pandera checks that fail on it."""
    with pytest.raises(pa.errors.SchemaErrors) as caught:
        input_schema(plan()).validate(frame, lazy=True)
    cases = caught.value.failure_cases.filter(pl.col("check_number").is_not_null())
    failing: dict[int, set[str]] = {}
    for index, check in cases.select("index", "check").iter_rows():
        failing.setdefault(index, set()).add(check.split(":")[0])  # "code: description"
    return failing


@pytest.mark.parametrize("reason", REASONS)
def test_each_pandera_check_fires_and_agrees_with_the_pipeline(reason):
    rows = [{"id": "ok", RAW_LABEL: "a"}, ONE_ROW_PER_REASON[reason]]
    frame = parsed(rows)
    failing = failing_checks(frame)
    assert 0 not in failing  # the clean row passes every check
    assert reason in failing[1]
    pipeline_reason = frame.select(reason_expr(plan()))[1, 0]
    assert pipeline_reason == reason


def test_a_clean_frame_passes_the_input_schema():
    frame = parsed([{"id": "ok", RAW_LABEL: "a"}, {"id": "p", RAW_PROBS: ["0.2", "0.3", "0.5"]}])
    assert input_schema(plan()).validate(frame, lazy=True).height == 2


def test_output_schemas_accept_a_real_run(write, run):
    _, out = run([write("l.csv", "id,label,excluded\n1,a,\n2,,a\n3,zebra,\n")], classes="a,b,c")
    targets = pl.read_parquet(out / "targets.parquet")
    targets_schema(CLASSES).validate(targets, lazy=True)
    rejects_schema().validate(pl.read_parquet(out / "rejects.parquet"), lazy=True)
    class_stats_schema(CLASSES).validate(pl.read_parquet(out / "class_stats.parquet"), lazy=True)


@pytest.mark.parametrize(
    ("soft_target", "mask", "check"),
    [
        ([0.5, 0.6, -0.1], [1, 1, 1], "soft_target_non_negative"),
        ([0.5, 0.4, 0.0], [1, 1, 0], "soft_target_sums_to_one"),
        ([0.0, 0.0, 0.0], [0, 0, 0], "mask_allows_a_class"),
        ([0.5, 0.5, 0.0], [1, 0, 0], "mass_only_where_mask"),
    ],
)
def test_target_array_checks_fire(soft_target, mask, check):
    """Pandera's built-in checks skip array columns: these custom checks must not."""
    frame = pl.DataFrame(
        {
            "id": ["good", "bad"],
            "soft_target": [[1.0, 0.0, 0.0], soft_target],
            "mask": [[True, False, False], [bool(v) for v in mask]],
            "evidence": ["label", "probs"],
            "hard_label": ["a", "a"],
            "hard_index": [0, 0],
        },
        schema_overrides={"soft_target": pl.Array(pl.Float32, 3), "mask": pl.Array(pl.Boolean, 3)},
    )
    with pytest.raises(pa.errors.SchemaErrors) as caught:
        targets_schema(CLASSES).validate(frame, lazy=True)
    failures = caught.value.failure_cases.with_columns(pl.col("check").str.extract(r"^(\w+):"))
    assert check in failures["check"].to_list()
    assert set(failures.filter(pl.col("check") == check)["index"].to_list()) == {1}


def test_class_stats_schema_rejects_an_infinite_weight():
    stats = labelprep.class_stats(labelprep.sample_paths(), config=False)
    broken = stats.with_columns(pl.lit(float("inf")).alias("balanced"))
    with pytest.raises(pa.errors.SchemaErrors, match="finite"):
        class_stats_schema(("c1", "c2", "c3", "c4")).validate(broken, lazy=True)


@pytest.mark.parametrize("name", CONTRACTS)
def test_schema_files_match_the_models(name):
    """schemas/*.json are generated by `labelprep schema NAME`; regenerate on change."""
    on_disk = json.loads((SCHEMAS / f"{name}.json").read_text())
    assert on_disk == json.loads(schema_json(name)), (
        f"run: labelprep schema {name} > schemas/{name}.json"
    )


# The contract files, loaded back -------------------------------------------------------

OUTPUT_CONTRACTS = ("targets", "rejects", "class_stats")
CODE_SCHEMAS = {
    "targets": targets_schema,
    "rejects": lambda classes: rejects_schema(),
    "class_stats": class_stats_schema,
}


def shape(schema: pa.DataFrameSchema) -> tuple[object, ...]:
    """Everything a contract states: name, strictness, each column's dtype, nullability,
    presence and checks (name and options), the frame checks."""
    columns = tuple(
        (
            name,
            str(column.dtype),
            column.nullable,
            column.required,
            tuple((c.name, c.statistics) for c in column.checks),
        )
        for name, column in schema.columns.items()
    )
    return schema.name, schema.strict, columns, tuple(c.name for c in schema.checks)


def test_schemas_folder_holds_exactly_the_contracts():
    assert sorted(p.name for p in SCHEMAS.glob("*.json")) == sorted(f"{n}.json" for n in CONTRACTS)


@pytest.mark.parametrize("name", OUTPUT_CONTRACTS)
@pytest.mark.parametrize("classes", [("a", "b", "c"), ("only",), tuple("vwxyz")])
def test_each_contract_file_loads_back_as_the_code_schema(name, classes):
    loaded = load_schema(SCHEMAS / f"{name}.json", classes)
    assert shape(loaded) == shape(CODE_SCHEMAS[name](classes))


def test_a_loaded_targets_schema_is_sized_and_named_by_the_classes():
    loaded = load_schema(SCHEMAS / "targets.json", ["cat", "dog"])
    assert loaded.columns["soft_target"].dtype.type == pl.Array(pl.Float32, 2)
    assert loaded.columns["hard_label"].checks[0].statistics == {"allowed_values": ["cat", "dog"]}
    in_range = loaded.columns["hard_index"].checks[0].statistics
    assert (in_range["min_value"], in_range["max_value"]) == (0, 1)
    assert loaded.columns["id"].dtype is None  # any id type


def test_loaded_schemas_validate_a_real_run(write, run):
    _, out = run([write("l.csv", "id,label,excluded\n1,a,\n2,,a\n3,zebra,\n")], classes="a,b,c")
    classes = json.loads((out / "manifest.json").read_text())["classes"]
    assert classes == ["a", "b", "c"]
    for name in OUTPUT_CONTRACTS:
        frame = pl.read_parquet(out / f"{name}.parquet")
        schema = load_schema(SCHEMAS / f"{name}.json", classes)
        assert schema.validate(frame, lazy=True).height == frame.height


def test_a_loaded_schema_rejects_what_the_contract_forbids(write, run):
    _, out = run([write("l.csv", "id,label\n1,a\n2,b\n")], classes="a,b")
    targets = pl.read_parquet(out / "targets.parquet")
    schema = load_schema(SCHEMAS / "targets.json", ["a", "b"])
    broken = targets.with_columns(
        pl.Series("soft_target", [[0.5, 0.4], [0.0, 1.0]], dtype=pl.Array(pl.Float32, 2)),
        pl.Series("hard_label", ["a", "zebra"]),
    )
    with pytest.raises(pa.errors.SchemaErrors) as caught:
        schema.validate(broken, lazy=True)
    failed = set(caught.value.failure_cases["check"].str.extract(r"^(\w+)").to_list())
    assert {"soft_target_sums_to_one", "isin"} <= failed
    stats = pl.read_parquet(out / "class_stats.parquet")
    nan_weight = stats.with_columns(pl.lit(float("nan")).alias("balanced"))
    stats_schema = load_schema(SCHEMAS / "class_stats.json", ["a", "b"])
    with pytest.raises(pa.errors.SchemaErrors, match="finite"):
        stats_schema.validate(nan_weight, lazy=True)


def test_loading_needs_the_classes_only_where_the_contract_depends_on_them():
    assert shape(load_schema(SCHEMAS / "rejects.json")) == shape(rejects_schema())
    with pytest.raises(ConfigError, match=r"targets\.json: .* pass them"):
        load_schema(SCHEMAS / "targets.json")


def test_the_input_contract_is_documentation_not_a_frame_schema():
    with pytest.raises(InputError, match=r"input\.json: the input contract documents"):
        load_schema(SCHEMAS / "input.json", ["a"])
    checks = json.loads((SCHEMAS / "input.json").read_text())["checks"]
    assert [c["name"] for c in checks] == list(REASONS)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        ("{", "not JSON: Expecting property name enclosed in double quotes: line 1 column 2"),
        ("[1, 2]", "not a labelprep contract"),
        ('{"columns": {"x": {"dtype": "Decimal"}}}', "column 'x': unknown dtype 'Decimal'"),
        ('{"columns": {"x": {"dtype": "Array(Int64, shape=(n,))"}}}', "unknown dtype"),
        ('{"columns": {"x": {"checks": [{"name": "__class__", "options": {}}]}}}', "unknown check"),
        ('{"columns": {"x": {"checks": [{"name": "isin", "options": {"v": 1}}]}}}', "'isin'"),
        ('{"columns": {"x": 3}}', "column 'x': expected an object"),
    ],
)
def test_a_bad_contract_file_is_a_clear_error_naming_it(tmp_path, content, message):
    path = tmp_path / "bad.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(InputError) as caught:
        load_schema(path, ["a"])
    assert str(caught.value).startswith(f"{path}: ")
    assert message in str(caught.value)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)
CHECK_LIKE = st.fixed_dictionaries(
    {"name": st.sampled_from(["isin", "in_range", "str_matches", "finite", "mask_allows_a_class"])},
    optional={
        "options": st.dictionaries(
            st.sampled_from(["min_value", "max_value", "allowed_values", "pattern", "q"]),
            JSON_VALUES,
            max_size=3,
        )
    },
)
COLUMN_LIKE = st.fixed_dictionaries(
    {},
    optional={
        "dtype": st.sampled_from(["String", "Array(Float32, shape=(K,))", "List"]) | JSON_VALUES,
        "checks": st.lists(CHECK_LIKE, max_size=2) | JSON_VALUES,
        "nullable": JSON_VALUES,
        "required": JSON_VALUES,
    },
)
CONTRACT_LIKE = st.fixed_dictionaries(
    {"columns": st.dictionaries(st.sampled_from(["id", "x"]), COLUMN_LIKE, max_size=2)},
    optional={"checks": st.lists(CHECK_LIKE, max_size=2) | JSON_VALUES, "strict": JSON_VALUES},
)


@settings(max_examples=150, deadline=None)
@given(data=st.one_of(JSON_VALUES, CONTRACT_LIKE))
def test_any_json_loads_or_fails_with_a_labelprep_error(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("c") / "c.json"
    path.write_text(json.dumps(data))
    error, schema = None, None
    try:
        schema = load_schema(path, ["a", "b"])
    except LabelprepError as exc:
        error = str(exc)
    if error is None:
        assert isinstance(schema, pa.DataFrameSchema)
    else:
        assert error.startswith(f"{path}: ")
