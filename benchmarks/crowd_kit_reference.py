"""crowd-kit's accuracy on labelprep's encoded votes, for ``eval_aggregation.py``.

crowd-kit is never imported here: each model runs in the interpreter named by the caller
(one process per model and data set) on the votes saved as ``.npz``, and its result is
appended to a JSON-lines cache keyed by the votes' fingerprint, the model and the variant.

Variants:

- ``default``: crowd-kit's defaults (MACE with ``n_restarts=1``: its restarts all draw the
  same start, ``random_state=0``, so one run gives the same result);
- ``converged``: Dawid-Skene and one-coin Dawid-Skene run 300 iterations with the stopping
  rule off (``tol=-inf``), i.e. to convergence;
- ``aligned``: workers and labels renumbered in order of first appearance before the fit,
  so that crowd-kit's MACE, which indexes its strategy table by sorted codes in one place
  and by order of appearance in another, sees the two orders agree.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

SCRIPT = r"""
import json, sys, time, warnings
warnings.filterwarnings("ignore")
import numpy as np, pandas as pd
import crowdkit.aggregation as ca
path, name, params, align = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4] == "1"
z = np.load(path)
worker, label, names = z["annotator"], z["label"], None
if align:
    worker = pd.factorize(worker)[0]
    label, names = pd.factorize(label)
df = pd.DataFrame({"task": z["item"], "worker": worker, "label": label})
start = time.process_time()
model = getattr(ca, name)(**params)
predicted = model.fit_predict(df)
cpu = time.process_time() - start
codes = predicted.to_numpy().astype(np.int64)
if names is not None:
    codes = np.asarray(names)[codes]
gold = z["gold"][predicted.index.to_numpy()]
known = gold >= 0
print(json.dumps({"accuracy": float((codes[known] == gold[known]).mean()),
                  "n_iter": len(getattr(model, "loss_history_", [])),
                  "cpu_seconds": round(cpu, 3)}))
"""

CLASSES = {
    "majority": "MajorityVote",
    "dawid-skene": "DawidSkene",
    "one-coin-dawid-skene": "OneCoinDawidSkene",
    "glad": "GLAD",
    "mace": "MACE",
    "wawa": "Wawa",
    "zero-based-skill": "ZeroBasedSkill",
}
VARIANTS: dict[str, tuple[dict[str, Any], bool]] = {
    "default": ({}, False),
    "converged": ({"n_iter": 300, "tol": -1e300}, False),
    "aligned": ({}, True),
}


def fingerprint(*arrays: npt.NDArray[np.int64]) -> str:
    """A short hash of the votes and gold codes."""
    digest = hashlib.sha1()
    for arr in arrays:
        digest.update(np.ascontiguousarray(arr, dtype=np.int64).tobytes())
    return digest.hexdigest()[:16]


class CrowdKit:
    """Cached crowd-kit results; new ones computed when an interpreter is given."""

    def __init__(self, python: str | None, cache: Path) -> None:
        self.python, self.cache = python, cache
        self.known: dict[tuple[str, str, str], dict[str, Any]] = {}
        if cache.is_file():
            for line in cache.read_text().splitlines():
                row = json.loads(line)
                self.known[(row["fingerprint"], row["method"], row["variant"])] = row

    def result(
        self,
        name: str,
        votes: dict[str, npt.NDArray[np.int64]],
        method: str,
        variant: str = "default",
    ) -> dict[str, Any] | None:
        """crowd-kit's accuracy, iterations and CPU seconds (None if not available)."""
        key = (fingerprint(*votes.values()), method, variant)
        if key not in self.known and self.python is not None:
            row = self._run(votes, method, variant)
            row.update(data=name, fingerprint=key[0], method=method, variant=variant)
            self.known[key] = row
            self.cache.parent.mkdir(parents=True, exist_ok=True)
            with self.cache.open("a") as out:
                out.write(json.dumps(row) + "\n")
        return self.known.get(key)

    def _run(
        self, votes: dict[str, npt.NDArray[np.int64]], method: str, variant: str
    ) -> dict[str, Any]:
        params, align = VARIANTS[variant]
        if method == "mace":
            params = {**params, "n_restarts": 1}
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "votes.npz"
            np.savez(path, **votes)  # type: ignore[arg-type]
            command = [str(self.python), "-c", SCRIPT, str(path), CLASSES[method]]
            done = subprocess.run(
                [*command, json.dumps(params), "1" if align else "0"],
                capture_output=True,
                text=True,
                check=True,
            )
        row: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        return row
