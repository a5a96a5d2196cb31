"""A suspicious account lifted to attack by a corroborated link to one attacker scores at
least ``attack_score`` (its verdict and its rank in a score-sorted queue agree), and the
``corroborated_link`` reason still names the partner."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from distillguard.campaigns import CampaignParams, _corroborate
from distillguard.detectors.base import DetectionContext
from distillguard.schema import SIGNALS_SCHEMA
from distillguard.scoring import ScoringParams


def _ctx(payment: dict[str, str], fams: list[tuple[str, str]], n_pop: int = 2000) -> DetectionContext:
    ids = sorted(set(payment) | {a for a, _ in fams} | {f"z{i:05d}" for i in range(n_pop)})
    pay = np.array([payment.get(a) for a in ids], dtype=object)
    sizes: dict[str, int] = {}
    for v in payment.values():
        sizes[v] = sizes.get(v, 0) + 1
    size = np.array([sizes.get(v, 1) if v is not None else 1 for v in pay], dtype=np.float64)
    features = pa.table(
        {"account_id": pa.array(ids, pa.string()), "payment": pa.array(pay.tolist(), pa.string())}
    )
    members = pa.table(
        {
            "account_id": pa.array([a for a, _ in fams], pa.string()),
            "fam": pa.array([f for _, f in fams], pa.string()),
        }
    )
    return DetectionContext(
        None, "ev", features, True, cache={"payment_size": size, "fleet_members": members}
    )


def test_corroborated_lift_scores_at_least_the_attack_threshold() -> None:
    sp = ScoringParams()
    payment = {"att1": "c1", "s_both": "c1", "s_alone": "c7"}
    ctx = _ctx(payment, [("att1", "f1"), ("s_both", "f1"), ("s_alone", "f1")])
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
    out, signals = _corroborate(ctx, first, final, SIGNALS_SCHEMA.empty_table(), CampaignParams(), None, sp)
    assert out["verdict"].tolist() == ["attack", "suspicious", "attack"]
    assert out["score"].tolist() == [0.8, 0.5, sp.attack_score]
    assert out["reasons"][2] == ["c", "corroborated_link"]
    ev = signals.filter(pa.compute.equal(signals["signal"], "corroborated_link"))
    assert ev["account_id"].to_pylist() == ["s_both"] and "att1" in ev["evidence"][0].as_py()


def test_corroborated_lift_needs_evidence_of_its_own() -> None:
    """A suspect that is suspicious only through campaign membership (first-pass score below
    ``member_min_own_score``: a stolen card shared with a fleet, say) is not lifted."""
    sp = ScoringParams()
    ctx = _ctx({"att1": "c1", "s_member": "c1"}, [("att1", "f1"), ("s_member", "f1")])
    acc = np.array(["att1", "s_member"], dtype=object)
    first = {"verdict": np.array(["attack", "clear"], dtype=object), "score": np.array([0.8, 0.1])}
    final = {
        "account_id": acc,
        "verdict": np.array(["attack", "suspicious"], dtype=object),
        "score": np.array([0.8, 0.55]),
        "reasons": [["a"], ["campaign_member"]],
    }
    out, signals = _corroborate(ctx, first, final, SIGNALS_SCHEMA.empty_table(), CampaignParams(), None, sp)
    assert out["verdict"].tolist() == ["attack", "suspicious"]
    assert signals.num_rows == 0
    first["score"] = np.array([0.8, sp.member_min_own_score])
    out, _ = _corroborate(ctx, first, final, SIGNALS_SCHEMA.empty_table(), CampaignParams(), None, sp)
    assert out["verdict"].tolist() == ["attack", "attack"]
