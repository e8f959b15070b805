"""Whole-process time of ``labelprep aggregate --method dawid-skene`` on generated sparse votes.

Not a test. Writes a long vote file (default: 1M items x 5 votes, 1000 annotators, K = 5,
annotators right with probability 0.5 to 0.95, else a uniformly drawn wrong class) and runs
the command under ``/usr/bin/time -v``, reporting wall time, CPU seconds (user + system,
all threads: the steadier figure on a shared machine), peak memory and accuracy against
the generating truth. With ``--crowd-kit-python PY`` (an interpreter where
crowd-kit is installed; never a project dependency) it runs crowd-kit's ``DawidSkene`` on
the same votes as a whole process too, and says on what share of items the two labels
agree. ``--rounds N`` runs the two N times, interleaved, and adds the medians (the machine
may be shared). Usage::

    python benchmarks/bench_dawid_skene.py --workdir /tmp/ds-bench [--crowd-kit-python PY]
        [--rounds 3]
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

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


def run_labelprep(args: argparse.Namespace, votes: Path, truth: pl.DataFrame) -> Row:
    out = args.workdir / "out"
    command = [sys.executable, "-m", "labelprep", "aggregate", str(votes), "-o", str(out)]
    classes = ",".join(map(str, range(args.classes)))
    wall, cpu, rss = timed(
        [*command, "--method", "dawid-skene", "--no-config", "--classes", classes]
    )
    targets = pl.read_parquet(out / "targets.parquet").select(
        pl.col("id").cast(pl.Int64), pl.col("hard_index").alias("label")
    )
    return Row("labelprep dawid-skene", wall, cpu, rss, accuracy(targets, truth, "label"), targets)


def run_crowd_kit(args: argparse.Namespace, votes: Path, truth: pl.DataFrame) -> Row:
    script = args.workdir / "crowd_kit_ds.py"
    script.write_text(CROWD_KIT_SCRIPT)
    result = args.workdir / "crowd_kit.parquet"
    wall, cpu, rss = timed([args.crowd_kit_python, str(script), str(votes), str(result)])
    predicted = pl.read_parquet(result).rename({"task": "id"}).select("id", "label")
    return Row(
        "crowd-kit DawidSkene", wall, cpu, rss, accuracy(predicted, truth, "label"), predicted
    )


class Row(NamedTuple):
    name: str
    wall: float
    cpu: float
    rss: float
    accuracy: float
    labels: pl.DataFrame

    def markdown(self, label: str) -> str:
        return (
            f"| {self.name} ({label}) | {self.wall:.1f} s | {self.cpu:.1f} s | "
            f"{self.rss:.0f} MiB | {self.accuracy:.4f} |"
        )


def middle(rows: list[Row], field: str) -> float:
    """The median of one timing field over rounds."""
    return float(statistics.median(getattr(row, field) for row in rows))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--votes-per-item", type=int, default=5)
    parser.add_argument("--annotators", type=int, default=1000)
    parser.add_argument("--classes", type=int, default=5)
    parser.add_argument("--crowd-kit-python", default=None)
    parser.add_argument("--rounds", type=int, default=1, help="interleaved runs of each")
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
    runners = [run_labelprep] + ([run_crowd_kit] if args.crowd_kit_python else [])
    rows: list[list[Row]] = [[] for _ in runners]
    print("| run | wall | CPU (user + sys) | peak RSS | accuracy |")
    print("|---|---|---|---|---|")
    for round_ in range(args.rounds):
        for runner, kept in zip(runners, rows, strict=True):
            kept.append(runner(args, votes, truth))
            print(kept[-1].markdown(f"round {round_ + 1}"), flush=True)
    for kept in rows:
        wall, cpu, rss = (middle(kept, field) for field in ("wall", "cpu", "rss"))
        median = Row(kept[0].name, wall, cpu, rss, kept[-1].accuracy, kept[-1].labels)
        print(median.markdown(f"median of {len(kept)}"))
    if len(rows) == 2:
        ours, theirs = rows[0][-1].labels, rows[1][-1].labels
        both = ours.join(theirs.rename({"label": "theirs"}), on="id")
        same = float((both["label"] == both["theirs"]).mean())  # type: ignore[arg-type]
        print(f"\nSame label as crowd-kit on {same:.4%} of {both.height} items.")
        for field in ("wall", "cpu"):
            ratio = middle(rows[1], field) / middle(rows[0], field)
            print(f"crowd-kit / labelprep, median {field}: {ratio:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
