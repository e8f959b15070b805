"""SIGTERM / SIGINT stop a run promptly, remove its staging directory and exit 143 / 130;
a SIGKILL's leftovers are removed by the next run; concurrent runs both succeed."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import labelprep
from labelprep import interrupts
from labelprep.errors import Interrupted
from tests.conftest import SPEC_TABLE

BIG_ROWS = 2_000_000


def _write_input(path: Path, rows: int) -> Path:
    rng = np.random.default_rng(7)
    p = rng.dirichlet(np.ones(3), size=rows)
    frame = pl.DataFrame({"id": np.arange(rows), "a": p[:, 0], "b": p[:, 1], "c": p[:, 2]})
    frame.write_parquet(path)
    return path


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("inputs")
    small = folder / "small.csv"
    small.write_text(SPEC_TABLE.replace("c1,c2,c3", "a,b,c"))
    return {
        "big": _write_input(folder / "big.parquet", BIG_ROWS),
        "medium": _write_input(folder / "medium.parquet", 200_000),
        "small": small,
    }


def snapshot(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def leftovers(folder: Path) -> list[str]:
    return sorted(name for name in os.listdir(folder) if ".labelprep" in name)


def start(source: Path, out: Path) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "labelprep", "run", str(source), "-o", str(out)]
    return subprocess.Popen(
        [*command, "--no-config", "--classes", "a,b,c"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_staging(process: subprocess.Popen[str], out: Path) -> Path:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        found = list(out.parent.glob(f".{out.name}.labelprep-{process.pid}-*"))
        if found and (found[0] / "targets.parquet").exists():
            return found[0]
        assert process.poll() is None, process.communicate()
        time.sleep(0.02)
    raise AssertionError("the run never started writing")


@pytest.fixture
def previous(tmp_path: Path, inputs: dict[str, Path]) -> Path:
    out = tmp_path / "out"
    labelprep.run([inputs["small"]], output_dir=out, config=False)
    return out


@pytest.mark.parametrize(
    ("signum", "code", "name"), [(signal.SIGTERM, 143, "SIGTERM"), (signal.SIGINT, 130, "SIGINT")]
)
def test_a_signal_mid_write_removes_staging_and_keeps_the_previous_output(
    previous, inputs, signum, code, name
):
    before = snapshot(previous)
    process = start(inputs["big"], previous)
    staging = wait_for_staging(process, previous)
    sent = time.monotonic()
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=60)
    waited = time.monotonic() - sent
    assert process.returncode == code, stderr
    assert stderr == f"labelprep: stopped by {name}; nothing was written.\n"
    assert not staging.exists()
    assert leftovers(previous.parent) == []
    assert snapshot(previous) == before
    assert waited < 10, f"{waited:.1f} s to stop"


def test_the_next_run_removes_what_a_sigkill_left(previous, inputs):
    process = start(inputs["big"], previous)
    staging = wait_for_staging(process, previous)
    process.kill()
    process.communicate(timeout=60)
    assert staging.is_dir()  # SIGKILL cannot be caught
    labelprep.run([inputs["small"]], output_dir=previous, config=False)
    assert not staging.exists()
    assert leftovers(previous.parent) == []


def test_two_runs_into_one_directory_both_succeed(tmp_path, inputs):
    out = tmp_path / "out"
    runs = [start(inputs["medium"], out), start(inputs["medium"], out)]
    results = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], results
    assert leftovers(tmp_path) == []
    assert pl.read_parquet(out / "targets.parquet").height == 200_000


def test_a_signal_during_a_deferred_block_is_raised_after_it():
    handlers = interrupts.install()
    steps = []

    def critical() -> None:
        with interrupts.deferred_signals():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.05)  # the handler has run by now, and held the signal back
            steps.append("finished")

    try:
        with pytest.raises(Interrupted) as caught:
            critical()
    finally:
        interrupts.restore(handlers)
    assert steps == ["finished"]
    assert caught.value.exit_code == 143
    assert signal.getsignal(signal.SIGTERM) is handlers[signal.SIGTERM]
