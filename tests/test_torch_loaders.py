"""The torch extra: TargetsDataset and the weight tensors, against the real PyTorch.

Where PyTorch is not installed the module is skipped with the reason (CI installs the
CPU wheel first: .ci/run); the missing-extra error itself is tested without PyTorch.
"""

from __future__ import annotations

import importlib
import math
import sys
import warnings
from pathlib import Path

import polars as pl
import pytest

from labelprep.errors import ConfigError, InputError, LabelprepError, MissingExtraError

torch = pytest.importorskip(
    "torch",
    reason="PyTorch is not installed (pip install torch --index-url "
    "https://download.pytorch.org/whl/cpu); the torch extra is not tested",
)

from labelprep.torch_data import (  # noqa: E402  (needs torch)
    TargetsDataset,
    class_weight_tensor,
    logit_adjustment_tensor,
)

README = Path(__file__).resolve().parent.parent / "README.md"

# The SPEC table (soft masses 2.1 / 1.15 / 0.75 over all rows) with a split column.
SPLIT_TABLE = """\
id,c1,c2,c3,split
1,0.9,0.05,0.05,train
2,0.2,0.8,0,validation
3,0.3,0.3,0.4,train
4,0.7,0,0.3,train
"""
# README, "What it answers": balanced N / (K n_k) = 4 / (3 * (2.1, 1.15, 0.75)).
BALANCED_ALL = [4 / 6.3, 4 / 3.45, 4 / 2.25]


def f32(values):
    return torch.tensor(values, dtype=torch.float32)


@pytest.fixture
def out(write, run):
    _, folder = run([write("s.csv", SPLIT_TABLE)])
    return folder


def test_items_are_the_rows_as_tensors(out):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torch.from_numpy on a read-only array warns
        data = TargetsDataset(out)
    assert len(data) == 4
    assert data.classes == ("c1", "c2", "c3")
    second, fourth = data[1], data[3]
    torch.testing.assert_close(second["soft_target"], f32([0.2, 0.8, 0.0]))
    assert torch.equal(second["mask"], f32([1.0, 1.0, 0.0]))
    assert torch.equal(fourth["mask"], f32([1.0, 0.0, 1.0]))
    assert second["hard_index"].dtype == torch.int64
    assert [int(data[i]["hard_index"]) for i in range(4)] == [0, 1, 2, 0]
    assert torch.equal(data.ids, torch.tensor([1, 2, 3, 4]))
    assert "sample_weight" not in second


def test_a_run_result_reads_as_its_targets_held_or_on_disk(write, run):
    import labelprep

    source = write("s.csv", SPLIT_TABLE)
    held = labelprep.run(source, output_dir=None, config=False)
    on_disk, _ = run([source])
    for result in (held, on_disk):
        data = TargetsDataset(result, split="train")
        assert data.classes == ("c1", "c2", "c3")
        assert data.ids.tolist() == [1, 3, 4]
        torch.testing.assert_close(data[2]["soft_target"], f32([0.7, 0.0, 0.3]))
        assert [int(data[i]["hard_index"]) for i in range(3)] == [0, 2, 0]
    assert TargetsDataset(held).path is None
    with pytest.raises(ConfigError, match=r"held in memory.*no split 'test'"):
        TargetsDataset(held, split="test")


def test_whole_columns_are_writable_tensors_of_the_file(out):
    data = TargetsDataset(out)
    frame = pl.read_parquet(out / "targets.parquet")
    assert data.soft_target.shape == (4, 3)
    assert data.soft_target.dtype == torch.float32
    assert data.soft_target.tolist() == frame["soft_target"].to_list()
    assert data.mask.dtype == torch.bool  # 1 byte a value; items are float
    assert data.mask.tolist() == frame["mask"].to_list()
    assert data[0]["mask"].dtype == torch.float32
    data.soft_target[0, 0] = 0.5  # writable memory of its own, not Arrow's
    assert TargetsDataset(out).soft_target[0, 0] == pytest.approx(0.9)


def test_split_filter_keeps_exactly_that_split(out):
    train = TargetsDataset(out, split="train")
    assert train.ids.tolist() == [1, 3, 4]
    both = TargetsDataset(out, split=["validation", "train"])
    assert both.ids.tolist() == [1, 2, 3, 4]  # file order


def test_an_unknown_split_names_the_splits(out):
    with pytest.raises(ConfigError, match=r"no split 'trian'; the splits are train, validation"):
        TargetsDataset(out, split="trian")


def test_a_split_without_a_split_column_is_an_error(write, run):
    _, folder = run([write("s.csv", "id,c1,c2\n1,0.5,0.5\n")])
    with pytest.raises(ConfigError, match="no split column"):
        TargetsDataset(folder, split="train")


def test_a_split_file_reads_as_a_dataset(write, run):
    _, folder = run([write("s.csv", SPLIT_TABLE)], split_files=True)
    data = TargetsDataset(folder / "splits" / "validation.parquet")
    assert data.ids.tolist() == [2]
    torch.testing.assert_close(data[0]["soft_target"], f32([0.2, 0.8, 0.0]))


def test_a_folder_of_part_files_reads_as_one_dataset(out):
    whole = pl.read_parquet(out / "targets.parquet")
    parts = out.parent / "parts"
    (parts / "targets").mkdir(parents=True)  # the Dask engine's layout
    metadata = pl.read_parquet_metadata(out / "targets.parquet")
    whole.head(3).write_parquet(parts / "targets" / "part-00000.parquet", metadata=metadata)
    whole.tail(1).write_parquet(parts / "targets" / "part-00001.parquet", metadata=metadata)
    data = TargetsDataset(parts, split="train")
    assert data.classes == ("c1", "c2", "c3")
    assert data.ids.tolist() == [1, 3, 4]
    assert data.soft_target.tolist() == TargetsDataset(out, split="train").soft_target.tolist()


def test_text_ids_are_strings_in_a_batch(write, run):
    _, folder = run([write("s.csv", "id,c1,c2\na,0.5,0.5\nb,1,0\n")])
    batch = next(iter(torch.utils.data.DataLoader(TargetsDataset(folder), batch_size=2)))
    assert batch["id"] == ["a", "b"]


def test_dataloader_batches_with_the_default_collate(out):
    loader = torch.utils.data.DataLoader(TargetsDataset(out), batch_size=3)
    first, second = list(loader)
    assert first["soft_target"].shape == (3, 3)
    assert first["mask"].shape == (3, 3)
    assert first["hard_index"].tolist() == [0, 1, 2]
    assert first["id"].tolist() == [1, 2, 3]
    assert second["id"].tolist() == [4]


def test_sample_weights_come_along(write, run):
    _, folder = run([write("s.csv", SPLIT_TABLE)], sample_weight="balanced")
    item = TargetsDataset(folder)[0]
    # sum_k target_k * balanced_k for the first row, 0.9 / 0.05 / 0.05
    expected = 0.9 * BALANCED_ALL[0] + 0.05 * BALANCED_ALL[1] + 0.05 * BALANCED_ALL[2]
    assert item["sample_weight"].dtype == torch.float32
    assert float(item["sample_weight"]) == pytest.approx(expected, rel=1e-6)


def test_class_weight_tensor_is_the_balanced_column_in_class_order(out):
    weights = class_weight_tensor(out)
    torch.testing.assert_close(weights, f32(BALANCED_ALL))
    stats = pl.read_parquet(out / "class_stats.parquet")
    column = stats.filter(pl.col("split").is_null()).sort("index")["balanced"]
    assert weights.tolist() == f32(column.to_list()).tolist()
    assert class_weight_tensor(out / "class_stats.parquet").tolist() == weights.tolist()


def test_class_weight_tensor_of_one_split(out):
    # train rows 1, 3, 4: masses 1.9 / 0.35 / 0.75, N = 3
    weights = class_weight_tensor(out, "balanced", split="train", dtype=torch.float64)
    torch.testing.assert_close(weights, torch.tensor([1 / 1.9, 1 / 0.35, 1 / 0.75]).double())


def test_class_weight_tensor_refuses_an_unknown_scheme(out):
    with pytest.raises(ConfigError, match="Did you mean 'balanced'"):
        class_weight_tensor(out, "balance")


def test_logit_adjustment_tensor_for_the_runs_tau_and_another(out):
    priors = [2.1 / 4, 1.15 / 4, 0.75 / 4]
    torch.testing.assert_close(logit_adjustment_tensor(out), f32([math.log(p) for p in priors]))
    half = logit_adjustment_tensor(out, tau=0.5)
    torch.testing.assert_close(half, f32([0.5 * math.log(p) for p in priors]))


def test_logit_adjustment_of_an_empty_class_uses_eps(write, run):
    # c3 has no mass: eps = min(1 / (2N), min prior / 2) = min(1/4, 0.25 / 2) = 0.125
    _, folder = run([write("s.csv", "id,c1,c2,c3\n1,0.5,0.5,0\n2,1,0,0\n")], tau=2.0)
    offsets = logit_adjustment_tensor(folder, tau=1.0)
    torch.testing.assert_close(offsets, f32([math.log(0.75), math.log(0.25), math.log(0.125)]))
    torch.testing.assert_close(logit_adjustment_tensor(folder), 2.0 * offsets)


def test_cross_entropy_with_soft_targets_and_balanced_weights(out):
    # Balanced weights make sum_k w_k * mass_k = N for every class: with uniform logits
    # each row's loss is log(3) * sum_k w_k y_k, and the batch mean is exactly log(3).
    loss_fn = torch.nn.CrossEntropyLoss(weight=class_weight_tensor(out))
    (batch,) = torch.utils.data.DataLoader(TargetsDataset(out), batch_size=4)
    loss = loss_fn(torch.zeros(4, 3), batch["soft_target"])
    assert float(loss) == pytest.approx(math.log(3), rel=1e-6)


def test_missing_files_are_input_errors(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        TargetsDataset(tmp_path)
    with pytest.raises(InputError, match=r"class_stats\.parquet"):
        class_weight_tensor(tmp_path)
    (tmp_path / "t.parquet").write_bytes(b"PAR1 not parquet")
    with pytest.raises(InputError, match="cannot read it as Parquet"):
        TargetsDataset(tmp_path / "t.parquet")


def test_a_parquet_file_that_is_not_targets_is_refused(tmp_path):
    pl.DataFrame({"id": [1], "soft_target": [[1.0]]}).write_parquet(tmp_path / "x.parquet")
    with pytest.raises(InputError, match="not a labelprep targets file"):
        TargetsDataset(tmp_path / "x.parquet")


def test_without_torch_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # "import torch" now fails
    monkeypatch.delitem(sys.modules, "labelprep.torch_data")
    with pytest.raises(MissingExtraError, match=r"pip install 'labelprep\[torch\]'") as info:
        importlib.import_module("labelprep.torch_data")
    assert isinstance(info.value, LabelprepError)
    assert isinstance(info.value, ImportError)  # the usual optional-import guard works
    assert info.value.exit_code == 2


def test_the_readmes_training_glue_runs(out):
    section = README.read_text(encoding="utf-8").split("### Training with PyTorch")[1]
    code = section.split("```python\n")[1].split("```")[0]
    seen: list[int] = []

    def inputs_for(ids):
        seen.extend(ids.tolist())
        return ids

    namespace = {
        "model": lambda ids: torch.zeros(len(ids), 3, requires_grad=True),
        "inputs_for": inputs_for,
    }
    exec(code.replace('"labelprep-out"', repr(str(out))), namespace)
    assert sorted(seen) == [1, 3, 4]  # the train split, in one batch
    # train's balanced weights make sum_k w_k * mass_k = N: the loss is exactly log(3)
    assert namespace["loss"].item() == pytest.approx(math.log(3), rel=1e-6)
