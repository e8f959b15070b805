"""Class-prior drift between two label distributions, with TFDV's two distances.

Both distances follow TensorFlow Data Validation's definitions for categorical features:

* **L-infinity**: the largest absolute difference between the two normalized class
  distributions, ``max_k |p_k - q_k|``, in ``[0, 1]``.
* **Jensen-Shannon divergence**, base 2:
  ``JS(P || Q) = 1/2 KL(P || M) + 1/2 KL(Q || M)`` with ``M = (P + Q) / 2`` and
  ``0 * log(0) = 0``; it lies in ``[0, 1]`` and is 1 exactly when the supports are disjoint.

Counts may be soft masses (sums of probabilities); each side is normalized separately, so two
datasets of different sizes compare by their class proportions only.

:class:`CompareReport` is ``labelprep compare``'s result: the drift plus its gates' verdicts,
rendered by :data:`COMPARE_FORMATS` (the JSON, GitHub and JUnit renderers are shared with
``validate``, in :mod:`labelprep.gate`); data-derived text is rendered safe for CI logs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from labelprep.console import safe
from labelprep.errors import ConfigError
from labelprep.gate import format_github, format_json, format_junit
from labelprep.verdict import GateResult, _gate_lines, _headline, _num

__all__ = [
    "COMPARE_FORMATS",
    "CompareReport",
    "PriorDrift",
    "format_compare_json",
    "format_compare_text",
    "jensen_shannon",
    "prior_drift",
]

FloatArray = npt.NDArray[np.float64]

_TIE_TOLERANCE = 1e-12


@dataclass(frozen=True)
class PriorDrift:
    """The class priors of two sides and the distances between them.

    Attributes
    ----------
    classes
        The class vocabulary, in its fixed order.
    prior_a, prior_b
        Each side's class distribution, normalized to sum to 1.
    linf
        L-infinity distance: the largest absolute prior difference.
    linf_class
        The class with that largest difference; on a tie (differences within 1e-12 of each
        other), the first in vocabulary order.
    jsd
        Jensen-Shannon divergence, base 2, in ``[0, 1]``.
    """

    classes: tuple[str, ...]
    prior_a: tuple[float, ...]
    prior_b: tuple[float, ...]
    linf: float
    linf_class: str
    jsd: float

    @property
    def difference(self) -> tuple[float, ...]:
        """Per class ``prior_b - prior_a``."""
        return tuple(b - a for a, b in zip(self.prior_a, self.prior_b, strict=True))

    def to_frame(self) -> pl.DataFrame:
        """One row per class: ``class``, ``prior_a``, ``prior_b``, ``difference`` (b - a).

        Examples
        --------
        >>> prior_drift(["x", "y"], [1, 1], [1, 3]).to_frame()["difference"].to_list()
        [-0.25, 0.25]
        """
        return pl.DataFrame(
            {
                "class": self.classes,
                "prior_a": self.prior_a,
                "prior_b": self.prior_b,
                "difference": self.difference,
            },
            schema={
                "class": pl.String,
                "prior_a": pl.Float64,
                "prior_b": pl.Float64,
                "difference": pl.Float64,
            },
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: the distances, then per-class priors keyed by class name.

        Examples
        --------
        >>> prior_drift(["x", "y"], [1, 1], [1, 3]).to_dict()["linf_class"]
        'x'
        """
        return {
            "linf": self.linf,
            "linf_class": self.linf_class,
            "jsd": self.jsd,
            "priors": [
                {"class": c, "prior_a": a, "prior_b": b, "difference": diff}
                for c, a, b, diff in zip(
                    self.classes, self.prior_a, self.prior_b, self.difference, strict=True
                )
            ],
        }


def prior_drift(
    classes: Sequence[str], counts_a: Sequence[float], counts_b: Sequence[float]
) -> PriorDrift:
    """Compare two class-count vectors by L-infinity distance and Jensen-Shannon divergence.

    Parameters
    ----------
    classes
        The class vocabulary; ``counts_a`` and ``counts_b`` follow its order.
    counts_a, counts_b
        Non-negative per-class counts or soft masses of each side; each side is normalized
        separately.

    Returns
    -------
    PriorDrift

    Raises
    ------
    ConfigError
        When the lengths differ, the vocabulary is empty or repeats a class, a count is
        negative or not finite, or a side has no mass at all.

    Examples
    --------
    >>> d = prior_drift(["cat", "dog"], [30, 10], [2.0, 2.0])
    >>> d.prior_a, d.prior_b, d.linf, d.linf_class
    ((0.75, 0.25), (0.5, 0.5), 0.25, 'cat')
    >>> round(d.jsd, 4)
    0.0488
    """
    names = tuple(classes)
    _check_vocabulary(names)
    p = _normalize(names, counts_a, side="a")
    q = _normalize(names, counts_b, side="b")
    gaps = np.abs(p - q)
    linf = float(gaps.max())
    # Ties go to the first class; "tie" allows for rounding, so that 0.5 - 0.4 and 0.4 - 0.3
    # (0.09999999999999998 and 0.10000000000000003 in binary floating point) tie.
    worst = int(np.argmax(gaps >= linf - _TIE_TOLERANCE))
    return PriorDrift(
        classes=names,
        prior_a=tuple(float(x) for x in p),
        prior_b=tuple(float(x) for x in q),
        linf=linf,
        linf_class=names[worst],
        jsd=jensen_shannon(p, q),
    )


def jensen_shannon(p: Sequence[float] | FloatArray, q: Sequence[float] | FloatArray) -> float:
    """Jensen-Shannon divergence in bits of two probability vectors (each summing to 1).

    Examples
    --------
    >>> jensen_shannon([1.0, 0.0], [0.0, 1.0])
    1.0
    >>> jensen_shannon([0.5, 0.5], [0.5, 0.5])
    0.0
    """
    pa = np.asarray(p, dtype=np.float64)
    qa = np.asarray(q, dtype=np.float64)
    m = (pa + qa) / 2
    jsd = 0.5 * _kl_bits(pa, m) + 0.5 * _kl_bits(qa, m)
    # Rounding can leave a hair outside the mathematical range [0, 1].
    return min(max(jsd, 0.0), 1.0)


def _kl_bits(p: FloatArray, m: FloatArray) -> float:
    """KL(P || M) in bits, with 0 * log 0 = 0 (M > 0 wherever P > 0 since M = (P + Q) / 2)."""
    support = p > 0
    terms = p[support] * np.log2(p[support] / m[support])
    return math.fsum(terms.tolist())


def _check_vocabulary(classes: tuple[str, ...]) -> None:
    if not classes:
        raise ConfigError("prior drift needs at least one class; the class vocabulary is empty.")
    if len(set(classes)) != len(classes):
        repeated = sorted({c for c in classes if classes.count(c) > 1})
        raise ConfigError(
            f"the class vocabulary repeats {', '.join(map(repr, repeated))}; "
            "each class must appear once."
        )


def _normalize(classes: tuple[str, ...], counts: Sequence[float], *, side: str) -> FloatArray:
    values = np.asarray(counts, dtype=np.float64)
    if values.shape != (len(classes),):
        raise ConfigError(
            f"side {side} has {values.size} class counts but the vocabulary has "
            f"{len(classes)} classes ({', '.join(classes)}); give one count per class."
        )
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        k = int(np.argmax(bad))
        raise ConfigError(
            f"side {side}: the count of class {classes[k]!r} is {float(values[k])!r}; "
            "counts must be finite and non-negative."
        )
    total = math.fsum(values.tolist())
    if total == 0:
        raise ConfigError(
            f"side {side} has no labelled mass (every class count is 0), so it has no class "
            "prior to compare; check that the input is not empty or entirely rejected."
        )
    return values / total


@dataclass(frozen=True)
class CompareReport:
    """Class-prior drift from side ``a`` to side ``b`` and the drift gates' verdicts."""

    a: str
    b: str
    drift: PriorDrift
    gates: tuple[GateResult, ...]

    @property
    def passed(self) -> bool:
        """True when every gate passed."""
        return all(g.passed for g in self.gates)

    def summary(self) -> str:
        """One line: verdict and the two distances."""
        d = self.drift
        return (
            f"{_headline('compare', self.passed)}: {self.a} vs {self.b}, "
            f"L-infinity {_num(d.linf)} ({d.linf_class}), JSD {_num(d.jsd)}"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict in a stable key order."""
        return {
            "passed": self.passed,
            "a": self.a,
            "b": self.b,
            "drift": self.drift.to_dict(),
            "gates": [g.to_dict() for g in self.gates],
        }


def format_compare_text(report: CompareReport) -> str:
    """Human-readable drift verdict: headline, gates, per-class priors, the two distances.

    The class with the largest difference is marked ``*``.

    Examples
    --------
    >>> from labelprep.gate import evaluate_threshold
    >>> drift = prior_drift(["cat", "dog"], [3, 1], [1, 1])
    >>> gate = evaluate_threshold("max_linf", drift.linf, 0.3, describe="L-infinity")
    >>> print(format_compare_text(CompareReport("train", "val", drift, (gate,))))
    labelprep compare: PASS (a = train, b = val)
    gates:
      PASS max_linf = 0.25 (threshold 0.3): L-infinity 0.25 <= 0.3
    class       a       b   b - a
    cat    0.7500  0.5000 -0.2500 *
    dog    0.2500  0.5000 +0.2500
    L-infinity 0.25 (class cat); Jensen-Shannon divergence 0.0487949 (base 2)
    """
    d = report.drift
    names = [safe(c) for c in d.classes]
    width = max([5, *map(len, names)])
    lines = [f"{_headline('compare', report.passed)} (a = {report.a}, b = {report.b})"]
    lines += _gate_lines(report.gates)
    lines.append(f"{'class':<{width}} {'a':>7} {'b':>7} {'b - a':>7}")
    rows = zip(d.classes, names, d.prior_a, d.prior_b, d.difference, strict=True)
    for c, name, a, b, diff in rows:
        mark = " *" if c == d.linf_class else ""
        lines.append(f"{name:<{width}} {a:>7.4f} {b:>7.4f} {diff:>+7.4f}{mark}")
    lines.append(
        f"L-infinity {_num(d.linf)} (class {d.linf_class}); "
        f"Jensen-Shannon divergence {_num(d.jsd)} (base 2)"
    )
    return "\n".join(safe(line) for line in lines)


def format_compare_json(report: CompareReport) -> str:
    """The drift report as JSON (indent 2, stable key order); see :meth:`CompareReport.to_dict`.

    Examples
    --------
    >>> import json
    >>> report = CompareReport("a.csv", "b.csv", prior_drift(["x"], [1], [2]), ())
    >>> json.loads(format_compare_json(report))["drift"]["linf"]
    0.0
    """
    return format_json(report)


COMPARE_FORMATS: dict[str, Callable[[CompareReport], str]] = {
    "text": format_compare_text,
    "json": format_compare_json,
    "github": format_github,
    "junit": format_junit,
}
"""Renderers of ``labelprep compare --format``."""
