"""A suspicious account lifted to attack by a corroborated link to one attacker scores at
least ``attack_score`` (its verdict and its rank in a score-sorted queue agree), and the
``corroborated_link`` reason still names the partner."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from distillguard.campaigns import CampaignParams
from distillguard.campaigns._lifts import corroborate
from distillguard.schema import SIGNALS_SCHEMA
from distillguard.scoring import ScoringParams


def test_corroborated_lift_scores_at_least_the_attack_threshold(make_ctx) -> None:
    sp = ScoringParams()
    payment = {"att1": "c1", "s_both": "c1", "s_alone": "c7"}
    ctx = make_ctx([], payment, [("att1", "f1"), ("s_both", "f1"), ("s_alone", "f1")], 2000)
    acc = np.array(["att1", "s_alone", "s_both"], dtype=object)
    first = {
        "verdict": np.array(["attack", "suspicious", "suspicious"], dtype=object),
        "score": np.array([0.8, 0.5, 0.54]),
    }
    final = {
        "account_id": acc,
        "verdict": first["verdict"].copy(),
        "score": np.array([0.8, 0.5, 0.54]),
        "reasons": [["a"], ["b"], ["c"]],
    }
    out, signals = corroborate(ctx, first, final, SIGNALS_SCHEMA.empty_table(), CampaignParams(), None, sp)
    assert out["verdict"].tolist() == ["attack", "suspicious", "attack"]
    assert out["score"].tolist() == [0.8, 0.5, sp.attack_score]
    assert out["reasons"][2] == ["c", "corroborated_link"]
    ev = signals.filter(pa.compute.equal(signals["signal"], "corroborated_link"))
    assert ev["account_id"].to_pylist() == ["s_both"] and "att1" in ev["evidence"][0].as_py()


def test_corroborated_lift_needs_evidence_of_its_own(make_ctx) -> None:
    """A suspect that is suspicious only through campaign membership (first-pass score below
    ``member_min_own_score``: a stolen card shared with a fleet, say) is not lifted."""
    sp = ScoringParams()
    ctx = make_ctx([], {"att1": "c1", "s_member": "c1"}, [("att1", "f1"), ("s_member", "f1")], 2000)
    acc = np.array(["att1", "s_member"], dtype=object)
    first = {"verdict": np.array(["attack", "clear"], dtype=object), "score": np.array([0.8, 0.1])}
    final = {
        "account_id": acc,
        "verdict": np.array(["attack", "suspicious"], dtype=object),
        "score": np.array([0.8, 0.55]),
        "reasons": [["a"], ["campaign_member"]],
    }
    out, signals = corroborate(ctx, first, final, SIGNALS_SCHEMA.empty_table(), CampaignParams(), None, sp)
    assert out["verdict"].tolist() == ["attack", "suspicious"]
    assert signals.num_rows == 0
    first["score"] = np.array([0.8, sp.member_min_own_score])
    out, _ = corroborate(ctx, first, final, SIGNALS_SCHEMA.empty_table(), CampaignParams(), None, sp)
    assert out["verdict"].tolist() == ["attack", "attack"]
