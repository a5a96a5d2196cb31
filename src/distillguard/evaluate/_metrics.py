"""Classification and clustering metrics in plain numpy.

Written here rather than imported from scikit-learn so the package carries no sklearn
dependency; each function follows the textbook definition, handles ties in scores the
standard way (midranks for ROC-AUC, one step per distinct score for average precision),
and returns ``None`` where a metric is undefined instead of inventing a number.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Confusion:
    """Counts of a binary decision against ground truth."""

    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def precision(self) -> float | None:
        """Share of flagged accounts that are attacks (undefined when nothing is flagged)."""
        flagged = self.tp + self.fp
        return self.tp / flagged if flagged else None

    @property
    def recall(self) -> float | None:
        """Share of attack accounts flagged (undefined without attack accounts)."""
        positives = self.tp + self.fn
        return self.tp / positives if positives else None

    @property
    def f1(self) -> float | None:
        """Harmonic mean of precision and recall; 0 when both are 0, undefined when either is."""
        p, r = self.precision, self.recall
        if p is None or r is None:
            return None
        return 0.0 if p + r == 0 else 2 * p * r / (p + r)

    @property
    def false_positive_rate(self) -> float | None:
        """Share of benign accounts flagged (undefined without benign accounts)."""
        negatives = self.fp + self.tn
        return self.fp / negatives if negatives else None


def confusion(truth: np.ndarray, predicted: np.ndarray) -> Confusion:
    """Confusion counts for boolean arrays ``truth`` (is attack) and ``predicted`` (flagged)."""
    truth = np.asarray(truth, dtype=bool)
    predicted = np.asarray(predicted, dtype=bool)
    return Confusion(
        tp=int(np.sum(truth & predicted)),
        fp=int(np.sum(~truth & predicted)),
        fn=int(np.sum(truth & ~predicted)),
        tn=int(np.sum(~truth & ~predicted)),
    )


def _midranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks of ``values`` where tied values share the mean of their ranks."""
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)  # last 1-based rank of each distinct value
    starts = ends - counts + 1
    return ((starts + ends) / 2.0)[inverse]


def roc_auc(truth: np.ndarray, score: np.ndarray) -> float | None:
    """Area under the ROC curve via the Mann-Whitney U statistic.

    Equals the probability that a random attack account scores above a random benign
    one, counting ties as one half. ``None`` when either class is empty.
    """
    truth = np.asarray(truth, dtype=bool)
    score = np.asarray(score, dtype=np.float64)
    n_pos = int(truth.sum())
    n_neg = int(truth.size - n_pos)
    if n_pos == 0 or n_neg == 0:
        return None
    ranks = _midranks(score)
    u = ranks[truth].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def average_precision(truth: np.ndarray, score: np.ndarray) -> float | None:
    """Area under the precision-recall curve as step-wise average precision.

    ``AP = sum_k (R_k - R_{k-1}) * P_k`` over the distinct score thresholds taken from
    the highest down, so tied scores enter together as one step (no interpolation, the
    same definition as scikit-learn's ``average_precision_score``). ``None`` without
    attack accounts.
    """
    truth = np.asarray(truth, dtype=bool)
    score = np.asarray(score, dtype=np.float64)
    n_pos = int(truth.sum())
    if n_pos == 0:
        return None
    order = np.argsort(-score, kind="stable")
    sorted_score = score[order]
    tp_cum = np.cumsum(truth[order])
    # The last index of each run of equal scores is where that threshold's step ends.
    last_of_run = np.r_[np.flatnonzero(np.diff(sorted_score) != 0), sorted_score.size - 1]
    tp = tp_cum[last_of_run].astype(np.float64)
    flagged = (last_of_run + 1).astype(np.float64)
    precision = tp / flagged
    recall = tp / n_pos
    recall_step = np.diff(np.r_[0.0, recall])
    return float(np.sum(recall_step * precision))


def _encode_clusters(labels: list[str | None] | np.ndarray) -> np.ndarray:
    """Integer cluster codes; every ``None`` becomes its own singleton cluster."""
    values = np.asarray(labels, dtype=object)
    missing = np.asarray(np.equal(values, None), dtype=bool).reshape(values.shape)
    codes = np.empty(values.size, dtype=np.int64)
    _, inverse = np.unique(values[~missing].astype(str), return_inverse=True)
    codes[~missing] = inverse
    n_named = int(inverse.max()) + 1 if inverse.size else 0
    codes[missing] = n_named + np.arange(int(missing.sum()))
    return codes


def _pairs(x: np.ndarray) -> float:
    """Number of unordered pairs, elementwise ``n choose 2``."""
    x = x.astype(np.float64)
    return float(np.sum(x * (x - 1) / 2.0))


def adjusted_rand_index(truth: list[str | None], predicted: list[str | None]) -> float | None:
    """Adjusted Rand index (Hubert & Arabie 1985) of two clusterings of the same items.

    ``None`` labels are singletons (an unclustered account agrees with nobody). Computed
    from the contingency table; when both clusterings are trivial in the same way (all
    singletons or one cluster) the index is 1 by convention. ``None`` for fewer than two
    items, where agreement between pairs is undefined.
    """
    if len(truth) != len(predicted):
        raise ValueError("clusterings must label the same items")
    n = len(truth)
    if n < 2:
        return None
    a = _encode_clusters(truth)
    b = _encode_clusters(predicted)
    n_b = int(b.max()) + 1
    cells = np.bincount(a * n_b + b)
    sum_cells = _pairs(cells[cells > 1])
    sum_a = _pairs(np.bincount(a))
    sum_b = _pairs(np.bincount(b))
    total = n * (n - 1) / 2.0
    expected = sum_a * sum_b / total
    maximum = (sum_a + sum_b) / 2.0
    if maximum == expected:
        return 1.0
    return float((sum_cells - expected) / (maximum - expected))
