"""The imbalance report: rendering only, from a run's class statistics and summary.

``render`` assembles the page (:func:`render_markdown`, :func:`render_html`) from the
sections in ``classes``, ``weights``, ``splits`` and ``outcome``, built of the blocks in
``blocks``; ``charts``, ``charts_tail`` and ``svg`` draw the inline SVG charts;
``run_files`` reads the few rows of a run's other outputs the report shows.
"""

from labelprep.reporting.render import render_html, render_markdown
from labelprep.reporting.run_files import with_run_files

__all__ = ["render_html", "render_markdown", "with_run_files"]
