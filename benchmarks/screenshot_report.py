"""Screenshot a rendered report.html with headless Chromium, to check how it reads.

Usage::

    python benchmarks/screenshot_report.py labelprep-out/report.html report.png
    python benchmarks/screenshot_report.py --example report.png   # the 4-row SPEC example
    python benchmarks/screenshot_report.py --classes 1000 report.png --height 8000

``--classes K`` renders the synthetic long-tailed report of the tests (three splits,
notices, rejects, annotators; ``tests/report_fixtures.py``) at K classes.

Chromium runs with networking features off and a throw-away profile; the report is opened as
a ``file://`` URL, so a page that tried to load anything remote would show it here.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)


def screenshot(
    html_path: Path, png_path: Path, *, width: int = 1280, height: int = 2400, timeout: float = 60
) -> Path:
    """Save a ``width`` x ``height`` PNG of ``html_path`` rendered by headless Chromium."""
    browser = shutil.which("chromium") or "/usr/bin/chromium"
    with tempfile.TemporaryDirectory(prefix="labelprep-chromium-") as profile:
        command = [
            browser,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            f"--screenshot={png_path.resolve()}",
            f"--window-size={width},{height}",
            html_path.resolve().as_uri(),
        ]
        subprocess.run(command, check=True, capture_output=True, timeout=timeout)
    return png_path


def write_example(directory: Path) -> Path:
    """Render the SPEC's 4-row soft-label example (with a train split) to report.html."""
    import polars as pl

    from labelprep.reporting.render import render_html
    from labelprep.weights import add_weights, dataset_summary

    uint = pl.UInt64
    counts = pl.DataFrame(
        {
            "split": pl.Series([None, None, None, "train", "train", "train"], dtype=pl.String),
            "class": ["c1", "c2", "c3"] * 2,
            "index": pl.Series([0, 1, 2] * 2, dtype=pl.UInt32),
            "soft_mass": [2.1, 1.15, 0.75, 1.1, 1.0, 0.9],
            "support": pl.Series([4, 3, 3, 2, 2, 2], dtype=uint),
            "hard_count": pl.Series([2, 1, 1, 1, 1, 0], dtype=uint),
            "labelled_count": pl.Series([0] * 6, dtype=uint),
            "candidate_count": pl.Series([4, 3, 3, 2, 2, 2], dtype=uint),
            "excluded_count": pl.Series([0] * 6, dtype=uint),
        }
    )
    stats = add_weights(counts)
    summary = {
        "version": "0.1.0",
        "inputs": [{"path": "soft_labels.csv", "rows": 4}],
        "count_by": "soft",
        "rows_in": 4,
        "rows_accepted": 4,
        "rows_rejected": 0,
        "rows_by_evidence": {"probabilities": 4},
        "dataset": dataset_summary(stats),
        "options": {"beta": 0.999, "tau": 1.0},
    }
    path = directory / "report.html"
    path.write_text(render_html(stats, summary), encoding="utf-8")
    return path


def write_synthetic(directory: Path, classes: int) -> Path:
    """Render the tests' synthetic report (long tail, three splits, rejects) at K classes."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from report_fixtures import synthetic_stats, synthetic_summary

    from labelprep.reporting.render import render_html

    stats = synthetic_stats(classes)
    summary = synthetic_summary(stats, annotators=60 if classes > 10 else 8)
    path = directory / "report.html"
    path.write_text(render_html(stats, summary), encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", nargs="?", type=Path, help="report.html to render")
    parser.add_argument("output", type=Path, help="PNG file to write")
    parser.add_argument("--example", action="store_true", help="render the 4-row example")
    parser.add_argument("--classes", type=int, help="render the synthetic report at K classes")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=2400)
    args = parser.parse_args(argv)
    if sum([args.example, args.classes is not None, args.report is not None]) != 1:
        parser.error("give one of: a report.html path, --example, --classes K")
    with tempfile.TemporaryDirectory() as tmp:
        report = args.report
        if args.example:
            report = write_example(Path(tmp))
        elif args.classes is not None:
            report = write_synthetic(Path(tmp), args.classes)
        screenshot(report, args.output, width=args.width, height=args.height)
    print(args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
