"""Votes at scale: an item's votes, spread over many files, brought together by hashing
its id, and aggregated where they meet.

1. **Shuffle**: each vote file is one task; it keeps the votes whose label is a class of
   the vocabulary and splits them by ``hash(id) % partitions``. Partition ``p`` gathers
   piece ``p`` of every file, in file order, and encodes its votes (items in order of
   first vote, annotators by the run's one vocabulary: first vote, in file order).
2. **Shares and majority** need an item's votes only: each partition runs the local
   method (:mod:`labelprep.aggregation`) on its own votes.
3. **Dawid-Skene** is a distributed EM. Its parameters are small (the class prior and
   one K x K confusion matrix per annotator); each iteration is a map over the
   partitions (the E-step of their items under the current parameters, then their share
   of the next M-step: per-class posterior sums and per-annotator confusion counts) and a
   reduce on the driver, in partition order. Only those sums travel: the posteriors are
   computed where the votes are, and the E-step needs nothing but the parameters, so a
   task lost with its worker is simply run again. It runs
   the local model's steps (:mod:`labelprep.aggregation.dawid_skene`) with the local
   stopping rule, so it gives the local posteriors (to rounding: the sums are added in
   another order).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import polars as pl

from labelprep.aggregation import EncodedVotes, get_method, vote_counts
from labelprep.aggregation._em import DEFAULT_TOL, Trace
from labelprep.aggregation._encoded import FloatArray, vote_shares
from labelprep.aggregation.dawid_skene import _EPS  # the model's smoothing, kept in step
from labelprep.engine.cluster import gather
from labelprep.inputs.ingest import collect_all
from labelprep.stores import is_url, polars_options

SEED = 0x707E5
LOCAL_METHODS = ("shares", "majority")


@dataclass(frozen=True)
class Partition:
    """The encoded votes of the items of one hash partition."""

    ids: pl.Series
    votes: EncodedVotes

    @property
    def answer(self) -> Any:
        """Flat ``annotator * K + label`` index of every vote."""
        return self.votes.annotator * self.votes.n_classes + self.votes.label


def _read(path: str, storage: dict[str, str] | None = None) -> pl.LazyFrame:
    if path.endswith(".parquet"):
        return pl.scan_parquet(path, storage_options=storage, glob=not is_url(path))
    return pl.scan_csv(path, storage_options=storage)


def split_votes(
    path: str,
    index_of: dict[str, int],
    partitions: int,
    columns: tuple[str, str, str],
    storage: dict[str, str] | None = None,
) -> list[pl.DataFrame]:
    """One vote file's valid votes (``id``, ``annotator``, ``label`` code), split by the
    hash of the id into ``partitions`` pieces (the map of the shuffle). A file in an
    object store is read with the ``storage`` options the driver gave (its credentials:
    :func:`labelprep.stores.polars_options`)."""
    id_col, annotator, label = columns
    votes = (
        _read(path, storage)
        .select(
            pl.col(id_col).cast(pl.String).alias("id"),
            pl.col(annotator).cast(pl.String).alias("annotator"),
            pl.col(label)
            .cast(pl.String)
            .str.strip_chars()
            .replace_strict(index_of, default=None, return_dtype=pl.Int64)
            .alias("label"),
        )
        .filter(pl.all_horizontal(pl.all().is_not_null()))
        .with_columns((pl.col("id").hash(SEED) % partitions).alias("__part"))
    )
    table = collect_all([votes])[0]
    return [table.filter(pl.col("__part") == p).drop("__part") for p in range(partitions)]


def annotators_of(pieces: Sequence[pl.DataFrame]) -> pl.Series:
    """A file's annotators in order of first vote."""
    return pl.concat([p.select("annotator") for p in pieces])["annotator"].unique(
        maintain_order=True
    )


def encode(annotators: pl.Series, k: int, *pieces: pl.DataFrame) -> Partition:
    """One partition's votes (its piece of every file, in file order), encoded."""
    votes = pl.concat(pieces)
    items = votes.select("id").unique(maintain_order=True).with_row_index("item")
    codes = annotators.to_frame().with_row_index("code")
    coded = votes.join(items, on="id", maintain_order="left").join(
        codes, on="annotator", maintain_order="left"
    )
    encoded = EncodedVotes(
        item=coded["item"].to_numpy(),
        annotator=coded["code"].to_numpy(),
        label=coded["label"].to_numpy(),
        n_items=items.height,
        n_annotators=annotators.len(),
        n_classes=k,
    )
    return Partition(items["id"], encoded)


def local_method(part: Partition, method: str, params: dict[str, Any]) -> pl.DataFrame:
    """Shares or majority of one partition's items (``id``, ``proba``, ``votes``)."""
    result = get_method(method, **params).fit_predict_proba(part.votes)
    return _table(part, result.proba)


def _table(part: Partition, proba: FloatArray) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "id": part.ids,
            "proba": pl.Series(proba).cast(pl.List(pl.Float64)),
            "votes": vote_counts(part.votes).sum(axis=1),
        }
    )


def _masses(part: Partition, posterior: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The partition's share of the M-step, from posteriors ``(K, n_items)``: posterior
    sums per class and confusion counts per (annotator, true class, answer)."""
    votes, k = part.votes, part.votes.n_classes
    mass = np.empty((votes.n_annotators, k, k))
    for true_class in range(k):
        weights = posterior[true_class][votes.item]
        counts = np.bincount(part.answer, weights=weights, minlength=votes.n_annotators * k)
        mass[:, true_class, :] = counts.reshape(votes.n_annotators, k)
    return posterior.sum(axis=1), mass


def _log_scores(part: Partition, prior: FloatArray, confusion: FloatArray) -> FloatArray:
    """Unnormalised log posteriors ``(K, n_items)``: ``log pi_k`` plus, over the item's
    votes ``(a, l)``, ``log confusion[a, k, l]``."""
    votes, k = part.votes, part.votes.n_classes
    log_conf = np.log(confusion).transpose(1, 0, 2).reshape(k, -1)  # [t, a * K + l]
    scores = np.empty((k, votes.n_items))
    for true_class in range(k):
        weights = log_conf[true_class][part.answer]
        scores[true_class] = np.bincount(votes.item, weights=weights, minlength=votes.n_items)
    return scores + np.log(prior)[:, None]


Shares = tuple[float, FloatArray, FloatArray]
"""A partition's log-likelihood, posterior sums per class and confusion counts."""


def em_start(part: Partition) -> Shares:
    """The M-step share of the starting posteriors (the vote shares)."""
    posterior = np.ascontiguousarray(vote_shares(vote_counts(part.votes)).T)
    return (0.0, *_masses(part, posterior))


def _posterior(part: Partition, prior: FloatArray, confusion: FloatArray) -> tuple[Any, float]:
    """The E-step: posteriors ``(K, n_items)`` (a softmax over the classes) and the items'
    log-likelihood (the log-sum-exp)."""
    scores = _log_scores(part, prior, confusion)
    top = scores.max(axis=0) if part.votes.n_items else np.zeros(0)
    free = np.exp(scores - top)
    total = free.sum(axis=0)
    free /= total
    return free, float((np.log(total) + top).sum())


def em_step(part: Partition, prior: FloatArray, confusion: FloatArray) -> Shares:
    """One iteration on one partition: the E-step under the current parameters, and the
    partition's share of the next M-step. Only these small sums leave the worker: the
    E-step needs the parameters alone, so the posteriors are not kept between steps."""
    posterior, log_likelihood = _posterior(part, prior, confusion)
    return (log_likelihood, *_masses(part, posterior))


def em_result(part: Partition, prior: FloatArray, confusion: FloatArray) -> pl.DataFrame:
    """The items of one partition with their posteriors under the last E-step's parameters."""
    posterior, _ = _posterior(part, prior, confusion)
    return _table(part, np.ascontiguousarray(posterior.T))


def m_step(shares: Sequence[Shares]) -> tuple[FloatArray, FloatArray]:
    """The parameters from the partitions' shares, added in partition order."""
    prior = sum((s[1] for s in shares[1:]), shares[0][1].copy()) + _EPS
    prior /= prior.sum()
    confusion = sum((s[2] for s in shares[1:]), shares[0][2].copy()) + _EPS
    confusion /= confusion.sum(axis=2, keepdims=True)
    return prior, confusion


@dataclass(frozen=True)
class DistributedFit:
    """Per item (``id``, ``proba``, ``votes``), and the EM's record when it ran."""

    items: pl.DataFrame
    n_iter: int = 0
    converged: bool = True
    log_likelihood: tuple[float, ...] = ()
    class_prior: FloatArray | None = None
    confusion: FloatArray | None = None
    final_change: float | None = None
    annotators: tuple[str, ...] = ()
    """The annotators of ``confusion``'s rows, in its order."""


def aggregate_votes(
    client: Any,
    paths: Sequence[str],
    classes: Sequence[str],
    *,
    method: str = "shares",
    partitions: int = 2,
    max_iter: int = 100,
    tol: float = DEFAULT_TOL,
    columns: tuple[str, str, str] = ("id", "annotator", "label"),
) -> DistributedFit:
    """Aggregate long vote files on the cluster of ``client`` (see the module docstring);
    ``method`` is ``shares``, ``majority`` or ``dawid-skene``. The items come partition
    by partition."""
    index_of = {name: i for i, name in enumerate(classes)}
    maps = [
        client.submit(split_votes, str(p), index_of, partitions, columns, _storage(p), pure=False)
        for p in paths
    ]
    per_file = gather(client, [client.submit(annotators_of, m, pure=False) for m in maps])
    annotators = pl.concat(per_file).unique(maintain_order=True)
    parts = [
        client.submit(
            encode,
            annotators,
            len(classes),
            *[client.submit(_piece, m, p, pure=False) for m in maps],
            pure=False,
        )
        for p in range(partitions)
    ]
    if method in LOCAL_METHODS:
        tables = gather(client, [client.submit(local_method, p, method, {}) for p in parts])
        return DistributedFit(pl.concat(tables))
    if method != "dawid-skene":
        raise NotImplementedError(f"{method} does not run distributed yet")
    fit = _dawid_skene(client, parts, max_iter, tol)
    return replace(fit, annotators=tuple(annotators.to_list()))


def _storage(path: object) -> dict[str, str] | None:
    return polars_options(str(path)) if is_url(str(path)) else None


def _piece(pieces: Sequence[pl.DataFrame], index: int) -> pl.DataFrame:
    return pieces[index]


def _dawid_skene(client: Any, parts: list[Any], max_iter: int, tol: float) -> DistributedFit:
    """The local model's EM loop (:func:`labelprep.aggregation._em.alternate`: M-step, then
    E-step, record and M-step until the trace stops), each step a map-reduce."""
    prior, confusion = m_step(gather(client, [client.submit(em_start, p) for p in parts]))
    trace = Trace(tol, max_iter)
    stop = False
    while not stop:
        fitted = prior, confusion  # the parameters of this E-step
        shares = gather(client, [client.submit(em_step, p, *fitted, pure=False) for p in parts])
        stop = trace.record(sum(s[0] for s in shares))
        prior, confusion = m_step(shares)
    tables = gather(client, [client.submit(em_result, p, *fitted, pure=False) for p in parts])
    return DistributedFit(
        pl.concat(tables),
        n_iter=trace.n_iter,
        converged=trace.converged,
        log_likelihood=tuple(trace.history),
        class_prior=prior,
        confusion=confusion,
        final_change=trace.final_change,
    )
