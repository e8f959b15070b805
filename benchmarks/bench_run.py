"""Benchmark ``labelprep run`` against a plain Polars copy and a pandas/numpy version.

Not a test. Usage, from the repository root::

    python benchmarks/bench_run.py                       # 10M x 10 classes; 10M and 30M
    python benchmarks/bench_run.py --rows 1000000 --sizes 1000000,3000000 --repeat 1

Options: ``--rows N`` and ``--classes K`` (main table), ``--sizes N1,N2,...`` (the
memory table, labelprep only), ``--repeat R`` (best wall time of R runs), ``--seed``,
``--steps floor,labelprep,labelprep-zstd,pandas`` and ``--workdir DIR`` (generated inputs are cached
there, keyed by rows, classes and seed: about 30 bytes per row, 280 MiB at 10M x 10).

The input is a Parquet file with ``id`` (Int64) and one Float32 column per class
(``c0`` .. ``c{K-1}``): Dirichlet soft labels with exact zeros that sum to 1; about 5%
partial rows (class columns null, ``excluded`` lists 1..K-1 class names); about 0.1% bad
rows (a negated probability, or 0.1 added to one) that must be rejected.

Each measurement runs in a fresh subprocess, which reports its wall time (imports
excluded) and its peak RSS (``VmHWM``, imports included):

floor
    ``pl.scan_parquet(input).sink_parquet(output)``: Polars reading and rewriting the file.
labelprep run
    ``labelprep.run([input], output_dir=..., config=False)``: the whole pipeline, writing
    Snappy-compressed Parquet (the default).
labelprep run --compression zstd
    the same, writing zstd like the floor does.
pandas+numpy
    the same core work in pandas/numpy: read, reject negative / above-one / bad-sum rows,
    normalize, masks ``p > 0``, partial rows uniform over the classes not excluded,
    argmax, per-class sums, and write targets (fixed-size list columns) and rejects.

Prints two Markdown tables: every step at ``--rows``, and labelprep at each ``--sizes``
to show that peak memory stays flat as the input grows. Needs pandas (benchmark only).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

REPO_ROOT = Path(__file__).resolve().parent.parent
CHILD_FLAG = "--child"
DEFAULT_WORKDIR = Path(tempfile.gettempdir()) / "labelprep-bench"
CHUNK_ROWS = 1_000_000
PARTIAL_RATE = 0.05
BAD_RATE = 0.001
ZERO_BELOW = 0.02  # Dirichlet draws below this become exact zeros
TOLERANCE = 1e-3  # labelprep's default sum tolerance, used by the pandas version
KIB_PER_MIB = 1024
REJECT_REASONS = (  # the checks of the pandas version, in labelprep's order
    "negative_probability",
    "probability_above_one",
    "unknown_class",
    "bad_sum",
    "no_evidence",
    "all_excluded",
)

Info = dict[str, Any]


# -- input generation --------------------------------------------------------------------


def class_names(k: int) -> list[str]:
    """``c0`` .. ``c{k-1}``."""
    return [f"c{i}" for i in range(k)]


def soft_labels(rng: np.random.Generator, n: int, k: int) -> npt.NDArray[np.float32]:
    """Imbalanced Dirichlet rows with exact zeros, summing to 1 within 1e-6 (in float64)."""
    probs = rng.dirichlet(np.geomspace(1.0, 0.1, k), size=n)
    probs[probs < ZERO_BELOW] = 0.0
    probs /= probs.sum(axis=1, keepdims=True)
    out = probs.astype(np.float32)
    rows = np.arange(n)
    top = out.argmax(axis=1)
    rest = out.astype(np.float64).sum(axis=1) - out[rows, top]
    out[rows, top] = (1.0 - rest).astype(np.float32)  # float32 rounding goes to the top class
    return out


def spoil_rows(
    rng: np.random.Generator, probs: npt.NDArray[np.float32], bad: npt.NDArray[np.bool_]
) -> int:
    """Make the ``bad`` rows invalid: negate the top value, or add 0.1 to the smallest.

    Returns how many rows got a negative value (the others have a bad sum).
    """
    rows = np.flatnonzero(bad)
    negative = rng.random(rows.size) < 0.5
    neg_rows, sum_rows = rows[negative], rows[~negative]
    top = probs[neg_rows].argmax(axis=1)
    probs[neg_rows, top] = -probs[neg_rows, top]
    low = probs[sum_rows].argmin(axis=1)
    probs[sum_rows, low] += np.float32(0.1)
    return int(neg_rows.size)


def excluded_lists(
    rng: np.random.Generator, partial: npt.NDArray[np.bool_], classes: Sequence[str]
) -> Any:
    """A ``list<string>`` array: 1..K-1 distinct class names on partial rows, else null."""
    import pyarrow as pa

    k = len(classes)
    m = int(partial.sum())
    counts = rng.integers(1, k, size=m)
    order = np.argsort(rng.random((m, k)), axis=1)
    picked = order[np.arange(k) < counts[:, None]]  # row-major: each row's picks in turn
    lengths = np.zeros(partial.size, dtype=np.int32)
    lengths[partial] = counts
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    values = pa.array(np.asarray(classes)[picked].tolist(), type=pa.string())
    return pa.ListArray.from_arrays(pa.array(offsets), values, mask=pa.array(~partial))


def make_chunk(seed: int, index: int, start: int, n: int, k: int) -> tuple[Any, Info]:
    """Rows ``start .. start+n`` as an Arrow table, and what was put in them."""
    import pyarrow as pa

    rng = np.random.default_rng([seed, index])
    classes = class_names(k)
    probs = soft_labels(rng, n, k)
    partial = rng.random(n) < PARTIAL_RATE
    bad = ~partial & (rng.random(n) < BAD_RATE)
    negative = spoil_rows(rng, probs, bad)
    columns: dict[str, Any] = {"id": pa.array(np.arange(start, start + n, dtype=np.int64))}
    for i, name in enumerate(classes):
        columns[name] = pa.array(probs[:, i], mask=partial)
    columns["excluded"] = excluded_lists(rng, partial, classes)
    counts = {
        "partial": int(partial.sum()),
        "negative": negative,
        "bad_sum": int(bad.sum()) - negative,
    }
    return pa.table(columns), counts


def dataset_path(workdir: Path, rows: int, k: int, seed: int) -> Path:
    return workdir / f"soft_{rows}x{k}_seed{seed}.parquet"


def ensure_dataset(workdir: Path, rows: int, k: int, seed: int) -> tuple[Path, Info]:
    """The cached input file for (rows, k, seed), generated in chunks when missing."""
    path = dataset_path(workdir, rows, k, seed)
    sidecar = path.with_suffix(".json")
    if path.exists() and sidecar.exists():
        return path, json.loads(sidecar.read_text())
    import pyarrow.parquet as pq

    log(f"generating {rows:,} rows x {k} classes -> {path}")
    started = time.perf_counter()
    workdir.mkdir(parents=True, exist_ok=True)
    partial_path = path.with_suffix(".parquet.tmp")
    totals = {"rows": rows, "partial": 0, "negative": 0, "bad_sum": 0}
    writer = None
    try:
        for index, start in enumerate(range(0, rows, CHUNK_ROWS)):
            table, counts = make_chunk(seed, index, start, min(CHUNK_ROWS, rows - start), k)
            if writer is None:
                writer = pq.ParquetWriter(partial_path, table.schema, compression="zstd")
            writer.write_table(table)
            for key, value in counts.items():
                totals[key] += value
    finally:
        if writer is not None:
            writer.close()
    partial_path.replace(path)
    sidecar.write_text(json.dumps(totals))
    log(f"  done in {time.perf_counter() - started:.1f} s ({mib(path.stat().st_size):.0f} MiB)")
    return path, totals


# -- the measured steps (run inside the child process) -------------------------------------


def step_floor(src: Path, out: Path) -> Info:
    import polars as pl

    pl.scan_parquet(src).sink_parquet(out / "copy.parquet")
    return {}


def step_labelprep(src: Path, out: Path, **options: Any) -> Info:
    import labelprep

    result = labelprep.run([src], output_dir=out / "labelprep-out", config=False, **options)
    return {"accepted": result.rows_accepted, "rejected": result.rows_rejected}


def step_labelprep_zstd(src: Path, out: Path) -> Info:
    return step_labelprep(src, out, compression="zstd")


def step_pandas(src: Path, out: Path) -> Info:
    """The core of ``run`` written directly in pandas and numpy."""
    import pandas as pd

    frame = pd.read_parquet(src)
    classes = [c for c in frame.columns if c not in ("id", "excluded")]
    probs = frame[classes].to_numpy(dtype=np.float64)  # NaN on partial rows
    has_p = ~np.isnan(probs).any(axis=1)
    partial = frame["excluded"].notna().to_numpy() & ~has_p
    ruled_out, unknown = excluded_matrix(frame["excluded"], partial, classes)
    reason = reject_codes(probs, has_p, partial, ruled_out, unknown)
    soft, mask = normalize(probs, partial, ruled_out)
    ok = reason == 0
    soft, mask, hard = soft[ok], mask[ok], soft[ok].argmax(axis=1)
    # per-class soft mass, support and hard count, as labelprep's class_stats
    _stats = (soft.sum(axis=0), mask.sum(axis=0), np.bincount(hard, minlength=len(classes)))
    targets = pd.DataFrame(
        {
            "id": frame["id"].to_numpy()[ok],
            "soft_target": fixed_size_list(soft.astype(np.float32)),
            "mask": fixed_size_list(mask.astype(np.uint8)),
            "evidence": pd.Categorical.from_codes(
                partial[ok].astype(np.int8), ["probs", "excluded"]
            ),
            "hard_label": pd.Categorical.from_codes(hard, classes),
        }
    )
    targets.to_parquet(out / "targets.parquet", index=False, compression="zstd")
    rejects = pd.DataFrame(
        {
            "id": frame["id"].to_numpy()[~ok],
            "reason": pd.Categorical.from_codes(reason[~ok] - 1, REJECT_REASONS),
        }
    )
    rejects.to_parquet(out / "rejects.parquet", index=False, compression="zstd")
    return {"accepted": int(ok.sum()), "rejected": int((~ok).sum())}


def excluded_matrix(
    column: Any, partial: npt.NDArray[np.bool_], classes: Sequence[str]
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """(partial rows x K) "class is excluded", and "row names an unknown class"."""
    import pandas as pd

    exploded = column[partial].reset_index(drop=True).explode()
    codes = pd.Categorical(exploded, categories=classes).codes
    row = exploded.index.to_numpy()
    known = codes >= 0
    ruled_out = np.zeros((int(partial.sum()), len(classes)), dtype=bool)
    ruled_out[row[known], codes[known]] = True
    unknown = np.zeros(partial.size, dtype=bool)
    unknown[np.flatnonzero(partial)[np.unique(row[~known & exploded.notna().to_numpy()])]] = True
    return ruled_out, unknown


def reject_codes(
    probs: npt.NDArray[np.float64],
    has_p: npt.NDArray[np.bool_],
    partial: npt.NDArray[np.bool_],
    ruled_out: npt.NDArray[np.bool_],
    unknown: npt.NDArray[np.bool_],
) -> npt.NDArray[np.int8]:
    """0 for an accepted row, else 1 + the index of the first reason in REJECT_REASONS."""
    all_excluded = np.zeros(has_p.size, dtype=bool)
    all_excluded[partial] = ruled_out.all(axis=1)
    with np.errstate(invalid="ignore"):
        checks = [
            has_p & (probs < 0).any(axis=1),
            has_p & (probs > 1).any(axis=1),
            unknown,
            has_p & (np.abs(probs.sum(axis=1) - 1.0) > TOLERANCE),
            ~has_p & ~partial,
            all_excluded,
        ]
    reason = np.zeros(has_p.size, dtype=np.int8)
    for code, failed in reversed(list(enumerate(checks, start=1))):
        reason[failed] = code
    return reason


def normalize(
    probs: npt.NDArray[np.float64],
    partial: npt.NDArray[np.bool_],
    ruled_out: npt.NDArray[np.bool_],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """Soft targets p / sum(p) with mask p > 0; partial rows uniform outside the excluded set."""
    with np.errstate(invalid="ignore", divide="ignore"):
        soft = probs / probs.sum(axis=1, keepdims=True)
        mask = probs > 0
        possible = ~ruled_out
        soft[partial] = possible / possible.sum(axis=1, keepdims=True)
    mask[partial] = possible
    return soft, mask


def fixed_size_list(values: npt.NDArray[Any]) -> Any:
    """A pandas column of fixed-size lists over a (rows x K) array, without copying rows."""
    import pandas as pd
    import pyarrow as pa

    flat = pa.array(values.reshape(-1))
    return pd.arrays.ArrowExtensionArray(pa.FixedSizeListArray.from_arrays(flat, values.shape[1]))


@dataclass(frozen=True)
class Step:
    name: str
    label: str
    imports: tuple[str, ...]
    run: Callable[[Path, Path], Info]


STEPS: dict[str, Step] = {
    s.name: s
    for s in (
        Step("floor", "floor (polars scan -> sink)", ("polars",), step_floor),
        Step("labelprep", "labelprep run", ("polars", "labelprep"), step_labelprep),
        Step(
            "labelprep-zstd",
            "labelprep run --compression zstd",
            ("polars", "labelprep"),
            step_labelprep_zstd,
        ),
        Step("pandas", "pandas+numpy", ("pandas", "pyarrow.parquet"), step_pandas),
    )
}


def peak_rss_kib() -> int:
    """Peak resident set size of this process, in KiB.

    ``VmHWM`` from ``/proc/self/status`` where available: ``ru_maxrss`` also keeps the
    high-water mark of the parent that spawned the process (the kernel carries it
    across ``vfork`` + ``exec``), so it would report the generator's memory.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    scale = 1024 if sys.platform == "darwin" else 1  # bytes on macOS, KiB elsewhere
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // scale


def child_main(argv: Sequence[str]) -> int:
    """Run one step and print one JSON line: wall seconds and peak RSS (KiB)."""
    name, src, out = argv
    step = STEPS[name]
    for module in step.imports:
        importlib.import_module(module)
    baseline = peak_rss_kib()
    started = time.perf_counter()
    info = step.run(Path(src), Path(out))
    wall = time.perf_counter() - started
    print(json.dumps({"wall": wall, "peak_kib": peak_rss_kib(), "baseline_kib": baseline, **info}))
    return 0


# -- measuring (parent process) ----------------------------------------------------------


@dataclass(frozen=True)
class Measurement:
    step: Step
    rows: int
    walls: tuple[float, ...]
    peak_mib: float
    baseline_mib: float
    info: Info
    error: str | None = None

    @property
    def wall(self) -> float:
        return min(self.walls) if self.walls else float("nan")


def child_env() -> dict[str, str]:
    """The environment of a child: this checkout first on ``PYTHONPATH``."""
    env = dict(os.environ)
    paths = [str(REPO_ROOT), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


def run_child(step: Step, src: Path, workdir: Path) -> tuple[Info | None, str]:
    """One fresh-process run of ``step``: its JSON report, or None and the child's stderr."""
    out = Path(tempfile.mkdtemp(prefix=f"out-{step.name}-", dir=workdir))
    try:
        proc = subprocess.run(
            [sys.executable, __file__, CHILD_FLAG, step.name, str(src), str(out)],
            capture_output=True,
            text=True,
            env=child_env(),
            check=False,
        )
    finally:
        shutil.rmtree(out, ignore_errors=True)
    if proc.returncode != 0:
        return None, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1]), proc.stderr


def measure(step: Step, src: Path, rows: int, workdir: Path, repeat: int) -> Measurement:
    """Best wall time and highest peak RSS of ``repeat`` fresh-process runs."""
    reports: list[Info] = []
    for attempt in range(1, repeat + 1):
        log(f"{step.label}: {rows:,} rows, run {attempt}/{repeat}")
        report, stderr = run_child(step, src, workdir)
        if report is None:
            log(f"  FAILED:\n{stderr}")
            return Measurement(step, rows, (), float("nan"), float("nan"), {}, stderr)
        log(f"  {report['wall']:.2f} s, {report['peak_kib'] / KIB_PER_MIB:.0f} MiB")
        reports.append(report)
    return Measurement(
        step,
        rows,
        tuple(r["wall"] for r in reports),
        max(r["peak_kib"] for r in reports) / KIB_PER_MIB,
        max(r["baseline_kib"] for r in reports) / KIB_PER_MIB,
        {k: v for k, v in reports[-1].items() if k not in ("wall", "peak_kib", "baseline_kib")},
    )


# -- output ------------------------------------------------------------------------------


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def mib(n_bytes: float) -> float:
    return n_bytes / (1024 * 1024)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---:" for _ in header) + "|"]
    lines[1] = "|---" + lines[1][5:]  # first column left-aligned
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    return "\n".join(lines)


def main_table(results: Sequence[Measurement]) -> str:
    floor = next((m.wall for m in results if m.step.name == "floor"), float("nan"))
    rows = []
    for m in results:
        if m.error is not None:
            rows.append([m.step.label, f"{m.rows:,}", "failed", "", "", ""])
            continue
        rows.append(
            [
                m.step.label,
                f"{m.rows:,}",
                f"{m.wall:.2f}",
                f"{m.rows / m.wall:,.0f}",
                f"{m.wall / floor:.2f}",
                f"{m.peak_mib:.0f}",
            ]
        )
    header = ["step", "rows", "wall s", "rows/s", "ratio to floor", "peak RSS MiB"]
    return markdown_table(header, rows)


def sizes_table(results: Sequence[Measurement]) -> str:
    rows = [
        [
            f"{m.rows:,}",
            "failed" if m.error else f"{m.wall:.2f}",
            "" if m.error else f"{m.peak_mib:.0f}",
        ]
        for m in results
    ]
    return markdown_table(["size", "labelprep wall s", "peak RSS MiB"], rows)


def notes(results: Sequence[Measurement], expected: Info) -> list[str]:
    """Row counts to cross-check, import baselines, and any failure in full."""
    bad = expected["negative"] + expected["bad_sum"]
    lines = [
        f"- input: {expected['rows']:,} rows, {expected['partial']:,} partial, {bad:,} bad "
        f"({expected['negative']:,} negative, {expected['bad_sum']:,} bad sum): "
        f"expected {expected['rows'] - bad:,} accepted, {bad:,} rejected",
    ]
    for m in results:
        if m.error is not None:
            lines.append(
                f"- {m.step.label} ({m.rows:,} rows) FAILED:\n\n```\n{m.error.strip()}\n```"
            )
            continue
        counts = ""
        if "accepted" in m.info:
            counts = f"{m.info['accepted']:,} accepted, {m.info['rejected']:,} rejected; "
        walls = ", ".join(f"{w:.2f}" for w in m.walls)
        lines.append(
            f"- {m.step.label} ({m.rows:,} rows): {counts}runs {walls} s; "
            f"RSS after imports {m.baseline_mib:.0f} MiB"
        )
    return lines


def environment() -> str:
    import polars as pl

    threads = pl.thread_pool_size()
    return (
        f"Python {platform.python_version()}, polars {pl.__version__} ({threads} threads), "
        f"numpy {np.__version__}, {os.cpu_count()} CPUs, {platform.machine()}"
    )


# -- command line ------------------------------------------------------------------------


def parse_sizes(text: str) -> list[int]:
    return [int(part.replace("_", "")) for part in text.split(",") if part.strip()]


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="rows of the main table")
    parser.add_argument("--classes", type=int, default=10, help="number of classes K")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3, help="runs per step (best wall time)")
    parser.add_argument(
        "--sizes",
        type=parse_sizes,
        default=[10_000_000, 30_000_000],
        help="comma-separated row counts for the labelprep memory table",
    )
    parser.add_argument(
        "--steps",
        type=lambda s: [x.strip() for x in s.split(",") if x.strip()],
        default=list(STEPS),
        help=f"comma-separated subset of {','.join(STEPS)}",
    )
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR, help="input cache")
    args = parser.parse_args(argv)
    unknown = set(args.steps) - set(STEPS)
    if unknown:
        parser.error(f"unknown step(s): {', '.join(sorted(unknown))}")
    if args.classes < 2 or args.rows < 1 or args.repeat < 1:
        parser.error("need --classes >= 2, --rows >= 1 and --repeat >= 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == [CHILD_FLAG]:
        return child_main(argv[1:])
    args = parse_args(argv)
    workdir: Path = args.workdir
    k: int = args.classes
    src, expected = ensure_dataset(workdir, args.rows, k, args.seed)
    size_inputs = {n: ensure_dataset(workdir, n, k, args.seed)[0] for n in args.sizes}

    results = [measure(STEPS[s], src, args.rows, workdir, args.repeat) for s in args.steps]
    labelprep_at = {m.rows: m for m in results if m.step.name == "labelprep"}
    for n, path in size_inputs.items():
        if n not in labelprep_at:
            labelprep_at[n] = measure(STEPS["labelprep"], path, n, workdir, args.repeat)

    print(f"\n{environment()}; input {mib(src.stat().st_size):.0f} MiB, K = {k}\n")
    print(main_table(results))
    print()
    print(sizes_table([labelprep_at[n] for n in args.sizes]))
    print()
    extra = [m for n, m in labelprep_at.items() if n != args.rows]
    print("\n".join(notes([*results, *extra], expected)))
    return 1 if any(m.error is not None for m in (*results, *extra)) else 0


if __name__ == "__main__":
    sys.exit(main())
