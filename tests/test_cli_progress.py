"""How much the command line says: the progress line (on a terminal only), -q and -v,
and a --help that loads none of the data libraries."""

from __future__ import annotations

import fcntl
import io
import json
import os
import pty
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from labelprep import progress
from labelprep.cli import display, main

SPEC_TABLE = "id,c1,c2,c3\n1,0.9,0.05,0.05\n2,0.2,0.8,0\n3,0.3,0.3,0.9\n4,0.7,0,0.3\n"
# 4 rows; row 3 sums to 1.5: 3 accepted, 1 rejected (bad_sum).
HEAVY = ("polars", "numpy", "pyarrow", "pandera", "pandas")


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def imported_modules(code: str) -> set[str]:
    """Top-level modules a fresh interpreter imports to run ``code``."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        capture_output=True,
        text=True,
        check=True,
    )
    lines = [line.split("|")[-1].strip() for line in done.stderr.splitlines()]
    return {name.split(".")[0] for name in lines if name and name != "imported package"}


@pytest.mark.parametrize("code", ["import labelprep.cli", "import labelprep"])
def test_importing_the_command_line_loads_no_data_library(code):
    loaded = imported_modules(code)
    assert "click" in loaded or code == "import labelprep"  # the probe sees imports
    assert "labelprep" in loaded
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))


def test_help_of_every_command_loads_no_data_library():
    code = (
        "import sys\nfrom labelprep.cli import main\n"
        "for name in [None, *main.commands]:\n"
        "    args = ['--help'] if name is None else [name, '--help']\n"
        "    try:\n        main(args, prog_name='labelprep')\n"
        "    except SystemExit as exc:\n        assert exc.code == 0, (name, exc.code)\n"
    )
    loaded = imported_modules(code)
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))


def test_the_public_api_is_still_there_when_used():
    code = "import labelprep, sys; labelprep.run; print('polars' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout == "True\n"
    import labelprep
    import labelprep.refine  # the submodule does not shadow the function of that name

    assert callable(labelprep.refine)
    assert labelprep.refine.__module__ == "labelprep.refine"
    assert {"run", "refine", "Options", "schema_json"} <= set(dir(labelprep))
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        labelprep.nothing_here  # noqa: B018


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def watch(stream: io.StringIO, level: int = 0) -> None:
    """Two stages watched as a command would be, the line shown at once."""
    ctx = click.Context(click.Command("x"))
    ctx.meta["labelprep.verbosity"] = level
    with display.watching(ctx, stream=stream):
        progress.stage("reading")
        progress.stage("main pass")
        progress.add_rows(1500)
        time.sleep(0.05)
        progress.add_rows(1000)


@pytest.fixture
def no_delay(monkeypatch):
    monkeypatch.setattr(display, "DELAY", 0.0)
    monkeypatch.setattr(display, "INTERVAL", 0.01)


def test_progress_is_shown_on_a_terminal_then_erased(no_delay):
    stream = Terminal()
    watch(stream)
    text = stream.getvalue()
    assert "main pass: 2.50k rows [00:00, " in text  # rows done, then the rate
    assert " rows/s]" in text
    last = text.rstrip("\r").rsplit("\r", 1)[-1]
    assert last.strip() == ""  # the line ends erased: nothing is left behind


def test_what_the_command_prints_after_its_run_erases_the_line_first(no_delay):
    stream = Terminal()
    ctx = click.Context(click.Command("x"))
    with display.watching(ctx, stream=stream):
        display.pause()  # before the work: a note on the config file leaves it alone
        assert display._showing
        progress.stage("main pass")
        progress.add_rows(10)
        time.sleep(0.05)
        display.pause()  # the command prints its results
        drawn = stream.getvalue()
        assert "main pass: 10.0 rows" in drawn
        assert drawn.rstrip("\r").rsplit("\r", 1)[-1].strip() == ""  # erased
        time.sleep(0.05)
        assert stream.getvalue() == drawn  # and not drawn again
    assert stream.getvalue() == drawn
    assert not display._showing


def test_progress_is_not_shown_when_not_a_terminal(no_delay):
    stream = io.StringIO()
    watch(stream)
    assert stream.getvalue() == ""


def test_progress_is_not_shown_when_quiet(no_delay):
    stream = Terminal()
    watch(stream, level=-1)
    assert stream.getvalue() == ""


def test_progress_waits_before_showing(monkeypatch):
    monkeypatch.setattr(display, "INTERVAL", 0.01)  # the 2 s delay stays
    stream = Terminal()
    watch(stream)
    assert stream.getvalue() == ""


def test_verbose_adds_the_time_and_rows_of_each_stage(no_delay):
    stream = io.StringIO()
    watch(stream, level=1)
    lines = stream.getvalue().splitlines()
    assert [line.split(":")[1].strip() for line in lines] == ["reading", "main pass"]
    assert lines[1].startswith("info: main pass: ")
    assert lines[1].endswith(" rows/s)")
    assert "(2,500 rows, " in lines[1]


def test_the_tracker_counts_rows_from_several_threads():
    import threading

    with progress.tracking() as tracker:
        progress.stage("main pass")
        workers = [
            threading.Thread(target=lambda: [progress.add_rows(1) for _ in range(10_000)])
            for _ in range(4)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    assert tracker.stages[0].rows == 40_000
    progress.add_rows(5)  # nobody is watching: nothing happens
    assert tracker.stages[0].rows == 40_000


# -q and -v on real commands -------------------------------------------------------------


@pytest.fixture
def spec(tmp_path, monkeypatch) -> str:
    monkeypatch.chdir(tmp_path)
    Path("spec.csv").write_text(SPEC_TABLE)
    return "spec.csv"


@pytest.mark.parametrize(
    "args",
    [
        ["-q", "run", "spec.csv", "--no-config"],
        ["run", "spec.csv", "--no-config", "-q"],
        ["run", "spec.csv", "--no-config", "--quiet"],
    ],
)
def test_quiet_run_prints_only_warnings_and_errors(spec, args):
    result = invoke(*args)
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")
    assert sorted(os.listdir("labelprep-out"))[:2] == ["class_stats.parquet", "manifest.json"]


def test_quiet_keeps_warnings_and_errors(spec):
    Path("bad.csv").write_text("id,c1,c2\n1,0.5,0.9\n2,0.5,0.9\n3,1,0\n")
    result = invoke("-q", "run", "bad.csv", "--no-config")
    assert (result.exit_code, result.stdout) == (0, "")
    assert result.stderr.startswith("warning: most rows were rejected (2 of 3, 67%)")
    result = invoke("-qq", "run", "bad.csv", "--no-config")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")
    Path("none.csv").write_text("id,c1,c2\n1,0.5,0.9\n")
    result = invoke("-q", "run", "none.csv", "--no-config")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: no row was accepted")


def test_normal_run_says_what_it_did(spec):
    result = invoke("run", "spec.csv", "--no-config")
    assert result.exit_code == 0
    assert result.stdout.startswith("4 rows in: 3 accepted, 1 rejected (bad_sum 1)\n")
    assert "info:" not in result.stderr


def test_verbose_run_names_the_files_options_and_stages(spec):
    result = invoke("run", "spec.csv", "--no-config", "--smoothing", "0.1", "-v")
    assert result.exit_code == 0
    info = [line for line in result.stderr.splitlines() if line.startswith("info: ")]
    assert info[0] == "info: options given: smoothing=0.1"
    assert info[1] == "info: read spec.csv (csv, 4 rows)"
    assert info[2].startswith("info: options in effect: ")
    assert "smoothing=0.1" in info[2]
    stages = [line.split(":")[1].strip() for line in info[3:]]
    assert stages == ["reading", "main pass", "rejects", "statistics and reports"]
    main_pass = info[4]
    assert "(4 rows, " in main_pass  # every row goes through the main pass
    assert result.stdout == invoke("run", "spec.csv", "--no-config").stdout  # stdout unchanged


def test_quiet_stats_keeps_the_table_and_drops_the_notes(spec):
    normal, quiet = invoke("stats", "spec.csv", "--no-config"), invoke("stats", "-q", "spec.csv")
    assert "note: 4 rows in: 3 accepted, 1 rejected (bad_sum 1)" in normal.stderr
    assert (quiet.exit_code, quiet.stderr) == (0, "")
    assert quiet.stdout == normal.stdout
    assert "| c1" in quiet.stdout


def test_quiet_validate_prints_the_verdict_and_the_failed_gates_and_keeps_the_exit_code(spec):
    result = invoke("validate", "-q", "spec.csv", "--no-config")
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "labelprep validate: FAIL",
        "  FAIL max_reject_rate = 0.25 (threshold 0): reject rate 0.25 > 0 (1 of 4 rows rejected)",
    ]
    passed = invoke("-q", "validate", "spec.csv", "--no-config", "--max-reject-rate", "0.5")
    assert (passed.exit_code, passed.stdout) == (0, "labelprep validate: PASS\n")


def test_quiet_keeps_machine_readable_output_whole(spec):
    normal = invoke("validate", "spec.csv", "--no-config", "--format", "json")
    quiet = invoke("validate", "spec.csv", "--no-config", "--format", "json", "-q")
    assert quiet.exit_code == normal.exit_code == 1
    assert json.loads(quiet.stdout)["passed"] is False
    assert quiet.stdout.splitlines()[0] == normal.stdout.splitlines()[0]


def test_quiet_and_verbose_are_offered_by_every_command():
    for name, command in main.commands.items():
        options = {opt for param in command.params for opt in param.opts}
        assert {"-q", "--quiet", "-v", "--verbose"} <= options, name


# A real terminal --------------------------------------------------------------------------

RUN_WITH_NO_DELAY = (
    "import sys\nfrom labelprep.cli import display, main\n"
    "display.DELAY = 0.0\ndisplay.INTERVAL = 0.01\n"
    "main(sys.argv[1:], prog_name='labelprep')\n"
)


def run_cli(tmp_path: Path, out: str, *, terminal: bool) -> tuple[int, bytes, bytes]:
    """Run a command in a fresh process, its stderr a pseudo-terminal or a pipe."""
    (tmp_path / "spec.csv").write_text(SPEC_TABLE)
    args = [sys.executable, "-c", RUN_WITH_NO_DELAY, "run", "spec.csv", "-o", out, "--no-config"]
    if not terminal:
        done = subprocess.run(args, cwd=tmp_path, capture_output=True, timeout=120, check=False)
        return done.returncode, done.stdout, done.stderr
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # 100 columns
    with subprocess.Popen(args, cwd=tmp_path, stdout=subprocess.PIPE, stderr=follower) as proc:
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the terminal closed: the process ended
                break
            if not chunk:
                break
            chunks.append(chunk)
        stdout = proc.stdout.read() if proc.stdout else b""
        code = proc.wait(timeout=120)
    os.close(leader)
    return code, stdout, b"".join(chunks)


def test_a_terminal_gets_the_progress_line_and_the_outputs_do_not_change(tmp_path):
    code, stdout, stderr = run_cli(tmp_path, "tty", terminal=True)
    assert code == 0, stderr
    assert b"main pass: 4.00 rows" in stderr  # the last counts, drawn before erasing
    plain_code, plain_stdout, plain_stderr = run_cli(tmp_path, "pipe", terminal=False)
    assert plain_code == 0
    assert b"rows [" not in plain_stderr
    assert b"\r" not in plain_stderr
    assert plain_stdout.replace(b"pipe/", b"tty/") == stdout
    for name in ("targets.parquet", "rejects.parquet", "class_stats.parquet"):
        assert (tmp_path / "tty" / name).read_bytes() == (tmp_path / "pipe" / name).read_bytes()


def test_quiet_aggregate_and_report_print_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("votes.csv").write_text("id,annotator,label\n1,u,a\n1,v,b\n2,u,b\n")
    normal = invoke("aggregate", "votes.csv", "-o", "out", "--no-config")
    assert normal.stdout.startswith("3 votes (0 rejected) -> 2 items by shares; 1 tied")
    quiet = invoke("aggregate", "votes.csv", "-o", "out", "--no-config", "-q")
    assert (quiet.exit_code, quiet.stdout, quiet.stderr) == (0, "", "")
    assert invoke("report", "out").stdout == "wrote out/report.md\nwrote out/report.html\n"
    assert invoke("-q", "report", "out").stdout == ""
