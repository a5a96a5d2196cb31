"""The numpy metrics against hand-computed values, textbook examples and brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from distillguard.evaluate import adjusted_rand_index, average_precision, confusion, roc_auc


def test_confusion_and_derived_rates() -> None:
    c = confusion(np.array([1, 1, 1, 0, 0, 0], bool), np.array([1, 1, 0, 1, 0, 0], bool))
    assert (c.tp, c.fp, c.fn, c.tn) == (2, 1, 1, 2)
    assert c.precision == pytest.approx(2 / 3)
    assert c.recall == pytest.approx(2 / 3)
    assert c.f1 == pytest.approx(2 / 3)
    assert c.false_positive_rate == pytest.approx(1 / 3)


def test_undefined_rates_are_none_not_zero() -> None:
    nothing_flagged = confusion(np.array([1, 0], bool), np.array([0, 0], bool))
    assert nothing_flagged.precision is None
    assert nothing_flagged.recall == 0.0
    assert nothing_flagged.f1 is None
    no_positives = confusion(np.array([0, 0], bool), np.array([0, 1], bool))
    assert no_positives.recall is None
    assert no_positives.precision == 0.0


def test_roc_auc_ties_count_half() -> None:
    # Positives 0.5, 0.5; negatives 0.5, 0.1: 2 ties (0.5 each) + 2 wins = 3 of 4 pairs.
    assert roc_auc(np.array([1, 1, 0, 0], bool), np.array([0.5, 0.5, 0.5, 0.1])) == pytest.approx(0.75)
    # All scores tied: no ranking information at all.
    assert roc_auc(np.array([1, 0, 1, 0], bool), np.full(4, 0.3)) == pytest.approx(0.5)
    assert roc_auc(np.array([1, 1, 0], bool), np.array([0.9, 0.8, 0.1])) == pytest.approx(1.0)
    assert roc_auc(np.array([1, 1, 0], bool), np.array([0.1, 0.2, 0.9])) == pytest.approx(0.0)


def test_roc_auc_undefined_with_one_class() -> None:
    assert roc_auc(np.array([1, 1], bool), np.array([0.1, 0.2])) is None
    assert roc_auc(np.array([], bool), np.array([])) is None


def test_average_precision_by_hand() -> None:
    # Ranking +, -, +, -: P@1 = 1 at recall 1/2, P@3 = 2/3 at recall 1.
    ap = average_precision(np.array([1, 0, 1, 0], bool), np.array([0.9, 0.8, 0.7, 0.1]))
    assert ap == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)


def test_average_precision_groups_tied_scores_into_one_step() -> None:
    # The tie at 0.8 holds one positive and one negative: they enter together, so the
    # order inside the tie cannot change the result (precision 2/3 at recall 1).
    truth = np.array([1, 1, 0], bool)
    forward = average_precision(truth, np.array([0.9, 0.8, 0.8]))
    backward = average_precision(truth[[0, 2, 1]], np.array([0.9, 0.8, 0.8]))
    assert forward == backward == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)
    assert average_precision(np.array([0, 0], bool), np.array([0.1, 0.2])) is None


def test_ari_textbook_examples() -> None:
    # scikit-learn's documented examples of adjusted_rand_score.
    assert adjusted_rand_index(["0", "0", "1", "1"], ["0", "0", "1", "1"]) == pytest.approx(1.0)
    assert adjusted_rand_index(["0", "0", "1", "1"], ["1", "1", "0", "0"]) == pytest.approx(1.0)
    assert adjusted_rand_index(["0", "0", "1", "2"], ["0", "0", "1", "1"]) == pytest.approx(0.5714285714)
    assert adjusted_rand_index(["0", "0", "1", "1"], ["0", "0", "1", "2"]) == pytest.approx(0.5714285714)
    assert adjusted_rand_index(["0", "0", "0", "0"], ["0", "1", "2", "3"]) == pytest.approx(0.0)
    assert adjusted_rand_index(["0", "0", "1", "1"], ["0", "1", "0", "1"]) == pytest.approx(-0.5)


def test_ari_none_labels_are_singletons() -> None:
    # [None, None] are two clusters, not one: matches ["x", "y"], not ["x", "x"].
    assert adjusted_rand_index(["a", "a", None, None], ["p", "p", "x", "y"]) == pytest.approx(1.0)
    assert adjusted_rand_index(["a", "a", None, None], ["p", "p", "x", "x"]) < 1.0
    assert adjusted_rand_index(["a"], ["b"]) is None


def _brute_ari(a: list[int], b: list[int]) -> float:
    """ARI from the four pair counts (Steinley 2004 form), O(n^2) over pairs."""
    n11 = n10 = n01 = n00 = 0
    for i, j in itertools.combinations(range(len(a)), 2):
        same_a, same_b = a[i] == a[j], b[i] == b[j]
        n11 += same_a and same_b
        n10 += same_a and not same_b
        n01 += same_b and not same_a
        n00 += not same_a and not same_b
    denom = (n00 + n01) * (n01 + n11) + (n00 + n10) * (n10 + n11)
    return 1.0 if denom == 0 else 2.0 * (n00 * n11 - n01 * n10) / denom


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 4)), min_size=2, max_size=25))
def test_ari_matches_pair_counting(pairs: list[tuple[int, int]]) -> None:
    a = [p[0] for p in pairs]
    b = [p[1] for p in pairs]
    got = adjusted_rand_index([str(x) for x in a], [str(x) for x in b])
    assert got == pytest.approx(_brute_ari(a, b), abs=1e-9)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 5)), min_size=2, max_size=40))
def test_roc_auc_matches_pairwise_definition(rows: list[tuple[bool, int]]) -> None:
    truth = np.array([r[0] for r in rows], bool)
    score = np.array([r[1] for r in rows], float) / 5.0
    pos, neg = score[truth], score[~truth]
    if pos.size == 0 or neg.size == 0:
        assert roc_auc(truth, score) is None
        return
    wins = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    assert roc_auc(truth, score) == pytest.approx(wins / (pos.size * neg.size))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 5)), min_size=1, max_size=40))
def test_average_precision_matches_threshold_sweep(rows: list[tuple[bool, int]]) -> None:
    truth = np.array([r[0] for r in rows], bool)
    score = np.array([r[1] for r in rows], float)
    if not truth.any():
        assert average_precision(truth, score) is None
        return
    expected, prev_recall = 0.0, 0.0
    for cut in sorted(set(score.tolist()), reverse=True):
        flagged = score >= cut
        tp = (flagged & truth).sum()
        recall = tp / truth.sum()
        expected += (recall - prev_recall) * tp / flagged.sum()
        prev_recall = recall
    assert average_precision(truth, score) == pytest.approx(expected)
