"""Why an account's verdict is what it is, in the scoring's own terms.

The verdict rules live in :mod:`distillguard.scoring` and the campaign lifts; this module
does not re-decide anything. It recomputes, from the account's fired signals and the
scan's own thresholds (``scan_meta.json``), the pooled strength of each family and names
the rule that made the account an attack (two families with a cross-account one, or the
lift whose signal it carries), or, for an account that is not one, each condition it
misses and by how much. An analyst comparing a suspicious account scored 0.944 with an
attack at 0.917 then reads *why* the first is not blocked (say: only one family fired).
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import numpy as np
import pyarrow as pa

from distillguard.state._decisions import CONFIRMED_REASON, DISMISSED_REASON

#: Signals added by a campaign-level rule, with the rule each one stands for.
LIFT_RULES: dict[str, str] = {
    "corroborated_link": "corroborated_link: evidence of its own plus two independent kinds of "
    "link to one account that is an attack on its own evidence",
    "fleet_group": "fleet_group: a thin account on a card or in a signup burst that is mostly "
    "proven attackers, with a second link to them",
    "injected_prompt": "injected_prompt: an attack on its own traffic but for cross-account "
    "evidence, whose harvest system prompt only proven attackers send",
    "campaign_member": "campaign membership: a strong member of a corroborated campaign with "
    "evidence of its own (own score at least member_min_own_score)",
}


def scoring_params(meta: dict[str, Any]) -> Any:
    """The scan's ScoringParams, read back from ``scan_meta.json`` (defaults where absent)."""
    from distillguard.scoring import ScoringParams

    thresholds = meta.get("thresholds", {})
    values: dict[str, Any] = {}
    for f in fields(ScoringParams):
        entry = thresholds.get(f"scoring.{f.name}")
        if isinstance(entry, dict) and "value" in entry:
            v = entry["value"]
            values[f.name] = tuple(v) if isinstance(v, list) else v
    try:
        return ScoringParams(**values)
    except TypeError:
        return ScoringParams()


def signal_rows(snap: Any, account: str, params: Any) -> list[dict[str, Any]]:
    """Every fired signal of ``account`` with value, threshold, weight and population percentile."""
    rows = []
    for s in sorted(snap.signals.get(account, []), key=lambda r: (r["family"], -r["strength"])):
        weight = params.weak_weights.get(s["signal"], 1.0)
        rows.append(
            {
                **s,
                "weight": weight,
                "effective": min(1.0, s["strength"] * weight),
                "percentile": snap.percentile(s["signal"], s["value"]),
                "fired_on": len(snap.signal_values.get(s["signal"], [])),
            }
        )
    return rows


def family_table(snap: Any, account: str, params: Any) -> dict[str, float]:
    """Family -> pooled strength (noisy-OR of weighted signals), as the scoring pools it."""
    from distillguard.detectors.base import FAMILIES
    from distillguard.scoring import family_scores

    sig = snap.signals.get(account, [])
    table = pa.table(
        {
            "account_id": pa.array([s["account_id"] for s in sig], pa.string()),
            "family": pa.array([s["family"] for s in sig], pa.string()),
            "signal": pa.array([s["signal"] for s in sig], pa.string()),
            "strength": pa.array([float(s["strength"]) for s in sig], pa.float64()),
        }
    )
    fam = family_scores(table, np.asarray([account], dtype=object), params)[0]
    return {f: float(fam[i]) for i, f in enumerate(FAMILIES)}


def explain(snap: Any, account: str, params: Any) -> dict[str, Any]:
    """``{verdict, rule, lines, families}``: the rule behind an attack, or what is missing."""
    from distillguard.scoring import CROSS_ACCOUNT_FAMILIES

    row = snap.accounts[account]
    verdict, score = row["verdict"], float(row["score"])
    reasons = row.get("reasons") or []
    fam = family_table(snap, account, params)
    fired = [f for f, v in fam.items() if v >= params.family_fire]
    local = [f for f in fired if f != "intel"]
    names = {s["signal"] for s in snap.signals.get(account, [])}
    cross_signals = {
        s["signal"] for s in snap.signals.get(account, []) if s["family"] in CROSS_ACCOUNT_FAMILIES
    }
    cross = [f for f in fired if f in CROSS_ACCOUNT_FAMILIES]
    lines: list[str] = []
    rule = ""
    fired_text = ", ".join(f"{f} {fam[f]:.2f}" for f in fired) or "none"
    lines.append(f"families firing (pooled strength >= family_fire {params.family_fire}): {fired_text}")
    if CONFIRMED_REASON in reasons:
        rule = "confirmed by an analyst: an attack whatever its score"
    elif DISMISSED_REASON in reasons:
        rule = "dismissed by an analyst: its flag was turned back to clear on the same evidence"
    elif verdict == "attack":
        two_families = (
            score >= params.attack_score and len(fired) >= params.min_families and len(local) >= 1 and cross
        )
        if two_families:
            rule = (
                f"two independent families ({', '.join(fired)}), one cross-account ({', '.join(cross)}), "
                f"score {score:.3f} >= attack_score {params.attack_score}"
            )
        else:
            for signal, text in LIFT_RULES.items():
                if signal in names:
                    rule = text
                    break
            else:
                if "intel" in fired:
                    rule = "partner intel corroborating local evidence (intel plus one local family)"
                else:
                    rule = "a campaign-level rule (see its coordination signals)"
    else:
        missing = []
        if score < params.attack_score:
            missing.append(f"score {score:.3f} is below attack_score {params.attack_score}")
        if len(fired) < params.min_families:
            quiet = [f for f, v in fam.items() if f not in fired and f != "intel"]
            missing.append(
                f"{len(fired)} famil{'y' if len(fired) == 1 else 'ies'} fired, {params.min_families} needed "
                f"(not firing: {', '.join(f'{f} {fam[f]:.2f}' for f in quiet)})"
            )
        if params.require_cross_account and not cross:
            detail = (
                f"its cross-account signals ({', '.join(sorted(cross_signals))}) pool below family_fire"
                if cross_signals
                else "no coordination or intel signal"
            )
            missing.append(f"no cross-account family fired: {detail}")
        elif cross and set(cross_signals) <= set(params.customer_only) | set(params.corroborating_only):
            missing.append(
                "its cross-account evidence is only within one customer (a shared card) or corroborating-"
                "only (a shared system prompt): it counts for an attack only with the automation family"
            )
        if not missing:
            missing.append("no lift rule applied (no strong campaign membership, no corroborated link)")
        if verdict == "suspicious":
            rule = (
                f"suspicious: score {score:.3f} >= suspicious_score {params.suspicious_score}, "
                "not an attack because " + "; ".join(missing)
            )
        else:
            rule = f"clear: score {score:.3f} below suspicious_score {params.suspicious_score}"
            missing = []
        lines.extend(missing)
    return {"verdict": verdict, "rule": rule, "lines": lines, "families": fam, "fired": fired}
