"""Account-level scores: did the detector flag the right accounts, and how well does it rank them.

The same function scores the detector and the volume baseline, so the two rows of every
report are computed by one definition.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from distillguard.evaluate._metrics import average_precision, confusion, roc_auc


def _round(x: float | None) -> float | None:
    return None if x is None else round(float(x), 6)


def per_persona(
    persona: np.ndarray, is_attack: np.ndarray, predicted: np.ndarray, suspicious: np.ndarray | None
) -> list[dict[str, Any]]:
    """One row per persona: accounts, flagged, suspicious and the rate that matters for it.

    For a benign persona the rate is its false-positive rate; for an attack persona it is
    its recall. A persona holding both kinds of account is split into two rows.
    """
    keys = np.char.add(np.where(is_attack, "1", "0").astype(str), persona.astype(str))
    uniq, inverse = np.unique(keys, return_inverse=True)
    accounts = np.bincount(inverse, minlength=uniq.size)
    flagged = np.bincount(inverse, weights=predicted.astype(np.float64), minlength=uniq.size)
    susp = (
        np.bincount(inverse, weights=suspicious.astype(np.float64), minlength=uniq.size)
        if suspicious is not None
        else np.zeros(uniq.size)
    )
    rows = []
    for i, key in enumerate(uniq.tolist()):
        attack = key[0] == "1"
        rows.append(
            {
                "persona": key[1:],
                "is_attack": attack,
                "accounts": int(accounts[i]),
                "flagged": int(flagged[i]),
                "suspicious": int(susp[i]),
                "metric": "recall" if attack else "fpr",
                "rate": _round(flagged[i] / accounts[i]),
            }
        )
    # Attack personas first, then benign; alphabetical within each group.
    rows.sort(key=lambda r: (not r["is_attack"], r["persona"]))
    return rows


def account_metrics(
    is_attack: np.ndarray,
    persona: np.ndarray,
    predicted: np.ndarray,
    score: np.ndarray,
    suspicious: np.ndarray | None = None,
) -> dict[str, Any]:
    """Precision, recall, F1, ROC-AUC, PR-AUC, benign FPR and per-persona rates.

    ``predicted`` is the decision being scored (verdict ``attack`` for the detector);
    ``score`` ranks accounts for the AUCs; ``suspicious`` (optional) is counted apart,
    never as a positive, so "sent to review" does not inflate recall.
    """
    is_attack = np.asarray(is_attack, dtype=bool)
    predicted = np.asarray(predicted, dtype=bool)
    c = confusion(is_attack, predicted)
    out: dict[str, Any] = {
        "accounts": int(is_attack.size),
        "attack_accounts": int(is_attack.sum()),
        "benign_accounts": int((~is_attack).sum()),
        "tp": c.tp,
        "fp": c.fp,
        "fn": c.fn,
        "tn": c.tn,
        "precision": _round(c.precision),
        "recall": _round(c.recall),
        "f1": _round(c.f1),
        "benign_fpr": _round(c.false_positive_rate),
        "roc_auc": _round(roc_auc(is_attack, score)),
        "pr_auc": _round(average_precision(is_attack, score)),
    }
    if suspicious is not None:
        suspicious = np.asarray(suspicious, dtype=bool)
        with_review = confusion(is_attack, predicted | suspicious)
        out["suspicious"] = {
            "attack": int((suspicious & is_attack).sum()),
            "benign": int((suspicious & ~is_attack).sum()),
            "recall_with_suspicious": _round(with_review.recall),
            "benign_fpr_with_suspicious": _round(with_review.false_positive_rate),
        }
    out["personas"] = per_persona(np.asarray(persona), is_attack, predicted, suspicious)
    return out
