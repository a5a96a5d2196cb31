"""Why an account's verdict is what it is, in the scoring's own terms (report and console).

The verdict rules live in :mod:`distillguard.scoring` and the campaign lifts; nothing here
re-decides. From an account's fired signals and the scan's thresholds (``scan_meta.json``)
it recomputes the pooled strength of each family and names the rule that made the account
an attack (two families with a cross-account one, or the lift whose signal it carries), or,
for one that is not, each condition it misses and by how much: a suspicious account scored
0.944 above an attack at 0.917 then says why it is not blocked (say: one family fired).
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import numpy as np
import pyarrow as pa

#: Reasons the state's analyst decisions put first (distillguard.state._decisions).
CONFIRMED_REASON = "confirmed_by_analyst"
DISMISSED_REASON = "dismissed_by_analyst"

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

    thresholds = meta.get("thresholds", {}) if isinstance(meta, dict) else {}
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


def family_matrix(signals: pa.Table | None, accounts: list[str], params: Any) -> np.ndarray:
    """``(accounts, FAMILIES)`` pooled strengths, as the scoring pools them."""
    from distillguard.detectors.base import FAMILIES
    from distillguard.scoring import family_scores

    if signals is None or not accounts:
        return np.zeros((len(accounts), len(FAMILIES)))
    return family_scores(signals, np.asarray(accounts, dtype=object), params)


def explain_one(
    fam: dict[str, float],
    signals: list[tuple[str, str]],
    verdict: str,
    score: float,
    reasons: list[str],
    params: Any,
) -> dict[str, Any]:
    """``{rule, lines, short}`` for one account (``signals``: its (signal, family) pairs)."""
    from distillguard.scoring import CROSS_ACCOUNT_FAMILIES

    fired = [f for f, v in fam.items() if v >= params.family_fire]
    local = [f for f in fired if f != "intel"]
    names = {s for s, _ in signals}
    cross_signals = {s for s, f in signals if f in CROSS_ACCOUNT_FAMILIES}
    cross = [f for f in fired if f in CROSS_ACCOUNT_FAMILIES]
    fired_text = ", ".join(f"{f} {fam[f]:.2f}" for f in fired) or "none"
    lines = [f"families firing (pooled strength >= family_fire {params.family_fire}): {fired_text}"]
    short = ""
    if CONFIRMED_REASON in reasons:
        rule = short = "confirmed by an analyst: an attack whatever its score"
    elif DISMISSED_REASON in reasons:
        rule = short = "dismissed by an analyst: its flag was turned back to clear on the same evidence"
    elif verdict == "attack":
        two = score >= params.attack_score and len(fired) >= params.min_families and local and cross
        if two:
            rule = (
                f"{len(fired)} independent families ({', '.join(fired)}; at least {params.min_families}), "
                f"cross-account among them ({', '.join(cross)}), "
                f"score {score:.3f} >= attack_score {params.attack_score}"
            )
            short = f"{len(fired)} families ({', '.join(fired)}) incl. cross-account"
        else:
            hit = next((s for s in LIFT_RULES if s in names), None)
            if hit is not None:
                rule, short = LIFT_RULES[hit], hit
            elif "intel" in fired:
                rule = short = "partner intel corroborating local evidence (intel plus one local family)"
            else:
                rule = short = "a campaign-level rule (see its coordination signals)"
    elif verdict == "suspicious":
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
        elif cross and cross_signals <= set(params.customer_only) | set(params.corroborating_only):
            missing.append(
                "its cross-account evidence is only within one customer (a shared card) or corroborating-"
                "only (a shared system prompt): it counts for an attack only with the automation family"
            )
        if not missing:
            missing.append("no lift rule applied (no strong campaign membership, no corroborated link)")
        rule = (
            f"suspicious: score {score:.3f} >= suspicious_score {params.suspicious_score}, "
            "not an attack because " + "; ".join(missing)
        )
        short = "not attack: " + "; ".join(m.split(" (")[0] for m in missing)
        lines.extend(missing)
    else:
        rule = short = f"clear: score {score:.3f} below suspicious_score {params.suspicious_score}"
    return {"rule": rule, "lines": lines, "short": short, "fired": fired}


def explain_all(accounts: pa.Table, signals: pa.Table | None, meta: dict[str, Any]) -> dict[str, str]:
    """Account -> the short form of :func:`explain_one` for every attack or suspicious account."""
    import pyarrow.compute as pc

    from distillguard.detectors.base import FAMILIES

    params = scoring_params(meta)
    flagged = accounts.filter(pc.is_in(accounts["verdict"], pa.array(["attack", "suspicious"])))
    ids = flagged["account_id"].to_pylist()
    if not ids:
        return {}
    by_account: dict[str, list[tuple[str, str]]] = {}
    if signals is not None:
        mine = signals.filter(pc.is_in(signals["account_id"], pa.array(ids, pa.string())))
        cols = (mine[c].to_pylist() for c in ("account_id", "signal", "family"))
        for a, s, f in zip(*cols, strict=True):
            by_account.setdefault(a, []).append((s, f))
    fam = family_matrix(signals, ids, params)
    out = {}
    cols = [flagged[c].to_pylist() for c in ("verdict", "score", "reasons")]
    rows = zip(ids, *cols, strict=True)
    for i, (a, verdict, score, reasons) in enumerate(rows):
        fams = {f: float(fam[i, j]) for j, f in enumerate(FAMILIES)}
        out[a] = explain_one(fams, by_account.get(a, []), verdict, float(score), reasons or [], params)[
            "short"
        ]
    return out
