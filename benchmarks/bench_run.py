"""Benchmark ``labelprep run`` against a same-codec copy and the output floor.

Not a test. Usage, from the repository root::

    python benchmarks/bench_run.py --quick          # regression guard: 1M x 10, ~1-2 minutes
    python benchmarks/bench_run.py                  # K=10 at 10M and 30M, K=1000 at 300k and 1M
    python benchmarks/bench_run.py --cases 10:10M:5,1000:300k:1 --codecs snappy

Every measurement is a whole process, imports included (what a user waits for), started
from this script, which imports only the standard library. The children cache bytecode
under ``--workdir`` (``PYTHONPYCACHEPREFIX``; the sources are compiled once before any
step), as an installed package ships it compiled:

copy
    ``benchmarks/floor_output.py copy``: Polars scan -> ``sink_parquet``, same codec.
output floor
    ``benchmarks/floor_output.py floor``: the targets schema written by the cheapest
    code (Polars scan -> one numpy step per batch -> Polars sink), same codec.
output floor + counting
    the same plus the per-class counting and row histograms ``labelprep run`` does.
labelprep run
    ``python -m labelprep run INPUT -o DIR --no-config --compression CODEC``.
labelprep --help
    ``python -m labelprep --help``: the start-up cost (imports) alone.

Each case (``K:ROWS[:ROUNDS]``) runs its steps in interleaved rounds (A B C A B C ...), after one
read of the input to warm the page cache. Per step: the median (and min-max) wall time,
CPU time (user + sys of the child, from ``os.wait4``) and peak RSS (``ru_maxrss`` from
``os.wait4``). Ratios are of medians, with the range of the per-round ratios. Each case
also prints the load average before and after: numbers taken on a busy machine are not
comparable with numbers taken on an idle one.

Run it with the Python of a core install, as a user has it (``python -m venv v &&
v/bin/pip install .``; the children import the checkout, which ``PYTHONPATH`` puts first):
where pandas is installed (the test extra brings it), Pandera imports it too, about half
a second more CPU at start-up; the report's first line says which it was.

Inputs come from ``benchmarks/bench_data.py`` (run as a child), cached in ``--workdir``
(default ``benchmarks/.data``, ignored by git): about 30 bytes a row at K = 10 (280 MiB at
10M rows) and 23 MiB per 100k rows at K = 1000. Outputs go to temporary directories in
the work directory, removed after each run. ``--labelprep DIR`` runs another checkout.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent
DEFAULT_WORKDIR = HERE / ".data"
SPEED_TARGETS = {"floor-count": 1.2, "copy": 2.0}  # labelprep run / step, wall time
MEMORY_TARGET = 2.0  # labelprep run / copy, peak RSS at K = 1000
FLAT_TARGET = 1.1  # labelprep run peak RSS, most rows / fewest rows, at K = 1000
DEFAULT_CASES = "10:10M:5,10:30M:3,1000:300k:1,1000:1M:1"
QUICK_CASES = "10:1M"
LABELS = {
    "copy": "copy: polars scan -> sink",
    "floor": "output floor",
    "floor-count": "output floor + counting",
    "run": "labelprep run",
    "help": "labelprep --help",
}
SUFFIXES = {"k": 1_000, "M": 1_000_000}


@dataclass(frozen=True)
class Step:
    kind: str  # a key of LABELS
    codec: str

    @property
    def label(self) -> str:
        return LABELS[self.kind] + ("" if self.kind == "help" else f" ({self.codec})")

    def argv(self, src: Path, out: Path) -> list[str]:
        python = sys.executable
        if self.kind == "help":  # the start-up cost alone
            return [python, "-m", "labelprep", "--help"]
        if self.kind == "run":
            target = ["-m", "labelprep", "run", str(src), "-o", str(out / "labelprep-out")]
            return [python, *target, "--no-config", "--compression", self.codec]
        mode = "copy" if self.kind == "copy" else "floor"
        argv = [python, str(HERE / "floor_output.py"), mode, str(src), str(out / "out.parquet")]
        return [
            *argv,
            "--compression",
            self.codec,
            *(["--count"] if self.kind == "floor-count" else []),
        ]


@dataclass(frozen=True)
class Sample:
    wall: float
    cpu: float
    peak_mib: float
    rows: int | None


@dataclass
class Case:
    k: int
    rows: int
    rounds: int
    steps: list[Step]
    samples: dict[Step, list[Sample]] = field(default_factory=dict)
    errors: dict[Step, str] = field(default_factory=dict)
    load: list[tuple[float, ...]] = field(default_factory=list)
    input_mib: float = 0.0
    expected: dict[str, int] = field(default_factory=dict)


# -- running ---------------------------------------------------------------------------


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def child_env(labelprep: Path, workdir: Path) -> dict[str, str]:
    """The environment of a child: the labelprep checkout first on ``PYTHONPATH``, and
    bytecode cached under ``workdir`` (an installed package ships compiled; a checkout
    run with ``PYTHONDONTWRITEBYTECODE`` set would compile every module in every run)."""
    env = dict(os.environ)
    paths = [str(labelprep), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(workdir / "pycache")
    return env


def compile_sources(labelprep: Path, env: dict[str, str]) -> None:
    """Compile the checkout and the yardstick once, before any step is timed."""
    sources = [str(labelprep / "labelprep"), str(HERE / "floor_output.py")]
    argv = [sys.executable, "-m", "compileall", "-q", *sources]
    subprocess.run(argv, check=True, env=env, stdout=subprocess.DEVNULL)


def run_once(step: Step, src: Path, workdir: Path, env: dict[str, str]) -> Sample | str:
    """One whole-process run of ``step``: its sample, or the error text."""
    out = Path(tempfile.mkdtemp(prefix=f"out-{step.kind}-", dir=workdir))
    try:
        with (out / "stdout").open("w+") as stdout, (out / "stderr").open("w+") as stderr:
            started = time.perf_counter()
            proc = subprocess.Popen(
                step.argv(src, out), stdout=stdout, stderr=stderr, cwd=out, env=env
            )
            _, status, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - started
            proc.returncode = os.waitstatus_to_exitcode(status)
            stdout.seek(0)
            stderr.seek(0)
            if proc.returncode != 0:
                return f"exit code {proc.returncode}\n{stderr.read()[-4000:]}"
            rows = rows_written(step, out, stdout.read())
        cpu = usage.ru_utime + usage.ru_stime
        return Sample(wall, cpu, usage.ru_maxrss / 1024, rows)  # ru_maxrss: KiB on Linux
    finally:
        shutil.rmtree(out, ignore_errors=True)


def rows_written(step: Step, out: Path, stdout: str) -> int | None:
    """Targets rows the step wrote: the floor's report, or the run's manifest."""
    if step.kind == "run":
        manifest = json.loads((out / "labelprep-out" / "manifest.json").read_text())
        return int(manifest["rows"]["accepted"])
    if step.kind in ("copy", "help"):
        return None
    return int(json.loads(stdout.strip().splitlines()[-1])["rows"])


def ensure_input(workdir: Path, k: int, rows: int, seed: int) -> tuple[Path, dict[str, int]]:
    """The cached input of the case (generated by ``bench_data.py`` in a child process,
    so that this process stays small: see :func:`main` on ``ru_maxrss``)."""
    argv = [sys.executable, str(HERE / "bench_data.py"), "--rows", str(rows)]
    argv += ["--classes", str(k), "--seed", str(seed), "--workdir", str(workdir)]
    done = subprocess.run(argv, check=True, stdout=subprocess.PIPE, text=True)
    path = Path(done.stdout.strip().splitlines()[-1])
    return path, json.loads(path.with_suffix(".json").read_text())


def warm(path: Path) -> None:
    """Read the file once so that no step pays for a cold page cache."""
    with path.open("rb") as f:
        while f.read(1 << 24):
            pass


def measure(case: Case, src: Path, workdir: Path, env: dict[str, str]) -> None:
    warm(src)
    case.load.append(os.getloadavg())
    for r in range(1, case.rounds + 1):
        for step in case.steps:
            if step in case.errors:
                continue
            sample = run_once(step, src, workdir, env)
            if isinstance(sample, str):
                case.errors[step] = sample
                log(f"  round {r}: {step.label} FAILED: {sample.splitlines()[0]}")
                continue
            case.samples.setdefault(step, []).append(sample)
            log(
                f"  round {r}: {step.label}: {sample.wall:.2f} s, CPU {sample.cpu:.2f} s, "
                f"{sample.peak_mib:.0f} MiB"
            )
    case.load.append(os.getloadavg())


# -- reporting -------------------------------------------------------------------------


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def spread(values: Sequence[float], fmt: str = ".2f") -> str:
    return f"{median(values):{fmt}} ({min(values):{fmt}}-{max(values):{fmt}})"


def paired_ratio(case: Case, step: Step, base: Step | None) -> str:
    """Ratio of median walls, and the range of the per-round ratios (rounds are paired)."""
    if base is None or step not in case.samples or base not in case.samples:
        return ""
    a, b = case.samples[step], case.samples[base]
    per_round = [x.wall / y.wall for x, y in zip(a, b, strict=False)]
    ratio = median([x.wall for x in a]) / median([y.wall for y in b])
    return f"{ratio:.2f} ({min(per_round):.2f}-{max(per_round):.2f})"


def find(case: Case, kind: str, codec: str) -> Step | None:
    return next((s for s in case.steps if s.kind == kind and s.codec == codec), None)


def case_table(case: Case) -> str:
    header = ["step", "wall s", "CPU s", "peak RSS MiB", "/ same-codec copy", "/ floor + counting"]
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    for step in case.steps:
        if step in case.errors:
            lines.append(f"| {step.label} | failed | | | | |")
            continue
        s = case.samples[step]
        copy, floor = find(case, "copy", step.codec), find(case, "floor-count", step.codec)
        if step.kind == "help":
            copy = floor = None
        cells = [
            step.label,
            spread([x.wall for x in s]),
            spread([x.cpu for x in s]),
            spread([x.peak_mib for x in s], ".0f"),
            paired_ratio(case, step, copy),
            paired_ratio(case, step, floor),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def verdicts(case: Case) -> list[str]:
    """labelprep run against the targets, per codec."""
    lines = []
    for run in (s for s in case.steps if s.kind == "run" and s in case.samples):
        for kind, target in SPEED_TARGETS.items():
            base = find(case, kind, run.codec)
            if base is None or base not in case.samples:
                continue
            wall = median([x.wall for x in case.samples[run]])
            ratio = wall / median([x.wall for x in case.samples[base]])
            met = "met" if ratio <= target else "NOT met"
            lines.append(
                f"- {run.label} / {LABELS[kind]} ({run.codec}): **{ratio:.2f}** "
                f"(target <= {target}: {met})"
            )
    return lines


def row_check(case: Case) -> list[str]:
    """The floor must write exactly the rows the run accepts."""
    bad = case.expected.get("negative", 0) + case.expected.get("bad_sum", 0)
    lines = [
        f"- input: {case.rows:,} rows, {case.expected.get('partial', 0):,} partial, {bad:,} bad"
    ]
    written = {s.label: s_[-1].rows for s, s_ in case.samples.items() if s_[-1].rows is not None}
    if len(set(written.values())) > 1:
        lines.append(f"- WARNING: the steps wrote different row counts: {written}")
    elif written:
        lines.append(f"- every targets writer wrote {next(iter(written.values())):,} rows")
    return lines


def report_case(case: Case) -> str:
    first, last = case.load[0], case.load[-1]
    head = (
        f"### K = {case.k}, {case.rows:,} rows ({case.input_mib:.0f} MiB input, "
        f"{case.rounds} rounds; load average {first[0]:.2f} before, {last[0]:.2f} after)"
    )
    parts = [head, "", case_table(case), "", *verdicts(case), *row_check(case)]
    for step, error in case.errors.items():
        parts += [f"- {step.label} FAILED:", "", "```", error.strip(), "```"]
    return "\n".join(parts)


def memory_table(cases: Sequence[Case]) -> str:
    """Peak RSS of the run and of the copy by rows, at each K measured at several sizes."""
    lines = []
    for k in sorted({c.k for c in cases}):
        same_k = sorted((c for c in cases if c.k == k), key=lambda c: c.rows)
        if len(same_k) < 2:
            continue
        lines += [f"K = {k}:", "", "| rows | run peak RSS MiB | copy peak RSS MiB | run / copy |"]
        lines.append("|---:|---:|---:|---:|")
        for c in same_k:
            run, copy = find(c, "run", "snappy"), find(c, "copy", "snappy")
            r = median([x.peak_mib for x in c.samples.get(run, [])]) if run else float("nan")
            p = median([x.peak_mib for x in c.samples.get(copy, [])]) if copy else float("nan")
            met = "" if r / p <= MEMORY_TARGET else " (target <= 2: NOT met)"
            lines.append(f"| {c.rows:,} | {r:.0f} | {p:.0f} | {r / p:.2f}{met} |")
        lines += ["", flatness(same_k[0], same_k[-1]), ""]
    return "\n".join(lines)


def flatness(small: Case, large: Case) -> str:
    """The run's peak RSS at the most rows over that at the fewest (flat: <= FLAT_TARGET)."""
    peaks = []
    for case in (small, large):
        run = find(case, "run", "snappy")
        peaks.append(median([x.peak_mib for x in case.samples.get(run, [])]) if run else 0.0)
    growth = peaks[1] / peaks[0] if peaks[0] else float("nan")
    met = "met" if growth <= FLAT_TARGET else "NOT met"
    return (
        f"- labelprep run peak RSS, {large.rows:,} rows / {small.rows:,} rows: **{growth:.2f}** "
        f"(flat: target <= {FLAT_TARGET}: {met})"
    )


def environment(env: dict[str, str]) -> str:
    code = (
        "import json, os, platform, importlib.util, numpy, polars, labelprep;"
        "print(json.dumps([platform.python_version(), polars.__version__,"
        " polars.thread_pool_size(), numpy.__version__, labelprep.__version__,"
        " os.path.dirname(labelprep.__file__), importlib.util.find_spec('pandas') is not None]))"
    )
    with tempfile.TemporaryDirectory() as cwd:  # not the repository: PYTHONPATH decides
        done = subprocess.run(
            [sys.executable, "-c", code],
            check=False,
            env=env,
            capture_output=True,
            text=True,
            cwd=cwd,
        )
    if done.returncode != 0:
        return f"(versions unknown: {done.stderr.strip().splitlines()[-1]})"
    py, pl, threads, np, lp, where, pandas = json.loads(done.stdout)
    pandas_note = (
        "pandas installed (Pandera imports it: not a core install)"
        if pandas
        else "no pandas (a core install)"
    )
    return (
        f"Python {py}, polars {pl} ({threads} threads), numpy {np}, labelprep {lp} "
        f"({where}); {pandas_note}; {os.cpu_count()} CPUs"
    )


# -- command line ----------------------------------------------------------------------


def parse_count(text: str) -> int:
    text = text.strip().replace("_", "")
    scale = SUFFIXES.get(text[-1:], 1)
    return int(float(text[:-1] if scale > 1 else text) * scale)


def parse_cases(text: str) -> list[tuple[int, int, int | None]]:
    """``"10:10M:5,1000:300k"`` -> ``[(10, 10_000_000, 5), (1000, 300_000, None)]``."""
    fields = [part.split(":") for part in text.split(",") if part.strip()]
    return [(int(f[0]), parse_count(f[1]), int(f[2]) if len(f) > 2 else None) for f in fields]


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=None, help=f"K:ROWS,... (default {DEFAULT_CASES})")
    parser.add_argument("--quick", action="store_true", help=f"regression guard: {QUICK_CASES}")
    parser.add_argument(
        "--rounds", type=int, default=None, help="rounds of a case that names none (3; quick 5)"
    )
    parser.add_argument("--codecs", default="snappy,zstd", help="codecs at K <= 100")
    parser.add_argument("--steps", default=",".join(LABELS), help=f"subset of {','.join(LABELS)}")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR, help="input cache")
    parser.add_argument("--labelprep", type=Path, default=REPO_ROOT, help="checkout to run")
    parser.add_argument("--json", type=Path, default=None, help="also write every sample here")
    args = parser.parse_args(argv)
    args.cases = parse_cases(args.cases or (QUICK_CASES if args.quick else DEFAULT_CASES))
    args.rounds = args.rounds or (5 if args.quick else 3)
    args.steps = [s for s in LABELS if s in args.steps.split(",")]
    args.cases = [(k, n, r or args.rounds) for k, n, r in args.cases]
    if not args.steps or any(k < 2 or n < 1 or r < 1 for k, n, r in args.cases):
        parser.error("need known --steps, and cases with K >= 2, rows >= 1, rounds >= 1")
    return args


def steps_for(k: int, kinds: Sequence[str], codecs: Sequence[str]) -> list[Step]:
    """Every step in every codec at small K; snappy only (the memory table) at K > 100.
    The plain floor and ``--help`` run in the first codec only (the targets compare
    with the floor with counting; ``--help`` writes nothing)."""
    if k > 100:
        codecs, kinds = ["snappy"], [kind for kind in kinds if kind != "help"]
    return [
        Step(kind, codec)
        for codec in codecs
        for kind in kinds
        if codec == codecs[0] or kind not in ("floor", "help")
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the cases. This process imports only the standard library and holds no data:
    a child's ``ru_maxrss`` starts from its parent's high-water mark (``vfork`` + ``exec``
    keep it), so a large parent would inflate every peak RSS reported."""
    args = parse_args(list(sys.argv[1:] if argv is None else argv))
    args.workdir.mkdir(parents=True, exist_ok=True)
    env = child_env(args.labelprep.resolve(), args.workdir.resolve())
    compile_sources(args.labelprep.resolve(), env)
    codecs = [c.strip() for c in args.codecs.split(",") if c.strip()]
    print(f"{environment(env)}\n", flush=True)
    cases = []
    for k, rows, rounds in args.cases:
        src, expected = ensure_input(args.workdir, k, rows, args.seed)
        case = Case(k, rows, rounds, steps_for(k, args.steps, codecs), expected=expected)
        case.input_mib = src.stat().st_size / 2**20
        log(f"K = {k}, {rows:,} rows: {len(case.steps)} steps x {rounds} rounds")
        measure(case, src, args.workdir, env)
        cases.append(case)
        print(report_case(case) + "\n", flush=True)  # a stopped run keeps the cases done
    print(memory_table(cases))
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"This process peaked at {own:.0f} MiB (a lower bound of every peak RSS above).")
    if args.json is not None:
        args.json.write_text(json.dumps(dump(cases), indent=1))
    return 1 if any(c.errors for c in cases) else 0


def dump(cases: Sequence[Case]) -> list[dict[str, Any]]:
    return [
        {
            "k": c.k,
            "rows": c.rows,
            "load": c.load,
            "samples": {s.label: [vars(x) for x in xs] for s, xs in c.samples.items()},
            "errors": {s.label: e for s, e in c.errors.items()},
        }
        for c in cases
    ]


if __name__ == "__main__":
    sys.exit(main())
