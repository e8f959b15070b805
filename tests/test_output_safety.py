"""The output directory is replaced only when it is labelprep's own; every failure to
write it exits 2 naming the path, and leaves nothing behind."""

from __future__ import annotations

import hashlib
import itertools
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import labelprep
from labelprep.errors import OutputError
from labelprep.outdir import OUTPUT_FILES, STAGING_MARK, atomic_directory, remove_stale_staging
from tests.conftest import SPEC_TABLE

NOBODY = 65534
EXAMPLES = itertools.count()


def snapshot(folder: Path) -> dict[str, str]:
    """Every path under ``folder`` (directories too) with the sha256 of its bytes."""
    found = {}
    for path in sorted(folder.rglob("*")):
        key = str(path.relative_to(folder))
        found[key] = "dir" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def cli(*args: str | Path, cwd: Path | None = None, user: int | None = None, **env: str):
    """``python -m labelprep ARGS`` in a fresh process (as ``user`` through setpriv)."""
    command = [sys.executable, "-m", "labelprep", *map(str, args), "--no-config"]
    if user is not None:
        command = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *command]
    return subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, env={**os.environ, **env}, check=False
    )


def hidden(folder: Path) -> list[str]:
    return sorted(name for name in os.listdir(folder) if ".labelprep" in name)


@pytest.fixture(scope="module")
def big_input(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """200,000 rows of two classes, as Parquet (quick to read)."""
    path = tmp_path_factory.mktemp("big") / "big.parquet"
    n = 200_000
    rng = np.random.default_rng(0)
    a = rng.random(n)
    pl.DataFrame({"id": np.arange(n), "a": a, "b": 1.0 - a}).write_parquet(path)
    path.parent.chmod(0o755)
    return path


@pytest.fixture
def open_tmp() -> Iterator[Path]:
    """A folder any user can enter (pytest's own are private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="labelprep-test-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    path = tmp_path / "in" / "spec.csv"
    path.parent.mkdir()
    path.write_text(SPEC_TABLE)
    return path


@pytest.fixture
def previous(tmp_path: Path, spec: Path) -> Path:
    """A previous labelprep output at tmp_path/out."""
    out = tmp_path / "out"
    labelprep.run([spec], output_dir=out, config=False)
    return out


def test_a_previous_output_is_replaced_and_carries_the_marker(previous, spec):
    (previous / "report.md").write_text("stale")
    labelprep.run([spec], output_dir=previous, config=False)
    assert (previous / "report.md").read_text() != "stale"
    assert '"labelprep_output": 1' in (previous / "manifest.json").read_text()
    assert hidden(previous.parent) == []


def test_user_files_next_to_an_old_output_are_refused_and_kept(previous, spec):
    (previous / "notes.txt").write_text("my notes")
    (previous / "figures").mkdir()
    (previous / "figures" / "a.png").write_bytes(b"\x89PNG")
    before = snapshot(previous)
    result = cli("run", spec, "-o", previous)
    assert result.returncode == 2, result.stderr
    assert "figures, notes.txt" in result.stderr
    assert str(previous) in result.stderr
    assert "Traceback" not in result.stderr
    assert snapshot(previous) == before
    assert hidden(previous.parent) == []


def test_another_tools_manifest_is_refused_and_the_input_kept(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "manifest.json").write_text('{"tool": "dvc", "files": []}')
    (data / "targets.parquet").write_bytes(b"not ours")
    before = snapshot(data)
    with pytest.raises(OutputError, match=r"manifest\.json \(not written by labelprep"):
        labelprep.run(output_dir=data, config=False)
    assert snapshot(data) == before


def test_an_input_inside_the_output_directory_is_refused(previous):
    # the input has an output's name, so only the input check can protect it
    inside = previous / "targets.parquet"
    before = snapshot(previous)
    result = cli("run", inside, "-o", previous, "--classes", "c1,c2,c3")
    assert result.returncode == 2, result.stderr
    assert f"{previous}: the output directory holds the input {inside}" in result.stderr
    assert snapshot(previous) == before


def test_the_input_directory_itself_is_refused(spec):
    before = snapshot(spec.parent)
    with pytest.raises(OutputError, match=r"holds files labelprep did not write: spec\.csv"):
        labelprep.run([spec], output_dir=spec.parent, config=False)
    assert snapshot(spec.parent) == before


@pytest.mark.parametrize("target", [".", "./"])
def test_the_current_directory_is_refused(tmp_path, spec, target, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    with pytest.raises(OutputError, match=f"^{work}: the output path is the current directory"):
        labelprep.run([spec], output_dir=target, config=False)
    assert os.listdir(work) == []


def test_a_path_through_a_file_is_refused(tmp_path, spec):
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(OutputError, match=f"cannot write {afile}/sub: {afile} is not a dir"):
        labelprep.run([spec], output_dir=afile / "sub" / "out", config=False)
    with pytest.raises(OutputError, match=f"^{afile}: the output path exists and is not a dir"):
        labelprep.run([spec], output_dir=afile, config=False)
    assert afile.read_text() == "x"
    assert hidden(tmp_path) == []


def test_a_symbolic_link_is_refused(tmp_path, previous, spec):
    link = tmp_path / "link"
    link.symlink_to(previous)
    with pytest.raises(OutputError, match="symbolic link"):
        labelprep.run([spec], output_dir=link, config=False)
    assert link.is_symlink()


def test_dotdot_and_nested_paths_work(tmp_path, spec):
    out = tmp_path / "in" / ".." / "a" / "b" / "out"
    labelprep.run([spec], output_dir=out, config=False)
    assert (tmp_path / "a" / "b" / "out" / "manifest.json").is_file()


@pytest.mark.parametrize(("umask", "dirs", "files"), [(0o022, 0o755, 0o644), (0o077, 0o700, 0o600)])
def test_created_directories_and_files_follow_the_umask(tmp_path, spec, umask, dirs, files):
    old = os.umask(umask)
    try:
        labelprep.run([spec], output_dir=tmp_path / "new" / "out", config=False)
    finally:
        os.umask(old)
    out = tmp_path / "new" / "out"
    assert stat.S_IMODE(out.stat().st_mode) == dirs
    assert stat.S_IMODE(out.parent.stat().st_mode) == dirs
    assert {stat.S_IMODE(p.stat().st_mode) for p in out.iterdir()} == {files}


def test_a_failed_run_removes_what_it_created_parents_included(tmp_path, spec, monkeypatch):
    def fail(prepared, folder):
        (folder / "targets.parquet").write_bytes(b"half")
        raise OutputError("cannot write: simulated")

    monkeypatch.setattr(labelprep.api, "execute", fail)
    with pytest.raises(OutputError, match="simulated"):
        labelprep.run([spec], output_dir=tmp_path / "x" / "y" / "out", config=False)
    assert not (tmp_path / "x").exists()


def test_a_file_size_limit_is_a_write_error_and_leaves_nothing(tmp_path, big_input):
    # RLIMIT_FSIZE makes the parquet sink fail part-way (EFBIG), as a full disk does
    script = (
        "import resource, runpy, sys; "
        "resource.setrlimit(resource.RLIMIT_FSIZE, (300_000, 300_000)); "
        "sys.argv[0] = 'labelprep'; runpy.run_module('labelprep', run_name='__main__')"
    )
    out = tmp_path / "new" / "out"
    command = [sys.executable, "-c", script, "run", str(big_input), "-o", str(out), "--no-config"]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 2, result.stderr
    assert f"cannot write {out}/targets.parquet: File too large." in result.stderr
    assert "read the input" not in result.stderr
    assert not (tmp_path / "new").exists()


def _mount_tmpfs(folder: Path, size: str) -> bool:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
        capture_output=True,
        check=False,
    )
    return done.returncode == 0


def test_a_full_disk_says_writing_and_names_the_file(tmp_path, big_input):
    disk = tmp_path / "disk"
    disk.mkdir()
    if not _mount_tmpfs(disk, "300k"):
        pytest.skip("mounting a small tmpfs needs root and mount(8)")
    try:
        result = cli("run", big_input, "-o", disk / "out")
        assert result.returncode == 2, result.stderr
        assert "No space left on device" in result.stderr
        assert f"cannot write {disk}/out/" in result.stderr
        assert "read the input" not in result.stderr
        assert os.listdir(disk) == []
    finally:
        subprocess.run(["umount", str(disk)], check=False)


needs_setpriv = pytest.mark.skipif(
    shutil.which("setpriv") is None or os.geteuid() != 0,
    reason="running as an unprivileged user needs root and setpriv(1)",
)


@needs_setpriv
def test_a_read_only_parent_exits_2_naming_it(open_tmp):
    spec = open_tmp / "spec.csv"
    spec.write_text(SPEC_TABLE)
    locked = open_tmp / "locked"
    locked.mkdir(mode=0o555)
    result = cli("run", spec, "-o", locked / "out", user=NOBODY)
    assert result.returncode == 2, result.stderr
    assert f"cannot write {locked}/out: Permission denied." in result.stderr
    assert "Traceback" not in result.stderr
    assert os.listdir(locked) == []


@needs_setpriv
def test_an_unwritable_previous_output_is_left_as_it_was(open_tmp):
    spec = open_tmp / "spec.csv"
    spec.write_text(SPEC_TABLE)
    parent = open_tmp / "runs"
    labelprep.run([spec], output_dir=parent / "out", config=False)
    parent.chmod(0o555)
    before = snapshot(parent)
    result = cli("run", spec, "-o", parent / "out", user=NOBODY)
    assert result.returncode == 2, result.stderr
    assert f"cannot write {parent}/out: Permission denied." in result.stderr
    assert snapshot(parent) == before


@needs_setpriv
def test_an_unreadable_input_says_reading(open_tmp):
    spec = open_tmp / "spec.csv"
    spec.write_text(SPEC_TABLE)
    spec.chmod(0o600)
    result = cli("run", spec, "-o", open_tmp / "out", user=NOBODY)
    assert result.returncode == 2, result.stderr
    assert str(spec) in result.stderr
    assert "cannot read" in result.stderr
    assert "Permission denied" in result.stderr
    assert sorted(os.listdir(open_tmp)) == ["spec.csv"]


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _staging(out: Path, pid: int, files: dict[str, str], token: str = "0123abcd") -> Path:
    folder = out.with_name(f".{out.name}.labelprep-{pid}-{token}")
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def test_stale_staging_of_a_dead_run_is_removed_and_nothing_else(tmp_path, previous):
    dead = _dead_pid()
    stale = _staging(previous, dead, {STAGING_MARK: f"{dead}\n", "targets.parquet": "half"})
    displaced = _staging(previous, dead, {"manifest.json": "{}"}, token="89abcdef")
    displaced = displaced.rename(displaced.with_name(displaced.name + "-old"))
    user = _staging(previous, dead, {STAGING_MARK: f"{dead}\n", "notes.txt": "x"}, "4567abcd")
    wrong = _staging(previous, dead, {STAGING_MARK: "1\n"}, token="00000000")
    alive = _staging(previous, os.getppid(), {STAGING_MARK: f"{os.getppid()}\n"})
    other = _staging(previous.with_name("other"), dead, {STAGING_MARK: f"{dead}\n"})
    assert sorted(remove_stale_staging(previous)) == sorted([stale, displaced])
    assert user.is_dir()
    assert wrong.is_dir()
    assert alive.is_dir()
    assert other.is_dir()


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    names=st.lists(
        st.text(st.characters(codec="utf-8", exclude_characters="/\x00"), min_size=1, max_size=12)
        .filter(lambda n: n not in (".", ".."))
        .filter(lambda n: n not in OUTPUT_FILES),
        min_size=1,
        max_size=4,
        unique=True,
    )
)
def test_any_foreign_file_in_an_output_directory_is_never_deleted(tmp_path, names):
    out = tmp_path / f"out{next(EXAMPLES)}"
    out.mkdir()
    (out / "manifest.json").write_text('{"labelprep_output": 1}')
    (out / "targets.parquet").write_text("old")
    for name in names:
        (out / name).write_text(name)
    before = snapshot(out)
    with pytest.raises(OutputError, match="did not write"), atomic_directory(out):
        pytest.fail("the block must not run")
    assert snapshot(out) == before
    assert hidden(tmp_path) == []


def test_report_does_not_overwrite_another_tools_report(tmp_path, previous):
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(previous / "class_stats.parquet", other)
    (other / "manifest.json").write_text('{"tool": "elsewhere"}')
    (other / "report.md").write_text("their report")
    with pytest.raises(OutputError, match="not written by labelprep"):
        labelprep.report(other)
    assert (other / "report.md").read_text() == "their report"
    assert not (other / "report.html").exists()
