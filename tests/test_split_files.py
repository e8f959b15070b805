"""``split_files``: one targets file per split and a dataset card Hugging Face reads."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import labelprep
from labelprep.cli import main
from labelprep.config import build_options
from labelprep.errors import ConfigError, InputError, OutputError
from labelprep.outdir import (
    SPLIT_NAME,
    STAGING_MARK,
    atomic_directory,
    foreign_entries,
    is_split_file,
    remove_stale_staging,
)
from tests.conftest import OUTPUT_FILES, targets_of

# Rows in input order: train, validation, train, test, train (one bad_sum row, rejected).
SPLIT_TABLE = """\
id,c1,c2,c3,split
1,0.9,0.05,0.05,train
2,0.2,0.8,0,validation
3,0.3,0.3,0.4,train
4,0.7,0,0.3,test
5,0.5,0.5,0.5,train
6,0,0,1,train
"""
SPLIT_OUTPUTS = {*OUTPUT_FILES, "README.md", "splits"}
EXAMPLES = itertools.count()


def card_yaml(out: Path) -> dict:
    text = (out / "README.md").read_text(encoding="utf-8")
    front, _, _ = text.removeprefix("---\n").partition("\n---\n")
    return yaml.safe_load(front)


def test_each_split_file_holds_exactly_that_splits_rows(write, run):
    result, out = run([write("s.csv", SPLIT_TABLE)], split_files=True)
    assert result.rows_accepted == 5
    assert {p.name for p in out.iterdir()} == SPLIT_OUTPUTS
    assert sorted(p.name for p in (out / "splits").iterdir()) == [
        "test.parquet",
        "train.parquet",
        "validation.parquet",
    ]
    targets = targets_of(out)
    for name, ids in {"train": [1, 3, 6], "validation": [2], "test": [4]}.items():
        part = pl.read_parquet(out / "splits" / f"{name}.parquet")
        assert part["id"].to_list() == ids
        assert part.equals(targets.filter(pl.col("split") == name))
        assert pl.read_parquet_schema(out / "splits" / f"{name}.parquet") == targets.schema


def test_the_result_gives_each_splits_targets_on_disk_or_in_memory(write, run):
    result, out = run([write("s.csv", SPLIT_TABLE)], split_files=True)
    held = labelprep.run(
        write("s.csv", SPLIT_TABLE), output_dir=None, config=False, split_files=True
    )
    for splits in (result.splits, held.splits):
        assert list(splits) == ["test", "train", "validation"]
        assert {name: part["id"].to_list() for name, part in splits.items()} == {
            "test": [4],
            "train": [1, 3, 6],
            "validation": [2],
        }
        assert splits["train"].equals(targets_of(out).filter(pl.col("split") == "train"))
    assert run([write("s.csv", SPLIT_TABLE)])[0].splits == {}


def test_split_files_keep_the_class_metadata(write, run):
    _, out = run([write("s.csv", SPLIT_TABLE)], split_files=True)
    whole = pl.read_parquet_metadata(out / "targets.parquet")
    part = pl.read_parquet_metadata(out / "splits" / "train.parquet")
    assert json.loads(part["labelprep.classes"]) == ["c1", "c2", "c3"]
    assert part["huggingface"] == whole["huggingface"]


def test_the_card_maps_each_split_to_its_file_in_order_of_appearance(write, run):
    _, out = run([write("s.csv", SPLIT_TABLE)], split_files=True)
    assert card_yaml(out) == {
        "configs": [
            {
                "config_name": "default",
                "data_files": [
                    {"split": "train", "path": "splits/train.parquet"},
                    {"split": "validation", "path": "splits/validation.parquet"},
                    {"split": "test", "path": "splits/test.parquet"},
                ],
            }
        ]
    }
    assert "| `train` | 3 | `splits/train.parquet` |" in (out / "README.md").read_text()


def test_load_dataset_gives_a_dataset_dict_keyed_by_split(write, run, tmp_path, monkeypatch):
    import datasets  # heavy: only the tests that need it

    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    _, out = run([write("s.csv", SPLIT_TABLE)], split_files=True)
    loaded = datasets.load_dataset(str(out), cache_dir=str(tmp_path / "hf-cache"))
    assert isinstance(loaded, datasets.DatasetDict)
    assert list(loaded) == ["train", "validation", "test"]
    assert {name: loaded[name]["id"][:] for name in loaded} == {
        "train": [1, 3, 6],
        "validation": [2],
        "test": [4],
    }
    assert loaded["train"].features["hard_index"] == datasets.ClassLabel(names=["c1", "c2", "c3"])
    assert loaded["validation"][0]["soft_target"] == pytest.approx([0.2, 0.8, 0.0])
    assert loaded["test"][0]["mask"] == [True, False, True]


def test_split_names_yaml_would_retype_stay_strings(write, run):
    table = "id,c1,c2,split\n1,0.5,0.5,1\n2,1,0,true\n3,0,1,\u00e9t\u00e9.b\n"
    _, out = run([write("s.csv", table)], split_files=True)
    splits = [entry["split"] for entry in card_yaml(out)["configs"][0]["data_files"]]
    assert splits == ["1", "true", "\u00e9t\u00e9.b"]
    assert pl.read_parquet(out / "splits" / "\u00e9t\u00e9.b.parquet")["id"].to_list() == [3]


def test_targets_parquet_is_the_same_bytes_with_or_without_split_files(write, tmp_path):
    path = write("s.csv", SPLIT_TABLE)
    labelprep.run([path], output_dir=tmp_path / "plain", config=False)
    labelprep.run([path], output_dir=tmp_path / "split", config=False, split_files=True)
    plain = (tmp_path / "plain" / "targets.parquet").read_bytes()
    assert (tmp_path / "split" / "targets.parquet").read_bytes() == plain
    assert {p.name for p in (tmp_path / "plain").iterdir()} == OUTPUT_FILES


def test_the_manifest_lists_split_files_and_card_with_hashes(write, run):
    _, out = run([write("s.csv", SPLIT_TABLE)], split_files=True)
    manifest = json.loads((out / "manifest.json").read_text())
    outputs = {entry["path"]: entry for entry in manifest["outputs"]}
    for name in ("README.md", "splits/train.parquet", "splits/validation.parquet"):
        data = (out / name).read_bytes()
        assert outputs[name]["sha256"] == hashlib.sha256(data).hexdigest()
        assert outputs[name]["bytes"] == len(data)
    assert "splits" not in outputs  # files only
    assert manifest["options"]["split_files"] is True


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("../x", "have the split '../x', not a valid name"),
        ("a/b", "have the split 'a/b', not a valid name"),
        ("val set", "have the split 'val set', not a valid name"),
        ("x..y", "have the split 'x..y', not a valid name"),
        (".hidden", "have the split '.hidden', not a valid name"),
        ("all", "have the split 'all', a reserved name"),
        ("", "have no split"),
    ],
)
def test_a_split_that_cannot_name_a_file_is_refused(write, tmp_path, value, why):
    path = write("s.csv", f"id,c1,c2,split\n1,0.5,0.5,train\n2,1,0,{value}\n")
    out = tmp_path / "out"
    with pytest.raises(InputError, match="--split-files") as info:
        labelprep.run([path], output_dir=out, config=False, split_files=True)
    assert f"1 accepted row(s) {why} (the first: {path}, line 3, id 2)" in str(info.value)
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.csv"]  # nothing escaped


def test_splits_that_differ_only_by_case_are_refused(write, tmp_path):
    path = write("s.csv", "id,c1,c2,split\n1,0.5,0.5,train\n2,1,0,Train\n")
    with pytest.raises(InputError, match="'Train', the same as 'train' but for case"):
        labelprep.run([path], output_dir=tmp_path / "out", config=False, split_files=True)


def test_a_rejected_row_with_a_bad_split_does_not_matter(write, run):
    _, out = run([write("s.csv", SPLIT_TABLE + "7,2,0,0,../x\n")], split_files=True)
    assert sorted(p.name for p in (out / "splits").iterdir())[0] == "test.parquet"


def test_a_run_that_accepts_no_row_writes_no_split_file(write, run):
    result, out = run([write("s.csv", "id,c1,c2,split\n1,0.9,0.9,train\n")], split_files=True)
    assert result.rows_accepted == 0
    assert {p.name for p in out.iterdir()} == OUTPUT_FILES


def test_more_splits_than_files_it_should_write_are_refused(write, tmp_path):
    rows = "".join(f"{i},1,0,s{i}\n" for i in range(101))
    path = write("s.csv", "id,c1,c2,split\n" + rows)
    with pytest.raises(InputError, match="101 distinct splits"):
        labelprep.run([path], output_dir=tmp_path / "out", config=False, split_files=True)


def test_split_files_without_a_split_column_is_refused_before_any_pass(write, tmp_path):
    path = write("s.csv", "id,c1,c2\n1,0.5,0.5\n")
    with pytest.raises(InputError, match=r"no input has a split column \('split'\)"):
        labelprep.run([path], output_dir=tmp_path / "out", config=False, split_files=True)


def test_cli_run_validate_and_aggregate_take_split_files(write, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write("s.csv", SPLIT_TABLE)
    write("v.csv", "id,annotator,label,split\n1,a,x,train\n1,b,y,train\n2,a,y,test\n")
    run = CliRunner().invoke(main, ["run", "s.csv", "-o", "out", "--no-config", "--split-files"])
    assert run.exit_code == 0, run.output
    assert (tmp_path / "out" / "splits" / "validation.parquet").is_file()
    agg = CliRunner().invoke(main, ["aggregate", "v.csv", "-o", "agg", "--split-files"])
    assert agg.exit_code == 0, agg.output
    test_ids = pl.read_parquet(tmp_path / "agg" / "splits" / "test.parquet")["id"]
    assert test_ids.cast(pl.String).to_list() == ["2"]
    assert (tmp_path / "agg" / "README.md").is_file()
    args = ["validate", "s.csv", "-o", "gate", "--no-config", "--split-files"]
    gate = CliRunner().invoke(main, [*args, "--max-reject-rate", "0.5"])
    assert gate.exit_code == 0, gate.output
    validation = pl.read_parquet(tmp_path / "gate" / "splits" / "validation.parquet")
    assert validation["id"].to_list() == [2]


def test_cli_split_files_without_a_split_column_exits_2(write, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write("s.csv", "id,c1,c2\n1,0.5,0.5\n")
    result = CliRunner().invoke(main, ["run", "s.csv", "-o", "out", "--split-files"])
    assert result.exit_code == 2
    assert "no input has a split column ('split')" in result.output
    assert not (tmp_path / "out").exists()


def test_a_split_output_is_replaced_by_a_plain_run_and_back(write, tmp_path):
    path, out = write("s.csv", SPLIT_TABLE), tmp_path / "out"
    labelprep.run([path], output_dir=out, config=False, split_files=True)
    labelprep.run([path], output_dir=out, config=False)
    assert {p.name for p in out.iterdir()} == OUTPUT_FILES
    labelprep.run([path], output_dir=out, config=False, split_files=True)
    assert {p.name for p in out.iterdir()} == SPLIT_OUTPUTS


def test_a_splits_folder_holding_a_users_file_is_not_replaced(write, tmp_path):
    path, out = write("s.csv", SPLIT_TABLE), tmp_path / "out"
    labelprep.run([path], output_dir=out, config=False, split_files=True)
    (out / "splits" / "notes.txt").write_text("mine", encoding="utf-8")
    assert foreign_entries(out) == "splits"
    with pytest.raises(OutputError, match="holds files labelprep did not write: splits"):
        labelprep.run([path], output_dir=out, config=False)
    assert (out / "splits" / "notes.txt").read_text(encoding="utf-8") == "mine"


@pytest.mark.parametrize("split_files", [False, True])
def test_a_users_readme_in_an_output_directory_is_never_replaced(write, tmp_path, split_files):
    path, out = write("s.csv", SPLIT_TABLE), tmp_path / "out"
    labelprep.run([path], output_dir=out, config=False, split_files=split_files)
    (out / "README.md").write_text("my notes on this data\n", encoding="utf-8")
    for again in (False, True):
        with pytest.raises(OutputError, match=r"did not write: README\.md;"):
            labelprep.run([path], output_dir=out, config=False, split_files=again)
    assert (out / "README.md").read_text(encoding="utf-8") == "my notes on this data\n"


def test_a_split_file_the_manifest_does_not_list_is_not_replaced(write, tmp_path):
    path, out = write("s.csv", SPLIT_TABLE), tmp_path / "out"
    labelprep.run([path], output_dir=out, config=False, split_files=True)
    (out / "splits" / "extra.parquet").write_bytes((out / "splits" / "test.parquet").read_bytes())
    with pytest.raises(OutputError, match="did not write: splits"):
        labelprep.run([path], output_dir=out, config=False, split_files=True)
    assert (out / "splits" / "extra.parquet").is_file()


def test_split_files_is_a_boolean_option():
    assert build_options({"split_files": True}).split_files is True
    assert build_options({}).split_files is False
    with pytest.raises(ConfigError, match="split_files='yes' must be true or false"):
        build_options({"split_files": "yes"})


@given(st.text(max_size=12))
def test_a_valid_split_name_stays_inside_the_splits_folder(name):
    folder = Path("/out/splits")
    if SPLIT_NAME.fullmatch(name) is None:
        assert not is_split_file(f"{name}.parquet")
        return
    assert is_split_file(f"{name}.parquet")
    path = folder / f"{name}.parquet"
    assert path.parent == folder
    assert "/" not in name
    assert "\x00" not in name
    assert ".." not in name
    assert not name.startswith(".")
    assert name.strip() == name


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    name=st.text(st.characters(codec="utf-8", exclude_characters="/\x00"), min_size=1).filter(
        lambda n: n not in (".", "..") and not is_split_file(n)
    )
)
def test_any_foreign_file_in_a_splits_folder_is_never_deleted(tmp_path, name):
    out = tmp_path / f"out{next(EXAMPLES)}"
    (out / "splits").mkdir(parents=True)
    (out / "manifest.json").write_text('{"labelprep_output": 1}')
    (out / "splits" / "train.parquet").write_text("old")
    (out / "splits" / name).write_text("theirs")
    with pytest.raises(OutputError, match="did not write: splits"), atomic_directory(out):
        pytest.fail("the block must not run")
    assert (out / "splits" / name).read_text() == "theirs"
    assert (out / "splits" / "train.parquet").read_text() == "old"


def test_stale_staging_with_split_files_is_removed_but_not_with_a_users_file(tmp_path):
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    out, dead = tmp_path / "out", child.pid
    stale = tmp_path / f".out.labelprep-{dead}-0123abcd"
    user = tmp_path / f".out.labelprep-{dead}-4567abcd"
    for folder, extra in ((stale, "test.parquet"), (user, "notes.txt")):
        (folder / "splits").mkdir(parents=True)
        (folder / STAGING_MARK).write_text(f"{dead}\n")
        (folder / "README.md").write_text("card")
        (folder / "splits" / "train.parquet").write_text("half")
        (folder / "splits" / extra).write_text("x")
    assert remove_stale_staging(out) == [stale]
    assert (user / "splits" / "notes.txt").is_file()


def test_split_files_are_the_same_bytes_on_one_thread_or_several(tmp_path):
    rng = np.random.default_rng(5)
    rows = 200_000
    probs = rng.dirichlet(np.ones(3), rows)
    frame = pl.DataFrame(
        {
            "id": np.arange(rows),
            **{f"c{i}": probs[:, i] for i in range(3)},
            "split": rng.choice(["train", "val", "test"], rows, p=[0.8, 0.1, 0.1]),
        }
    )
    frame.write_parquet(tmp_path / "in.parquet", row_group_size=10_000)
    digests = []
    for threads in ("1", "4"):
        out = tmp_path / f"out{threads}"
        command = ["run", str(tmp_path / "in.parquet"), "-o", str(out), "--split-files"]
        subprocess.run(
            [sys.executable, "-m", "labelprep", *command, "--no-config"],
            check=True,
            capture_output=True,
            env={**os.environ, "POLARS_MAX_THREADS": threads},
        )
        files = sorted([out / "README.md", *(out / "splits").iterdir()])
        digests.append({f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in files})
    assert digests[0] == digests[1]
    assert sorted(digests[0]) == ["README.md", "test.parquet", "train.parquet", "val.parquet"]
