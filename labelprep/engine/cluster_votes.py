"""The vote model of a Dask run, fitted on the cluster.

The driver still reads and checks the votes (each vote's reject reason and line, the
items and annotators in order of first vote, the agreement statistics and the
annotators table come from there, as with the local engine); the model is fitted on
the cluster by :func:`labelprep.engine.votes.aggregate_votes`, which reads the vote
files again on the workers, brings each item's votes together by hashing its id and
runs shares, majority or Dawid-Skene (a distributed EM) there. Its result is put back
in the driver's item and annotator order.

The cluster fit is used where it is the local one: long vote files in Parquet (text files
need labelprep's own reader: line endings, quoting, per-row parsing), duplicate votes
kept, no smoothing (``alpha``) and no gold. It is checked against the driver's votes (the
same items with the same vote counts, the same annotators); where anything differs, or in
any other case, the model is fitted on the driver.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import polars as pl

from labelprep.aggregation import AggregationResult, EncodedVotes, vote_counts
from labelprep.aggregation._em import make_result, prior_accuracy
from labelprep.config import Options
from labelprep.engine.cluster import Engine, connect
from labelprep.engine.votes import DistributedFit, aggregate_votes
from labelprep.inputs.ingest import SOURCE
from labelprep.votes import VoteSettings

CLUSTER_METHODS = ("shares", "majority", "dawid-skene")
FORMATS = (".parquet",)  # text files are read by labelprep's own reader, on the driver


def on_cluster(settings: VoteSettings, options: Options, engine: Engine) -> VoteSettings:
    """``settings`` with the model fitted on ``engine``'s cluster where it can be (see the
    module docstring); unchanged for the local engine."""
    if engine.local or not _supported(settings) or not _plain_reading(options):
        return settings
    return replace(settings, fit=ClusterFit(engine, settings, options))


def _supported(settings: VoteSettings) -> bool:
    return (
        settings.method in CLUSTER_METHODS
        and settings.layout == "long"
        and settings.duplicates == "keep"
        and settings.alpha == 0
        and settings.gold is None
    )


def _plain_reading(options: Options) -> bool:
    """Vote files the workers read as the driver does: Parquet, by extension (no option
    that changes how inputs are read)."""
    return (
        options.input_format is None
        and options.separator is None
        and not options.no_header
        and options.quote_char == '"'
        and not options.id_from_row
    )


class ClusterFit:
    """The ``fit`` of :class:`labelprep.votes.VoteSettings` for a Dask run."""

    def __init__(self, engine: Engine, settings: VoteSettings, options: Options) -> None:
        self.engine = engine
        self.settings = settings
        cols = options.columns
        self.columns = (cols.id, cols.annotator, cols.label)

    def __call__(
        self,
        votes: pl.DataFrame,
        encoded: EncodedVotes,
        items: pl.DataFrame,
        annotators: list[str],
        classes: Sequence[str],
    ) -> AggregationResult | None:
        paths = votes.get_column(SOURCE).unique(maintain_order=True).to_list()
        if not paths or not all(str(p).endswith(FORMATS) for p in paths):
            return None
        with connect(self.engine) as client:
            fit = aggregate_votes(
                client,
                paths,
                list(classes),
                method=self.settings.method,
                partitions=max(1, len(client.scheduler_info(n_workers=-1).get("workers", {}))),
                max_iter=self.settings.max_iter,
                tol=self.settings.tol,
                columns=self.columns,
            )
        return result_of(fit, self.settings.method, encoded, items, annotators)


def result_of(
    fit: DistributedFit,
    method: str,
    encoded: EncodedVotes,
    items: pl.DataFrame,
    annotators: list[str],
) -> AggregationResult | None:
    """The cluster's fit in the driver's item and annotator order, or None where the
    cluster did not see the driver's votes."""
    ids = items.select(pl.col("id").cast(pl.String))
    joined = ids.join(fit.items, on="id", how="left", maintain_order="left")
    counts = vote_counts(encoded)
    if (
        fit.items.height != items.height
        or joined.get_column("votes").null_count()
        or not np.array_equal(joined.get_column("votes").to_numpy(), counts.sum(axis=1))
    ):
        return None
    proba = np.array(joined.get_column("proba").to_list(), dtype=np.float64).reshape(
        items.height, encoded.n_classes
    )
    if method != "dawid-skene":
        return make_result(method, counts, None, proba)
    return _dawid_skene(fit, counts, proba, [str(a) for a in annotators])


def _dawid_skene(
    fit: DistributedFit, counts: Any, proba: Any, annotators: list[str]
) -> AggregationResult | None:
    order = {name: i for i, name in enumerate(fit.annotators)}
    if fit.confusion is None or fit.class_prior is None or sorted(order) != sorted(annotators):
        return None
    confusion = fit.confusion[[order[a] for a in annotators]]
    accuracy = prior_accuracy(fit.class_prior, confusion)
    return make_result(
        "dawid_skene",
        counts,
        None,
        proba,
        skills=accuracy,
        n_iter=fit.n_iter,
        converged=fit.converged,
        class_prior=fit.class_prior,
        confusion=confusion,
        annotator_accuracy=accuracy,
        log_likelihood=fit.log_likelihood,
        final_change=fit.final_change,
    )
