"""The account page's signal table and verdict explanation (rules: ``report/_why.py``).

The rule logic is shared with report.html, so the console and the report never disagree
on why an account is an attack or what it misses.
"""

from __future__ import annotations

from typing import Any

from distillguard.report._why import LIFT_RULES, explain_one, family_matrix, scoring_params

__all__ = ["LIFT_RULES", "explain", "family_table", "scoring_params", "signal_rows"]


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
    import pyarrow as pa

    from distillguard.detectors.base import FAMILIES

    sig = snap.signals.get(account, [])
    table = pa.table(
        {
            "account_id": pa.array([s["account_id"] for s in sig], pa.string()),
            "family": pa.array([s["family"] for s in sig], pa.string()),
            "signal": pa.array([s["signal"] for s in sig], pa.string()),
            "strength": pa.array([float(s["strength"]) for s in sig], pa.float64()),
        }
    )
    fam = family_matrix(table, [account], params)[0]
    return {f: float(fam[i]) for i, f in enumerate(FAMILIES)}


def explain(snap: Any, account: str, params: Any) -> dict[str, Any]:
    """``{verdict, rule, lines, families, fired}``: the rule behind an attack, or what is missing."""
    row = snap.accounts[account]
    fam = family_table(snap, account, params)
    pairs = [(s["signal"], s["family"]) for s in snap.signals.get(account, [])]
    out = explain_one(fam, pairs, row["verdict"], float(row["score"]), row.get("reasons") or [], params)
    return {**out, "verdict": row["verdict"], "families": fam}
