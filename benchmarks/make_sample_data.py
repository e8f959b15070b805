"""Regenerate the bundled sample inputs in labelprep/sample_data/ (deterministic).

Run: python benchmarks/make_sample_data.py
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

HERE = Path(__file__).resolve().parent.parent / "labelprep" / "sample_data"

SOFT_WIDE = """\
id,c1,c2,c3,c4,split
1,0.9,0.05,0.05,0,train
2,0.2,0.8,0,0,train
3,0.3,0.3,0.4,0,val
4,0.7,0,0.3,0,train
5,0.25,0.25,0.25,0.25,train
6,0.6,0.3,0.2,0,train
7,0.5,abc,0.5,0,val
8,1.2,0,0,0,train
9,0.6,-0.1,0.5,0,train
"""

PARTIAL = [
    {"id": 101, "excluded": ["c2", "c3"], "split": "train"},
    {"id": 102, "excluded": ["c1"], "split": "train"},
    {"id": 103, "candidates": ["c1", "c4"], "split": "val"},
    {"id": 104, "label": "c2", "excluded": ["c1"], "split": "train"},
    {"id": 105, "excluded": ["c1", "c2", "c3", "c4"], "split": "train"},
    {"id": 106, "label": "c3", "excluded": ["c3"], "split": "val"},
    {"id": 107, "label": "c5", "split": "train"},
]

MIXED_TSV = """\
id\tlabel\texcluded\tcandidates\tsplit
201\tc1\t\t\ttrain
202\t3\t\t\ttrain
203\t\tc2|c3\t\tval
204\t\t\tc2|c4\ttrain
205\t\t\t\ttrain
\tc2\t\t\ttrain
"""


VOTES = """\
id,annotator,label,split
401,ann1,c1,train
401,ann2,c1,train
401,ann3,c2,train
402,ann1,c3,train
402,ann2,c3,train
402,ann3,c3,train
403,ann1,c2,val
403,ann2,c4,val
403,ann3,c2,val
404,ann1,c4,train
404,ann2,c1,train
404,ann3,c9,train
"""


def mixed_parquet() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "id": [301, 302, 303, 304, 302],
            "probs": [[0.1, 0.6, 0.3, 0.0], None, [0.5, 0.5], None, [0.0, 0.0, 1.0, 0.0]],
            "label": [None, "c4", None, "c2", None],
            "candidates": [None, None, None, ["c2", "c3"], None],
            "split": ["train", "train", "val", "train", "train"],
        }
    )


def main() -> None:
    HERE.mkdir(parents=True, exist_ok=True)
    (HERE / "soft_wide.csv").write_text(SOFT_WIDE)
    (HERE / "partial.jsonl").write_text("".join(json.dumps(r) + "\n" for r in PARTIAL))
    (HERE / "mixed.tsv").write_text(MIXED_TSV)
    (HERE / "votes.csv").write_text(VOTES)
    mixed_parquet().write_parquet(HERE / "mixed.parquet")


if __name__ == "__main__":
    main()
