"""Scores agree with verdicts: an account lifted to ``attack`` by a rule the score does not
pool (campaign membership, partner intel with one local family) scores at least
``attack_score``, so a score-sorted queue never ranks it below a merely suspicious account."""

from __future__ import annotations

import numpy as np

from distillguard.detectors.base import FAMILIES
from distillguard.scoring import ScoringParams, attack_floor, verdicts


def _fam(*rows: dict[str, float]) -> np.ndarray:
    out = np.zeros((len(rows), len(FAMILIES)))
    for i, r in enumerate(rows):
        for k, v in r.items():
            out[i, FAMILIES.index(k)] = v
    return out


def test_campaign_member_lift_scores_at_least_the_attack_threshold() -> None:
    p = ScoringParams()
    fam = _fam({"coordination": 0.8}, {"coordination": 0.8})
    member = np.array([True, False])
    raw, _ = verdicts(fam, p)
    score, verdict = verdicts(fam, p, member, own_score=raw)
    assert raw[0] < p.attack_score, "the lift is needed: its own score is below the threshold"
    assert verdict.tolist() == ["attack", "suspicious"]
    assert score[0] >= p.attack_score
    assert score[1] == raw[1], "a non-lifted account keeps its pooled score"


def test_intel_lift_scores_at_least_the_attack_threshold() -> None:
    p = ScoringParams()
    score, verdict = verdicts(_fam({"intel": 0.6, "extraction": 0.6}), p)
    assert verdict[0] == "attack"
    assert score[0] >= p.attack_score


def test_attack_floor_never_lowers_a_score() -> None:
    p = ScoringParams()
    s = np.array([0.2, 0.9, 0.5])
    out = attack_floor(s, np.array([True, True, False]), p)
    assert out.tolist() == [p.attack_score, 0.9, 0.5]
