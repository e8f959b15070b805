"""`--partial prior` on real candidate-set benchmarks: argmax of the target against gold.

Reads ``../shared/data/partial/{lost,fg_net,italian}.parquet`` (``id``, ``candidates`` as
0-based class indices, ``gold``; ``n_classes`` in the file metadata), runs labelprep with
``partial="uniform"`` and ``partial="prior"`` on each, and prints, per data set, the share
of rows whose target's argmax is the gold class: with labelprep's tie rule (the first
class in vocabulary order, as ``hard_index``) and in expectation under uniform random
tie-breaking (a row whose top value is shared by t classes counts 1/t if gold is one of
them). For reference it also scores two other estimates of the prior from the candidate
sets: the naive fixed point (pi_k proportional to sum_n mask_nk pi_k / sum_j mask_nj pi_j)
and EM under class-dependent distractor rates (posterior proportional to pi_k / d_k).

    python benchmarks/eval_partial_prior.py [DATA_DIR]
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow.parquet as pq

import labelprep

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "partial"
SETS = ("lost", "fg_net", "italian")
Array = npt.NDArray[np.float64]


def load(path: Path) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.int64], int]:
    """(candidate mask (N, K), gold (N,), K), rows in file order."""
    k = int(pq.read_schema(path).metadata[b"n_classes"])
    frame = pl.read_parquet(path).with_row_index("r")
    pairs = frame.explode("candidates")
    mask = np.zeros((frame.height, k), dtype=bool)
    mask[pairs["r"].to_numpy(), pairs["candidates"].to_numpy()] = True
    return mask, frame["gold"].to_numpy().astype(np.int64), k


def accuracy(targets: Array, gold: npt.NDArray[np.int64]) -> tuple[float, float]:
    """(argmax with ties to the first class, expected under uniform tie-breaking)."""
    rows = np.arange(len(gold))
    first = float(np.mean(targets.argmax(axis=1) == gold))
    top = np.isclose(targets, targets.max(axis=1, keepdims=True), rtol=1e-6, atol=0)
    expected = float(np.mean(top[rows, gold] / top.sum(axis=1)))
    return first, expected


def spread(weights: Array, mask: npt.NDArray[np.bool_]) -> Array:
    mass = mask * weights
    result: Array = mass / mass.sum(axis=1, keepdims=True)
    return result


def naive_fixed_point(mask: npt.NDArray[np.bool_], iterations: int = 200) -> Array:
    weights = np.full(mask.shape[1], 1.0 / mask.shape[1])
    for _ in range(iterations):
        weights = spread(weights, mask).mean(axis=0)
    return weights


def distractor_em(mask: npt.NDArray[np.bool_], iterations: int = 200) -> Array:
    """Each wrong class j joins the set independently with rate d_j: the posterior of
    class k over a set is proportional to pi_k / d_k; returns those weights."""
    n, k = mask.shape
    counts = mask.sum(axis=0)
    prior = np.full(k, 1.0 / k)
    rate = np.clip((counts - n / k) / (n - n / k), 1e-9, 1.0)
    for _ in range(iterations):
        mass = spread(prior / rate, mask).sum(axis=0)
        prior = mass / n
        rate = np.clip((counts - mass) / np.maximum(n - mass, 1e-12), 1e-9, 1.0)
    result: Array = prior / rate
    return result


def labelprep_run(
    path: Path, k: int, partial: str, out: Path
) -> tuple[Array, npt.NDArray[np.int64], dict[str, str]]:
    """Targets and gold of a labelprep run (gold carried with ``keep``), and its prior."""
    result = labelprep.run(
        [path],
        output_dir=out,
        config=False,
        classes=[str(i) for i in range(k)],
        partial=partial,
        keep=["gold"],
    )
    frame = pl.read_parquet(out / "targets.parquet")
    targets = np.asarray(frame["soft_target"].to_list(), dtype=np.float64)
    gold = frame["gold"].to_numpy().astype(np.int64)
    manifest = json.loads((out / "manifest.json").read_text())
    info = manifest["summary"].get("partial_prior", {})
    notice = next((n for n in result.notices if n.startswith("partial=prior")), "")
    return targets, gold, {"source": str(info.get("source", "-")), "notice": notice}


def evaluate(name: str, folder: Path, work: Path) -> list[str]:
    path = folder / f"{name}.parquet"
    mask, gold, k = load(path)
    scores = {
        "uniform": accuracy(spread(np.ones(k), mask), gold),
        "naive fixed point": accuracy(spread(naive_fixed_point(mask), mask), gold),
        "distractor rates": accuracy(spread(distractor_em(mask), mask), gold),
    }
    rows = []
    for partial in ("uniform", "prior"):
        targets, kept_gold, info = labelprep_run(path, k, partial, work / f"{name}-{partial}")
        label = f"labelprep --partial {partial}"
        if partial == "prior":
            label += f" ({info['source']})"
            print(f"{name}: {info['notice']}", file=sys.stderr)
        scores[label] = accuracy(targets, kept_gold)
    for method, (first, expected) in scores.items():
        rows.append(f"| {name} | {method} | {first:.3f} | {expected:.3f} |")
    return rows


def main() -> None:
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else DATA
    if not folder.is_dir():
        print(f"{folder}: no partial-label data here; nothing to evaluate.", file=sys.stderr)
        sys.exit(1)
    print("| data | prior | argmax = gold (ties to first class) | expected (random ties) |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as work:
        for name in SETS:
            if (folder / f"{name}.parquet").is_file():
                for row in evaluate(name, folder, Path(work)):
                    print(row)


if __name__ == "__main__":
    main()
