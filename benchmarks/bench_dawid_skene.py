"""Whole-process time of ``labelprep aggregate --method dawid-skene`` on generated sparse votes.

Not a test. Writes a long vote file (default: 1M items x 5 votes, 1000 annotators, K = 5,
annotators right with probability 0.5 to 0.95, else a uniformly drawn wrong class) and runs
the command under ``/usr/bin/time -v``, reporting wall time, CPU seconds (user + system,
all threads: the steadier figure on a shared machine), peak memory and accuracy against
the generating truth. With ``--crowd-kit-python PY`` (an interpreter where
crowd-kit is installed; never a project dependency) it runs crowd-kit's ``DawidSkene`` on
the same votes as a whole process too. Usage::

    python benchmarks/bench_dawid_skene.py --workdir /tmp/ds-bench [--crowd-kit-python PY]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl

CROWD_KIT_SCRIPT = """
import sys, pandas as pd
from crowdkit.aggregation import DawidSkene
df = pd.read_parquet(sys.argv[1]).rename(columns={"id": "task", "annotator": "worker"})
DawidSkene(n_iter=100).fit_predict(df).rename("label").reset_index().to_parquet(sys.argv[2])
"""


def generate(path: Path, n_items: int, per_item: int, n_annotators: int, k: int) -> Path:
    """Votes (``id``, ``annotator``, ``label``) and the truth next to them (``truth.parquet``)."""
    rng = np.random.default_rng(0)
    truth = rng.integers(0, k, n_items)
    skill = rng.uniform(0.5, 0.95, n_annotators)
    item = np.repeat(np.arange(n_items), per_item)
    annotator = rng.integers(0, n_annotators, item.size)
    right = rng.random(item.size) < skill[annotator]
    wrong = (truth[item] + rng.integers(1, k, item.size)) % k
    label = np.where(right, truth[item], wrong)
    pl.DataFrame({"id": item, "annotator": annotator, "label": label}).write_parquet(path)
    pl.DataFrame({"id": np.arange(n_items), "truth": truth}).write_parquet(
        path.with_name("truth.parquet")
    )
    return path


def timed(command: list[str]) -> tuple[float, float, float]:
    """Run ``command`` under ``/usr/bin/time -v``: (wall seconds, CPU seconds (user +
    system, all threads), peak RSS MiB)."""
    done = subprocess.run(
        ["/usr/bin/time", "-v", *command], capture_output=True, text=True, check=True
    )
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", done.stderr)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    cpu = re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", done.stderr)
    if wall is None or rss is None or len(cpu) != 2:
        raise SystemExit(done.stderr)
    hours, minutes, seconds = (float(g) if g else 0.0 for g in wall.groups())
    elapsed = hours * 3600 + minutes * 60 + seconds
    return elapsed, sum(map(float, cpu)), int(rss.group(1)) / 1024


def accuracy(predicted: pl.DataFrame, truth: pl.DataFrame, column: str) -> float:
    joined = truth.join(predicted.select("id", column), on="id")
    return float((joined["truth"] == joined[column]).mean())  # type: ignore[arg-type]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--votes-per-item", type=int, default=5)
    parser.add_argument("--annotators", type=int, default=1000)
    parser.add_argument("--classes", type=int, default=5)
    parser.add_argument("--crowd-kit-python", default=None)
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    votes = generate(
        args.workdir / "votes.parquet",
        args.items,
        args.votes_per_item,
        args.annotators,
        args.classes,
    )
    truth = pl.read_parquet(args.workdir / "truth.parquet")
    out = args.workdir / "out"
    command = [sys.executable, "-m", "labelprep", "aggregate", str(votes), "-o", str(out)]
    print("| run | wall | CPU (user + sys) | peak RSS | accuracy |")
    print("|---|---|---|---|---|")
    wall, cpu, rss = timed(
        [
            *command,
            "--method",
            "dawid-skene",
            "--no-config",
            "--classes",
            ",".join(map(str, range(args.classes))),
        ]
    )
    targets = pl.read_parquet(out / "targets.parquet").select(
        pl.col("id").cast(pl.Int64), pl.col("hard_index").alias("label")
    )
    print(
        f"| labelprep dawid-skene | {wall:.1f} s | {cpu:.1f} s | {rss:.0f} MiB | "
        f"{accuracy(targets, truth, 'label'):.4f} |"
    )
    if args.crowd_kit_python:
        script = args.workdir / "crowd_kit_ds.py"
        script.write_text(CROWD_KIT_SCRIPT)
        result = args.workdir / "crowd_kit.parquet"
        wall, cpu, rss = timed([args.crowd_kit_python, str(script), str(votes), str(result)])
        predicted = pl.read_parquet(result).rename({"task": "id"})
        print(
            f"| crowd-kit DawidSkene | {wall:.1f} s | {cpu:.1f} s | {rss:.0f} MiB | "
            f"{accuracy(predicted, truth, 'label'):.4f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
